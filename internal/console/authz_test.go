package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestEveryRouteChecksWhoAsks walks every route of the console as a plain
// user, as an admin of another organization, and as a helpdesk, and
// expects each to be refused what their role does not allow, with the
// user the routes act on unchanged.
func TestEveryRouteChecksWhoAsks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		victim := s.person(s.org, "victim", store.RoleUser)
		plain := s.person(s.org, "plain", store.RoleUser)
		help := s.person(s.org, "help", store.RoleHelpdesk)
		globex, err := s.admin.CreateOrg(s.ctx, "globex", "Globex")
		if err != nil {
			t.Fatal(err)
		}
		other := s.person(globex, "boss", store.RoleAdmin)
		s.provider() // the provider's console exists, to be refused
		before := s.footprint(victim)

		// path fills a route's pattern for org, acting on the victim.
		path := func(rt route, slug string) (method, target string) {
			method, p, _ := strings.Cut(rt.Pattern(), " ")
			r := strings.NewReplacer("{org}", slug, "{user}", victim.name, "{serial}", victim.serial, "{slug}", "acme", "{name}", "x", "{$}", "")
			return method, r.Replace(p)
		}
		request := func(c *http.Client, method, target string) response {
			r := s.get
			if method == http.MethodPost {
				r = func(c *http.Client, target string) response { return s.post(c, target, url.Values{"confirm": {"1"}}) }
			}
			resp := r(c, target)
			if resp.status >= 500 {
				t.Errorf("%s %s: %d", method, target, resp.status)
			}
			return resp
		}
		if len(s.console.routes) < 20 {
			t.Fatalf("only %d routes: the table is not walked", len(s.console.routes))
		}

		// A plain user signed in to the portal has no console session.
		portal := s.browser()
		if r := s.post(portal, "/o/acme/login", url.Values{"username": {"plain"}, "password": {plain.password}, "code": {s.code(plain)}}); r.status != http.StatusSeeOther {
			t.Fatalf("portal sign-in: %d", r.status)
		}
		s.clock.Advance(30e9)
		otherConsole := s.signIn(other)
		for _, rt := range s.console.routes {
			method, target := path(rt, "acme")
			for who, c := range map[string]*http.Client{"plain user": portal, "other org's admin": otherConsole} {
				r := request(c, method, target)
				if !strings.Contains(location(r), "/login") {
					t.Errorf("%s: %s %s: %d %q, want a redirect to sign in", who, method, target, r.status, location(r))
				}
			}
			// In their own console, the other admin does not find acme's user.
			if rt.scope == orgScope && strings.Contains(rt.pattern, "{user}") {
				method, target := path(rt, "globex")
				if r := request(otherConsole, method, target); r.status != http.StatusNotFound && !strings.Contains(location(r), "/reauth") {
					t.Errorf("other org's admin: %s %s: %d %q, want 404", method, target, r.status, location(r))
				}
			}
		}
		if after := s.footprint(victim); after != before {
			t.Fatalf("the walk changed the victim:\n before %s\n after  %s", before, after)
		}

		c := s.signIn(help)
		for _, rt := range s.console.routes {
			method, target := path(rt, "acme")
			r := request(c, method, target)
			allowed := rt.scope == orgScope && helpdeskMay(rt)
			switch {
			case rt.scope == providerScope:
				if !strings.Contains(location(r), "/admin/login") {
					t.Errorf("helpdesk: %s %s: %d %q, want the provider's sign-in", method, target, r.status, location(r))
				}
			case !allowed && r.status != http.StatusForbidden:
				t.Errorf("helpdesk: %s %s (%s): %d, want 403", method, target, rt.action, r.status)
			case allowed && r.status == http.StatusForbidden:
				t.Errorf("helpdesk: %s %s (%s): refused, but the role allows it", method, target, rt.action)
			}
			// What the helpdesk may do changes the victim; what it may
			// not must leave them as the last allowed change did.
			if now := s.footprint(victim); allowed {
				before = now
			} else if now != before {
				t.Fatalf("helpdesk: %s %s changed the victim", method, target)
			}
		}
	})
}

// footprint says in a line what a user is and has, to see a change.
func (s *site) footprint(p *person) string {
	s.t.Helper()
	d, err := s.admin.UserDetail(s.ctx, p.org, p.name)
	if err != nil {
		return "gone: " + err.Error()
	}
	var b strings.Builder
	b.WriteString(d.User.Status + " " + d.User.Role + " " + d.User.Email + " " + d.User.PasswordHash[:20])
	for _, t := range d.Tokens {
		b.WriteString(" " + t.Serial + "=" + t.State)
	}
	for _, e := range d.Enrollments {
		b.WriteString(" " + e.Serial + ":" + e.Status + "@" + e.ExpiresAt.String())
	}
	return b.String()
}

// helpdeskMay says what issue 10 lets a helpdesk do, independently of
// the routes' own actions: find users, see their authenticators and audit
// trail (any page), unlock, resend an invitation, issue a temporary code,
// reset MFA, and find whose authenticator shows a code — nothing else.
func helpdeskMay(rt route) bool {
	method, path, _ := strings.Cut(rt.pattern, " ")
	if method == http.MethodGet {
		return !strings.HasPrefix(path, "/policy") && !strings.HasPrefix(path, "/settings") && !strings.HasPrefix(path, "/directory") &&
			!strings.HasPrefix(path, "/integrations") && path != "/users/new" && !strings.HasPrefix(path, "/enrollments/rollout") &&
			!strings.HasPrefix(path, "/import")
	}
	switch path {
	case "/users/{user}/unlock", "/users/{user}/reset-mfa", "/users/{user}/temp-code",
		"/users/{user}/enrollments/{serial}/resend", "/tokens":
		return true
	}
	return false
}
