package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// TestEndToEndPhoneApp walks flow 2 of the design with the Twofold
// Authenticator web app that the server itself serves at /app/, in
// headless Chromium as a phone would: the operator assigns a push token
// under a token-PIN policy, the invitation arrives at a real SMTP server,
// its app link opens /app/ with the activation filled in; the person
// names the token, sets the PIN twice and sees the first code, which is
// the one internal/otp computes from the secret the server sent and which
// the server accepts. Then, with the portal in a second browser context,
// sign-ins are approved with number matching, denied, and reported as not
// the person's; a second server's activation string, pasted in, adds its
// token (no PIN under its policy) whose sign-in, without number matching,
// the app approves across origins; a reload keeps both tokens; with the server stopped and the
// browser offline (the service worker too), the app opens from its cache
// and still shows the right code; and wrong PINs wipe the token at the
// policy's limit. Every screen is checked with axe-core and at 320 px, and
// photographed at 390 px (and, into TWOFOLD_SCREENSHOTS when set, as
// app-<screen>-en.png, with app-<screen>-320-en.png at 320 px).
func TestEndToEndPhoneApp(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	axeJS := pagetest.AxeJS(t)
	mailbox := startMailbox(t)
	port := freePort(t)
	publicURL := fmt.Sprintf("https://localhost:%d", port)
	in := newInstallation(t, storetest.SQLite(t))
	in.env["TWOFOLD_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	in.env["TWOFOLD_PUBLIC_URL"] = publicURL
	in.env["TWOFOLD_SMTP_URL"] = "smtp://" + mailbox.addr
	_, _, stopServer := startStoppableServer(t, in, publicURL)

	const password, pin = "correct horse battery staple", "4711"
	in.ok("", "org", "create", "acme", "--name", "Acme Corp")
	in.ok("", "policy", "set", "acme", "methods=app,push", "pin_mode=token", "token_pin_attempts=3")
	in.ok(password+"\n", "user", "add", "acme/alice", "--email", "alice@example.org", "--language", "en", "--password-stdin")
	in.ok("", "token", "enroll", "acme/alice", "--type", "push")

	// The invitation carries the app link, the activation in its
	// fragment.
	msg := mailbox.waitFor(t, "en", publicURL+"/app/#a=")
	appLink := publicURL + "/app/#a=" + activationIn(t, msg, publicURL)
	activation := activationIn(t, msg, publicURL)

	app := newBrowser(t, chromium, "en")
	secret := watchActivation(t, app)
	shots := &appShots{b: app, axe: axeJS}

	// Enroll: the link fills in the activation; the person names the
	// token and activates it.
	app.navigate("open the invitation's app link on the phone", appLink)
	app.waitVisible("the add screen", "#screen-add")
	if got := evaluate[string](app, "activation field", `document.getElementById("activation").value`); got != activation {
		app.fatalf("activation field", "holds %q, want the invitation's %q", got, activation)
	}
	if loc := app.location("address after opening the link"); loc.Fragment != "" {
		app.errorf("address after opening the link", "the activation stays in the address: %s", loc)
	}
	app.clear("clear the suggested name", "token-name")
	app.fill("name the token", "#token-name", "Work")
	shots.take("add")
	app.press("activate", "#add-submit")
	app.waitVisible("the PIN screen", "#screen-pin-set")
	shots.take("pin-set")

	// The PIN, twice, at least the policy's length.
	app.fill("PIN", "#pin-new", pin)
	app.fill("PIN again, mistyped", "#pin-confirm", "4712")
	app.press("save the PIN", "#pin-set-submit")
	app.wantText("mismatched PINs", "#pin-set-error", appText("error.pin_mismatch"))
	shots.take("pin-set-error")
	app.clear("clear the PINs", "pin-new", "pin-confirm")
	app.fill("a short PIN", "#pin-new", "47")
	app.fill("a short PIN again", "#pin-confirm", "47")
	app.press("save the short PIN", "#pin-set-submit")
	app.wantText("a short PIN", "#pin-set-error", strings.ReplaceAll(appText("error.pin_short"), "{min}", "4"))
	app.clear("clear the PINs", "pin-new", "pin-confirm")
	app.fill("PIN", "#pin-new", pin)
	app.fill("PIN again", "#pin-confirm", pin)
	app.press("save the PIN", "#pin-set-submit")
	app.waitVisible("the first code", "#code-first")
	gen, rules := secret()
	if want := (push.PIN{Required: true, MinLength: 4, MaxAttempts: 3}); rules != want {
		t.Errorf("the activation told the PIN rules %+v, want %+v", rules, want)
	}
	first := app.checkCode("the first code", gen)
	shots.take("code")
	// Copy puts the code on the clipboard, which the test may read.
	app.do("allow the clipboard", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: publicURL}); err != nil {
				return err
			}
		}
		return nil
	}))
	app.press("copy the code", "#copy")
	app.wantText("copy the code", "#copied", appText("code.copied"))
	ctx, cancel := context.WithTimeout(app.ctx, stepTimeout)
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || copied != first {
		app.errorf("copy the code", "the clipboard holds %q (%v), want %q", copied, err, first)
	}
	if out := in.ok(first+"\n", "check", "acme/alice"); !strings.Contains(out, "accept") {
		t.Fatalf("twofold check with the app's first code: %q, want accept", out)
	}
	app.press("done", "#screen-code [data-back]")
	app.waitVisible("the token list", "#screen-list")
	app.wantText("the token list", "#tokens", "Work")
	shots.take("list")

	// Push: the portal in a context of its own, the app answering.
	signIn := func(step string) *browser {
		portal := app.isolatedTab()
		portal.navigate(step+": the login page", publicURL+"/o/acme/login")
		portal.fill(step+": username", "input[name=username]", "alice")
		portal.fill(step+": password", "input[name=password]", password)
		portal.submit(step+": sign in", "input[name=password]")
		return portal
	}
	portal := signIn("approve")
	number := strings.TrimSpace(evaluate[string](portal, "the number the portal shows", `document.querySelector(".push-number strong").textContent`))
	app.waitVisible("the sign-in request", "#screen-push")
	app.wantText("request's organization", "#push-org", "Acme Corp")
	app.wantText("request's application", "#push-app", appText("push.app_portal"))
	app.wantText("request's source", "#push-from", "127.0.0.1")
	numbers := evaluate[[]string](app, "numbers offered", `Array.from(document.querySelectorAll("#push-numbers button"), b => b.textContent)`)
	if len(numbers) != 3 || !contains(numbers, number) {
		app.fatalf("numbers offered", "%q, want three with the portal's %s", numbers, number)
	}
	shots.take("push")
	right := chromedp.JSPath(fmt.Sprintf(`Array.from(document.querySelectorAll("#push-numbers button")).find(b => b.textContent === %q)`, number))
	app.fill("a wrong PIN to approve", "#push-pin", "0000")
	app.do("pick the right number", chromedp.Click(right, chromedp.NodeVisible))
	app.wantText("a wrong PIN to approve", "#push-error", strings.ReplaceAll(appText("error.pin_wrong"), "{left}", "2"))
	app.fill("the PIN to approve", "#push-pin", pin)
	app.do("pick the right number", chromedp.Click(right, chromedp.NodeVisible))
	app.waitVisible("the answer", "#screen-push-done")
	app.wantText("the answer", "#push-done-title", appText("push.accepted_title"))
	shots.take("push-approved")
	portal.waitPath("the portal after the approval", "/o/acme/", 20*time.Second)

	for _, tc := range []struct{ name, button, title string }{
		{"deny", "#push-deny", "push.denied_title"},
		{"report", "#push-fraud", "push.fraud_title"},
	} {
		app.press("back to the list", "#screen-push-done [data-back]")
		portal := signIn(tc.name)
		app.waitVisible(tc.name+": the sign-in request", "#screen-push")
		app.press(tc.name, tc.button)
		app.waitVisible(tc.name+": the answer", "#screen-push-done")
		app.wantText(tc.name+": the answer", "#push-done-title", appText(tc.title))
		shots.take("push-" + tc.name)
		portal.waitText(tc.name+": the portal", i18n.T("en", "error.push_denied"), 20*time.Second)
	}
	if audit := in.ok("", "audit", "acme"); !strings.Contains(audit, "fraud") {
		t.Errorf("the audit log does not record the report:\n%s", audit)
	}

	// A second server, another organization: its activation string,
	// pasted into this server's app, adds a token without a PIN that the
	// app reaches across origins (the device endpoints allow it).
	vendor := secondServer(t, mailbox)
	vendorActivation := activationIn(t, mailbox.waitFor(t, "en", vendor.url+"/app/#a="), vendor.url)
	app.press("back to the list", "#screen-push-done [data-back]")
	app.press("add a token", "#add")
	app.waitVisible("the add screen", "#screen-add")
	app.fill("paste the vendor's activation", "#activation", vendorActivation)
	app.fill("name the vendor's token", "#token-name", "Vendor")
	app.press("activate the vendor's token", "#add-submit")
	app.waitVisible("the vendor's first code", "#code-first")
	vendorGen, rules := secret()
	if rules.Required {
		t.Errorf("the vendor's activation told the PIN rules %+v, want none required", rules)
	}
	if code := app.checkCode("the vendor's first code", vendorGen); !strings.Contains(vendor.in.ok(code+"\n", "check", "globex/bob"), "accept") {
		t.Fatalf("the vendor's server refuses the app's first code %s", code)
	}
	app.press("done", "#screen-code [data-back]")
	vendorPortal := app.isolatedTab()
	vendorPortal.navigate("the vendor's login page", vendor.url+"/o/globex/login")
	vendorPortal.fill("the vendor's username", "input[name=username]", "bob")
	vendorPortal.fill("the vendor's password", "input[name=password]", password)
	vendorPortal.submit("sign in at the vendor", "input[name=password]")
	number = strings.TrimSpace(evaluate[string](vendorPortal, "the vendor's number", `document.querySelector(".push-number strong").textContent`))
	app.waitVisible("the vendor's sign-in request", "#screen-push")
	app.wantText("the vendor's organization", "#push-org", "Globex")
	if n := app.count("a PIN field for a token without one", "#push-pin-field:not([hidden])"); n != 0 {
		app.errorf("the vendor's sign-in request", "asks for a PIN the token does not have")
	}
	// Without number matching the app offers the one number to confirm.
	if numbers := evaluate[[]string](app, "the vendor's number", `Array.from(document.querySelectorAll("#push-numbers button"), b => b.textContent)`); len(numbers) != 1 || numbers[0] != number {
		app.fatalf("the vendor's number", "%q offered, want the portal's %s alone", numbers, number)
	}
	app.wantText("the vendor's number", "#push-pick", appText("push.pick_one"))
	shots.take("push-one")
	app.press("confirm the vendor's number", "#push-numbers button")
	app.wantText("the vendor's answer", "#push-done-title", appText("push.accepted_title"))
	vendorPortal.waitPath("the vendor's portal after the approval", "/o/globex/", 20*time.Second)
	app.press("back to the list", "#screen-push-done [data-back]")
	app.waitVisible("the list of two servers' tokens", "#screen-list")
	shots.take("list-two")

	// A reload keeps the tokens, PIN and all.
	app.navigate("reload the app", publicURL+"/app/")
	app.waitVisible("the token list after a reload", "#screen-list")
	app.wantText("the token list after a reload", "#tokens", "Work")
	app.wantText("the token list after a reload", "#tokens", "Vendor")
	ctx, cancel = context.WithTimeout(app.ctx, stepTimeout)
	controlled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`navigator.serviceWorker.ready.then(r => !!r.active && !!navigator.serviceWorker.controller)`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || !controlled {
		app.fatalf("the service worker", "no active service worker controls the app (%v)", err)
	}

	// Offline: the server stopped and the browser cut off, its service
	// worker included. The app opens from its cache and shows the code.
	stopServer()
	app.do("cut the network", chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		yes := true
		if _, err := cdp.Call(ctx, tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &yes,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tab, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
	app.do("reload offline", chromedp.Reload())
	app.waitVisible("the token list offline", "#screen-list")
	app.waitVisible("the offline notice", "#offline")
	const work = `#tokens button[data-name="Work"]`
	app.press("open the token offline", work)
	app.waitVisible("the PIN prompt offline", "#screen-pin-ask")
	shots.take("pin-ask")
	app.fill("the PIN offline", "#pin-ask", pin)
	app.press("open", "#pin-ask-submit")
	app.waitVisible("the code offline", "#screen-code")
	app.checkCode("the code offline", gen)
	shots.take("code-offline")

	// Wrong PINs: the policy's third wipes the token.
	app.press("back to the list", "#screen-code [data-back]")
	for left := 2; left >= 0; left-- {
		app.press("open the token", work)
		app.waitVisible("the PIN prompt", "#screen-pin-ask")
		app.fill("a wrong PIN", "#pin-ask", "0000")
		app.press("open with a wrong PIN", "#pin-ask-submit")
		if left > 0 {
			want := strings.ReplaceAll(appText("error.pin_wrong"), "{left}", fmt.Sprint(left))
			if left == 1 {
				want = appText("error.pin_wrong_last")
			}
			app.wantText("a wrong PIN", "#pin-ask-error", want)
			if left == 2 {
				shots.take("pin-ask-error")
			}
			app.press("cancel", "#screen-pin-ask [data-back]")
		}
	}
	app.waitVisible("the list after the wipe", "#screen-list")
	app.wantText("the list after the wipe", "#list-notice", appText("error.pin_wiped"))
	if names := app.attrs("tokens after the wipe", "#tokens button", "data-name"); len(names) != 1 || names[0] != "Vendor" {
		app.fatalf("tokens after the wipe", "%q left, want only Vendor", names)
	}
	// The other server's token, without a PIN, shows its code offline.
	app.press("open the vendor's token offline", `#tokens button[data-name="Vendor"]`)
	app.waitVisible("the vendor's code offline", "#screen-code")
	app.checkCode("the vendor's code offline", vendorGen)
	shots.take("wiped")
}

// activationIn is the activation string of the app link to base in an
// invitation.
func activationIn(t *testing.T, msg parsedMail, base string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(base) + `/app/#a=([0-9A-Z-]+)`).FindStringSubmatch(msg.text)
	if m == nil {
		t.Fatalf("the invitation has no app link %s/app/#a=…:\n%s", base, msg.text)
	}
	return m[1]
}

