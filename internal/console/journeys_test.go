package console

import (
	"html"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var (
	linkRE      = regexp.MustCompile(`https://[^\s"<>]+/enroll\?code=[A-Za-z0-9_-]+`)
	resetLinkRE = regexp.MustCompile(`https://[^\s"<>]+/login/reset\?token=[A-Za-z0-9_%-]+`)
	secretRE    = regexp.MustCompile(`[A-Z2-7]{4}(?: [A-Z2-7]{1,4})+`)
	tempCodeRE  = regexp.MustCompile(`<p class="code-shown" lang="en">([A-Z0-9-]+)</p>`)
)

// lastLink is the enrollment link of the newest mail to address.
func (s *site) lastLink(address string) string {
	s.t.Helper()
	return s.lastMailMatch(address, linkRE)
}

// lastMailMatch is what re finds in the newest mail to address that has
// it, as a path on the site.
func (s *site) lastMailMatch(address string, re *regexp.Regexp) string {
	s.t.Helper()
	ms := s.mails()
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.Contains(ms[i].Header.Get("To"), address) {
			b, _ := io.ReadAll(quotedprintable.NewReader(ms[i].Body))
			if m := re.FindString(string(b)); m != "" {
				return strings.TrimPrefix(html.UnescapeString(m), s.srv.URL)
			}
		}
	}
	s.t.Fatalf("nothing like %s mailed to %s", re, address)
	return ""
}

// enrollByLink goes through the enrollment page as the user would, with
// their password when they have one, and returns their new app.
func (s *site) enrollByLink(link, password string) *otp.Generator {
	s.t.Helper()
	c := s.browser()
	code := link[strings.Index(link, "=")+1:]
	p := s.get(c, link)
	if password != "" {
		if p = s.post(c, "/enroll", url.Values{"code": {code}, "password": {password}}); p.status != http.StatusSeeOther {
			s.t.Fatalf("enrollment password: %d", p.status)
		}
		p = s.get(c, link)
	}
	me := s.appFrom(p)
	if p = s.post(c, "/enroll/verify", url.Values{"enrollment": {code}, "code": {s.code(me)}}); p.status != http.StatusSeeOther {
		s.t.Fatalf("first code: %d\n%s", p.status, p.body)
	}
	s.clock.Advance(30 * time.Second)
	return me.gen
}

// portalSignIn signs in at the portal with the password, then a code;
// it answers with the code step's response, or the password step's when
// that refuses.
func (s *site) portalSignIn(username, password, code string) response {
	s.t.Helper()
	r, _ := s.portalBrowser(username, password, code)
	return r
}

// portalBrowser is portalSignIn that also returns the browser.
func (s *site) portalBrowser(username, password, code string) (response, *http.Client) {
	s.t.Helper()
	c := s.browser()
	r := s.post(c, "/o/acme/login", url.Values{"username": {username}, "password": {password}})
	if location(r) != "/o/acme/login/code" {
		return r, c
	}
	return s.post(c, "/o/acme/login/code", url.Values{"code": {code}}), c
}

// appFrom makes the app of the secret an enrollment page shows.
func (s *site) appFrom(p response) *person {
	s.t.Helper()
	sec := secretRE.FindString(p.body)
	if sec == "" {
		s.t.Fatalf("no secret on the enrollment page (%d)", p.status)
	}
	key, err := otp.DecodeSecret(strings.ReplaceAll(sec, " ", ""))
	if err != nil {
		s.t.Fatal(err)
	}
	g, err := otp.NewGenerator(key, otp.SHA1, 6)
	if err != nil {
		s.t.Fatal(err)
	}
	return &person{gen: g}
}

