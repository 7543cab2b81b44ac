package page

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/twofold-mfa/twofold/internal/page/pagetest"
)

func TestTemplateKeys(t *testing.T) {
	pagetest.TemplateKeys(t, templateFS)
	pagetest.CodeKeys(t)
}

func TestRendererSets(t *testing.T) {
	files := fstest.MapFS{
		"parts.html":       {Data: []byte(`{{define "hello"}}<p>{{t .Lang "layout.skip"}}</p>{{end}}`)},
		"pages/greet.html": {Data: []byte(`{{define "content"}}{{template "hello" .}}{{shout "x"}}{{end}}`)},
	}
	r, err := NewRenderer(files, map[string]any{"shout": strings.ToUpper})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"greet", "error"} {
		if !r.Has(name) {
			t.Errorf("no page %q", name)
		}
	}
	rec := httptest.NewRecorder()
	if err := r.Page(rec, http.StatusOK, "greet", Page{Lang: "nl"}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	for _, want := range []string{`<html lang="nl">`, "Naar de inhoud", "X", `href="` + StylesheetURL() + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

func TestFormsURL(t *testing.T) {
	forms := Forms{"POST /o/{org}/admin/users/{user}/password": {Path: "/o/{org}/admin/users/{user}", Query: map[string]string{"tab": "tab"}}}
	mux := http.NewServeMux()
	var got url.URL
	var ok bool
	handle := func(w http.ResponseWriter, r *http.Request) { got, ok = forms.URL(r) }
	mux.HandleFunc("POST /o/{org}/admin/users/{user}/password", handle)
	mux.HandleFunc("POST /o/{org}/logout", handle)
	mux.HandleFunc("GET /o/{org}/", handle)
	for _, c := range []struct {
		method, target, body, want string
	}{
		{"POST", "/o/acme/admin/users/j%2Fdoe/password?lang=nl", "tab=sec&x=1", "/o/acme/admin/users/j%2Fdoe?lang=nl&tab=sec"},
		{"POST", "/o/acme/logout", "", "/o/acme/logout"},
		{"GET", "/o/acme/?q=1", "", "/o/acme/?q=1"},
	} {
		req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mux.ServeHTTP(httptest.NewRecorder(), req)
		if !ok || got.String() != c.want {
			t.Errorf("%s %s: %q (%v), want %q", c.method, c.target, got.String(), ok, c.want)
		}
	}
	// A post no route took has no page.
	req := httptest.NewRequest("POST", "/nowhere", nil)
	if _, ok := forms.URL(req); ok {
		t.Error("a post without a route has a page")
	}
}

func TestGuard(t *testing.T) {
	served := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served = true })
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	h := Guard(next, deny, 64)
	token := strings.Repeat("a", 32)
	for _, c := range []struct {
		name   string
		cookie string
		body   string
		want   int
	}{
		{"no cookie", "", "csrf_token=" + token, http.StatusForbidden},
		{"wrong token", token, "csrf_token=" + strings.Repeat("b", 32), http.StatusForbidden},
		{"short token", "abc", "csrf_token=abc", http.StatusForbidden},
		{"right token", token, "csrf_token=" + token, http.StatusOK},
		{"too long", token, "csrf_token=" + token + "&x=" + strings.Repeat("x", 64), http.StatusForbidden},
	} {
		served = false
		req := httptest.NewRequest("POST", "/o/acme/login", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if c.cookie != "" {
			req.AddCookie(&http.Cookie{Name: csrfCookie, Value: c.cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want || served != (c.want == http.StatusOK) {
			t.Errorf("%s: %d (served %v), want %d", c.name, rec.Code, served, c.want)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", c.name, csp)
		}
	}
	// A cross-site post is refused whatever its token.
	req := httptest.NewRequest("POST", "/o/acme/login", strings.NewReader("csrf_token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", rec.Code)
	}
}

func TestRenderStatic(t *testing.T) {
	h := StaticHandler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	rec := get(StylesheetURL())
	if rec.Code != http.StatusOK {
		t.Fatalf("style.css: %d", rec.Code)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q", cc)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), ":focus-visible") {
		t.Error("not the stylesheet")
	}
	if !regexp.MustCompile(`^/static/style\.css\?v=[0-9a-f]{10}$`).MatchString(StylesheetURL()) {
		t.Errorf("StylesheetURL %q", StylesheetURL())
	}
	for _, path := range []string{"/static/", "/static/nope.css", "/static/../render.go", "/static/style.css/"} {
		if rec := get(path); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		} else if rec.Header().Get("Cache-Control") != "" {
			t.Errorf("%s: 404 is cached", path)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/static/style.css", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}