// vendorServer is a second Twofold server, of organization globex, whose
// user bob has been sent a push token.
type vendorServer struct {
	in  *installation
	url string
}

func secondServer(t *testing.T, mailbox *mailbox) vendorServer {
	t.Helper()
	port := freePort(t)
	v := vendorServer{in: newInstallation(t, storetest.SQLite(t)), url: fmt.Sprintf("https://localhost:%d", port)}
	v.in.env["TWOFOLD_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	v.in.env["TWOFOLD_PUBLIC_URL"] = v.url
	v.in.env["TWOFOLD_SMTP_URL"] = "smtp://" + mailbox.addr
	startServer(t, v.in, v.url)
	v.in.ok("", "org", "create", "globex", "--name", "Globex")
	v.in.ok("", "policy", "set", "globex", "methods=app,push", "push_number_matching=false")
	v.in.ok("correct horse battery staple\n", "user", "add", "globex/bob", "--email", "bob@example.org", "--language", "en", "--password-stdin")
	v.in.ok("", "token", "enroll", "globex/bob", "--type", "push")
	return v
}

// appText is an English message of the app's own catalogue.
func appText(key string) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "authapp", "assets", "i18n", "en.json"))
	if err != nil {
		panic(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	if m[key] == "" {
		panic("no app message " + key)
	}
	return m[key]
}

// watchActivation records the answer of the app's activation, as the
// browser received it, and returns a function that gives the code
// generator of the secret in it (the test's own computation of the codes
// the app must show) and the PIN rules it told.
func watchActivation(t *testing.T, b *browser) func() (*otp.Generator, push.PIN) {
	var mu sync.Mutex
	var id network.RequestID
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.HasSuffix(e.Response.URL, push.PathActivate) {
			mu.Lock()
			id = e.RequestID
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() (*otp.Generator, push.PIN) {
		t.Helper()
		mu.Lock()
		req := id
		mu.Unlock()
		if req == "" {
			b.fatalf("the activation", "the browser made no activation request")
		}
		var body network.GetResponseBodyResult
		b.do("read the activation answer", chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			var err error
			body, err = cdp.Call(ctx, tab, network.GetResponseBody, network.GetResponseBodyParams{RequestID: req})
			return err
		}))
		var resp push.ActivateResponse
		if err := json.Unmarshal(body.Body, &resp); err != nil || resp.TOTP.Secret == "" {
			b.fatalf("the activation answer", "%s: %v", body.Body, err)
		}
		key, err := otp.DecodeSecret(resp.TOTP.Secret)
		if err != nil {
			t.Fatal(err)
		}
		alg, err := otp.ParseAlgorithm(resp.TOTP.Algorithm)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := otp.NewGenerator(key, alg, resp.TOTP.Digits)
		if err != nil {
			t.Fatal(err)
		}
		return gen, resp.PIN
	}
}

