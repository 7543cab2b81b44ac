package oidc

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/store"
)

func TestCatalogueKeys(t *testing.T) {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		t.Fatal(err)
	}
	pagetest.TemplateKeys(t, sub)
	pagetest.CodeKeys(t)
	for _, s := range knownScopes {
		if !i18n.Has("oidc_consent.scope." + s) {
			t.Errorf("scope %s has no words on the consent page", s)
		}
	}
}

// TestPagesPassAxe renders the provider's pages in every language and
// checks them in headless Chromium: no axe-core violations at 390 and
// 1280 px, no sideways scroll at 320. With TWOFOLD_SCREENSHOTS set to a
// directory the English pages are photographed there at 390 and 1280 px.
// The page that goes back to the application is checked without its
// refresh, which would leave before axe looks.
func TestPagesPassAxe(t *testing.T) {
	axeJS := pagetest.AxeJS(t)
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	org := store.Org{Slug: "acme", Name: "Acme Corp"}
	samples := map[string]struct {
		name  string
		title string
		data  any
	}{
		"consent":      {"oidc_consent", "oidc_consent.title", ConsentView{Action: "/o/acme/oidc/consent", ID: "x", Client: "Customer portal", Username: "alice", Scopes: []string{"oidc_consent.scope.openid", "oidc_consent.scope.profile", "oidc_consent.scope.email", "oidc_consent.scope.offline_access"}}},
		"back":         {"oidc_back", "oidc_back.title", BackView{Client: "Wiki", URL: "/o/acme/authorize/callback?id=x"}},
		"back-refused": {"oidc_back", "oidc_back.title", BackView{Client: "Wiki", URL: "https://wiki.example/cb?error=access_denied", Refused: true}},
		"gone":         {"error", "error.title", page.ErrorView{Status: 400, Message: "oidc.request_gone", Next: "oidc.request_gone_next", BackURL: "/o/acme/"}},
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", page.StaticHandler())
	mux.HandleFunc("GET /p/{lang}/{sample}", func(w http.ResponseWriter, req *http.Request) {
		s, ok := samples[req.PathValue("sample")]
		if !ok {
			http.NotFound(w, req)
			return
		}
		p := page.Page{Lang: req.PathValue("lang"), Title: s.title, CSRF: "csrf-token-of-the-sample-page-0123456789", Data: s.data, Loc: time.UTC}
		for _, l := range i18n.Languages {
			p.Languages = append(p.Languages, page.LangLink{Code: l.Code, Name: l.Name, URL: "/p/" + l.Code + "/" + req.PathValue("sample"), Current: l.Code == p.Lang})
		}
		p.In(org)
		if err := r.Page(w, http.StatusOK, s.name, p); err != nil {
			t.Errorf("render %s: %v", req.URL.Path, err)
		}
	})
	srv := httptest.NewServer(page.Guard(mux, http.NotFoundHandler(), 1<<10))
	t.Cleanup(srv.Close)
	shotDir := os.Getenv("TWOFOLD_SCREENSHOTS")
	tab := pagetest.Browser(t)
	for _, l := range i18n.Languages {
		for sample := range samples {
			path := "/p/" + l.Code + "/" + sample
			ctx, cancel := context.WithTimeout(tab, 60*time.Second)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640), chromedp.Navigate(srv.URL+path)); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if ok, err := pagetest.Styled(ctx, "/static/style.css"); err != nil || !ok {
				t.Fatalf("%s: the stylesheet did not load (%v)", path, err)
			}
			if scroll, wide, err := pagetest.Overflow(ctx, 320); err != nil || scroll > 0 {
				t.Errorf("%s at 320px scrolls sideways: %d (%s) %v", path, scroll, wide, err)
			}
			if err := pagetest.InjectAxe(ctx, axeJS); err != nil {
				t.Fatalf("%s: inject axe-core: %v", path, err)
			}
			for _, vp := range []struct {
				w, h int64
				name string
			}{{390, 844, "phone"}, {1280, 900, "desktop"}} {
				if shotDir != "" && l.Code == "en" {
					png, err := pagetest.Screenshot(ctx, vp.w, vp.h, false)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(shotDir, "oidc-"+sample+"-"+vp.name+".png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.w, vp.h)); err != nil {
					t.Fatal(err)
				}
				violations, err := pagetest.RunAxe(ctx)
				if err != nil {
					t.Fatalf("%s at %dpx: axe: %v", path, vp.w, err)
				}
				for _, v := range violations {
					t.Errorf("%s at %dpx: %s", path, vp.w, v)
				}
			}
			cancel()
		}
	}
}
