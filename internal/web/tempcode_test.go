package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func (s *site) tempCode(user string, o admin.TempCodeOptions) admin.TempCode {
	s.t.Helper()
	c, err := s.admin.IssueTempCode(s.ctx, s.org, user, o)
	if err != nil {
		s.t.Fatalf("IssueTempCode: %v", err)
	}
	return c
}

// addAppFromPage reads the otpauth link of the add/app page and activates
// the new authenticator with its first code.
func (s *site) addAppFromPage(c *http.Client) {
	s.t.Helper()
	p := s.get(c, "/o/acme/add/app")
	uri := regexp.MustCompile(`href="(otpauth://[^"]+)"`).FindStringSubmatch(p.body)
	if uri == nil {
		s.t.Fatalf("no otpauth link on the page of adding an app:\n%s", p.body)
	}
	k, _ := otp.ParseURI(strings.ReplaceAll(uri[1], "&amp;", "&"))
	g, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	p = s.post(c, "/o/acme/add/app", url.Values{"code": {s.code(g)}})
	if p.header.Get("Location") != "/o/acme/?done=added" {
		s.t.Fatalf("first code of the new app: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
}

// The helpdesk's journey for a lost phone: a temporary code suspends the
// app, the user signs in with it at the code step and adds a new app.
func TestLostPhoneTempCodeThenANewApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.addUser("bob", "correct horse")
		s.active("alice")
		s.active("bob")
		if err := s.admin.ChangeToken(s.ctx, s.org, "bob", s.lastToken("bob").Serial, "suspend"); err != nil {
			t.Fatal(err)
		}
		// Without a temporary code a suspended authenticator is said to be suspended.
		p := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		if p.status != http.StatusForbidden || !strings.Contains(p.body, en("login.suspended")) {
			t.Fatalf("bob, suspended without a temporary code: %d\n%s", p.status, p.body)
		}

		tc := s.tempCode("alice", admin.TempCodeOptions{})
		if s.lastToken("alice").State != store.TokenSuspended {
			t.Fatal("the lost app was not suspended")
		}
		c := s.password("alice", "correct horse")
		p = s.get(c, "/o/acme/login/code")
		has(t, p, "<h1>"+en("login_code.temp_title")+"</h1>", en("login_code.temp_help"), `inputmode="text"`)
		if strings.Contains(p.body, en("login.suspended")) {
			t.Fatal("the code step says the authenticator is suspended")
		}
		has(t, s.post(c, "/o/acme/login/code", url.Values{"code": {"ABCD-EFGH-JKMN"}}), en("error.temp_wrong"))
		p = s.post(c, "/o/acme/login/code", url.Values{"code": {strings.ToLower(tc.Code)}})
		// Nothing active is left: the temporary code, a helpdesk action,
		// leads straight to adding an app, as a backup code does.
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/add/app" {
			t.Fatalf("temporary code: %d %s, want the page of adding an app\n%s", p.status, p.header.Get("Location"), p.body)
		}
		s.addAppFromPage(c)
		if got := s.user("alice").LastMethod; got == "temp" {
			t.Error("the temporary code was remembered as the way to sign in")
		}

		// Used up: the next sign-in's code step no longer offers it.
		c = s.password("alice", "correct horse")
		p = s.get(c, "/o/acme/login/code")
		if strings.Contains(p.body, en("login_code.temp_title")) || strings.Contains(p.body, `value="temp"`) {
			t.Errorf("a used-up temporary code is still offered:\n%s", p.body)
		}
	})
}

func TestTempCodeSignInLandsOnTheDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.active("alice")
		lost := s.lastToken("alice").Serial
		s.active("alice") // a second app, not lost
		tc := s.tempCode("alice", admin.TempCodeOptions{Suspend: lost})
		c := s.password("alice", "correct horse")
		// The app that is left opens the code step; the temporary code
		// is offered beside it and goes in the same field.
		p := s.get(c, "/o/acme/login/code")
		has(t, p, `value="temp"`, en("method.temp"))
		p = s.post(c, "/o/acme/login/code", url.Values{"code": {tc.Code}})
		if p.header.Get("Location") != "/o/acme/?done=temp_used" {
			t.Fatalf("temporary code: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		has(t, s.get(c, "/o/acme/?done=temp_used"), en("flash.temp_used"))
	})
}

func TestCombinedLoginWithATempCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"login_form": "combined"}`)
		s.addUser("alice", "correct horse")
		s.active("alice")
		tc := s.tempCode("alice", admin.TempCodeOptions{})
		c := s.browser()
		p := s.post(c, "/o/acme/login", url.Values{"username": {"alice"}, "password": {"correct horse"}, "code": {tc.Code}})
		if p.header.Get("Location") != "/o/acme/add/app" {
			t.Fatalf("combined login with a temporary code: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		s.addAppFromPage(c)
	})
}
