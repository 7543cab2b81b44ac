package web

import (
	"context"
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
)

// axeViewports are the widths the pages are checked at: the narrowest
// WCAG 1.4.10 (Reflow) asks for, where only the layout is checked, a phone
// and a PC. name is the screenshot's.
var axeViewports = []struct {
	width, height int64
	axe           bool
	name          string
}{{320, 640, false, ""}, {390, 844, true, "phone"}, {1280, 900, true, "desktop"}}

// axeScreenshots are the sample pages photographed for docs/screenshots
// when TWOFOLD_SCREENSHOTS names a directory: file name → sample file.
var axeScreenshots = map[string]string{"login": "login", "enroll": "enroll", "dashboard": "dashboard",
	"login_code-push": "push-signin", "enroll_push": "enroll-push", "claim-error": "claim-hardware", "enroll-claim": "enroll-claim"}

// TestPagesPassAxe opens every sample page (renderSamples) in every
// language in headless Chromium, with the real stylesheet, at a phone's
// and a PC's width, and runs axe-core's WCAG 2.2 A and AA rules on it with
// every <details> open: there must be no violations (DESIGN.md section 8).
// At each width, and at 320 px, the page must not scroll sideways (WCAG
// 1.4.10), and a page with an error must have put the focus on its error
// summary. With TWOFOLD_SCREENSHOTS set to a directory, the English login,
// enrollment, dashboard and push pages are photographed there at phone and
// PC width (docs/screenshots).
// axe-core is not downloaded here: TWOFOLD_AXE_JS names its axe.min.js
// (.ci/run installs it).
func TestPagesPassAxe(t *testing.T) {
	axeJS := pagetest.AxeJS(t)
	shotDir := os.Getenv("TWOFOLD_SCREENSHOTS")

	// The pages, at /<lang>/<sample file>, and the static files, behind the
	// same security headers (and so the same Content-Security-Policy) as
	// in production.
	r := newTestRenderer(t)
	type axePage struct {
		lang string
		renderSample
	}
	var pages []axePage
	byPath := map[string]renderSample{}
	for _, l := range i18n.Languages {
		for _, s := range renderSamples(l.Code) {
			pages = append(pages, axePage{l.Code, s})
			byPath["/"+l.Code+"/"+s.file] = s
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", page.StaticHandler())
	mux.HandleFunc("GET /", func(w http.ResponseWriter, req *http.Request) {
		s, ok := byPath[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		if err := r.Page(w, http.StatusOK, s.name, s.page); err != nil {
			t.Errorf("render %s: %v", req.URL.Path, err)
		}
	})
	srv := httptest.NewServer((&Server{}).secure(mux))
	t.Cleanup(srv.Close)

	// One browser with one tab for all pages.
	browserCtx := pagetest.Browser(t)

	for _, p := range pages {
		path := "/" + p.lang + "/" + p.file
		ctx, cancel := context.WithTimeout(browserCtx, 60*time.Second)
		func() {
			defer cancel()
			// Load at the first width; the others only resize the page.
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(axeViewports[0].width, axeViewports[0].height)); err != nil {
				t.Fatalf("%s: viewport: %v", path, err)
			}
			resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+path))
			if err != nil {
				t.Fatalf("%s: load: %v", path, err)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("%s: status %d", path, resp.Status)
			}
			// The stylesheet must have loaded, or the contrast checks
			// would look at the browser's default colours.
			styled, err := pagetest.Styled(ctx, "/static/style.css")
			if err != nil || !styled {
				t.Fatalf("%s: the stylesheet did not load (%v)", path, err)
			}
			// autofocus acts when the browser next renders after load, which
			// under load can be a moment later: wait for it where it is due.
			const onSummary = `document.activeElement.classList.contains("error-summary")`
			want := p.page.Error != ""
			var focused bool
			if want {
				_, err = chromedp.Run(ctx, chromedp.Poll[bool](onSummary, chromedp.WithPollingTimeout(10*time.Second)))
				focused = err == nil
			} else if focused, err = chromedp.Run(ctx, chromedp.Evaluate[bool](onSummary)); err != nil {
				t.Fatalf("%s: focus: %v", path, err)
			}
			if focused != want {
				t.Errorf("page %s (%s, %s): focus on the error summary %v, want %v", p.file, p.name, p.lang, focused, want)
			}
			// The screenshots show the page as it opens, <details> closed.
			if shot := axeScreenshots[p.file]; shot != "" && shotDir != "" && p.lang == "en" {
				for _, vp := range axeViewports {
					if vp.name == "" {
						continue
					}
					png, err := pagetest.Screenshot(ctx, vp.width, vp.height, false)
					if err != nil {
						t.Fatalf("%s at %dpx: screenshot: %v", path, vp.width, err)
					}
					if err := os.WriteFile(filepath.Join(shotDir, shot+"-"+vp.name+".png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(axeViewports[0].width, axeViewports[0].height)); err != nil {
					t.Fatalf("%s: viewport: %v", path, err)
				}
			}
			if err := pagetest.InjectAxe(ctx, axeJS); err != nil {
				t.Fatalf("%s: inject axe-core: %v", path, err)
			}
			for i, vp := range axeViewports {
				if i > 0 {
					if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
						t.Fatalf("%s: viewport: %v", path, err)
					}
				}
				scroll, wide, err := pagetest.Overflow(ctx, vp.width)
				if err != nil {
					t.Fatalf("%s at %dpx: scrollWidth: %v", path, vp.width, err)
				}
				if scroll > 0 {
					t.Errorf("page %s (%s, %s) at %dpx wide scrolls sideways: %dpx wide (WCAG 1.4.10); too wide: %s", p.file, p.name, p.lang, vp.width, scroll, wide)
				}
				if !vp.axe {
					continue
				}
				violations, err := pagetest.RunAxe(ctx)
				if err != nil {
					t.Fatalf("%s at %dpx: axe.run: %v", path, vp.width, err)
				}
				for _, v := range violations {
					t.Errorf("page %s (%s, %s) at %dpx wide: %s", p.file, p.name, p.lang, vp.width, v)
				}
			}
		}()
	}
	t.Logf("checked %d pages (%d samples in %d languages) at %d widths", len(pages), len(pages)/len(i18n.Languages), len(i18n.Languages), len(axeViewports))
}
