package directory

import (
	"strings"
	"testing"
)

func TestParseRoles(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // role + " " + DN as parsed
		err      string
	}{
		{"empty maps nothing", "", nil, ""},
		{"one group", "admin:cn=admins,ou=groups,dc=example,dc=org", []string{"admin cn=admins,ou=groups,dc=example,dc=org"}, ""},
		{"two groups, spaces and case", " Admin : cn=admins,dc=example,dc=org ; helpdesk:cn=help desk,dc=example,dc=org;",
			[]string{"admin cn=admins,dc=example,dc=org", "helpdesk cn=help desk,dc=example,dc=org"}, ""},
		{"an escaped semicolon stays in the DN", `helpdesk:cn=a\;b,dc=example,dc=org`, []string{`helpdesk cn=a\;b,dc=example,dc=org`}, ""},
		{"an unknown role is refused", "owner:cn=x,dc=example,dc=org", nil, "helpdesk or admin"},
		{"the role user is refused", "user:cn=x,dc=example,dc=org", nil, "helpdesk or admin"},
		{"no colon is refused", "cn=x,dc=example,dc=org", nil, "ROLE:GROUP-DN"},
		{"a bad DN is refused", "admin:not a dn", nil, "not a group's DN"},
		{"an empty DN is refused", "admin:", nil, "not a group's DN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := ParseRoles(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseRoles(%q) = %v, %v; want an error saying %q", tc.in, gs, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range gs {
				got = append(got, g.Role+" "+g.DN.String())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("ParseRoles(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDNKey(t *testing.T) {
	if dnKey("CN=Admins, OU=Groups,DC=Example,DC=org") != dnKey("cn=admins,ou=groups,dc=example,dc=org") {
		t.Fatal("two spellings of one DN have different keys")
	}
	if dnKey("cn=admins,dc=example,dc=org") == dnKey("cn=admin,dc=example,dc=org") {
		t.Fatal("two DNs share a key")
	}
}

// FuzzParseRoles: the mapping is typed by operators in the CLI and the
// console. Whatever it is given, it returns groups of known roles or an
// error, and a mapping written back from what it parsed reads the same.
func FuzzParseRoles(f *testing.F) {
	for _, s := range []string{"", "admin:cn=a,dc=b", `helpdesk:cn=a\;b,dc=c; admin:cn=x`, "admin:", ":", ";;", `\`, "admin:cn=a+sn=b,dc=c", "admin:cn=#0403"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		gs, err := ParseRoles(in)
		if err != nil {
			return
		}
		var parts []string
		for _, g := range gs {
			if g.Role != "admin" && g.Role != "helpdesk" || g.DN == nil || len(g.DN.RDNs) == 0 {
				t.Fatalf("ParseRoles(%q) gave %+v", in, g)
			}
			parts = append(parts, g.Role+":"+g.DN.String())
		}
		again, err := ParseRoles(strings.Join(parts, ";"))
		if err != nil || len(again) != len(gs) {
			t.Fatalf("written back as %q: %v, %d groups; want %d", strings.Join(parts, ";"), err, len(again), len(gs))
		}
		for i := range gs {
			if !gs[i].DN.EqualFold(again[i].DN) {
				t.Fatalf("group %d of %q: %s, then %s", i, in, gs[i].DN, again[i].DN)
			}
		}
	})
}

// FuzzSet: every setting's value comes from operators; a value Set takes
// is shown as a value Set takes again, unchanged.
func FuzzSet(f *testing.F) {
	for _, k := range Keys() {
		f.Add(k, "")
	}
	f.Add("url", "ldaps://dc.example.org:636")
	f.Add("filter", "(&(objectClass=user)(!(cn=x)))")
	f.Add("sync_interval", "1h30m")
	f.Fuzz(func(t *testing.T, key, value string) {
		if key == "ca_file" {
			return // a path on this machine, not parsed
		}
		s := Defaults()
		if err := s.Set(key, value); err != nil {
			return
		}
		var shown string
		for _, st := range s.List() {
			if st.Key == key {
				shown = st.Value
			}
		}
		again := Defaults()
		if err := again.Set(key, shown); err != nil {
			t.Fatalf("%s=%q shown as %q, which Set refuses: %v", key, value, shown, err)
		}
		if again != s {
			t.Fatalf("%s=%q shown as %q reads back as %+v, not %+v", key, value, shown, again, s)
		}
	})
}
