package web_test

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

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// csrfValue is the CSRF token of a page's forms, different on every page.
var csrfValue = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

// lockMails returns the plain text of the lock mails sent so far, once
// the core's background sends are done.
func (s *site) lockMails() []string {
	s.t.Helper()
	s.verifier.Wait()
	subject := i18n.T("en", "mail.account_locked.subject", s.org.Name)
	var out []string
	for _, m := range s.mails() {
		raw, _ := io.ReadAll(m.Body)
		text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(raw))))
		if err != nil {
			s.t.Fatal(err)
		}
		if strings.Contains(string(text), i18n.T("en", "mail.account_locked.not_you")) {
			if got := m.Header.Get("Subject"); got != subject {
				s.t.Errorf("lock mail subject %q, want %q", got, subject)
			}
			out = append(out, string(text))
		}
	}
	return out
}

func TestLockMail(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		want    []string // in the mail
		wantNot []string
	}{
		{
			name:   "a lock says until when",
			policy: `{}`,
			// The user locks a minute after t0 (site.active), for ten minutes.
			want: []string{
				i18n.T("en", "mail.account_locked.until", i18n.DateTime("en", nil, t0.Add(time.Minute+10*time.Minute))),
				i18n.T("en", "mail.account_locked.until_wait"),
			},
			wantNot: []string{i18n.T("en", "mail.account_locked.forever")},
		},
		{
			name:    "past the hard limit the helpdesk unlocks",
			policy:  `{"lockout_hard_limit": 5}`,
			want:    []string{i18n.T("en", "mail.account_locked.forever"), i18n.T("en", "mail.account_locked.forever_ask")},
			wantNot: []string{i18n.T("en", "mail.account_locked.until_wait")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.setPolicy(tt.policy)
				s.addUser("alice", "correct horse")
				s.active("alice")
				c := s.password("alice", "correct horse")
				for range 10 { // five lock, five more meet the lock
					s.post(c, "/o/acme/login/code", url.Values{"code": {"000000"}})
				}
				// An unknown user's guesses mail nobody.
				for range 6 {
					s.post(s.browser(), "/o/acme/login", url.Values{"username": {"mallory"}, "password": {"nope"}})
				}
				ms := s.lockMails()
				if len(ms) != 1 {
					t.Fatalf("%d lock mails, want one", len(ms))
				}
				for _, w := range append(tt.want, i18n.T("en", "mail.account_locked.body", "alice", i18n.DateTime("en", nil, t0.Add(time.Minute)))) {
					if !strings.Contains(ms[0], w) {
						t.Errorf("the lock mail lacks %q:\n%s", w, ms[0])
					}
				}
				for _, w := range tt.wantNot {
					if strings.Contains(ms[0], w) {
						t.Errorf("the lock mail says %q:\n%s", w, ms[0])
					}
				}
			})
		})
	}
}

// Whoever the username names — locked, disabled, unknown, a wrong
// password — the first step answers in the same words, which hint that
// sign-in pauses after many failures without saying whose.
func TestFirstStepSaysTheSameForEveryUsername(t *testing.T) {
	for _, form := range []string{"two-step", "combined"} {
		t.Run(form, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				s := newSite(t, b)
				s.setPolicy(`{"login_form": "` + form + `"}`)
				for _, u := range []string{"locked", "disabled", "wrong"} {
					s.addUser(u, "correct horse")
					s.active(u)
				}
				if err := s.admin.DisableUser(s.ctx, s.org, "disabled"); err != nil {
					t.Fatal(err)
				}
				for range 5 {
					s.post(s.browser(), "/o/acme/login", url.Values{"username": {"locked"}, "password": {"nope"}, "code": {"000000"}})
				}
				if u := s.user("locked"); !u.LockedUntil.After(s.clock.Now()) {
					t.Fatal("five failures did not lock the user")
				}
				answer := func(user, password string) page {
					t.Helper()
					p := s.post(s.browser(), "/o/acme/login", url.Values{"username": {user}, "password": {password}, "code": {"123456"}})
					has(t, p, en("error.login_failed"))
					// The form keeps what was typed, and each page its own
					// CSRF token: nothing else may differ.
					p.body = strings.ReplaceAll(p.body, `value="`+user+`"`, `value="USER"`)
					p.body = csrfValue.ReplaceAllString(p.body, "CSRF")
					return p
				}
				want := answer("nobody", "nope")
				for _, c := range []struct{ user, password string }{
					{"locked", "correct horse"}, {"disabled", "correct horse"}, {"wrong", "nope"},
				} {
					if got := answer(c.user, c.password); got.status != want.status || got.body != want.body {
						t.Errorf("%s: the answer differs from an unknown user's (%d, %d)", c.user, got.status, want.status)
					}
				}
			})
		})
	}
}

func TestEnrollmentPageMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.addUser("alice", "")
		link, g := s.enroll("alice")
		enrollment := link[strings.Index(link, "=")+1:]
		post := func(code string) page {
			return s.post(s.client, "/enroll/verify", url.Values{"enrollment": {enrollment}, "code": {code}})
		}
		ahead := g.Code(uint64(s.clock.Now().Unix()/30 + 3))
		p := post(ahead)
		has(t, p, en("error.code_wrong"), html.EscapeString(i18n.T("en", "hint.clock_ahead", i18n.T("en", "hint.seconds", 90))))
		p = post("000000")
		has(t, p, en("error.code_wrong"), en("hint.clock"))
		for range 3 {
			p = post("000000")
		}
		has(t, p, s.lockedText(s.clock.Now().Add(10*time.Minute)))
		if strings.Contains(p.body, en("hint.clock")) {
			t.Error("a locked user is told to check the phone's clock")
		}
		// An operator's resend replaces the link.
		s.clock.Advance(10 * time.Minute)
		if _, err := s.admin.ResendEnrollment(s.ctx, s.org, "alice", s.lastToken("alice").Serial); err != nil {
			t.Fatal(err)
		}
		p = s.get(s.browser(), link)
		if p.status != http.StatusGone {
			t.Errorf("the replaced link: %d, want 410", p.status)
		}
		has(t, p, en("enroll_gone.reason.replaced"))
		if s.lastToken("alice").State != store.TokenAssigned {
			t.Error("the token left its assigned state")
		}
	})
}
