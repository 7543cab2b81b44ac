package page

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/store"
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

// An upload's form (multipart/form-data) has its csrf_token checked like
// any other's, the handler finds the file, and a body over the limit is
// refused as too large, not as forged.
func TestGuardMultipart(t *testing.T) {
	var got []byte
	var tooLarge bool
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("logo")
		if err != nil {
			t.Errorf("no file: %v", err)
			return
		}
		got, _ = io.ReadAll(f)
	})
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tooLarge = TooLarge(r)
		w.WriteHeader(http.StatusForbidden)
	})
	h := Guard(next, deny, 4<<10)
	token := strings.Repeat("a", 32)
	post := func(csrf string, file []byte) int {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if csrf != "" {
			mw.WriteField("csrf_token", csrf)
		}
		fw, _ := mw.CreateFormFile("logo", "logo.png")
		fw.Write(file)
		mw.Close()
		req := httptest.NewRequest("POST", "/o/acme/admin/settings/logo", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
		rec := httptest.NewRecorder()
		got, tooLarge = nil, false
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	file := bytes.Repeat([]byte{0x89}, 1000)
	if code := post(token, file); code != http.StatusOK || !bytes.Equal(got, file) || tooLarge {
		t.Errorf("right token: %d, %d bytes, too large %v", code, len(got), tooLarge)
	}
	for name, csrf := range map[string]string{"no token": "", "wrong token": strings.Repeat("b", 32)} {
		if code := post(csrf, file); code != http.StatusForbidden || got != nil || tooLarge {
			t.Errorf("%s: %d, served %v, too large %v", name, code, got != nil, tooLarge)
		}
	}
	if code := post(token, make([]byte, 5<<10)); code != http.StatusForbidden || got != nil || !tooLarge {
		t.Errorf("too large: %d, served %v, too large %v", code, got != nil, tooLarge)
	}
	// A form post too large is told as such too.
	req := httptest.NewRequest("POST", "/o/acme/login", strings.NewReader("csrf_token="+token+"&x="+strings.Repeat("x", 5<<10)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
	tooLarge = false
	h.ServeHTTP(httptest.NewRecorder(), req)
	if !tooLarge {
		t.Error("a form post too large is not told as too large")
	}
}

func TestInLogoAndSupport(t *testing.T) {
	var p Page
	p.In(store.Org{Slug: "acme", Name: "Acme", LogoHash: "abc", OrgSettings: store.OrgSettings{SupportContact: "IT <desk>"}})
	if p.Org.LogoURL != "/o/acme/logo?v=abc" || p.Org.SupportContact != "IT <desk>" {
		t.Errorf("In: %+v", p.Org)
	}
	p.In(store.Org{Slug: "acme", Name: "Acme"})
	if p.Org.LogoURL != "" {
		t.Errorf("In without a logo: %+v", p.Org)
	}
}
