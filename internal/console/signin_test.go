package console

import (
	"html"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func en(key string, args ...any) string { return html.EscapeString(i18n.T("en", key, args...)) }

func TestSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		bob := s.person(s.org, "bob", store.RoleUser)

		// Not signed in: every page leads to the sign-in, remembering where.
		c := s.browser()
		if got := location(s.get(c, "/o/acme/admin/users?q=a")); got != "/o/acme/admin/login?next=%2Fo%2Facme%2Fadmin%2Fusers%3Fq%3Da" {
			t.Fatalf("not signed in: redirected to %q", got)
		}
		// A wrong code gets the one answer, whatever was wrong.
		for _, form := range []url.Values{
			{"username": {"ann"}, "password": {ann.password}, "code": {"000000"}},
			{"username": {"ann"}, "password": {"wrong"}, "code": {s.code(ann)}},
			{"username": {"nobody"}, "password": {ann.password}, "code": {s.code(ann)}},
		} {
			r := s.post(c, "/o/acme/admin/login", form)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("%v: %d", form, r.status)
			}
			has(t, r, en("console.error.sign_in"))
		}
		// A user who is no operator proves who they are and is told the
		// console is not for them; no session is made.
		r := s.post(c, "/o/acme/admin/login", url.Values{"username": {"bob"}, "password": {bob.password}, "code": {s.code(bob)}})
		if r.status != http.StatusForbidden {
			t.Fatalf("plain user: %d", r.status)
		}
		has(t, r, en("console.error.not_operator"))
		if got := location(s.get(c, "/o/acme/admin/")); got == "" {
			t.Fatal("a plain user got a console session")
		}

		// An admin signs in and continues to the page asked for.
		s.clock.Advance(30 * time.Second)
		c = s.browser()
		r = s.post(c, "/o/acme/admin/login", url.Values{"username": {"ann"}, "password": {ann.password}, "code": {s.code(ann)}, "next": {"/o/acme/admin/users?q=a"}})
		if location(r) != "/o/acme/admin/users?q=a" {
			t.Fatalf("sign in: %d %q", r.status, location(r))
		}
		// The code is used up: the same one does not sign in twice.
		c2 := s.browser()
		if r := s.post(c2, "/o/acme/admin/login", url.Values{"username": {"ann"}, "password": {ann.password}, "code": {s.code(ann)}}); r.status != http.StatusUnauthorized {
			t.Fatalf("replayed code: %d", r.status)
		}
		if r := s.get(c, "/o/acme/admin/users"); r.status != http.StatusOK {
			t.Fatalf("users page: %d", r.status)
		}
		// The console session is not a portal session.
		if got := location(s.get(c, "/o/acme/")); got != "/o/acme/login" {
			t.Fatalf("portal with a console session: %q", got)
		}
		// A link cannot send the operator off the console.
		s.clock.Advance(30 * time.Second)
		c3 := s.browser()
		r = s.post(c3, "/o/acme/admin/login", url.Values{"username": {"ann"}, "password": {ann.password}, "code": {s.code(ann)}, "next": {"//evil.example/o/acme/admin/"}})
		if location(r) != "/o/acme/admin/" {
			t.Fatalf("next off the console: %q", location(r))
		}

		// Idle too long, the session ends.
		s.clock.Advance(sessionIdle + time.Minute)
		if location(s.get(c, "/o/acme/admin/users")) == "" {
			t.Fatal("session outlived its idle time")
		}
		// Signing out ends it at once.
		s.clock.Advance(30 * time.Second)
		c = s.signIn(ann)
		if r := s.post(c, "/o/acme/admin/logout", url.Values{}); location(r) != "/o/acme/admin/login" {
			t.Fatalf("logout: %d %q", r.status, location(r))
		}
		if location(s.get(c, "/o/acme/admin/")) == "" {
			t.Fatal("signed out, still in")
		}
	})
}

func TestSignInEndsAtTheAbsoluteLimit(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	ann := s.person(s.org, "ann", store.RoleAdmin)
	c := s.signIn(ann)
	for s.clock.Now().Before(t0.Add(sessionLifetime)) {
		s.clock.Advance(10 * time.Minute)
		s.get(c, "/o/acme/admin/")
	}
	s.clock.Advance(time.Minute)
	if location(s.get(c, "/o/acme/admin/")) == "" {
		t.Fatal("a console session outlived its absolute lifetime")
	}
}

func TestSensitiveChangesAskAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		s.person(s.org, "carol", store.RoleUser)
		c := s.signIn(ann)
		s.clock.Advance(freshFor + time.Minute)
		r := s.post(c, "/o/acme/admin/users/carol/reset-mfa", url.Values{"confirm": {"1"}})
		want := "/o/acme/admin/reauth?next=%2Fo%2Facme%2Fadmin%2Fusers%2Fcarol"
		if location(r) != want {
			t.Fatalf("stale reset: %d %q, want %q", r.status, location(r), want)
		}
		if ts, _ := s.store.Tokens(s.ctx, s.org.ID, 2); len(ts) == 0 || ts[0].State != store.TokenActive {
			t.Fatalf("a change was made before re-authentication: %+v", ts)
		}
		// A wrong code does not refresh.
		if r := s.post(c, "/o/acme/admin/reauth", url.Values{"password": {ann.password}, "code": {"000000"}, "next": {"/o/acme/admin/users/carol"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong reauth: %d", r.status)
		}
		r = s.post(c, "/o/acme/admin/reauth", url.Values{"password": {ann.password}, "code": {s.code(ann)}, "next": {"/o/acme/admin/users/carol"}})
		if location(r) != "/o/acme/admin/users/carol" {
			t.Fatalf("reauth: %d %q", r.status, location(r))
		}
		r = s.post(c, "/o/acme/admin/users/carol/reset-mfa", url.Values{"confirm": {"1"}})
		if location(r) != "/o/acme/admin/users/carol?done=console.flash.reset_mfa" {
			t.Fatalf("fresh reset: %d %q\n%s", r.status, location(r), r.body)
		}
	})
}
