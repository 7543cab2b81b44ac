package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestOIDCClientCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		if code, out, errs := in.run("", "oidc", "client", "list", "acme"); code != 0 || out != "" || !strings.Contains(errs, "no applications") {
			t.Errorf("list of none: exit %d %q %q", code, out, errs)
		}
		out := in.ok("", "oidc", "client", "add", "acme", "--name", "Wiki", "--redirect-uri", "https://wiki.acme.example/cb",
			"--redirect-uri", "https://wiki.acme.example/cb2", "--first-party")
		m := regexp.MustCompile(`(?m)^client_id: (\S+)\nclient_secret: (\S+)\n$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("add printed %q; want the client id and secret", out)
		}
		id, secret := m[1], m[2]
		pub := in.ok("", "oidc", "client", "add", "acme", "--name", "SPA", "--public", "--redirect-uri", "https://spa.acme.example/", "--scopes", "openid,email")
		if strings.Contains(pub, "client_secret") {
			t.Errorf("a public client got a secret: %q", pub)
		}
		list := in.ok("", "oidc", "client", "list", "acme")
		lines := strings.Split(strings.TrimSpace(list), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "CLIENT ID") || !strings.Contains(lines[1], id) ||
			!strings.Contains(lines[1], "confidential, first-party") || !strings.Contains(lines[2], "public") || !strings.Contains(lines[2], "openid email") {
			t.Errorf("list:\n%s", list)
		}
		if strings.Contains(list, secret) {
			t.Errorf("list shows the secret:\n%s", list)
		}
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"add", "acme", "--name", "Wiki", "--redirect-uri", "https://other.example/cb"}, "already"},
			{[]string{"add", "acme", "--name", "Bad", "--redirect-uri", "http://wiki.acme.example/cb"}, "use https"},
			{[]string{"add", "acme", "--name", "None"}, "at least one redirect URI"},
			{[]string{"add", "acme", "--name", "Scope", "--redirect-uri", "https://a.example/", "--scopes", "openid,admin"}, "unknown scope"},
			{[]string{"add", "nosuch", "--name", "X", "--redirect-uri", "https://a.example/"}, "no organization"},
			{[]string{"remove", "acme", "nope"}, "no application with client id"},
		} {
			args := append([]string{"oidc", "client"}, tt.args...)
			if code, _, errs := in.run("", args...); code != 1 || !strings.Contains(errs, tt.want) {
				t.Errorf("twofold %s: exit %d %q; want 1 saying %q", strings.Join(args, " "), code, errs, tt.want)
			}
		}
		if out := in.ok("", "oidc", "client", "remove", "acme", id); !strings.Contains(out, "removed application "+id) {
			t.Errorf("remove printed %q", out)
		}
		if list := in.ok("", "oidc", "client", "list", "acme"); strings.Contains(list, id) || !strings.Contains(list, "SPA") {
			t.Errorf("after remove:\n%s", list)
		}
		if audit := in.ok("", "audit", "acme"); !strings.Contains(audit, "oidc.client.add") || !strings.Contains(audit, "oidc.client.remove") {
			t.Errorf("audit:\n%s", audit)
		}
	})
}
