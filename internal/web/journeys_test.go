package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// finishSetup saves the backup codes of the setup after a first
// authenticator, declines email, and checks that the setup ends at want.
func (s *site) finishSetup(c *http.Client, want string) []string {
	s.t.Helper()
	codes := s.pendingCodes(c)
	p := s.post(c, "/o/acme/backup/done", url.Values{"saved": {"1"}})
	if p.header.Get("Location") == "/o/acme/setup/email" {
		p = s.post(c, "/o/acme/setup/email", url.Values{"method": {"skip"}})
	}
	if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		s.t.Fatalf("end of the setup: %d %s, want %s", p.status, p.header.Get("Location"), want)
	}
	return codes
}

// location is where a response redirects to, or "" when it does not.
func location(p page) string {
	if p.status != http.StatusSeeOther {
		return ""
	}
	return p.header.Get("Location")
}

// qrGenerator reads the otpauth link of an enrollment page.
func qrGenerator(t *testing.T, p page) (otp.Key, *otp.Generator) {
	t.Helper()
	uri := regexp.MustCompile(`href="(otpauth://[^"]+)"`).FindStringSubmatch(p.body)
	if uri == nil {
		t.Fatalf("no otpauth link (%d):\n%s", p.status, p.body)
	}
	k, err := otp.ParseURI(strings.ReplaceAll(uri[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	return k, g
}

func TestSetupAfterTheFirstAuthenticator(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		// steps are where the activation and each step after it lead.
		steps []string
	}{
		{"backup codes, then the offer of email", `{}`, []string{"/o/acme/backup", "/o/acme/setup/email", "/o/acme/enrolled"}},
		{"backup codes only where email is not allowed", `{"methods":["app"]}`, []string{"/o/acme/backup", "/o/acme/enrolled"}},
		{"no backup codes step when the policy turns it off", `{"backup_codes_at_setup":false}`, []string{"/o/acme/setup/email", "/o/acme/enrolled"}},
		{"straight to the end with neither", `{"backup_codes_at_setup":false,"methods":["app"]}`, []string{"/o/acme/enrolled"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.setPolicy(tc.policy)
				s.addUser("alice", "")
				link, g := s.enroll("alice")
				enrollment := link[strings.Index(link, "=")+1:]
				p := s.post(s.client, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {s.code(g)}})
				for i, want := range tc.steps {
					if got := location(p); got != want {
						t.Fatalf("step %d: %d %s, want %s", i, p.status, got, want)
					}
					switch want {
					case "/o/acme/backup":
						codes := s.pendingCodes(s.client)
						if s.backupLeft("alice") != 0 {
							t.Fatal("the codes are in use before they are saved")
						}
						p = s.post(s.client, "/o/acme/backup/done", url.Values{"saved": {"1"}})
						if s.backupLeft("alice") != len(codes) {
							t.Fatal("saved codes are not in use")
						}
					case "/o/acme/setup/email":
						has(t, s.get(s.client, want), en("setup_email.add"), en("setup_email.skip"))
						p = s.post(s.client, want, url.Values{"method": {"skip"}})
					}
				}
				has(t, s.get(s.client, "/o/acme/enrolled"), en("enroll_done.title"), `href="/o/acme/login"`)
				// The setup's session has ended.
				if got := location(s.get(s.client, "/o/acme/backup")); got != "/o/acme/login" {
					t.Fatalf("after the setup the codes page leads to %q, want the login", got)
				}
			})
		})
	}
}

func TestSetupAddsEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"backup_codes_at_setup":false}`)
		s.addUser("bob", "correct horse")
		c := s.browser()
		s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
		_, g := qrGenerator(t, s.get(c, "/o/acme/login/enroll"))
		if got := location(s.post(c, "/o/acme/login/enroll", url.Values{"code": {s.code(g)}})); got != "/o/acme/setup/email" {
			t.Fatalf("after the first code: %q, want the offer of email", got)
		}
		if got := location(s.post(c, "/o/acme/setup/email", url.Values{"method": {"email"}})); got != "/o/acme/add/email" {
			t.Fatalf("add email: %q", got)
		}
		p := s.post(c, "/o/acme/add/email", url.Values{"code": {s.lastMailedCode()}})
		if got := location(p); got != "/o/acme/?done=added" {
			t.Fatalf("email code: %d %q, want the signed-in dashboard", p.status, got)
		}
		types := map[string]string{}
		for _, tok := range s.tokens("bob") {
			types[tok.Type] = tok.State
		}
		if types["totp"] != store.TokenActive || types["email"] != store.TokenActive {
			t.Fatalf("tokens after the setup: %v, want an active app and email", types)
		}
	})
}

// TestLostPhone is the journey of a user whose phone is gone: a backup
// code signs in, and one "Replace" enrolls the new phone and retires the
// old one together.
func TestLostPhone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		old := s.active("alice")
		codes, err := s.admin.GenerateBackupCodes(s.ctx, s.org, "alice")
		if err != nil {
			t.Fatal(err)
		}
		oldSerial := s.lastToken("alice").Serial
		c := s.password("alice", "correct horse")
		if got := location(s.post(c, "/o/acme/login/code", url.Values{"code": {codes[0]}})); got != "/o/acme/?done=backup_used" {
			t.Fatalf("backup code: %q", got)
		}
		has(t, s.get(c, "/o/acme/"), en("dashboard.replace"), `action="/o/acme/tokens/replace"`)
		if got := location(s.post(c, "/o/acme/tokens/replace", url.Values{"serial": {oldSerial}})); got != "/o/acme/add/app" {
			t.Fatalf("replace: %q, want the new phone's QR code", got)
		}
		p := s.get(c, "/o/acme/add/app?platform=iphone")
		name := i18n.T("en", "enroll.name_default", "iPhone", i18n.Date("en", nil, s.clock.Now()))
		has(t, p, `name="name"`, `value="`+esc(name)+`"`)
		key, g := qrGenerator(t, p)
		if key.Account != "alice ("+name+")" || key.Issuer != "Acme Corp" {
			t.Fatalf("QR label %q / %q, want the token's name in it", key.Issuer, key.Account)
		}
		// Abandoned halfway, the replacement leaves the old phone working.
		if out, err := s.verifier.Verify(s.ctx, auth.Request{OrgID: s.org.ID, Username: "alice", Code: s.code(old)}); err != nil || !out.Accepted {
			t.Fatalf("the old phone stopped working before the new one was activated: %+v %v", out, err)
		}
		s.clock.Advance(30 * time.Second)
		// A refused code changes nothing; a bad name neither.
		has(t, s.post(c, "/o/acme/add/app", url.Values{"code": {"000000"}, "name": {name}}), en("error.code_wrong"))
		has(t, s.post(c, "/o/acme/add/app", url.Values{"code": {s.code(g)}, "name": {"two\nlines"}}), en("error.token_name"))
		if got := location(s.post(c, "/o/acme/add/app", url.Values{"code": {s.code(g)}, "name": {"New iPhone"}})); got != "/o/acme/?done=replaced" {
			t.Fatalf("new code: %q", got)
		}
		states := map[string]string{}
		for _, tok := range s.tokens("alice") {
			if tok.Type == "totp" {
				states[tok.Name+" "+tok.Serial] = tok.State
			}
		}
		if states[" "+oldSerial] != store.TokenRevoked || len(states) != 2 {
			t.Fatalf("tokens after the replacement: %v, want the old one revoked", states)
		}
		if out, _ := s.verifier.Verify(s.ctx, auth.Request{OrgID: s.org.ID, Username: "alice", Code: s.code(old)}); out.Accepted {
			t.Fatal("the old phone still works")
		}
		has(t, s.get(c, "/o/acme/?done=replaced"), en("flash.token_replaced"), "New iPhone")
	})
}

func TestReplaceLaterAsksForProof(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		c := s.login("alice", "correct horse", s.active("alice"))
		s.clock.Advance(11 * time.Minute)
		if got := location(s.post(c, "/o/acme/tokens/replace", url.Values{"serial": {s.lastToken("alice").Serial}})); got != "/o/acme/add/verify" {
			t.Fatalf("replace long after signing in: %q, want the mailed code first", got)
		}
		if got := location(s.post(c, "/o/acme/tokens/replace", url.Values{"serial": {"NOSUCH"}})); got != "" {
			t.Fatalf("replace of an unknown token: %q", got)
		}
	})
}

func TestCombinedFormHasNoDeadEnds(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		setup  func(s *site)
		form   url.Values
		want   string
	}{
		{"an email user asks for a code", `{"login_form":"combined"}`, func(s *site) { s.emailToken("alice") },
			url.Values{"method": {"email"}}, "/o/acme/login/code"},
		{"a user who never had an authenticator leaves the code empty", `{"login_form":"combined"}`, func(*site) {},
			url.Values{"code": {""}}, "/o/acme/login/enroll"},
		{"a user whose authenticator is gone gives a backup code", `{"login_form":"combined"}`, func(s *site) {
			s.active("alice")
			if _, err := s.admin.ResetMFA(s.ctx, s.org, "alice"); err != nil {
				s.t.Fatal(err)
			}
			s.backupCodes = must(s.admin.GenerateBackupCodes(s.ctx, s.org, "alice"))
		}, url.Values{"code": {"backup"}}, "/o/acme/add/app"},
		{"a user who must set a server PIN", `{"login_form":"combined","pin_mode":"server"}`, func(s *site) { s.gen = s.active("alice") },
			url.Values{"code": {"app"}}, "/o/acme/login/pin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.setPolicy(tc.policy)
				s.addUser("alice", "correct horse")
				tc.setup(s)
				form := url.Values{"username": {"alice"}, "password": {"correct horse"}}
				for k, v := range tc.form {
					form[k] = v
				}
				switch form.Get("code") {
				case "backup":
					form.Set("code", s.backupCodes[0])
				case "app":
					form.Set("code", s.code(s.gen))
				}
				c := s.browser()
				has(t, s.get(c, "/o/acme/login"), en("login.email_code"), en("login.code_empty_help"))
				p := s.post(c, "/o/acme/login", form)
				if got := location(p); got != tc.want {
					t.Fatalf("combined form: %d %q, want %s\n%s", p.status, got, tc.want, p.body)
				}
				if tc.want == "/o/acme/login/code" {
					has(t, s.get(c, tc.want), en("login_code.email_title"))
					if s.lastMailedCode() == "" {
						t.Fatal("no code mailed")
					}
				}
				if got := s.get(c, tc.want); got.status != http.StatusOK {
					t.Fatalf("%s: %d", tc.want, got.status)
				}
			})
		})
	}
}

func TestRemovingTheLastAuthenticatorWarns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		c := s.login("alice", "correct horse", s.active("alice"))
		serial := s.lastToken("alice").Serial
		p := s.get(c, "/o/acme/tokens/remove?serial="+serial)
		has(t, p, en("remove.last_none"), en("remove.replace_help"), `action="/o/acme/tokens/replace"`)
		if _, err := s.admin.GenerateBackupCodes(s.ctx, s.org, "alice"); err != nil {
			t.Fatal(err)
		}
		has(t, s.get(c, "/o/acme/tokens/remove?serial="+serial), esc(i18n.T("en", "remove.last_backup", 10)))
		s.active("alice")
		if p := s.get(c, "/o/acme/tokens/remove?serial="+serial); strings.Contains(p.body, "remove.last") || strings.Contains(p.body, esc(i18n.T("en", "remove.last_backup", 10))) {
			t.Fatal("a warning of the last authenticator while another is left")
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
