package web_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// setPolicy stores the organization's policy.
func (s *site) setPolicy(js string) {
	s.t.Helper()
	if err := s.store.SetPolicy(s.ctx, s.org.ID, s.org.PolicyRev, []byte(js), store.Event{OrgID: s.org.ID, Action: "policy.set"}); err != nil {
		s.t.Fatal(err)
	}
	var err error
	if s.org, err = s.store.OrgBySlug(s.ctx, "acme"); err != nil {
		s.t.Fatal(err)
	}
}

// mailText returns the body of mail i (negative: from the end) and its subject.
func (s *site) mailText(i int) (subject, body string) {
	s.t.Helper()
	ms := s.mails()
	if i < 0 {
		i += len(ms)
	}
	if i < 0 || i >= len(ms) {
		s.t.Fatalf("no mail %d of %d", i, len(ms))
	}
	b, _ := io.ReadAll(ms[i].Body)
	return ms[i].Header.Get("Subject"), string(b)
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// lastMailedCode returns the code in the newest mail.
func (s *site) lastMailedCode() string {
	s.t.Helper()
	_, body := s.mailText(-1)
	code := sixDigits.FindString(body)
	if code == "" {
		s.t.Fatalf("no code in the mail:\n%s", body)
	}
	return code
}

// emailToken gives user an active email token, activated with the first
// mailed code.
func (s *site) emailToken(user string) {
	s.t.Helper()
	en, err := s.admin.EnrollToken(s.ctx, s.org, user, "email", "")
	if err != nil {
		s.t.Fatal(err)
	}
	req := auth.Request{OrgID: s.org.ID, Username: user}
	txid, err := s.verifier.StartEmail(s.ctx, req, true)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Code, req.TransactionID = s.lastMailedCode(), txid
	if out, err := s.verifier.Activate(s.ctx, req, en.Token.Serial); err != nil || !out.Accepted {
		s.t.Fatalf("activate email token: %+v %v", out, err)
	}
	s.clock.Advance(time.Minute)
}

// password signs in with the password only, leaving the browser at the code step.
func (s *site) password(user, password string) *http.Client {
	s.t.Helper()
	c := s.browser()
	p := s.post(c, "/o/acme/login", url.Values{"username": {user}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/login/code" {
		s.t.Fatalf("login: %d %s, want a redirect to the code step", p.status, p.header.Get("Location"))
	}
	return c
}

func (s *site) user(name string) store.User {
	s.t.Helper()
	u, err := s.store.UserByName(s.ctx, s.org.ID, name)
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

var backupCodeRE = regexp.MustCompile(`\b[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}\b`)

// pendingCodes reads the backup codes the codes page shows.
func (s *site) pendingCodes(c *http.Client) []string {
	s.t.Helper()
	p := s.get(c, "/o/acme/backup")
	box := regexp.MustCompile(`(?s)<textarea[^>]*readonly[^>]*>(.*?)</textarea>`).FindStringSubmatch(p.body)
	if box == nil {
		s.t.Fatalf("no readonly box with the codes (%d):\n%s", p.status, p.body)
	}
	codes := backupCodeRE.FindAllString(box[1], -1)
	if len(codes) != 10 {
		s.t.Fatalf("%d codes in the box, want 10: %q", len(codes), box[1])
	}
	return codes
}

// makeBackupCodes makes backup codes in the dashboard, saves them, and
// returns them.
func (s *site) makeBackupCodes(c *http.Client, password string) []string {
	s.t.Helper()
	if p := s.post(c, "/o/acme/backup", url.Values{"password": {password}}); p.header.Get("Location") != "/o/acme/backup" {
		s.t.Fatalf("make backup codes: %d %s", p.status, p.header.Get("Location"))
	}
	codes := s.pendingCodes(c)
	if p := s.post(c, "/o/acme/backup/done", url.Values{"saved": {"1"}}); p.header.Get("Location") != "/o/acme/?done=backup_made" {
		s.t.Fatalf("save backup codes: %d %s", p.status, p.header.Get("Location"))
	}
	return codes
}

func (s *site) backupLeft(user string) int {
	s.t.Helper()
	left, err := s.store.BackupCodesLeft(s.ctx, s.user(user).ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return left
}

func TestBackupCodesInTheDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		has(t, s.get(c, "/o/acme/"), en("dashboard.backup_none"), en("dashboard.backup_make"), `action="/o/acme/backup"`)

		p := s.post(c, "/o/acme/backup", url.Values{"password": {"wrong"}})
		has(t, p, en("error.password_wrong"))
		if backupCodeRE.MatchString(p.body) || s.backupLeft("alice") != 0 {
			t.Fatal("codes shown or made after a wrong password")
		}

		// The post makes a pending set and redirects to the page showing it.
		p = s.post(c, "/o/acme/backup", url.Values{"password": {"correct horse"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/o/acme/backup" {
			t.Fatalf("make: %d %s, want a redirect to the codes page", p.status, p.header.Get("Location"))
		}
		p = s.get(c, "/o/acme/backup")
		has(t, p, en("backup_codes.saved"), `type="checkbox"`, `required`, `download="backup-codes-acme.txt"`, en("backup_codes.download"), en("backup_codes.new"))
		if !strings.Contains(p.header.Get("Cache-Control"), "no-store") {
			t.Error("the page with the codes may be cached")
		}
		first := s.pendingCodes(c)
		link := regexp.MustCompile(`href="(data:text/plain;charset=utf-8,[^"]+)"`).FindStringSubmatch(p.body)
		if link == nil {
			t.Fatal("no download link")
		}
		file, err := url.PathUnescape(strings.TrimPrefix(strings.ReplaceAll(link[1], "&amp;", "&"), "data:text/plain;charset=utf-8,"))
		if err != nil || !slices.Equal(backupCodeRE.FindAllString(file, -1), first) || !strings.Contains(file, "alice") {
			t.Fatalf("download: %v\n%s", err, file)
		}

		// Reloading the page, or posting the form again, shows the same
		// codes; none is in use before the user says they are saved.
		s.post(c, "/o/acme/backup", url.Values{"password": {"correct horse"}})
		if again := s.pendingCodes(c); !slices.Equal(again, first) {
			t.Fatal("reloading or re-posting made a new set")
		}
		p = s.post(c, "/o/acme/backup/done", url.Values{})
		has(t, p, en("error.backup_not_saved"))
		if !slices.Equal(s.pendingCodes(c), first) || s.backupLeft("alice") != 0 {
			t.Fatal("continuing without the tick changed the codes or put them in use")
		}

		// Only "make new codes" replaces them.
		if p := s.post(c, "/o/acme/backup/new", url.Values{}); p.header.Get("Location") != "/o/acme/backup" {
			t.Fatalf("new codes: %d %s", p.status, p.header.Get("Location"))
		}
		current := s.pendingCodes(c)
		if slices.Equal(current, first) {
			t.Fatal("make new codes showed the same set")
		}
		if p := s.post(c, "/o/acme/backup/done", url.Values{"saved": {"1"}}); p.header.Get("Location") != "/o/acme/?done=backup_made" {
			t.Fatalf("done: %d %s", p.status, p.header.Get("Location"))
		}
		// Posting the tick again changes nothing.
		if p := s.post(c, "/o/acme/backup/done", url.Values{"saved": {"1"}}); p.header.Get("Location") != "/o/acme/" {
			t.Fatalf("done again: %d %s, want the dashboard", p.status, p.header.Get("Location"))
		}
		p = s.get(c, "/o/acme/?done=backup_made")
		has(t, p, en("flash.backup_made"), esc(i18n.T("en", "dashboard.backup_left", 10, 10)), en("dashboard.backup_new"))
		for _, code := range current {
			if strings.Contains(p.body, code) {
				t.Fatal("the dashboard shows a backup code again")
			}
		}
		// The set replaced before it was saved never works; the saved one does.
		c2 := s.password("alice", "correct horse")
		s.post(c2, "/o/acme/login/method", url.Values{"method": {"backup"}})
		p = s.post(c2, "/o/acme/login/code", url.Values{"code": {first[0]}})
		has(t, p, en("error.backup_wrong"))
		if p = s.post(c2, "/o/acme/login/code", url.Values{"code": {current[0]}}); p.status != http.StatusSeeOther {
			t.Fatalf("a saved code: %d", p.status)
		}
	})
}

func esc(s string) string { return html.EscapeString(s) }

func TestLoginWithABackupCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		codes := s.makeBackupCodes(s.login("alice", "correct horse", g), "correct horse")
		before := len(s.mails())

		// The phone is lost: sign in with a backup code instead.
		c := s.password("alice", "correct horse")
		p := s.get(c, "/o/acme/login/code")
		has(t, p, en("login_code.others"), `value="backup"`, en("method.backup"))
		if p := s.post(c, "/o/acme/login/method", url.Values{"method": {"backup"}}); p.header.Get("Location") != "/o/acme/login/code" {
			t.Fatalf("choose backup: %d %s", p.status, p.header.Get("Location"))
		}
		p = s.get(c, "/o/acme/login/code")
		has(t, p, en("login_code.backup_title"), `inputmode="text"`)
		p = s.post(c, "/o/acme/login/code", url.Values{"code": {strings.ToUpper(codes[3])}})
		if p.header.Get("Location") != "/o/acme/?done=backup_used" {
			t.Fatalf("backup code: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		p = s.get(c, "/o/acme/?done=backup_used")
		has(t, p, esc(i18n.T("en", "flash.backup_used", 9)), esc(i18n.T("en", "dashboard.backup_left", 9, 10)))

		ms := s.mails()
		if len(ms) != before+1 {
			t.Fatalf("%d new mails, want the notice that a backup code was used", len(ms)-before)
		}
		subject, body := s.mailText(-1)
		if !strings.Contains(subject, "backup code") || !strings.Contains(body, i18n.T("en", "mail.backup_used.left", 9)) {
			t.Fatalf("notice: %q\n%s", subject, body)
		}
		// A backup code is not remembered as the way to sign in: the next
		// sign-in opens with the app again.
		if got := s.user("alice").LastMethod; got != "app" {
			t.Errorf("last method %q, want app", got)
		}
		c = s.password("alice", "correct horse")
		if p := s.get(c, "/o/acme/login/code"); !strings.Contains(p.body, "<h1>"+en("login_code.title")+"</h1>") {
			t.Errorf("after a backup code the next sign-in does not open with the app:\n%s", p.body)
		}

		// Each code works once.
		s.post(c, "/o/acme/login/method", url.Values{"method": {"backup"}})
		p = s.post(c, "/o/acme/login/code", url.Values{"code": {codes[3]}})
		if p.status != http.StatusOK {
			t.Fatalf("used backup code again: %d %s", p.status, p.header.Get("Location"))
		}
		has(t, p, en("error.backup_wrong"))
	})
}

func TestCodeStepListsTheMethods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"methods": ["app", "email", "sms", "push"]}`)
		s.addUser("alice", "correct horse")
		s.active("alice")
		s.emailToken("alice")
		c := s.password("alice", "correct horse")
		p := s.get(c, "/o/acme/login/code")
		has(t, p, en("method.app"), en("method.weaker"), "a•••@acme.example", en("method.sms_unavailable"), en("method.push_unavailable"))
		for _, m := range []string{"sms", "push"} {
			if !regexp.MustCompile(`value="` + m + `" disabled`).MatchString(p.body) {
				t.Errorf("%s is not shown disabled", m)
			}
		}
		if strings.Contains(p.body, `value="backup"`) {
			t.Error("backup codes offered to a user who has none")
		}
		// A disabled or unknown method cannot be chosen by posting it.
		for _, m := range []string{"sms", "push", "backup", "nonsense"} {
			s.post(c, "/o/acme/login/method", url.Values{"method": {m}})
			if p := s.get(c, "/o/acme/login/code"); !strings.Contains(p.body, en("login_code.title")) {
				t.Errorf("after choosing %s the page does not ask for the app's code", m)
			}
		}

		// Where the policy forbids email, it is not offered even to a user with an email token.
		s.setPolicy(`{"methods": ["app"]}`)
		p = s.get(s.password("alice", "correct horse"), "/o/acme/login/code")
		if strings.Contains(p.body, `value="email"`) || strings.Contains(p.body, en("method.sms")) {
			t.Errorf("email or text message offered against the policy:\n%s", p.body)
		}
	})
}

func TestLoginWithAnEmailedCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.active("alice")
		s.emailToken("alice")
		mailed := len(s.mails())

		c := s.password("alice", "correct horse")
		if n := len(s.mails()); n != mailed {
			t.Fatalf("%d mails sent before email was chosen", n-mailed)
		}
		if p := s.post(c, "/o/acme/login/method", url.Values{"method": {"email"}}); p.header.Get("Location") != "/o/acme/login/code" {
			t.Fatalf("choose email: %d %s", p.status, p.header.Get("Location"))
		}
		first := s.lastMailedCode()
		// The session row names the challenge by its hash alone.
		ses, err := s.store.SessionByHash(s.ctx, secret.HashToken(s.cookie(c, "__Host-twofold-session")), s.clock.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(ses.Data), &data); err != nil {
			t.Fatal(err)
		}
		hash, _ := base64.StdEncoding.DecodeString(fmt.Sprint(data["txid_hash"]))
		if _, raw := data["txid"]; raw || len(hash) != 32 {
			t.Fatalf("session data %s: want only the 32-byte hash of the transaction id", ses.Data)
		}
		if ch, err := s.store.ChallengeByTxID(s.ctx, s.org.ID, hash); err != nil || ch.Status != store.ChallengePending {
			t.Fatalf("challenge named by the session's hash: %+v, %v", ch, err)
		}
		p := s.get(c, "/o/acme/login/code")
		has(t, p, en("login_code.email_title"), "a•••@acme.example", en("login_code.resend"))

		// Re-send at once: wait a moment.
		p = s.post(c, "/o/acme/login/resend", url.Values{})
		has(t, p, en("error.resend_wait"))
		s.clock.Advance(31 * time.Second)
		p = s.post(c, "/o/acme/login/resend", url.Values{})
		if p.header.Get("Location") != "/o/acme/login/code?sent=1" {
			t.Fatalf("re-send: %d %s", p.status, p.header.Get("Location"))
		}
		has(t, s.get(c, "/o/acme/login/code?sent=1"), en("flash.code_sent"))
		second := s.lastMailedCode()
		if len(s.mails()) != mailed+2 {
			t.Fatalf("%d mails, want two codes", len(s.mails())-mailed)
		}
		if first != second {
			p = s.post(c, "/o/acme/login/code", url.Values{"code": {first}})
			has(t, p, en("error.email_code_wrong"))
		}
		p = s.post(c, "/o/acme/login/code", url.Values{"code": {second}})
		if p.header.Get("Location") != "/o/acme/" {
			t.Fatalf("emailed code: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if got := s.user("alice").LastMethod; got != "email" {
			t.Fatalf("last method %q, want email", got)
		}

		// Next time email is the default: the code is mailed with the password.
		s.clock.Advance(time.Minute)
		c = s.password("alice", "correct horse")
		if len(s.mails()) != mailed+3 {
			t.Fatal("no code mailed at the password step for a user who used email last")
		}
		has(t, s.get(c, "/o/acme/login/code"), en("login_code.email_title"))
		if p := s.post(c, "/o/acme/login/code", url.Values{"code": {s.lastMailedCode()}}); p.header.Get("Location") != "/o/acme/" {
			t.Fatalf("default email login: %d %s", p.status, p.header.Get("Location"))
		}
	})
}

func TestServerPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"pin_mode": "server", "pin_min_length": 4, "pin_max_length": 8}`)
		s.addUser("alice", "correct horse")
		g := s.active("alice")

		// No PIN yet: after both factors the user chooses one first.
		c := s.password("alice", "correct horse")
		has(t, s.get(c, "/o/acme/login/code"), en("login_code.pin_help"))
		p := s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(g)}})
		if p.header.Get("Location") != "/o/acme/login/pin" {
			t.Fatalf("code without a PIN set: %d %s, want the PIN step", p.status, p.header.Get("Location"))
		}
		if p := s.get(c, "/o/acme/"); p.status != http.StatusSeeOther {
			t.Fatalf("dashboard before the PIN is set: %d", p.status)
		}
		has(t, s.get(c, "/o/acme/login/pin"), en("pin.intro_new"), `name="new_pin"`)
		for _, tt := range []struct{ pin, confirm, want string }{
			{"4821", "4822", en("error.pin_mismatch")},
			{"48", "48", esc(i18n.T("en", "error.pin_length", 4, 8))},
			{"48a1", "48a1", en("error.pin_digits")},
		} {
			has(t, s.post(c, "/o/acme/login/pin", url.Values{"new_pin": {tt.pin}, "new_pin_confirm": {tt.confirm}}), tt.want)
		}
		p = s.post(c, "/o/acme/login/pin", url.Values{"new_pin": {"4821"}, "new_pin_confirm": {"4821"}})
		if p.header.Get("Location") != "/o/acme/?done=pin" {
			t.Fatalf("set PIN: %d %s", p.status, p.header.Get("Location"))
		}
		has(t, s.get(c, "/o/acme/"), en("dashboard.pin"), `name="new_pin"`)

		// Now the PIN goes before the code.
		s.clock.Advance(30 * time.Second)
		c = s.password("alice", "correct horse")
		has(t, s.post(c, "/o/acme/login/code", url.Values{"code": {s.code(g)}}), en("error.code_wrong"))
		if p := s.post(c, "/o/acme/login/code", url.Values{"code": {"4821" + s.code(g)}}); p.header.Get("Location") != "/o/acme/" {
			t.Fatalf("PIN and code: %d %s", p.status, p.header.Get("Location"))
		}

		// Changing it in the dashboard needs the current one.
		has(t, s.post(c, "/o/acme/pin", url.Values{"pin": {"0000"}, "new_pin": {"1357"}, "new_pin_confirm": {"1357"}}), en("error.pin_wrong"))
		if p := s.post(c, "/o/acme/pin", url.Values{"pin": {"4821"}, "new_pin": {"1357"}, "new_pin_confirm": {"1357"}}); p.header.Get("Location") != "/o/acme/?done=pin" {
			t.Fatalf("change PIN: %d %s", p.status, p.header.Get("Location"))
		}
		has(t, s.get(c, "/o/acme/?done=pin"), en("flash.pin_changed"))

		// A PIN the operator assigned must be changed at the next sign-in.
		pin, err := s.admin.SetPIN(s.ctx, s.org, "alice", "", false)
		if err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(30 * time.Second)
		c = s.password("alice", "correct horse")
		if p := s.post(c, "/o/acme/login/code", url.Values{"code": {pin + s.code(g)}}); p.header.Get("Location") != "/o/acme/login/pin" {
			t.Fatalf("assigned PIN: %d %s, want the PIN step", p.status, p.header.Get("Location"))
		}
		has(t, s.get(c, "/o/acme/login/pin"), en("pin.intro_must"))
		s.post(c, "/o/acme/login/pin", url.Values{"new_pin": {"9753"}, "new_pin_confirm": {"9753"}})
		if u := s.user("alice"); u.PINMustChange {
			t.Fatal("the assigned PIN still must be changed")
		}
	})
}

