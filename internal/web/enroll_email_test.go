package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestEmailTokenAssignedByAnOperator follows the link an operator's email
// token mails: the page mails the first code only when asked, takes it, and
// the token is active; a wrong code and a re-send at once are each said.
func TestEmailTokenAssignedByAnOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("erin", "")
		tok, err := s.admin.EnrollToken(s.ctx, s.org, "erin", "email", "")
		if err != nil {
			t.Fatal(err)
		}
		if tok.Link == "" || tok.URI != "" {
			t.Fatalf("an email token has link %q and URI %q; want a link and no URI", tok.Link, tok.URI)
		}
		path := strings.TrimPrefix(tok.Link, s.srv.URL)
		link, _ := url.Parse(tok.Link)
		enrollment := link.Query().Get("code")
		c := s.browser()

		p := s.get(c, path)
		has(t, p, esc(i18n.T("en", "enroll_email.intro", "e•••@acme.example")), `action="/enroll/email"`, "Acme Corp")
		if strings.Contains(p.body, `name="code" type="text"`) || len(s.mails()) != 0 {
			t.Fatal("the page asks for a code, or mailed one, before it was asked to send one")
		}

		p = s.post(c, "/enroll/email", url.Values{"enrollment": {enrollment}})
		if p.status != 303 || !strings.Contains(p.header.Get("Location"), "sent=1") {
			t.Fatalf("send: %d %s", p.status, p.header.Get("Location"))
		}
		first := s.lastMailedCode()
		p = s.get(c, path+"&sent=1")
		has(t, p, esc(i18n.T("en", "enroll_email.sent", "e•••@acme.example")), `name="code"`, en("flash.code_sent"))

		// At once again: wait.
		has(t, s.post(c, "/enroll/email", url.Values{"enrollment": {enrollment}}), en("error.resend_wait"))

		// A wrong code is said on the same page.
		wrong := "000000"
		if first == wrong {
			wrong = "111111"
		}
		p = s.post(c, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {wrong}})
		has(t, p, en("error.email_code_wrong"), `action="/enroll/verify"`)

		// Another browser with the link but without the mailed code's
		// session is sent back to the start.
		other := s.browser()
		if p := s.post(other, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {first}}); p.status != 303 {
			t.Fatalf("verify without a sent code: %d", p.status)
		}

		s.clock.Advance(31 * time.Second)
		p = s.post(c, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {first}})
		if location(p) != "/o/acme/backup" {
			t.Fatalf("first code: %d %s, want the backup codes of the setup", p.status, location(p))
		}
		s.finishSetup(c, "/o/acme/enrolled?email=1")
		p = s.get(c, "/o/acme/enrolled?email=1")
		has(t, p, en("enroll_done.title_email"))
		if strings.Contains(p.body, en("enroll_done.keep")) {
			t.Error("the done page tells an email user to keep the app")
		}
		if got := s.lastToken("erin"); got.State != store.TokenActive {
			t.Fatalf("token is %s after the first code", got.State)
		}
		// The link is used up.
		if p := s.get(s.browser(), path); p.status != 410 {
			t.Errorf("used link: %d, want 410", p.status)
		}
	})
}
