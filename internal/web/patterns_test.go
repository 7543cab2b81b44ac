package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// errorShown checks that p answers a form with the error pattern: "Error: "
// in the title, the summary linking to #field (and naming the form on a
// page with several), and the message beside the field, which is invalid.
func errorShown(t *testing.T, p page, key, field, form string) {
	t.Helper()
	msg := en(key)
	if p.status != http.StatusOK {
		t.Errorf("status %d, want 200", p.status)
	}
	if !strings.Contains(p.body, "<title>"+html.EscapeString(i18n.T("en", "layout.error_title", ""))) {
		t.Errorf("the title does not begin with %q", i18n.T("en", "layout.error_title", ""))
	}
	summary := regexp.MustCompile(`(?s)<div class="error-summary" role="alert"[^>]* autofocus>(.*?)</div>`).FindStringSubmatch(p.body)
	if summary == nil {
		t.Fatalf("no focused error summary:\n%s", p.body)
	}
	entry := msg
	if form != "" {
		entry = html.EscapeString(i18n.T("en", "layout.error_in_form", i18n.T("en", form), i18n.T("en", key)))
	}
	if link := `<a href="#` + field + `">` + entry + `</a>`; !strings.Contains(summary[1], link) {
		t.Errorf("the summary lacks %s:\n%s", link, summary[1])
	}
	if !regexp.MustCompile(`<p class="field-error" id="` + field + `-error">.*` + regexp.QuoteMeta(msg)).MatchString(p.body) {
		t.Errorf("no message %q beside the field %s", msg, field)
	}
	if !regexp.MustCompile(`<input [^>]*id="` + field + `" [^>]*aria-invalid="true"`).MatchString(p.body) {
		t.Errorf("the field %s is not marked invalid", field)
	}
}

func TestErrorsWhereTheEyeIs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		g := s.active("alice")
		c := s.login("alice", "correct horse", g)
		for _, tt := range []struct {
			name               string
			path               string
			form               url.Values
			key, field, inForm string
		}{
			{"new passwords that differ are shown at the confirmation, in the password form", "/o/acme/password",
				url.Values{"password": {"correct horse"}, "new_password": {"battery staple"}, "new_password_confirm": {"battery stable"}},
				"error.password_mismatch", "new_password_confirm", "dashboard.password"},
			{"a wrong current password is shown at it, in the password form", "/o/acme/password",
				url.Values{"password": {"wrong"}, "new_password": {"battery staple"}, "new_password_confirm": {"battery staple"}},
				"error.password_wrong", "password", "dashboard.password"},
			{"a wrong password for backup codes is shown in the backup codes form", "/o/acme/backup",
				url.Values{"password": {"wrong"}}, "error.password_wrong", "backup-password", "dashboard.backup"},
			{"a name with a control character is shown at the rename field of that authenticator", "/o/acme/tokens/rename",
				url.Values{"serial": {s.lastToken("alice").Serial}, "name": {"a\x07b"}}, "error.token_name", "name-" + s.lastToken("alice").Serial, "dashboard.rename"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := s.post(c, tt.path, tt.form)
				errorShown(t, p, tt.key, tt.field, tt.inForm)
				if tt.field == "name-"+s.lastToken("alice").Serial && !strings.Contains(p.body, `<details class="rename" open>`) {
					t.Error("the rename form with the error is folded away")
				}
			})
		}

		t.Run("a refused sign-in is shown at the password", func(t *testing.T) {
			p := s.post(s.browser(), "/o/acme/login", url.Values{"username": {"alice"}, "password": {"wrong"}})
			errorShown(t, p, "error.login_failed", "password", "")
		})
		t.Run("a wrong code at the code step is shown at the code", func(t *testing.T) {
			p := s.post(s.password("alice", "correct horse"), "/o/acme/login/code", url.Values{"code": {"000000"}})
			errorShown(t, p, "error.code_wrong", "code", "")
		})
	})
}

// links returns the hrefs of the language switcher and the phone-type
// choice on a page.
func links(body string) []string {
	var out []string
	for _, nav := range regexp.MustCompile(`(?s)<nav class="(?:langs|platforms)".*?</nav>`).FindAllString(body, -1) {
		for _, m := range regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(nav, -1) {
			out = append(out, html.UnescapeString(m[1]))
		}
	}
	return out
}

