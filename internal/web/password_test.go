package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestPasswordChangeSaysWhichRuleRefusedIt changes the password in the
// portal with each kind of refused password, and checks that the page
// names the rule (with the policy's minimum), in the user's language, and
// that the password stays.
func TestPasswordChangeSaysWhichRuleRefusedIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		s.setPolicy(`{"password_min_length": 12}`)
		s.addUser("alice", "correct horse staple")
		g := s.active("alice")
		c := s.login("alice", "correct horse staple", g)
		has(t, s.get(c, "/o/acme/"), esc(i18n.T("en", "dashboard.new_password_help", 12)))

		for _, tt := range []struct {
			name, next string
			want       string // the message, in English
		}{
			{"a password under the policy's minimum is refused with the minimum", "zq8#vlpxmw", i18n.T("en", "error.password_short", 12)},
			{"a common password is refused", "password1234", i18n.T("en", "error.password_common")},
			{"the username is refused", "alice-2026-!", i18n.T("en", "error.password_context")},
			{"the organization's name is refused", "Acme Corp 2026", i18n.T("en", "error.password_context")},
			{"the current password is refused", "correct horse staple", i18n.T("en", "error.password_same")},
			{"a password over 1024 bytes is refused", strings.Repeat("x", 1025), i18n.T("en", "error.password_long")},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := s.post(c, "/o/acme/password", url.Values{"password": {"correct horse staple"}, "new_password": {tt.next}, "new_password_confirm": {tt.next}})
				has(t, p, html.EscapeString(tt.want), `role="alert"`)
			})
		}
		// In Dutch too.
		p := s.post(c, "/o/acme/password?lang=nl", url.Values{"password": {"correct horse staple"}, "new_password": {"password1234"}, "new_password_confirm": {"password1234"}})
		has(t, p, esc(i18n.T("nl", "error.password_common")))

		// 64 characters, lower-case words only: accepted.
		long := strings.Repeat("tram ", 12) + "bike"
		p = s.post(c, "/o/acme/password", url.Values{"password": {"correct horse staple"}, "new_password": {long}, "new_password_confirm": {long}})
		if p.header.Get("Location") != "/o/acme/?done=password" {
			t.Fatalf("a 64-character password: %d %s", p.status, p.header.Get("Location"))
		}
		s.login("alice", long, g)
	})
}
