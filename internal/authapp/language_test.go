package authapp_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/page/pagetest"
)

// The app speaks the browser's language, the switcher changes it and the
// choice is kept; each language's screens pass axe-core and fit 320 px.
// With TWOFOLD_SCREENSHOTS set, the list and the add screen are
// photographed there at 390 px as app-list-<lang>.png and app-add-<lang>.png.
func TestLanguages(t *testing.T) {
	axeJS := pagetest.AxeJS(t)
	srv := newServer(t)
	tab := pagetest.Browser(t, chromedp.Flag("lang", "de-DE"), chromedp.Flag("accept-lang", "de-DE,de"))
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	heading := func() (string, string) {
		t.Helper()
		var h, lang string
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#screen-list h1")),
			chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
				var err error
				if h, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#screen-list h1").textContent`)); err != nil {
					return err
				}
				lang, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
				return err
			})); err != nil {
			t.Fatal(err)
		}
		return h, lang
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/app/")); err != nil {
		t.Fatal(err)
	}
	if h, lang := heading(); h != "Ihre Token" || lang != "de" {
		t.Errorf("a German browser: heading %q, lang %q", h, lang)
	}
	check := func(lang, screen string) {
		t.Helper()
		if err := pagetest.InjectAxe(ctx, axeJS); err != nil {
			t.Fatal(err)
		}
		vs, err := pagetest.RunAxe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			t.Errorf("%s %s: %s", lang, screen, v)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640)); err != nil {
			t.Fatal(err)
		}
		if wide, what, err := pagetest.Overflow(ctx, 320); err != nil || wide != 0 {
			t.Errorf("%s %s at 320 px: %d px wide (%s), %v", lang, screen, wide, what, err)
		}
		shot, err := pagetest.Screenshot(ctx, 390, 844, true)
		if err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("TWOFOLD_SCREENSHOTS"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "app-"+screen+"-"+lang+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct{ lang, heading, add string }{
		{"de", "Ihre Token", "Token hinzufügen"},
		{"nl", "Je tokens", "Token toevoegen"},
	} {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#lang"), tc.lang),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("lang").dispatchEvent(new Event("change"))`)); err != nil {
			t.Fatal(err)
		}
		// The choice outlasts a reload.
		if err := chromedp.Do(ctx, chromedp.Sleep(200*time.Millisecond), chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		if h, lang := heading(); h != tc.heading || lang != tc.lang {
			t.Errorf("after choosing %s: heading %q, lang %q", tc.lang, h, lang)
		}
		check(tc.lang, "list")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#add"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#screen-add"))); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#screen-add h1").textContent`))
		if err != nil || got != tc.add {
			t.Errorf("%s add screen: %q, %v", tc.lang, got, err)
		}
		check(tc.lang, "add")
	}
}
