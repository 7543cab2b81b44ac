package web_test

import (
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestFrontPage: https://host/ says Twofold runs and where portals are,
// in the browser's language, and names no organization.
func TestFrontPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		s := newSite(t, b)
		for _, tt := range []struct{ lang, want string }{
			{"en", "Twofold is running"}, {"nl", "Twofold draait"}, {"de", "Twofold läuft"},
		} {
			p := s.get(s.browser(), "/?lang="+tt.lang)
			if p.status != 200 {
				t.Fatalf("%s: GET / = %d, want 200", tt.lang, p.status)
			}
			has(t, p, tt.want, "/o/")
			if strings.Contains(p.body, "acme") || strings.Contains(p.body, "Acme Corp") {
				t.Errorf("%s: the front page names an organization", tt.lang)
			}
		}
		if p := s.get(s.browser(), "/nothing-here"); p.status != 404 {
			t.Errorf("GET /nothing-here = %d, want 404", p.status)
		}
	})
}