// checkCode reads the code the app shows and compares it with gen's for
// the time step it was read in, reading again if the step changed
// meanwhile. It returns the code.
func (b *browser) checkCode(step string, gen *otp.Generator) string {
	b.t.Helper()
	for range 3 {
		before := otp.Step(time.Now(), 30*time.Second)
		// The code changes with the step a moment after it begins.
		got := evaluate[string](b, step, `document.getElementById("code-value").dataset.code || ""`)
		after := otp.Step(time.Now(), 30*time.Second)
		if before != after || time.Now().Unix()%30 == 0 {
			time.Sleep(1500 * time.Millisecond)
			continue
		}
		want := gen.Code(uint64(before))
		if got != want && got == gen.Code(uint64(before-1)) && time.Now().Unix()%30 < 3 {
			// The app's timer has not yet ticked into the new step.
			time.Sleep(1500 * time.Millisecond)
			continue
		}
		if got != want {
			b.fatalf(step, "the app shows %q, want %q", got, want)
		}
		if left := evaluate[string](b, step, `document.getElementById("code-left").textContent`); !regexp.MustCompile(`\d+ s`).MatchString(left) {
			b.errorf(step, "the seconds left read %q", left)
		}
		return got
	}
	b.fatalf(step, "the time step kept changing while the code was read")
	return ""
}

