package web_test

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var resetLinkRE = regexp.MustCompile(`/o/acme/login/reset\?token=[A-Za-z0-9_-]+`)

// forgot asks for a reset link for typed, as the form does, and waits for
// the mails that sends.
func (s *site) forgot(c *http.Client, typed string) page {
	s.t.Helper()
	p := s.post(c, "/o/acme/login/forgot", url.Values{"username": {typed}})
	s.web.Wait()
	return p
}

// resetLink returns the path of the reset link in the newest mail.
func (s *site) resetLink() string {
	s.t.Helper()
	_, raw := s.mailText(-1)
	body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(raw)))
	if err != nil {
		s.t.Fatal(err)
	}
	link := resetLinkRE.FindString(string(body))
	if link == "" {
		s.t.Fatalf("no reset link in the mail:\n%s", body)
	}
	return link
}

// resetForm is the reset page's form for link, with the new password twice.
func resetForm(link, code, password string) url.Values {
	u, _ := url.Parse(link)
	return url.Values{"token": {u.Query().Get("token")}, "code": {code}, "new_password": {password}, "new_password_confirm": {password}}
}

func TestForgotPasswordAnswersAlike(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.active("alice")
		p := s.get(s.client, "/o/acme/login")
		has(t, p, en("login.forgot"), `href="/o/acme/login/forgot"`)
		var answers []page
		for _, typed := range []string{"alice", "alice@acme.example", "mallory", "mallory@acme.example"} {
			s.clock.Advance(time.Minute) // past the send limit
			p := s.forgot(s.browser(), typed)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login/forgot?sent=1" {
				t.Fatalf("forgot %q: %d %s, want the redirect every request gets", typed, p.status, p.header.Get("Location"))
			}
			answers = append(answers, p)
		}
		for i, p := range answers[1:] {
			if p.body != answers[0].body {
				t.Errorf("answer %d differs from the first:\n%s\n%s", i+1, p.body, answers[0].body)
			}
		}
		if n := len(s.mails()); n != 2 {
			t.Fatalf("%d mails, want one for the username and one for the address", n)
		}
		p = s.get(s.client, "/o/acme/login/forgot?sent=1")
		has(t, p, strings.ReplaceAll(en("forgot.sent"), "%d", "30"))
		p = s.post(s.client, "/o/acme/login/forgot", url.Values{"username": {"  "}})
		has(t, p, en("error.reset_empty"))
	})
}

func TestForgotPasswordIsRateLimited(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	s.addUser("alice", "correct horse")
	for range 3 {
		s.forgot(s.client, "alice")
	}
	if n := len(s.mails()); n != 1 {
		t.Fatalf("three asks within a second mailed %d links, want 1", n)
	}
	// One address cannot spray requests across accounts either: the
	// throttle of password attempts takes them too.
	for i := range 40 {
		s.addUser("user"+string(rune('a'+i%26))+string(rune('a'+i/26)), "correct horse")
	}
	before := len(s.mails())
	for i := range 40 {
		s.forgot(s.client, "user"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if n := len(s.mails()) - before; n >= 40 || n < 20 {
		t.Fatalf("40 asks for 40 accounts from one address mailed %d links, want the throttle's burst", n)
	}
}

func TestResetWithTheSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		other := s.login("alice", "correct horse", g)
		s.forgot(s.browser(), "alice")
		link := s.resetLink()
		c := s.browser()
		p := s.get(c, link)
		has(t, p, en("reset.title"), `name="code"`, `name="new_password"`, `name="new_password_confirm"`)

		tests := []struct {
			name string
			form url.Values
			want string
		}{
			{"passwords that differ", func() url.Values {
				f := resetForm(link, s.code(g), "new password one")
				f.Set("new_password_confirm", "new password two")
				return f
			}(), en("error.password_mismatch")},
			{"a short password", resetForm(link, s.code(g), "short"), en("error.password_short")},
			{"no code", resetForm(link, "", "a new password"), en("error.code_malformed")},
			{"a wrong code", resetForm(link, "000000", "a new password"), en("error.code_wrong")},
		}
		for _, tt := range tests {
			p := s.post(c, "/o/acme/login/reset", tt.form)
			if p.status != http.StatusOK {
				t.Fatalf("%s: %d, want the form again", tt.name, p.status)
			}
			has(t, p, tt.want)
		}
		if u := s.user("alice"); u.Failures != 1 {
			t.Fatalf("%d failures after one wrong code, want 1: each guess counts", u.Failures)
		}
		s.login("alice", "correct horse", g) // the password is still the old one
		s.clock.Advance(30 * time.Second)

		p = s.post(c, "/o/acme/login/reset", resetForm(link, s.code(g), "a new password"))
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/?done=password" {
			t.Fatalf("reset: %d %s, want the dashboard", p.status, p.header.Get("Location"))
		}
		if p := s.get(c, "/o/acme/"); p.status != http.StatusOK {
			t.Fatalf("dashboard after the reset: %d, want signed in", p.status)
		}
		if p := s.get(other, "/o/acme/"); p.status != http.StatusSeeOther {
			t.Fatalf("another browser after the reset: %d, want signed out", p.status)
		}
		if subject, _ := s.mailText(-1); !strings.Contains(subject, "Acme Corp") || !strings.Contains(strings.ToLower(subject), "password") {
			t.Fatalf("last mail %q, want the notice that the password changed", subject)
		}
		s.clock.Advance(30 * time.Second)
		s.login("alice", "a new password", g)

		s.clock.Advance(30 * time.Second)
		p = s.post(s.browser(), "/o/acme/login/reset", resetForm(link, s.code(g), "another password"))
		if p.status != http.StatusGone {
			t.Fatalf("the link again: %d, want 410", p.status)
		}
		has(t, p, en("reset.used"))
	})
}

