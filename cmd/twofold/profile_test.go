package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestUserEdit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example", "--display-name", "Alice")

		out := in.ok("", "user", "edit", "acme/alice", "--email", "alice@new.example", "--language", "nl")
		if want := "acme/alice changed: email alice@new.example (was alice@acme.example), language nl (was -)\n"; out != want {
			t.Errorf("user edit printed %q, want %q", out, want)
		}
		show := in.ok("", "user", "show", "acme/alice")
		for _, want := range []string{"alice@new.example", "Alice"} {
			if !strings.Contains(show, want) {
				t.Errorf("user show lacks %q after the edit:\n%s", want, show)
			}
		}
		if out := in.ok("", "user", "edit", "acme/alice", "--name", "Alice"); !strings.Contains(out, "unchanged") {
			t.Errorf("an edit to the same name printed %q, want it unchanged", out)
		}
		if out := in.ok("", "user", "edit", "acme/alice", "--email", ""); !strings.Contains(out, "email - (was alice@new.example)") {
			t.Errorf("clearing the address printed %q", out)
		}

		for _, tt := range []struct {
			args []string
			want string
		}{
			{nil, "say what to change with --email, --name or --language"},
			{[]string{"--email", "nope"}, `email "nope" is not an address`},
			{[]string{"--language", "fr", "--name", "Bob"}, "language must be one of en, nl, de"},
			{[]string{"--name", "A", "--display-name", "B"}, "once"},
		} {
			args := append([]string{"user", "edit", "acme/alice"}, tt.args...)
			if code, out, errs := in.run("", args...); code != 1 || out != "" || !strings.Contains(errs, tt.want) {
				t.Errorf("twofold %s: exit %d %q %q; want 1 saying %q", strings.Join(args, " "), code, out, errs, tt.want)
			}
		}
		if again := in.ok("", "user", "show", "acme/alice"); !strings.Contains(again, "Alice") || strings.Contains(again, "Bob") {
			t.Errorf("refused edits changed the user:\n%s", again)
		}
		if code, _, errs := in.run("", "user", "edit", "acme/bob", "--name", "Bob"); code != 1 || !strings.Contains(errs, `no user "bob"`) {
			t.Errorf("editing an unknown user: exit %d %q", code, errs)
		}
	})
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		if code, out, errs := in.run("", "apikey", "list", "acme"); code != 0 || out != "" || !strings.Contains(errs, "no API keys") {
			t.Errorf("apikey list of none: exit %d %q %q", code, out, errs)
		}
		key := strings.TrimSpace(in.ok("", "apikey", "create", "acme", "--name", "intranet portal"))
		in.ok("", "apikey", "create", "acme", "--name", "vpn")
		if out := in.ok("", "apikey", "revoke", "acme", "intranet portal"); out != "API key \"intranet portal\" of acme revoked\n" {
			t.Errorf("apikey revoke printed %q", out)
		}
		list := in.ok("", "apikey", "list", "acme")
		lines := strings.Split(strings.TrimSpace(list), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME ") ||
			!regexp.MustCompile(`^intranet portal\s+tfk_\S+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-\d\d-\d\d`).MatchString(lines[1]) ||
			!regexp.MustCompile(`^vpn\s+tfk_\S+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-$`).MatchString(lines[2]) {
			t.Errorf("apikey list:\n%s", list)
		}
		if strings.Contains(list, key) {
			t.Errorf("apikey list shows the key itself:\n%s", list)
		}
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"acme", "intranet portal"}, "revoked already"},
			{[]string{"acme", "nope"}, `no API key named "nope"`},
			{[]string{"nosuch", "vpn"}, "no organization"},
		} {
			args := append([]string{"apikey", "revoke"}, tt.args...)
			if code, _, errs := in.run("", args...); code != 1 || !strings.Contains(errs, tt.want) {
				t.Errorf("twofold %s: exit %d %q; want 1 saying %q", strings.Join(args, " "), code, errs, tt.want)
			}
		}
	})
}

func TestPolicyDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "before")
		if got := policyValue(t, in.ok("", "policy", "default", "show"), "lockout_threshold"); got != "5" {
			t.Errorf("default lockout_threshold at first = %s, want 5", got)
		}
		out := in.ok("", "policy", "default", "set", "lockout_threshold=3")
		if !strings.HasPrefix(out, "default policy changed:") || !regexp.MustCompile(`lockout_threshold\s+3\s+\(was 5\)`).MatchString(out) {
			t.Errorf("policy default set printed %q", out)
		}
		if code, out, errs := in.run("", "policy", "default", "set", "lockout_threshold=0", "login_form=combined"); code != 1 || out != "" ||
			!strings.Contains(errs, "default policy not changed") || !strings.Contains(errs, "lockout_threshold must be between 1 and 100") {
			t.Errorf("a refused default: exit %d %q %q", code, out, errs)
		}
		if code, _, errs := in.run("", "policy", "default", "set"); code != 1 || !strings.Contains(errs, "at least one setting") {
			t.Errorf("policy default set without settings: exit %d %q", code, errs)
		}
		in.ok("", "org", "create", "after")
		for org, want := range map[string]string{"before": "5", "after": "3"} {
			if got := policyValue(t, in.ok("", "policy", "show", org), "lockout_threshold"); got != want {
				t.Errorf("%s's lockout_threshold = %s, want %s", org, got, want)
			}
		}
		if got := policyValue(t, in.ok("", "policy", "default", "show"), "login_form"); got != "two-step" {
			t.Errorf("the refused change reached the default: login_form %s", got)
		}
	})
}