// press clicks a button of the app, which changes the screen in place.
func (b *browser) press(step, sel string) {
	b.t.Helper()
	b.effort.actions++
	b.do(step, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// clear empties the fields with these ids.
func (b *browser) clear(step string, ids ...string) {
	b.t.Helper()
	for _, id := range ids {
		evaluate[bool](b, step, fmt.Sprintf(`document.getElementById(%q).value = "", true`, id))
	}
}

func (b *browser) waitVisible(step, sel string) {
	b.t.Helper()
	b.do(step, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// wantText waits for the element sel to show text containing want.
func (b *browser) wantText(step, sel, want string) {
	b.t.Helper()
	b.waitVisible(step, sel)
	js := fmt.Sprintf(`new Promise(ok => { const f = () => document.querySelector(%q).textContent.includes(%q) ? ok(true) : setTimeout(f, 50); f(); })`, sel, want)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
		b.fatalf(step, "%s reads %q, want %q", sel, got, want)
	}
}

// waitPath waits until the page (which reloads itself) is at path.
func (b *browser) waitPath(step, path string, within time.Duration) {
	b.t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		if b.location(step).Path == path {
			return
		}
		if time.Now().After(deadline) {
			b.fatalf(step, "still not at %s after %v", path, within)
		}
	}
}

// waitText waits until the page (which reloads itself) shows text.
func (b *browser) waitText(step, text string, within time.Duration) {
	b.t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		if strings.Contains(b.visibleText(), text) {
			return
		}
		if time.Now().After(deadline) {
			b.fatalf(step, "the page never showed %q", text)
		}
	}
}

// isolatedTab opens a tab in a browser context of its own (its own
// cookies and storage), as another device would be.
func (b *browser) isolatedTab() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// The first action opens the tab, which lives as long as the context
	// of that action: it must not run under a step's timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	return &browser{t: b.t, ctx: ctx, lang: b.lang}
}

