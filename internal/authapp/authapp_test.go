package authapp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/authapp"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := authapp.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServesTheAppUnderItsPolicy(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct {
		path, typ, contains string
	}{
		{"/app/", "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"/app/app.js", "text/javascript; charset=utf-8", "parseActivationLink"},
		{"/app/protocol.js", "text/javascript; charset=utf-8", "twofold-push-v1"},
		{"/app/app.css", "text/css; charset=utf-8", ".code"},
		{"/app/manifest.webmanifest", "application/manifest+json", `"standalone"`},
		{"/app/i18n/nl.json", "application/json", `"list.title"`},
		{"/app/icons/icon-512.png", "image/png", "PNG"},
	} {
		resp, body := get(t, srv, http.MethodGet, tc.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.typ || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %q, want 200 %q containing %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.typ, tc.contains)
		}
		h := resp.Header
		if h.Get("Content-Security-Policy") != authapp.CSP || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", tc.path, h)
		}
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "base-uri 'none'", "worker-src 'self'", "manifest-src 'self'"} {
		if !strings.Contains(authapp.CSP, want) {
			t.Errorf("the CSP lacks %q: %s", want, authapp.CSP)
		}
	}
	if strings.Contains(authapp.CSP, "unsafe") {
		t.Errorf("the CSP allows something unsafe: %s", authapp.CSP)
	}
	for _, path := range []string{"/app/index.html", "/app/nope.js", "/app/i18n/", "/app/../go.mod", "/other"} {
		if resp, _ := get(t, srv, http.MethodGet, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv, http.MethodPost, "/app/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /app/: %d", resp.StatusCode)
	}
	resp, _ := get(t, srv, http.MethodGet, "/app/")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/app/", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("GET /app/ with its ETag: %d, want 304", again.StatusCode)
	}
}

// The service worker caches every file of the app, and its version
// changes with them.
func TestServiceWorkerKnowsEveryFile(t *testing.T) {
	srv := newServer(t)
	_, sw := get(t, srv, http.MethodGet, "/app/sw.js")
	m := regexp.MustCompile(`const FILES = (\[.*\]);`).FindSubmatch(sw)
	v := regexp.MustCompile(`const VERSION = "([0-9a-f]{16})";`).FindSubmatch(sw)
	if m == nil || v == nil {
		t.Fatalf("sw.js was not filled in:\n%s", sw)
	}
	var files []string
	if err := json.Unmarshal(m[1], &files); err != nil {
		t.Fatal(err)
	}
	var want []string
	err := filepath.WalkDir("assets", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := filepath.ToSlash(strings.TrimPrefix(p, "assets"+string(filepath.Separator)))
		switch name {
		case "index.html":
			want = append(want, "./")
		case "sw.js":
		default:
			want = append(want, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("the worker caches %q, want %q", files, want)
	}
	for _, f := range files {
		if resp, _ := get(t, srv, http.MethodGet, "/app/"+strings.TrimPrefix(f, "./")); resp.StatusCode != http.StatusOK {
			t.Errorf("the worker caches %s, which answers %d", f, resp.StatusCode)
		}
	}
}

// The manifest names icons that exist at the sizes it says, one of them
// maskable, as Android's install asks; iOS has its touch icon.
func TestManifestAndIcons(t *testing.T) {
	srv := newServer(t)
	_, body := get(t, srv, http.MethodGet, "/app/manifest.webmanifest")
	var m struct {
		Name, ShortName, StartURL, Scope, Display string
		Icons                                     []struct{ Src, Sizes, Type, Purpose string }
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "Twofold Authenticator" || m.Display != "standalone" {
		t.Errorf("manifest %+v", m)
	}
	icons := map[string]string{"icons/apple-touch-icon.png": "180x180"}
	maskable := false
	for _, i := range m.Icons {
		icons[i.Src] = i.Sizes
		maskable = maskable || i.Purpose == "maskable"
	}
	if !maskable || len(m.Icons) < 3 {
		t.Errorf("icons %+v: want 192 and 512 px and a maskable one", m.Icons)
	}
	for src, sizes := range icons {
		_, b := get(t, srv, http.MethodGet, "/app/"+src)
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := img.Bounds().Size(); fmt.Sprintf("%dx%d", got.X, got.Y) != sizes {
			t.Errorf("%s is %v, the manifest says %s", src, got, sizes)
		}
	}
}
