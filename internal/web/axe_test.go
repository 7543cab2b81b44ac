package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// axeTags are the rule sets the pages must pass: WCAG 2.2 level A and AA
// (axe files the older criteria under their 2.0 and 2.1 tags).
const axeTags = `["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]`

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
var axeScreenshots = map[string]string{"login": "login", "enroll": "enroll", "dashboard": "dashboard"}

// axeViolation is one failed axe rule, as the script below returns it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// TestPagesPassAxe opens every sample page (renderSamples) in every
// language in headless Chromium, with the real stylesheet, at a phone's
// and a PC's width, and runs axe-core's WCAG 2.2 A and AA rules on it with
// every <details> open: there must be no violations (DESIGN.md section 8).
// At each width, and at 320 px, the page must not scroll sideways (WCAG
// 1.4.10), and a page with an error must have put the focus on its error
// summary. With TWOFOLD_SCREENSHOTS set to a directory, the English login,
// enrollment and dashboard pages are photographed there at phone and PC
// width (docs/screenshots).
// axe-core is not downloaded here: TWOFOLD_AXE_JS names its axe.min.js
// (.ci/run installs it).
func TestPagesPassAxe(t *testing.T) {
	axePath := os.Getenv("TWOFOLD_AXE_JS")
	if axePath == "" {
		testenv.Missing(t, "set TWOFOLD_AXE_JS to axe-core's axe.min.js (npm install axe-core)")
	}
	axeJS, err := os.ReadFile(axePath)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("set TWOFOLD_AXE_JS to axe-core's axe.min.js (npm install axe-core): %v", err))
	}
	chromium := testenv.Command(t, "chromium", "chromium")
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
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	// The first action starts the browser; it must not run under a
	// timeout, which would end the browser with it.
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}

	run := `axe.run(document, {runOnly: {type: "tag", values: ` + axeTags + `}, resultTypes: ["violations"]})
.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
  nodes: v.nodes.map(n => ({target: n.target.flat(Infinity).join(" >>> "), summary: n.failureSummary || ""}))})))`
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
			styled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`Array.from(document.styleSheets).some(s => s.href && s.href.includes("/static/style.css") && s.cssRules.length > 0)`))
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
					if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
						t.Fatalf("%s: viewport: %v", path, err)
					}
					png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
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
			if err := chromedp.Do(ctx,
				chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => { d.open = true })`),
				chromedp.Evaluate[chromedp.Void](string(axeJS)),
			); err != nil {
				t.Fatalf("%s: inject axe-core: %v", path, err)
			}
			for i, vp := range axeViewports {
				if i > 0 {
					if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
						t.Fatalf("%s: viewport: %v", path, err)
					}
				}
				scroll, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
				if err != nil {
					t.Fatalf("%s at %dpx: scrollWidth: %v", path, vp.width, err)
				}
				if scroll > vp.width {
					wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "")).slice(0, 5).join(", ")`))
					t.Errorf("page %s (%s, %s) at %dpx wide scrolls sideways: %dpx wide (WCAG 1.4.10); too wide: %s", p.file, p.name, p.lang, vp.width, scroll, wide)
				}
				if !vp.axe {
					continue
				}
				violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
				if err != nil {
					t.Fatalf("%s at %dpx: axe.run: %v", path, vp.width, err)
				}
				for _, v := range violations {
					var target, summary string
					if len(v.Nodes) > 0 {
						target = v.Nodes[0].Target
						summary = strings.ReplaceAll(strings.TrimSpace(v.Nodes[0].Summary), "\n", "\n      ")
					}
					t.Errorf("page %s (%s, %s) at %dpx wide: %s (%s): %s\n    first of %d: %s\n      %s",
						p.file, p.name, p.lang, vp.width, v.ID, v.Impact, v.Help, len(v.Nodes), target, summary)
				}
			}
		}()
	}
	t.Logf("checked %d pages (%d samples in %d languages) at %d widths", len(pages), len(pages)/len(i18n.Languages), len(i18n.Languages), len(axeViewports))
}