func TestAddEmailAsAnAuthenticator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		s.post(c, "/o/acme/add", url.Values{})
		s.post(c, "/o/acme/add/verify", url.Values{"code": {s.lastMailedCode()}})
		if p := s.post(c, "/o/acme/add/password", url.Values{"password": {"correct horse"}}); p.header.Get("Location") != "/o/acme/add/choose" {
			t.Fatalf("password: %d %s", p.status, p.header.Get("Location"))
		}
		mailed := len(s.mails())
		p := s.post(c, "/o/acme/add/choose", url.Values{"method": {"email"}})
		if p.header.Get("Location") != "/o/acme/add/email" {
			t.Fatalf("choose email: %d %s", p.status, p.header.Get("Location"))
		}
		// The verification code went out a moment ago, from the same allowance.
		has(t, s.get(c, "/o/acme/add/email"), "a•••@acme.example", `autocomplete="one-time-code"`, en("error.resend_wait"))
		if n := len(s.mails()); n != mailed {
			t.Fatalf("%d codes mailed within 30 s of the verification code, want none", n-mailed)
		}
		s.clock.Advance(30 * time.Second)
		if p := s.post(c, "/o/acme/add/email/resend", url.Values{}); p.header.Get("Location") != "/o/acme/add/email?sent=1" {
			t.Fatalf("send the code 30 s later: %d %s", p.status, p.header.Get("Location"))
		}
		has(t, s.post(c, "/o/acme/add/email", url.Values{"code": {"000000"}}), en("error.email_code_wrong"))
		p = s.post(c, "/o/acme/add/email", url.Values{"code": {s.lastMailedCode()}})
		if p.header.Get("Location") != "/o/acme/?done=added_email" {
			t.Fatalf("first emailed code: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if tok := s.lastToken("alice"); tok.Type != "email" || tok.State != store.TokenActive {
			t.Fatalf("new token %s %s, want an active email token", tok.Type, tok.State)
		}
		has(t, s.get(c, "/o/acme/?done=added_email"), en("flash.email_added"), en("token.type.email"))

		// Where the policy forbids email, the choice is skipped.
		s.setPolicy(`{"methods": ["app"]}`)
		s.clock.Advance(time.Minute)
		s.post(c, "/o/acme/add", url.Values{})
		s.post(c, "/o/acme/add/verify", url.Values{"code": {s.lastMailedCode()}})
		if p := s.post(c, "/o/acme/add/password", url.Values{"password": {"correct horse"}}); p.header.Get("Location") != "/o/acme/add/app" {
			t.Fatalf("password with email forbidden: %d %s, want the app", p.status, p.header.Get("Location"))
		}
	})
}

