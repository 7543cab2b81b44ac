package pagetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/testenv"
)

// AxeTags are the rule sets pages must pass: WCAG 2.2 level A and AA (axe
// files the older criteria under their 2.0 and 2.1 tags).
const AxeTags = `["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]`

// AxeJS returns axe-core's script, which is not downloaded here:
// TWOFOLD_AXE_JS names its axe.min.js (.ci/run installs it). Without it
// the test is skipped, or fails under TWOFOLD_REQUIRE_ALL=1.
func AxeJS(t testing.TB) string {
	t.Helper()
	path := os.Getenv("TWOFOLD_AXE_JS")
	if path == "" {
		testenv.Missing(t, "set TWOFOLD_AXE_JS to axe-core's axe.min.js (npm install axe-core)")
	}
	js, err := os.ReadFile(path)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("set TWOFOLD_AXE_JS to axe-core's axe.min.js (npm install axe-core): %v", err))
	}
	return string(js)
}

// Browser starts one headless Chromium with one tab, for the rest of the
// test, and returns the tab's context; the first navigation has happened
// (about:blank), so actions on it may run under timeouts. flags are added
// to the usual options, such as chromedp.IgnoreCertErrors for a test
// server's own certificate. Without Chromium the test is skipped, or
// fails under TWOFOLD_REQUIRE_ALL=1.
func Browser(t testing.TB, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	chromium := testenv.Command(t, "chromium", "chromium")
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
	opts = append(opts, flags...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	// The first action starts the browser; it must not run under a
	// timeout, which would end the browser with it.
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// Styled reports whether the page's stylesheet, the one whose address
// contains href, has loaded: without it the contrast checks would look at
// the browser's default colours.
func Styled(ctx context.Context, href string) (bool, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[bool](
		`Array.from(document.styleSheets).some(s => s.href && s.href.includes(`+jsString(href)+`) && s.cssRules.length > 0)`))
}

// AxeViolation is one failed axe rule.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// String is the rule, its impact and help, and the first few elements
// that fail it, each with axe's summary of why.
func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s; %d elements", v.ID, v.Impact, v.Help, len(v.Nodes))
	for i, n := range v.Nodes {
		if i == 3 {
			fmt.Fprintf(&b, "\n    and %d more", len(v.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n    %s\n      %s", n.Target, strings.ReplaceAll(strings.TrimSpace(n.Summary), "\n", "\n      "))
	}
	return b.String()
}

// InjectAxe opens every <details> on the page, so that axe sees what
// they hide, and loads axe-core (AxeJS) into it.
func InjectAxe(ctx context.Context, axeJS string) error {
	return chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => { d.open = true })`),
		chromedp.Evaluate[chromedp.Void](axeJS),
	)
}

// RefreshStop selects the link by which a page that reloads itself (a
// <meta http-equiv="refresh">) lets the person stop it: the same page
// without the reload.
const RefreshStop = "a[data-refresh-stop]"

// RunAxe runs the AxeTags rules on the page as it is now, after
// InjectAxe, and returns the violations.
//
// On a page with a RefreshStop link, and only there, axe's meta-refresh
// rule is left out: WCAG 2.2.1 (Timing Adjustable) allows a time limit
// that the user can turn off before it is met, and the link does that,
// but the rule cannot see it and flags every timed refresh. Every other
// rule still runs, and a page that reloads without the link still fails.
func RunAxe(ctx context.Context) ([]AxeViolation, error) {
	run := `axe.run(document, {runOnly: {type: "tag", values: ` + AxeTags + `}, resultTypes: ["violations"],
  rules: document.querySelector(` + jsString(RefreshStop) + `) ? {"meta-refresh": {enabled: false}} : {}})
.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
  nodes: v.nodes.map(n => ({target: n.target.flat(Infinity).join(" >>> "), summary: n.failureSummary || ""}))})))`
	return chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](run, chromedp.EvalAwaitPromise))
}

// Overflow reports how wide the page is when it is wider than width, the
// window's, and so scrolls sideways (WCAG 1.4.10), with the first
// elements that stick out; 0 when it fits.
func Overflow(ctx context.Context, width int64) (int64, string, error) {
	scroll, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if err != nil || scroll <= width {
		return 0, "", err
	}
	wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "")).slice(0, 5).join(", ")`))
	return scroll, wide, nil
}

// Screenshot photographs the page at width as PNG: the window, height
// high, or with full the whole page, however long. The window is left at
// width × height.
func Screenshot(ctx context.Context, width, height int64, full bool) ([]byte, error) {
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		return nil, err
	}
	if !full {
		return chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	// A window as tall as the page: what a capture beyond the window
	// would show, without the browser's idea of where that ends.
	tall, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`Math.ceil(document.documentElement.scrollHeight)`))
	if err != nil {
		return nil, err
	}
	if tall > height {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, tall)); err != nil {
			return nil, err
		}
		defer chromedp.Do(ctx, chromedp.EmulateViewport(width, height))
	}
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// jsString quotes s for a script.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
