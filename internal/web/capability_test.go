package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// tokens returns every token of user, in any state.
func (s *site) tokens(user string) []store.Token {
	s.t.Helper()
	ts, err := s.store.Tokens(s.ctx, s.org.ID, s.user(user).ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return ts
}

// TestPasswordAloneAddsNoAuthenticator signs in with the right password
// in every standing where the password must not be enough, and checks
// that the person is told why and whom to ask, and that no token is made.
func TestPasswordAloneAddsNoAuthenticator(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(s *site)
		want    string
	}{
		{"a suspended authenticator is said to be suspended", func(s *site) {
			s.active("bob")
			if err := s.admin.ChangeToken(s.ctx, s.org, "bob", s.lastToken("bob").Serial, "suspend"); err != nil {
				s.t.Fatal(err)
			}
		}, "login.suspended"},
		{"a revoked authenticator needs the helpdesk", func(s *site) {
			s.active("bob")
			if err := s.admin.ChangeToken(s.ctx, s.org, "bob", s.lastToken("bob").Serial, "revoke"); err != nil {
				s.t.Fatal(err)
			}
		}, "login.needs_help"},
		{"an outstanding invitation points to its link", func(s *site) { s.enroll("bob") }, "login.invitation_pending"},
		{"an expired invitation points to the helpdesk for a new link", func(s *site) {
			s.enroll("bob")
			s.clock.Advance(73 * 3600e9)
		}, "login.invitation_pending"},
		{"a policy without first-login enrollment needs the helpdesk", func(s *site) {
			s.setPolicy(`{"first_login_enrollment": false}`)
		}, "login.needs_help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.addUser("bob", "correct horse")
				tt.prepare(s)
				before := len(s.tokens("bob"))
				c := s.browser()
				p := s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
				if p.status != http.StatusForbidden {
					t.Fatalf("login: %d %s, want 403 with a page that says why", p.status, p.header.Get("Location"))
				}
				has(t, p, en(tt.want), en(tt.want+"_next"))
				for _, path := range []string{"/o/acme/login/enroll", "/o/acme/login/code", "/o/acme/"} {
					if p := s.get(c, path); p.status != http.StatusSeeOther {
						t.Errorf("GET %s after the refusal: %d, want a redirect to sign in", path, p.status)
					}
				}
				if after := len(s.tokens("bob")); after != before {
					t.Fatalf("the refused login made %d tokens", after-before)
				}
			})
		})
	}
}

func TestBackupCodesLeadToTheCodeStepWithoutAnAuthenticator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("bob", "correct horse")
		s.active("bob")
		codes, err := s.admin.GenerateBackupCodes(s.ctx, s.org, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.admin.ChangeToken(s.ctx, s.org, "bob", s.lastToken("bob").Serial, "revoke"); err != nil {
			t.Fatal(err)
		}
		c := s.browser()
		p := s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		if p.header.Get("Location") != "/o/acme/login/code" {
			t.Fatalf("login with backup codes left: %d %s, want the code step", p.status, p.header.Get("Location"))
		}
		p = s.post(c, "/o/acme/login/code", url.Values{"code": {codes[0]}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("backup code: %d", p.status)
		}
	})
}

func TestFirstLoginSetupIsMadeByThePostAndReplacedByTheNext(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("bob", "correct horse")
		first := s.browser()
		s.post(first, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		ts := s.tokens("bob")
		if len(ts) != 1 || ts[0].State != store.TokenAssigned || !ts[0].SelfEnrolled {
			t.Fatalf("after the first-login post: %+v, want one self-enrolled assigned token", ts)
		}
		for range 3 {
			s.get(first, "/o/acme/login/enroll")
		}
		if n := len(s.tokens("bob")); n != 1 {
			t.Fatalf("viewing the setup page made tokens: %d in all", n)
		}
		// Abandoned, and started again elsewhere: still a first login, and
		// the older setup (whose secret the first browser saw) is retired.
		second := s.browser()
		p := s.post(second, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		if p.header.Get("Location") != "/o/acme/login/enroll" {
			t.Fatalf("second first login: %d %s, want the enrollment step", p.status, p.header.Get("Location"))
		}
		ts = s.tokens("bob")
		if len(ts) != 2 || ts[0].State != store.TokenRevoked || ts[1].State != store.TokenAssigned {
			t.Fatalf("after starting again: %+v, want the first revoked and a new one assigned", ts)
		}
		if p := s.get(first, "/o/acme/login/enroll"); p.status != http.StatusGone {
			t.Fatalf("the first browser's replaced setup: %d, want 410", p.status)
		}
		has(t, s.get(first, "/o/acme/login/enroll"), en("error.setup_gone"))
	})
}

func TestRenameRefusesControlCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		serial := s.lastToken("alice").Serial
		p := s.post(c, "/o/acme/tokens/rename", url.Values{"serial": {serial}, "name": {"Phone\r\nBcc: all@acme.example"}})
		has(t, p, en("error.token_name"))
		if name := s.lastToken("alice").Name; name != "" {
			t.Fatalf("the token is named %q after a refused rename", name)
		}
		p = s.post(c, "/o/acme/tokens/rename", url.Values{"serial": {serial}, "name": {"  Work phone  "}})
		if p.header.Get("Location") != "/o/acme/?done=renamed" || s.lastToken("alice").Name != "Work phone" {
			t.Fatalf("rename: %d %s, name %q", p.status, p.header.Get("Location"), s.lastToken("alice").Name)
		}
	})
}
