package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/web"
)

// signedIn is what the portal tells the OpenID Connect provider of the
// browser c's session.
func (s *site) signedIn(c *http.Client) (web.Portal, bool) {
	s.t.Helper()
	r := httptest.NewRequest("GET", s.srv.URL+"/o/acme/", nil)
	u, _ := url.Parse(s.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		r.AddCookie(ck)
	}
	p, ok, err := s.web.SignedIn(r, s.org)
	if err != nil {
		s.t.Fatal(err)
	}
	return p, ok
}

// TestSessionRecordsTheSignIn: the session says what its sign-in used
// and when, keeps it through what the user does signed in, and forgets
// it with the sign-out.
func TestSessionRecordsTheSignIn(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	s.addUser("alice", "correct horse battery")
	g := s.active("alice")
	at := s.clock.Now()
	c := s.login("alice", "correct horse battery", g)
	p, ok := s.signedIn(c)
	if !ok || p.UserID != s.user("alice").ID || !slices.Equal(p.SignIn.Methods, []string{web.MethodPassword, "app"}) || !p.SignIn.At.Equal(at) {
		t.Fatalf("after password and code: %+v, %v; want alice, password and app, at %v", p, ok, at)
	}
	s.clock.Advance(time.Minute)
	codes := s.makeBackupCodes(c, "correct horse battery")
	if p2, ok := s.signedIn(c); !ok || !p2.SignIn.At.Equal(at) || !slices.Equal(p2.SignIn.Methods, p.SignIn.Methods) {
		t.Fatalf("after making backup codes: %+v, %v; want the same sign-in", p2, ok)
	}
	if r := s.post(c, "/o/acme/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if _, ok := s.signedIn(c); ok {
		t.Fatal("signed in after signing out")
	}
	c = s.browser()
	s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
	s.post(c, "/o/acme/login/method", url.Values{"method": {"backup"}})
	s.post(c, "/o/acme/login/code", url.Values{"code": {codes[0]}})
	if p, ok := s.signedIn(c); !ok || !slices.Equal(p.SignIn.Methods, []string{web.MethodPassword, "backup"}) {
		t.Fatalf("after a backup code: %+v, %v; want password and backup", p, ok)
	}
}