// The operator invites a user and watches the enrollment complete.
func TestJourneyInviteAndWatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		c := s.signIn(ann)
		r := s.post(c, "/o/acme/admin/users/new", url.Values{"username": {"Dave"}, "display_name": {"Dave de Vries"}, "email": {"dave@acme.example"}, "role": {"user"}, "invite": {"1"}})
		if location(r) != "/o/acme/admin/users/dave?done=console.flash.user_added_invited" {
			t.Fatalf("add user: %d %q\n%s", r.status, location(r), r.body)
		}
		page := s.get(c, location(r))
		has(t, page, "Dave de Vries", en("console.flash.user_added_invited"), en("console.enrollment.state.pending"))
		s.enrollByLink(s.lastLink("dave@acme.example"), "")
		page = s.get(c, "/o/acme/admin/users/dave")
		has(t, page, en("console.enrollment.state.completed"), en("token.state.active"))
		// The directory shows it too.
		has(t, s.get(c, "/o/acme/admin/users?q=dav"), `href="/o/acme/admin/users/dave"`, "Dave de Vries")
		// Bad input changes nothing and says what was wrong, on its field.
		r = s.post(c, "/o/acme/admin/users/new", url.Values{"username": {"dave"}, "email": {"dave2@acme.example"}, "role": {"user"}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="username-error"`) {
			t.Fatalf("duplicate user: %d", r.status)
		}
		r = s.post(c, "/o/acme/admin/users/new", url.Values{"username": {"eve"}, "email": {"not an address"}, "role": {"user"}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("bad email: %d", r.status)
		}
		if _, err := s.admin.User(s.ctx, s.org, "eve"); err == nil {
			t.Fatal("a refused user was added")
		}
	})
}

// The file-sync manual: Accounts → user → Change Password, the new one
// typed twice.
func TestJourneyChangePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		carol := s.person(s.org, "carol", store.RoleUser)
		c := s.signIn(ann)
		for _, c2 := range []struct {
			form  url.Values
			field string
		}{
			{url.Values{"new_password": {"a new long passphrase"}, "new_password_confirm": {"a new long passphrase!"}}, "new_password_confirm"},
			{url.Values{"new_password": {"password123"}, "new_password_confirm": {"password123"}}, "new_password"},
			{url.Values{"new_password": {"short"}, "new_password_confirm": {"short"}}, "new_password"},
		} {
			r := s.post(c, "/o/acme/admin/users/carol/password", c2.form)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="`+c2.field+`-error"`) {
				t.Fatalf("%v: %d, want the error on %s", c2.form, r.status, c2.field)
			}
		}
		if r := s.portalSignIn("carol", carol.password, s.code(carol)); r.status != http.StatusSeeOther {
			t.Fatalf("the old password stopped working after refusals: %d", r.status)
		}
		s.clock.Advance(30 * time.Second)
		r := s.post(c, "/o/acme/admin/users/carol/password", url.Values{"new_password": {"violet staircase orbit"}, "new_password_confirm": {"violet staircase orbit"}})
		if location(r) != "/o/acme/admin/users/carol?done=console.flash.password" {
			t.Fatalf("change password: %d %q", r.status, location(r))
		}
		if r := s.portalSignIn("carol", carol.password, s.code(carol)); r.status == http.StatusSeeOther && location(r) == "/o/acme/" {
			t.Fatal("the old password still works")
		}
		s.clock.Advance(30 * time.Second)
		if r := s.portalSignIn("carol", "violet staircase orbit", s.code(carol)); location(r) != "/o/acme/" {
			t.Fatalf("the new password: %d %q", r.status, location(r))
		}
	})
}