func TestResetWithoutASecondFactorSendsToSignIn(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	s.setPolicy(`{"mfa_required": false}`)
	s.addUser("bob", "correct horse")
	s.forgot(s.client, "bob")
	link := s.resetLink()
	p := s.get(s.client, link)
	if strings.Contains(p.body, `name="code"`) {
		t.Fatal("the reset page asks a user without a second factor for a code")
	}
	p = s.post(s.client, "/o/acme/login/reset", resetForm(link, "", "a new password"))
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login?done=password_reset" {
		t.Fatalf("reset: %d %s, want sign-in", p.status, p.header.Get("Location"))
	}
	has(t, s.get(s.client, "/o/acme/login?done=password_reset"), en("flash.password_reset"))
	p = s.post(s.client, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"a new password"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/" {
		t.Fatalf("sign in with the new password: %d %s", p.status, p.header.Get("Location"))
	}
}

func TestResetLinkThatCannotBeUsed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.active("alice")
		s.forgot(s.client, "alice")
		link := s.resetLink()
		tests := []struct {
			name, path string
			want       string
		}{
			{"a made-up link", "/o/acme/login/reset?token=made-up", "reset.gone"},
			{"no token", "/o/acme/login/reset", "reset.gone"},
			{"the link after 30 minutes", link, "reset.gone"},
		}
		s.clock.Advance(30 * time.Minute)
		for _, tt := range tests {
			p := s.get(s.client, tt.path)
			if p.status != http.StatusGone {
				t.Errorf("%s: %d, want 410", tt.name, p.status)
			}
			has(t, p, en(tt.want), `href="/o/acme/login/forgot"`)
		}
	})
}

func TestResetIsNotOfferedWhereThePolicySaysNo(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	s.setPolicy(`{"password_reset": false}`)
	s.addUser("alice", "correct horse")
	if p := s.get(s.client, "/o/acme/login"); strings.Contains(p.body, "/login/forgot") {
		t.Fatal("the sign-in page links to a reset the policy does not offer")
	}
	for _, path := range []string{"/o/acme/login/forgot", "/o/acme/login/reset?token=x"} {
		p := s.get(s.client, path)
		if p.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, p.status)
		}
		has(t, p, en("reset.off"))
	}
	if p := s.forgot(s.client, "alice"); p.status != http.StatusNotFound || len(s.mails()) != 0 {
		t.Fatalf("POST forgot: %d and %d mails, want 404 and none", p.status, len(s.mails()))
	}
}
