package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestChangesSignOtherBrowsersOut(t *testing.T) {
	for _, tt := range []struct {
		name string
		// change is made in browser first, or by an operator.
		change func(t *testing.T, s *site, first *http.Client, g *otp.Generator)
		// firstContinues says whether browser first stays signed in.
		firstContinues bool
	}{
		{"the user changes the password in one browser", func(t *testing.T, s *site, first *http.Client, _ *otp.Generator) {
			p := s.post(first, "/o/acme/password", url.Values{"password": {"correct horse"}, "new_password": {"battery staple"}, "new_password_confirm": {"battery staple"}})
			if p.header.Get("Location") != "/o/acme/?done=password" {
				t.Fatalf("change password: %d %s", p.status, p.header.Get("Location"))
			}
		}, true},
		{"the user removes an authenticator in one browser", func(t *testing.T, s *site, first *http.Client, g *otp.Generator) {
			serial := s.lastToken("alice").Serial
			p := s.post(first, "/o/acme/tokens/remove", url.Values{"serial": {serial}, "password": {"correct horse"}, "code": {s.code(g)}})
			if p.header.Get("Location") != "/o/acme/?done=removed" {
				t.Fatalf("remove: %d %s", p.status, p.header.Get("Location"))
			}
		}, true},
		{"an operator sets the password", func(t *testing.T, s *site, _ *http.Client, _ *otp.Generator) {
			if err := s.admin.SetPassword(s.ctx, s.org, "alice", "battery staple"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"an operator suspends the authenticator", func(t *testing.T, s *site, _ *http.Client, _ *otp.Generator) {
			if err := s.admin.ChangeToken(s.ctx, s.org, "alice", s.lastToken("alice").Serial, "suspend"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"an operator disables the user", func(t *testing.T, s *site, _ *http.Client, _ *otp.Generator) {
			if err := s.admin.DisableUser(s.ctx, s.org, "alice"); err != nil {
				t.Fatal(err)
			}
			// Enabling her again does not bring the old sessions back.
			if err := s.admin.EnableUser(s.ctx, s.org, "alice"); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.addUser("alice", "correct horse")
				s.addUser("bob", "correct horse")
				g := s.active("alice")
				first, second := s.login("alice", "correct horse", g), s.login("alice", "correct horse", g)
				bob := s.login("bob", "correct horse", s.active("bob"))
				logins := s.countEvents("portal.login")

				tt.change(t, s, first, g)

				signedIn := func(c *http.Client) bool {
					t.Helper()
					p := s.get(c, "/o/acme/")
					if p.status != http.StatusOK && (p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login") {
						t.Fatalf("dashboard: %d %s, want the page or a redirect to login", p.status, p.header.Get("Location"))
					}
					return p.status == http.StatusOK
				}
				if got := signedIn(first); got != tt.firstContinues {
					t.Errorf("the browser that made the change signed in: %v, want %v", got, tt.firstContinues)
				}
				if signedIn(second) {
					t.Error("the other browser is still signed in")
				}
				if !signedIn(bob) {
					t.Error("another user was signed out")
				}
				if got := s.countEvents("portal.login"); got != logins {
					t.Errorf("the change wrote %d portal.login events, want none", got-logins)
				}
			})
		})
	}
}

// countEvents counts the organization's audit events with action.
func (s *site) countEvents(action string) int {
	s.t.Helper()
	evs, err := s.store.Events(s.ctx, s.org.ID, 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}