func TestLinksKeepWorkingAfterAFormError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.addUser("bob", "correct horse")
		s.addUser("carol", "")
		inviteLink, _ := s.enroll("carol")

		for _, tt := range []struct {
			name string
			// refuse answers a form post with a page and returns it.
			refuse func(c *http.Client) page
			want   string // what every linked page must show
			n      int    // links expected: 3 languages (+ 3 phone types)
		}{
			{"a wrong first code on the invitation page", func(c *http.Client) page {
				s.get(c, inviteLink+"&platform=iphone")
				return s.post(c, "/enroll/verify?platform=iphone", url.Values{"enrollment": {strings.TrimPrefix(inviteLink, "/enroll?code=")}, "code": {"000000"}})
			}, `<img src="data:image/png;base64,`, 6},
			{"a wrong first code at the first sign-in", func(c *http.Client) page {
				s.post(c, "/o/acme/login", url.Values{"username": {"bob"}, "password": {"correct horse"}})
				return s.post(c, "/o/acme/login/enroll", url.Values{"code": {"000000"}})
			}, `<img src="data:image/png;base64,`, 6},
			{"a wrong password on the dashboard", func(c *http.Client) page {
				g := s.active("alice")
				*c = *s.login("alice", "correct horse", g)
				return s.post(c, "/o/acme/password", url.Values{"password": {"wrong"}, "new_password": {"battery staple"}, "new_password_confirm": {"battery staple"}})
			}, `action="/o/acme/password"`, 3},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c := s.browser()
				p := tt.refuse(c)
				if p.status != http.StatusOK || !strings.Contains(p.body, `class="error-summary"`) {
					t.Fatalf("the post was not answered with its page and an error: %d", p.status)
				}
				got := links(p.body)
				if len(got) != tt.n {
					t.Fatalf("%d links, want %d: %q", len(got), tt.n, got)
				}
				for _, link := range got {
					linked := s.get(c, link)
					if linked.status != http.StatusOK || !strings.Contains(linked.body, tt.want) {
						t.Errorf("%s: %d, without %q", link, linked.status, tt.want)
					}
					u, _ := url.Parse(link)
					if lang := u.Query().Get("lang"); lang != "" && !strings.Contains(linked.body, `<html lang="`+lang+`">`) {
						t.Errorf("%s is not in %s", link, lang)
					}
					if u.Query().Get("platform") != "" && !strings.Contains(linked.body, `<a href="`+html.EscapeString(link)+`" aria-current="true">`) {
						t.Errorf("%s does not show its phone type chosen:\n%s", link, regexp.MustCompile(`(?s)<nav class="platforms".*?</nav>`).FindString(linked.body))
					}
				}
				// The phone type chosen before the refusal is still chosen.
				if strings.HasPrefix(got[len(got)-1], "/enroll?") && !strings.Contains(p.body, `aria-current="true">`+i18n.T("en", "enroll.platform.iphone")) {
					t.Error("the refused code forgot the phone type chosen")
				}
			})
		}
	})
}

func TestSignOutSaysSo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		c := s.login("alice", "correct horse", s.active("alice"))
		p := s.post(c, "/o/acme/logout", url.Values{})
		if p.status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", p.status)
		}
		p = s.get(c, p.header.Get("Location"))
		has(t, p, `role="status"`, en("flash.signed_out"), `action="/o/acme/login"`)
		if p := s.get(c, "/o/acme/login"); strings.Contains(p.body, en("flash.signed_out")) {
			t.Error("the sign-in page says signed out without a sign-out")
		}
	})
}

func TestErrorPagesKeepTheOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		used, g := s.enroll("alice")
		code := strings.TrimPrefix(used, "/enroll?code=")
		c := s.browser()
		s.post(c, "/enroll", url.Values{"code": {code}, "password": {"correct horse"}})
		if p := s.post(c, "/enroll/verify", url.Values{"enrollment": {code}, "code": {s.code(g)}}); p.status != http.StatusSeeOther {
			t.Fatalf("activation on the invitation page: %d, want a redirect to the next step", p.status)
		}
		s.clock.Advance(time.Minute)
		c = s.login("alice", "correct horse", g)
		for _, tt := range []struct {
			name, path string
			status     int
			back       string
		}{
			{"an unknown page under the portal", "/o/acme/nothing", http.StatusNotFound, `href="/o/acme/"`},
			{"an unknown authenticator", "/o/acme/tokens/remove?serial=nope", http.StatusNotFound, `href="/o/acme/"`},
			{"a used invitation link", used, http.StatusGone, `href="/o/acme/login"`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := s.get(c, tt.path)
				if p.status != tt.status {
					t.Errorf("status %d, want %d", p.status, tt.status)
				}
				has(t, p, `<span>Acme Corp</span>`, tt.back)
			})
		}
	})
}

func TestCodeStepOpensOnlyOnACodeSent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "correct horse")
		s.active("alice")
		s.emailToken("alice")
		if err := s.store.SetLastMethod(s.ctx, s.user("alice").ID, "email"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			title string
		}{
			{"the first sign-in mails a code and opens on it", "login_code.email_title"},
			{"a sign-in right after, when no code may be mailed yet, opens with the app", "login_code.title"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := s.get(s.password("alice", "correct horse"), "/o/acme/login/code")
				has(t, p, "<h1>"+en(tt.title)+"</h1>")
			})
		}
	})
}

func TestTimesInTheOrganizationsZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"time_zone": "Europe/Amsterdam"}`)
		s.addUser("alice", "correct horse")
		c := s.login("alice", "correct horse", s.active("alice"))
		// Signed in at 09:01 UTC: 10:01 on Amsterdam's clocks.
		amsterdam, err := time.LoadLocation("Europe/Amsterdam")
		if err != nil {
			t.Fatal(err)
		}
		p := s.get(c, "/o/acme/")
		has(t, p, i18n.DateTime("en", amsterdam, s.lastToken("alice").LastUsedAt), " CET")
		if strings.Contains(p.body, " UTC") {
			t.Errorf("the dashboard tells a time in UTC, not the organization's zone")
		}
	})
}
