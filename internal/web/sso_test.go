package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
)

func TestContinuation(t *testing.T) {
	org := store.Org{Slug: "acme"}
	for _, tc := range []struct {
		value string
		want  string
	}{
		{url.QueryEscape("/o/acme/oidc/continue?id=abc"), "/o/acme/oidc/continue?id=abc"},
		{url.QueryEscape("/o/other/oidc/continue?id=abc"), ""},
		{url.QueryEscape("https://evil.example/o/acme/"), ""},
		{url.QueryEscape("/o/acme//evil.example"), ""},
		{url.QueryEscape("/o/acme/../../admin/"), ""},
		{url.QueryEscape("/o/acme/\\evil"), ""},
		{"%zz", ""},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/o/acme/", nil)
		r.AddCookie(&http.Cookie{Name: continueCookie, Value: tc.value})
		got, ok := continuation(w, r, org)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("continuation(%q) = %q, %v; want %q", tc.value, got, ok, tc.want)
		}
		if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
			t.Errorf("continuation(%q) did not forget the cookie: %v", tc.value, c)
		}
	}
}

// FuzzContinuation: whatever a cookie holds, the dashboard goes on only
// to a path of the organization's own portal.
func FuzzContinuation(f *testing.F) {
	for _, s := range []string{"/o/acme/oidc/continue?id=x", "%2Fo%2Facme%2F", "//evil", "/o/acme/%2e%2e/", "/o/acme/%00"} {
		f.Add(s)
	}
	org := store.Org{Slug: "acme"}
	f.Fuzz(func(t *testing.T, value string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/o/acme/", nil)
		r.Header.Set("Cookie", continueCookie+"="+value)
		to, ok := continuation(w, r, org)
		if !ok {
			return
		}
		u, err := url.Parse(to)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/o/acme/") || strings.Contains(to, "//") {
			t.Fatalf("continuation took %q to %q", value, to)
		}
	})
}