// A user lost their phone: the helpdesk gives a temporary code, which
// suspends the lost authenticator; the user signs in with it and sets up
// the new phone. Later the second factor is reset altogether, and the
// user enrolls again by invitation.
func TestJourneyLostPhone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		ann := s.person(s.org, "ann", store.RoleAdmin)
		help := s.person(s.org, "help", store.RoleHelpdesk)
		carol := s.person(s.org, "carol", store.RoleUser)
		hc := s.signIn(help)
		r := s.post(hc, "/o/acme/admin/users/carol/temp-code", url.Values{"hours": {"4"}, "uses": {"1"}})
		m := tempCodeRE.FindStringSubmatch(r.body)
		if r.status != http.StatusOK || m == nil {
			t.Fatalf("temp code: %d\n%s", r.status, r.body)
		}
		has(t, r, en("console.temp_code.suspended", carol.serial))
		// The page is not kept, and the code is shown only this once.
		if strings.Contains(s.get(hc, "/o/acme/admin/users/carol").body, m[1]) {
			t.Fatal("the temporary code is shown again")
		}
		mails := s.mails()
		if last := mails[len(mails)-1]; !strings.Contains(last.Header.Get("To"), "carol@") {
			t.Fatalf("no notice mailed to carol: %v", last.Header)
		} else if b, _ := io.ReadAll(last.Body); strings.Contains(string(b), m[1]) {
			t.Fatal("the notice holds the code")
		}
		// The lost phone no longer works; the temporary code does, once.
		if r := s.portalSignIn("carol", carol.password, s.code(carol)); location(r) == "/o/acme/" {
			t.Fatal("the suspended authenticator still signs in")
		}
		// Signed in with it, the user is walked to set up their new phone.
		r, pc := s.portalBrowser("carol", carol.password, m[1])
		if location(r) != "/o/acme/add/app" {
			t.Fatalf("temporary code: %d %q", r.status, location(r))
		}
		phone := s.appFrom(s.get(pc, "/o/acme/add/app"))
		if r := s.post(pc, "/o/acme/add/app", url.Values{"code": {s.code(phone)}}); r.status != http.StatusSeeOther {
			t.Fatalf("new phone's first code: %d\n%s", r.status, r.body)
		}
		s.clock.Advance(30 * time.Second)
		if r := s.portalSignIn("carol", carol.password, m[1]); location(r) == "/o/acme/" || location(r) == "/o/acme/add/app" {
			t.Fatal("a one-use temporary code signed in twice")
		}
		if r := s.portalSignIn("carol", carol.password, s.code(phone)); location(r) != "/o/acme/" {
			t.Fatalf("the new phone: %d %q", r.status, location(r))
		}
		// The helpdesk resets the second factor; an admin invites a new
		// phone, and the user enrolls it.
		s.clock.Advance(time.Minute)
		if r := s.post(hc, "/o/acme/admin/users/carol/reset-mfa", url.Values{}); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="confirm-reset-error"`) {
			t.Fatalf("reset without confirming: %d", r.status)
		}
		if r := s.post(hc, "/o/acme/admin/users/carol/reset-mfa", url.Values{"confirm": {"1"}}); location(r) != "/o/acme/admin/users/carol?done=console.flash.reset_mfa" {
			t.Fatalf("reset MFA: %d %q", r.status, location(r))
		}
		if r := s.post(hc, "/o/acme/admin/users/carol/invite", url.Values{"type": {"totp"}}); r.status != http.StatusForbidden {
			t.Fatalf("helpdesk invites: %d, want 403", r.status)
		}
		ac := s.signIn(ann)
		if r := s.post(ac, "/o/acme/admin/users/carol/invite", url.Values{"type": {"totp"}}); location(r) != "/o/acme/admin/users/carol?done=console.flash.invited" {
			t.Fatalf("invite: %d %q", r.status, location(r))
		}
		g := s.enrollByLink(s.lastLink("carol@acme.example"), carol.password)
		carol.gen = g
		if r := s.portalSignIn("carol", carol.password, s.code(carol)); location(r) != "/o/acme/" {
			t.Fatalf("new phone: %d %q", r.status, location(r))
		}
		has(t, s.get(ac, "/o/acme/admin/users/carol"), en("token.state.active"), en("token.state.revoked"))
	})
}

// A service provider admin added in the console gets an invitation, sets
// up their app from it, sets their first password by mail, and signs in
// to the provider's console.
func TestJourneyNewProviderAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		root := s.provider()
		c := s.signIn(root)
		if r := s.post(c, "/admin/admins", url.Values{"username": {"max"}, "email": {"max@provider.example"}, "display_name": {"Max Weber"}}); r.status != http.StatusSeeOther {
			t.Fatalf("add provider admin: %d\n%s", r.status, r.body)
		}
		max := &person{name: "max", org: root.org}
		max.gen = s.enrollByLink(s.lastLink("max@provider.example"), "")
		// The sign-in page shows the way to a first password.
		has(t, s.get(s.browser(), "/admin/login"), `href="/o/_provider/login/forgot"`)
		b2 := s.browser()
		if r := s.post(b2, "/o/_provider/login/forgot", url.Values{"username": {"max"}}); r.status != http.StatusSeeOther {
			t.Fatalf("forgot: %d", r.status)
		}
		s.portal.Wait()
		link := s.lastMailMatch("max@provider.example", resetLinkRE)
		token := link[strings.Index(link, "token=")+len("token="):]
		s.get(b2, link)
		max.password = "a brand new passphrase"
		r := s.post(b2, "/o/_provider/login/reset", url.Values{"token": {token}, "code": {s.code(max)}, "new_password": {max.password}, "new_password_confirm": {max.password}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("reset: %d\n%s", r.status, r.body)
		}
		s.clock.Advance(30 * time.Second)
		has(t, s.get(s.signIn(max), "/admin/"), "max")
	})
}