// Asking for the verification code of adding an authenticator again and
// again mails at most one per 30 s, in one browser or several, and a
// refused ask leaves the code mailed before working.
func TestAddVerificationCodeSendLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		browsers := []*http.Client{s.login("alice", "correct horse", g)}
		s.clock.Advance(30 * time.Second)
		browsers = append(browsers, s.login("alice", "correct horse", g))
		s.clock.Advance(30 * time.Second)
		mailed := len(s.mails())
		steps := []struct {
			name    string
			browser int
			path    string
			after   time.Duration // the clock moves on first
			sent    bool          // a code is mailed, else the page says to wait
		}{
			{"the first ask", 0, "/o/acme/add", 0, true},
			{"asking again at once", 0, "/o/acme/add", time.Second, false},
			{"a re-send at once", 0, "/o/acme/add/resend", time.Second, false},
			{"another browser at once", 1, "/o/acme/add", time.Second, false},
			{"asking again 30 s on", 0, "/o/acme/add", 27 * time.Second, true},
			{"a re-send at once after that", 0, "/o/acme/add/resend", 0, false},
			{"a re-send 30 s on", 0, "/o/acme/add/resend", 30 * time.Second, true},
		}
		for _, st := range steps {
			s.clock.Advance(st.after)
			before := len(s.mails())
			p := s.post(browsers[st.browser], st.path, url.Values{})
			switch got := len(s.mails()) - before; {
			case st.sent && (got != 1 || p.header.Get("Location") != "/o/acme/add/verify"):
				t.Fatalf("%s: %d codes mailed, %d %s; want one, and the verify page", st.name, got, p.status, p.header.Get("Location"))
			case !st.sent && got != 0:
				t.Fatalf("%s: %d codes mailed, want none", st.name, got)
			case !st.sent:
				has(t, p, en("add_verify.title"), en("error.resend_wait"))
			}
		}
		if got := len(s.mails()) - mailed; got != 3 {
			t.Fatalf("%d codes mailed in all, want 3", got)
		}
		if p := s.post(browsers[0], "/o/acme/add/verify", url.Values{"code": {s.lastMailedCode()}}); p.header.Get("Location") != "/o/acme/add/password" {
			t.Fatalf("the newest code: %d %s, want the password step", p.status, p.header.Get("Location"))
		}
	})
}

// Each wrong verification code is a guess on the user's lockout: after the
// policy's five, even the right code is refused, and the page says until
// when.
func TestAddVerificationCodeCountsAgainstLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		s.post(c, "/o/acme/add", url.Values{})
		code := s.lastMailedCode()
		locked := s.lockedText(s.clock.Now().Add(10 * time.Minute))
		for i := range 5 {
			wrong := fmt.Sprintf("%06d", i)
			if wrong == code {
				wrong = "999999"
			}
			want := en("error.email_code_wrong")
			if i == 4 {
				want = locked // the fifth sets the lock
			}
			has(t, s.post(c, "/o/acme/add/verify", url.Values{"code": {wrong}}), want)
			if u := s.user("alice"); u.Failures != i+1 {
				t.Fatalf("after %d wrong codes: %d failures, want %d", i+1, u.Failures, i+1)
			}
		}
		if u := s.user("alice"); u.LockedUntil.IsZero() {
			t.Fatal("five wrong verification codes did not lock the user")
		}
		has(t, s.post(c, "/o/acme/add/verify", url.Values{"code": {code}}), locked)
	})
}