// appShots checks and photographs the app's screens.
type appShots struct {
	b   *browser
	axe string
}

// take runs axe-core on the screen as it is, checks it does not scroll
// sideways at 320 px, and photographs it at 390 px.
func (s *appShots) take(name string) {
	b := s.b
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := pagetest.InjectAxe(ctx, s.axe); err != nil {
		b.fatalf("axe on "+name, "%v", err)
	}
	violations, err := pagetest.RunAxe(ctx)
	if err != nil {
		b.fatalf("axe on "+name, "%v", err)
	}
	for _, v := range violations {
		b.errorf("axe on "+name, "%s", v)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile)); err != nil {
		b.fatalf(name+" at 320 px", "%v", err)
	}
	if wide, what, err := pagetest.Overflow(ctx, 320); err != nil || wide != 0 {
		b.errorf(name+" at 320 px", "the screen is %d px wide (%s), %v", wide, what, err)
	}
	if dir := os.Getenv("TWOFOLD_SCREENSHOTS"); dir != "" {
		shot, err := pagetest.Screenshot(ctx, 320, 640, true)
		if err != nil {
			b.fatalf(name+" at 320 px", "%v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "app-"+name+"-320-"+b.lang+".png"), shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.screenshot("screenshot of "+name, "app-"+name)
}
