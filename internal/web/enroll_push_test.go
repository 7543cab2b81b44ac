package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// pushToken allows push in the policy and assigns user a push token.
func (s *site) pushToken(user string) admin.Enrolled {
	s.t.Helper()
	s.setPolicy(`{"methods": ["app", "email", "push"]}`)
	en, err := s.admin.EnrollToken(s.ctx, s.org, user, "push", "")
	if err != nil {
		s.t.Fatal(err)
	}
	return en
}

// linkCode is the code of an enrollment link.
func linkCode(link string) string { return link[strings.Index(link, "code=")+len("code="):] }

// activateDevice does what the device endpoint does with the activation
// string of en: it binds a device key to the token and makes it active.
func (s *site) activateDevice(en admin.Enrolled) {
	s.t.Helper()
	a, err := push.ParseActivation(en.Activation)
	if err != nil {
		s.t.Fatal(err)
	}
	now := s.clock.Now()
	d := store.PushDevice{TokenID: en.Token.ID, PublicKey: make([]byte, 32), Name: "laptop", CreatedAt: now}
	if err := s.store.ActivatePushToken(s.ctx, secret.HashToken(a.Code), d, now, store.Event{OrgID: s.org.ID, At: now, Action: "push.activate"}); err != nil {
		s.t.Fatal(err)
	}
}

func TestEnrollPushToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "")
		tok := s.pushToken("alice")
		link := strings.TrimPrefix(tok.Link, s.srv.URL)

		p := s.get(s.client, link)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", link, p.status)
		}
		a, _ := push.ParseActivation(tok.Activation)
		has(t, p, tok.Activation, `src="data:image/png;base64,`, `href="`+html.EscapeString(a.AppLink())+`"`,
			"twofold-authenticator enroll "+tok.Activation, `<meta http-equiv="refresh" content="5">`, en("enroll_push.open"))
		// No TOTP setup: a code typed here is not how a push token starts.
		for _, not := range []string{`name="code"`, "otpauth://", "<form"} {
			if strings.Contains(p.body, not) {
				t.Errorf("the push enrollment page has %q", not)
			}
		}

		// A first code of its offline TOTP secret, posted anyway, turns
		// nothing on.
		k, err := otp.ParseURI(tok.URI)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
		p = s.post(s.client, "/enroll/verify", url.Values{"enrollment": {linkCode(link)}, "code": {s.code(g)}})
		if location(p) != link {
			t.Fatalf("a code posted for a push token: %d %s, want back to the page", p.status, location(p))
		}
		if tk := s.lastToken("alice"); tk.State != store.TokenAssigned {
			t.Fatalf("a posted code made the push token %s", tk.State)
		}
		// Still waiting: the page again.
		if p = s.get(s.client, link); p.status != http.StatusOK || !strings.Contains(p.body, tok.Activation) {
			t.Fatalf("before the device: %d", p.status)
		}

		s.activateDevice(tok)
		// Another browser with the link only finds it spent.
		if p = s.get(s.browser(), link); p.status != http.StatusGone {
			t.Fatalf("used link in another browser: %d, want 410", p.status)
		}
		// The page's next reload goes on with the setup, as after a code.
		p = s.get(s.client, link)
		if location(p) != "/o/acme/backup" {
			t.Fatalf("after the device activated: %d %s, want the backup codes step", p.status, location(p))
		}
		s.finishSetup(s.client, "/o/acme/enrolled")
		if p = s.get(s.client, link); p.status != http.StatusGone {
			t.Fatalf("the link after the setup: %d, want 410", p.status)
		}
	})
}

func TestEnrollPushTokenAsksForThePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("bob", "correct horse battery")
		tok := s.pushToken("bob")
		link := strings.TrimPrefix(tok.Link, s.srv.URL)
		p := s.get(s.client, link)
		has(t, p, `name="password"`)
		if strings.Contains(p.body, "http-equiv") {
			t.Error("the password step reloads itself")
		}
		p = s.post(s.client, "/enroll", url.Values{"code": {linkCode(link)}, "password": {"correct horse battery"}})
		if location(p) != link {
			t.Fatalf("password: %d %s", p.status, location(p))
		}
		has(t, s.get(s.client, link), tok.Activation)
		s.activateDevice(tok)
		if p = s.get(s.client, link); location(p) != "/o/acme/backup" {
			t.Fatalf("after the device activated: %d %s, want the backup codes step", p.status, location(p))
		}
	})
}
