package web

import (
	"bytes"
	"encoding/base64"
	"html"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/page"
	"github.com/twofold-mfa/twofold/internal/page/pagetest"
	"github.com/twofold-mfa/twofold/internal/push"
)

const renderTestCSRF = "csrf-0123456789abcdef0123456789abcdef"

// renderTestQR is a PNG data URI that looks like a QR code (finder
// patterns and noise), enough to lay out and look at the page.
var renderTestQR = func() template.URL {
	const modules, scale, quiet = 29, 8, 4
	size := (modules + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	dark := func(x, y int) bool {
		for _, f := range [][2]int{{0, 0}, {modules - 7, 0}, {0, modules - 7}} {
			dx, dy := x-f[0], y-f[1]
			if dx >= -1 && dx <= 7 && dy >= -1 && dy <= 7 {
				if dx < 0 || dy < 0 || dx > 6 || dy > 6 {
					return false
				}
				return dx == 0 || dy == 0 || dx == 6 || dy == 6 || (dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4)
			}
		}
		return rnd.IntN(2) == 0
	}
	for y := range modules {
		for x := range modules {
			if !dark(x, y) {
				continue
			}
			for py := range scale {
				for px := range scale {
					img.SetGray((x+quiet)*scale+px, (y+quiet)*scale+py, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}()

// renderSample is one page to render in a test.
type renderSample struct {
	file string // sample file name, without .html
	name string // page name
	page page.Page
}

// renderSamples returns every page with sample data in lang, plus the
// variants worth looking at (errors, other platforms, empty dashboard).
func renderSamples(lang string) []renderSample {
	added := time.Date(2026, time.November, 24, 9, 30, 0, 0, time.UTC)
	used := time.Date(2026, time.November, 26, 14, 5, 0, 0, time.UTC)
	org := &page.OrgView{Slug: "acme", Name: "Acme Logistics"}
	sample := func(path string, data any) page.Page {
		p := page.Page{Lang: lang, Org: org, CSRF: renderTestCSRF, Data: data}
		for _, l := range i18n.Languages {
			p.Languages = append(p.Languages, page.LangLink{Code: l.Code, Name: l.Name, URL: path + "lang=" + l.Code, Current: l.Code == lang})
		}
		return p
	}
	enroll := func(platform string) EnrollView {
		return EnrollView{
			Action:    "/enroll/verify",
			Hidden:    map[string]string{"enrollment": "Xk3p9-QrT2m"},
			Username:  "j.devries",
			QR:        renderTestQR,
			URI:       "otpauth://totp/Acme%20Logistics:j.devries?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Logistics",
			Secret:    "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP",
			Type:      "totp",
			Digits:    6,
			Period:    30,
			Algorithm: "SHA1",
			Platform:  platform,
			Name:      "Android phone, 24 November 2026",
			NameMax:   64,
			PlatformURLs: map[string]string{
				"android": "/enroll?platform=android",
				"iphone":  "/enroll?platform=iphone",
				"other":   "/enroll?platform=other",
			},
		}
	}
	tokens := []TokenView{
		{Serial: "TOTP0001A2B3", Name: "Work phone", Type: "totp", State: "active", Added: added, LastUsed: used, Replaceable: true},
		{Serial: "TOTP0002C4D5", Name: "", Type: "totp", State: "active", Added: added.AddDate(0, -3, 0), Replaceable: true},
		{Serial: "HOTP0003E6F7", Name: "Old Android phone with a long name", Type: "hotp", State: "suspended", Added: added.AddDate(-1, 0, 0), LastUsed: used.AddDate(0, -2, 0)},
	}
	dashboard := DashboardView{
		Tokens:         tokens,
		RenameAction:   "/o/acme/tokens/rename",
		RemoveAction:   "/o/acme/tokens/remove",
		ReplaceAction:  "/o/acme/tokens/replace",
		PasswordAction: "/o/acme/password", PasswordMinLength: 8,
		AddAction:    "/o/acme/add",
		LogoutAction: "/o/acme/logout",
		HasPassword:  true,
		BackupAction: "/o/acme/backup",
		BackupLeft:   7,
		BackupTotal:  10,
		PIN:          &PINView{Action: "/o/acme/pin", HasPIN: true, Rules: PINRules{Min: 4, Max: 8, DigitsOnly: true}},
	}

	var s []renderSample
	add := func(file, name string, p page.Page) { s = append(s, renderSample{file, name, p}) }

	add("enroll_password", "enroll_password", sample("/enroll?code=Xk3p9&", EnrollPasswordView{Code: "Xk3p9-QrT2m", Username: "j.devries"}))
	p := sample("/enroll?code=Xk3p9&", EnrollPasswordView{Code: "Xk3p9-QrT2m"})
	p.Error, p.ErrorField = "error.password_wrong", "password"
	add("enroll_password-error", "enroll_password", p)
	add("enroll", "enroll", sample("/enroll?", enroll("android")))
	add("enroll-iphone", "enroll", sample("/enroll?", enroll("iphone")))
	add("enroll-other", "enroll", sample("/enroll?", enroll("other")))
	add("enroll-none", "enroll", sample("/enroll?", enroll("")))
	v := enroll("android")
	v.Hidden["code"] = "must not be a second code field"
	p = sample("/enroll?", v)
	p.Error, p.ErrorField, p.Hint = "error.code_wrong", "code", "hint.clock"
	add("enroll-error", "enroll", p)
	p = sample("/enroll?", enroll("android"))
	p.Error, p.ErrorField, p.Hint, p.HintArgs = "error.code_wrong", "code", "hint.clock_ahead", []any{i18n.T(lang, "hint.seconds", 90)}
	add("enroll-clock", "enroll", p)
	p = sample("/enroll?", enroll("android"))
	p.Error, p.ErrorArgs = "error.locked_until", []any{"09:20 UTC"}
	add("enroll-locked", "enroll", p)
	replacing := enroll("iphone")
	replacing.Replaces = "Android phone, 3 March 2026"
	add("enroll-replace", "enroll", sample("/o/acme/add/app?", replacing))
	hotp := enroll("android")
	hotp.Type, hotp.Period = "hotp", 0
	add("enroll-hotp", "enroll", sample("/enroll?", hotp))
	claimable := enroll("android")
	claimable.ClaimURL = "/o/acme/login/claim"
	add("enroll-claim", "enroll", sample("/o/acme/login/enroll?", claimable))
	p = sample("/o/acme/login/claim?", ClaimView{Action: "/o/acme/login/claim", AppURL: "/o/acme/login/enroll"})
	p.User = "j.devries"
	add("claim", "claim", p)
	p = sample("/o/acme/login/claim?", ClaimView{Action: "/o/acme/login/claim", Serial: "FT-0042-7731", Without: "claim.without_help"})
	p.User, p.Error, p.ErrorField = "j.devries", "error.claim_failed", "code"
	add("claim-error", "claim", p)
	p = sample("/o/acme/add/hardware?", ClaimView{Action: "/o/acme/add/hardware", PIN: true})
	p.User = "j.devries"
	add("claim-pin", "claim", p)
	add("enroll_done", "enroll_done", sample("/enroll?", EnrollDoneView{LoginURL: "/o/acme/login"}))
	add("enroll_done-email", "enroll_done", sample("/enroll?", EnrollDoneView{LoginURL: "/o/acme/login", Email: true}))
	// An organization with a logo, a support contact and a URL to continue to.
	cont := sample("/o/acme/enrolled?", EnrollDoneView{LoginURL: "/o/acme/login", ContinueURL: "https://intranet.acme.example/welcome"})
	branded := *org
	branded.LogoURL, branded.SupportContact = "/o/acme/logo?v=0a1b2c", "IT helpdesk, +31 20 123 4567, help@acme.example"
	cont.Org = &branded
	add("enroll_done-continue", "enroll_done", cont)
	emailEnroll := EnrollEmailView{Enrollment: "Xk3p9-QrT2m", Action: "/enroll/verify", SendAction: "/enroll/email", Email: "j•••@acme.example"}
	add("enroll_email", "enroll_email", sample("/enroll?", emailEnroll))
	emailEnroll.Sent = true
	add("enroll_email-sent", "enroll_email", sample("/enroll?", emailEnroll))
	for _, reason := range []string{"expired", "used", "cancelled", "replaced", "unknown", "something-else"} {
		p := sample("/enroll?", EnrollGoneView{Reason: reason})
		p.Org = nil
		add("enroll_gone-"+reason, "enroll_gone", p)
	}
	home := sample("/?", nil)
	home.Org = nil
	add("home", "home", home)
	add("login", "login", sample("/o/acme/login?", LoginView{Action: "/o/acme/login", Forgot: "/o/acme/login/forgot"}))
	add("forgot", "forgot", sample("/o/acme/login/forgot?", ForgotView{Action: "/o/acme/login/forgot", LoginURL: "/o/acme/login"}))
	add("forgot-sent", "forgot", sample("/o/acme/login/forgot?sent=1&", ForgotView{Action: "/o/acme/login/forgot", LoginURL: "/o/acme/login", Sent: true, Minutes: 30}))
	add("reset", "reset", sample("/o/acme/login/reset?token=Xk3p9&", ResetView{Action: "/o/acme/login/reset", Token: "Xk3p9", Username: "j.devries", Factor: "app", Backup: true, MinLength: 8}))
	p = sample("/o/acme/login/reset?token=Xk3p9&", ResetView{Action: "/o/acme/login/reset", Token: "Xk3p9", Username: "j.devries", Factor: "backup", Backup: true, MinLength: 8})
	p.Error = "error.code_wrong"
	add("reset-backup", "reset", p)
	p = sample("/o/acme/login?", LoginView{Action: "/o/acme/login", Username: "j.devries", Combined: true, Email: true})
	p.Error, p.ErrorField = "error.login_failed", "password"
	add("login-combined", "login", p)
	add("login_code", "login_code", sample("/o/acme/login/code?", CodeView{Action: "/o/acme/login/code"}))
	methods := func(current string) CodeView {
		v := CodeView{Action: "/o/acme/login/code", Method: current, MethodAction: "/o/acme/login/method", ResendAction: "/o/acme/login/resend",
			Email: "j•••@acme.example", Sent: true}
		for _, m := range []MethodChoice{{Code: "app"}, {Code: "email", Weaker: true, Email: "j•••@acme.example"},
			{Code: "push", Disabled: true, Reason: "method.push_unavailable"}, {Code: "sms", Disabled: true, Reason: "method.sms_unavailable"}, {Code: "backup"}} {
			m.Current = m.Code == current
			v.Methods = append(v.Methods, m)
		}
		return v
	}
	add("login_code-methods", "login_code", sample("/o/acme/login/code?", methods("app")))
	p = sample("/o/acme/login/code?", methods("email"))
	p.Flash = "flash.code_sent"
	add("login_code-email", "login_code", p)
	p = sample("/o/acme/login/code?", methods("backup"))
	p.Error, p.ErrorField = "error.backup_malformed", "code"
	add("login_code-backup", "login_code", p)
	p = sample("/o/acme/login/code?", methods("email"))
	p.Error = "error.resend_wait"
	add("login_code-wait", "login_code", p)
	pinCode := methods("app")
	pinCode.PIN = true
	add("login_code-pin", "login_code", sample("/o/acme/login/code?", pinCode))
	// The pages that reload themselves, and the same without the reload.
	// The samples' meta refresh is an hour, so that the page does not
	// reload under the browser test; axe's meta-refresh rule still looks at
	// it (it passes only delays of 20 hours and more).
	const sampleRefresh = 3600
	waiting := CodeView{Method: "push", MethodAction: "/o/acme/login/method", Instead: "app",
		Push: &PushView{Number: 42, CheckAction: "/o/acme/login/push", StopURL: "/o/acme/login/code?refresh=off", Refresh: pushRefresh}}
	for _, m := range []string{"app", "push", "backup"} {
		waiting.Methods = append(waiting.Methods, MethodChoice{Code: m, Current: m == "push"})
	}
	p = sample("/o/acme/login/code?", waiting)
	p.Title, p.Refresh = "login_code.push_title", sampleRefresh
	add("login_code-push", "login_code", p)
	stopped := *waiting.Push
	stopped.CheckAction, stopped.Refresh = "/o/acme/login/push?refresh=off", 0
	waiting.Push = &stopped
	p = sample("/o/acme/login/code?refresh=off&", waiting)
	p.Title = "login_code.push_title"
	add("login_code-push-stopped", "login_code", p)
	activation := push.Activation{URL: "https://mfa.acme.example", Code: "xk3p9qrt2mabcdefghjkmnpqrs"}
	enrollPush := EnrollPushView{Username: "j.devries", Activation: activation.String(), QR: renderTestQR, AppLink: activation.AppLink(),
		Command:  "twofold-authenticator enroll " + activation.String(),
		CheckURL: "/enroll?code=Xk3p9", StopURL: "/enroll?code=Xk3p9&refresh=off", Refresh: enrollPushRefresh}
	p = sample("/enroll?code=Xk3p9&", enrollPush)
	p.Refresh = sampleRefresh
	add("enroll_push", "enroll_push", p)
	enrollPush.CheckURL, enrollPush.Refresh = enrollPush.StopURL, 0
	add("enroll_push-stopped", "enroll_push", sample("/enroll?code=Xk3p9&refresh=off&", enrollPush))
	p = sample("/o/acme/login/pin?", PINView{Action: "/o/acme/login/pin", MustChange: true, Rules: PINRules{Min: 4, Max: 8, DigitsOnly: true}})
	p.User, p.Error, p.ErrorField, p.ErrorArgs = "j.devries", "error.pin_length", "new_pin", []any{4, 8}
	add("pin", "pin", p)
	codes := []string{"abcd-efgh-2345-67ab", "k7mn-pq2r-st3v-wx4y", "a2b3-c4d5-e6f7-g2h3", "zz2a-bb3c-cc4d-dd5e", "mn67-pq23-rs45-tu67",
		"vw2x-yz3a-bc4d-ef5g", "gh6j-kl7m-np2q-rs3t", "uv4w-xy5z-ab6c-de7f", "fg2h-jk3l-mn4p-qr5s", "st6u-vw7x-yz2a-bc3d"}
	p = sample("/o/acme/backup?", BackupCodesView{Codes: codes, Text: strings.Join(codes, "\n"), FileName: "backup-codes-acme.txt",
		Download: template.URL("data:text/plain;charset=utf-8," + strings.Join(codes, "%0A")), Action: "/o/acme/backup/done", NewAction: "/o/acme/backup/new"})
	p.User = "j.devries"
	add("backup_codes", "backup_codes", p)
	p = sample("/o/acme/backup?", p.Data)
	p.User, p.Error = "j.devries", "error.backup_not_saved"
	add("backup_codes-not-saved", "backup_codes", p)
	add("setup_email", "setup_email", sample("/o/acme/setup/email?", AddChooseView{Action: "/o/acme/setup/email", Email: "j•••@acme.example"}))
	p = sample("/o/acme/add/choose?", AddChooseView{Action: "/o/acme/add/choose", Email: "j•••@acme.example"})
	p.User = "j.devries"
	add("add_choose", "add_choose", p)
	p = sample("/o/acme/add/choose?", AddChooseView{Action: "/o/acme/add/choose", Email: "j•••@acme.example", Hardware: true})
	p.User = "j.devries"
	add("add_choose-hardware", "add_choose", p)
	p = sample("/o/acme/add/email?", AddEmailView{Action: "/o/acme/add/email", ResendAction: "/o/acme/add/email/resend", Email: "j•••@acme.example"})
	p.User = "j.devries"
	add("add_email", "add_email", p)
	p = sample("/o/acme/?", dashboard)
	p.User, p.Flash = "j.devries", "flash.token_renamed"
	add("dashboard", "dashboard", p)
	empty := dashboard
	empty.Tokens, empty.HasPassword, empty.BackupLeft, empty.PIN = nil, false, 0, nil
	p = sample("/o/acme/?", empty)
	p.User = "j.devries"
	add("dashboard-empty", "dashboard", p)
	// Each form of the dashboard, failed: the summary names the form.
	for _, e := range []struct{ file, key, field, form string }{
		{"dashboard-password-error", "error.password_mismatch", "new_password_confirm", "dashboard.password"},
		{"dashboard-backup-error", "error.password_wrong", "backup-password", "dashboard.backup"},
		{"dashboard-pin-error", "error.pin_wrong", "pin", "dashboard.pin"},
		{"dashboard-rename-error", "error.token_name", "name-TOTP0002C4D5", "dashboard.rename"},
	} {
		p = sample("/o/acme/?", dashboard)
		p.User, p.Error, p.ErrorField, p.ErrorForm = "j.devries", e.key, e.field, e.form
		add(e.file, "dashboard", p)
	}
	p = sample("/o/acme/tokens/remove?serial=TOTP0001A2B3&", RemoveView{Action: "/o/acme/tokens/remove", Token: tokens[0]})
	p.User = "j.devries"
	add("remove", "remove", p)
	p.Error, p.ErrorField = "error.confirm_failed", "password"
	add("remove-error", "remove", p)
	for name, left := range map[string]int{"remove-last": 0, "remove-last-backup": 7} {
		p = sample("/o/acme/tokens/remove?serial=TOTP0001A2B3&", RemoveView{Action: "/o/acme/tokens/remove", Token: tokens[0],
			Last: true, BackupLeft: left, ReplaceAction: "/o/acme/tokens/replace"})
		p.User = "j.devries"
		add(name, "remove", p)
	}
	p = sample("/o/acme/add/verify?", AddVerifyView{Action: "/o/acme/add/verify", ResendAction: "/o/acme/add/resend", Email: "j•••@acme.example"})
	p.User = "j.devries"
	add("add_verify", "add_verify", p)
	p.Error, p.ErrorField = "error.code_wrong", "code"
	add("add_verify-error", "add_verify", p)
	p = sample("/o/acme/add/password?", AddPasswordView{Action: "/o/acme/add/password"})
	p.User = "j.devries"
	add("add_password", "add_password", p)
	p = sample("/nowhere?", page.ErrorView{Status: 404, Message: "error.not_found", Next: "error.not_found_next", BackURL: "/o/acme/"})
	p.Org, p.Title = nil, "error.title"
	add("error", "error", p)
	p = sample("/nowhere?", page.ErrorView{Status: 503, Message: "error.unavailable", Next: "error.unavailable_next"})
	p.Org = nil
	add("error-503", "error", p)
	return s
}

func newTestRenderer(t *testing.T) *page.Renderer {
	t.Helper()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	renderFormRE  = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	renderInputRE = regexp.MustCompile(`<input\b[^>]*>`)
	renderAttrRE  = regexp.MustCompile(`\s([a-z-]+)(?:="([^"]*)")?`)
)

// renderAttrs returns the attributes of one tag.
func renderAttrs(tag string) map[string]string {
	attrs := map[string]string{}
	for _, m := range renderAttrRE.FindAllStringSubmatch(tag, -1) {
		attrs[m[1]] = m[2]
	}
	return attrs
}

func TestRenderPages(t *testing.T) {
	r := newTestRenderer(t)
	seen := map[string]bool{}
	for _, l := range i18n.Languages {
		for _, s := range renderSamples(l.Code) {
			t.Run(l.Code+"/"+s.file, func(t *testing.T) {
				seen[s.name] = true
				rec := httptest.NewRecorder()
				if err := r.Page(rec, http.StatusOK, s.name, s.page); err != nil {
					t.Fatal(err)
				}
				if rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				body := rec.Body.String()
				renderCheckPage(t, l.Code, body)
				renderCheckError(t, s, body)
			})
		}
	}
	for _, name := range []string{"enroll_password", "enroll", "enroll_done", "enroll_gone", "login", "login_code", "dashboard", "remove", "add_verify", "add_password", "error",
		"pin", "backup_codes", "add_choose", "add_email", "forgot", "reset", "setup_email", "enroll_push", "claim"} {
		if !seen[name] {
			t.Errorf("page %s has no sample", name)
		}
		if !r.Has(name) {
			t.Errorf("page %s has no template", name)
		}
	}
}

// renderCheckPage checks what every page must be.
func renderCheckPage(t *testing.T, lang, body string) {
	t.Helper()
	for _, bad := range []string{"!(", "%!", "<no value>", "ZgotmplZ", "<script", " style=", "<style"} {
		if i := strings.Index(body, bad); i >= 0 {
			t.Errorf("page contains %q: …%s…", bad, body[max(0, i-80):min(len(body), i+80)])
		}
	}
	if !strings.Contains(body, `<html lang="`+lang+`">`) {
		t.Errorf("no <html lang=%q>", lang)
	}
	if !strings.Contains(body, `<link rel="stylesheet" href="`+page.StylesheetURL()+`">`) {
		t.Error("no stylesheet link")
	}
	if !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, `<title>`) {
		t.Error("no main or no title")
	}
	forms := renderFormRE.FindAllStringSubmatch(body, -1)
	for _, f := range forms {
		attrs := renderAttrs(f[1])
		if attrs["method"] != "post" {
			t.Errorf("form %s is not method=post", f[1])
		}
		if attrs["action"] == "" {
			t.Errorf("form %s has no action", f[1])
		}
		if !strings.Contains(f[2], `<input type="hidden" name="csrf_token" value="`+renderTestCSRF+`">`) {
			t.Errorf("form %s has no csrf_token", f[1])
		}
	}
	// Every visible input has a label; ids are unique.
	ids := map[string]bool{}
	for _, tag := range renderInputRE.FindAllString(body, -1) {
		a := renderAttrs(tag)
		if a["type"] == "hidden" {
			continue
		}
		if a["id"] == "" || ids[a["id"]] {
			t.Errorf("input without a unique id: %s", tag)
		}
		ids[a["id"]] = true
		if !strings.Contains(body, `<label for="`+a["id"]+`">`) {
			t.Errorf("input without a label: %s", tag)
		}
		// A backup code has letters: its field asks for text, and a field
		// that takes either a code or a backup code for any text; the
		// others for digits.
		backup := strings.Contains(a["class"], "code-long")
		either := strings.Contains(body, `action="/o/acme/login"`) || strings.Contains(body, `action="/o/acme/tokens/remove"`) ||
			(strings.Contains(body, `action="/o/acme/login/code"`) && !strings.Contains(body, `action="/o/acme/login/resend"`))
		if a["name"] == "code" && !backup && (a["autocomplete"] != "one-time-code" || (a["inputmode"] == "numeric") == either) {
			t.Errorf("code input without one-time-code, or inputmode=numeric where a backup code goes too (%v): %s", either, tag)
		}
		if a["name"] == "code" && backup && (a["autocomplete"] != "off" || a["inputmode"] != "text") {
			t.Errorf("backup code input without autocomplete=off and inputmode=text: %s", tag)
		}
	}
	if len(forms) == 0 && renderInputRE.MatchString(body) {
		t.Error("input outside a form")
	}
}

// renderCheckError checks the error pattern: a page answering a form with
// an error says so in its title, opens with a focused summary that links
// to the field (and names the form on a page with several), and shows the
// message at the field, which is marked invalid; a page without an error
// has none of it.
func renderCheckError(t *testing.T, s renderSample, body string) {
	t.Helper()
	p := s.page
	title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body)
	summary := regexp.MustCompile(`(?s)<div class="error-summary"([^>]*)>(.*?)</div>`).FindStringSubmatch(body)
	if p.Error == "" {
		if summary != nil || strings.Contains(body, `aria-invalid`) || strings.Contains(body, `autofocus`) {
			t.Errorf("a page without an error has an error summary, an invalid field or autofocus")
		}
		if title == nil || strings.HasPrefix(html.UnescapeString(title[1]), i18n.T(p.Lang, "layout.error_title", "")) {
			t.Errorf("title %q", title)
		}
		return
	}
	msg := i18n.T(p.Lang, p.Error, p.ErrorArgs...)
	if p.Title == "" {
		p.Title = s.name + ".title"
	}
	if want := i18n.T(p.Lang, "layout.error_title", i18n.T(p.Lang, p.Title)); title == nil || !strings.HasPrefix(html.UnescapeString(title[1]), want) {
		t.Errorf("title %q, want it to begin with %q", title, want)
	}
	if summary == nil {
		t.Fatalf("no error summary")
	}
	if main := strings.Index(body, `<main`); !regexp.MustCompile(`^<main id="main" tabindex="-1">\s*<div class="messages">\s*<div class="error-summary"`).MatchString(body[main:]) {
		t.Errorf("the error summary does not open the main content")
	}
	if a := renderAttrs(summary[1]); a["role"] != "alert" || a["tabindex"] != "-1" || !strings.Contains(summary[1], " autofocus") {
		t.Errorf("error summary %s: want role=alert, tabindex=-1 and autofocus", summary[1])
	}
	if strings.Count(body, "autofocus") != 1 {
		t.Errorf("%d autofocus, want 1", strings.Count(body, "autofocus"))
	}
	text := html.UnescapeString(summary[2])
	if !strings.Contains(text, i18n.T(p.Lang, "layout.error_summary")) || !strings.Contains(text, msg) {
		t.Errorf("summary %q lacks the heading or %q", text, msg)
	}
	if p.ErrorForm != "" && !strings.Contains(text, i18n.T(p.Lang, "layout.error_in_form", i18n.T(p.Lang, p.ErrorForm), msg)) {
		t.Errorf("summary %q does not name the form %q", text, i18n.T(p.Lang, p.ErrorForm))
	}
	if p.ErrorField == "" {
		if strings.Count(html.UnescapeString(body), msg) != 1 {
			t.Errorf("an error about no field is shown %d times, want once", strings.Count(html.UnescapeString(body), msg))
		}
		return
	}
	if !strings.Contains(summary[2], `<a href="#`+p.ErrorField+`">`) {
		t.Errorf("summary does not link to #%s: %s", p.ErrorField, summary[2])
	}
	var input map[string]string
	for _, tag := range renderInputRE.FindAllString(body, -1) {
		if a := renderAttrs(tag); a["id"] == p.ErrorField {
			input = a
		} else if _, ok := a["aria-invalid"]; ok {
			t.Errorf("field %s is marked invalid, but the error is about %s", a["id"], p.ErrorField)
		}
	}
	if input == nil {
		t.Fatalf("no field with id %q", p.ErrorField)
	}
	errID := p.ErrorField + "-error"
	if input["aria-invalid"] != "true" || !slices.Contains(strings.Fields(input["aria-describedby"]), errID) {
		t.Errorf("field %s: aria-invalid %q, aria-describedby %q; want true and %s among them", p.ErrorField, input["aria-invalid"], input["aria-describedby"], errID)
	}
	at := regexp.MustCompile(`(?s)<p class="field-error" id="` + regexp.QuoteMeta(errID) + `">(.*?)</p>`).FindStringSubmatch(body)
	if at == nil || !strings.Contains(html.UnescapeString(at[1]), msg) {
		t.Errorf("no message %q at the field (id %s)", msg, errID)
	}
	// The message sits with its field: after the label, before the input.
	label, field := strings.Index(body, `<label for="`+p.ErrorField+`">`), strings.Index(body, `id="`+p.ErrorField+`" `)
	if at != nil && !(label < strings.Index(body, at[0]) && strings.Index(body, at[0]) < field) {
		t.Errorf("the message is not between the label and the field %s", p.ErrorField)
	}
}

func TestRenderEnrollPage(t *testing.T) {
	r := newTestRenderer(t)
	for _, l := range i18n.Languages {
		for _, s := range renderSamples(l.Code) {
			if s.name != "enroll" {
				continue
			}
			rec := httptest.NewRecorder()
			if err := r.Page(rec, http.StatusOK, s.name, s.page); err != nil {
				t.Fatal(err)
			}
			body := rec.Body.String()
			text := html.UnescapeString(body)
			v := s.page.Data.(EnrollView)
			var codes []map[string]string
			for _, tag := range renderInputRE.FindAllString(body, -1) {
				if a := renderAttrs(tag); a["name"] == "code" {
					codes = append(codes, a)
				}
			}
			if len(codes) != 1 {
				t.Fatalf("%s/%s: %d inputs named code, want 1", l.Code, s.file, len(codes))
			}
			if a := codes[0]; a["autocomplete"] != "one-time-code" || a["inputmode"] != "numeric" || a["type"] != "text" {
				t.Errorf("%s/%s: code input %v", l.Code, s.file, a)
			}
			if !strings.Contains(text, `<img src="`+string(v.QR)+`"`) {
				t.Errorf("%s/%s: no QR img with the data URI", l.Code, s.file)
			}
			if !strings.Contains(text, `href="`+string(v.URI)+`"`) {
				t.Errorf("%s/%s: no link to the otpauth URI", l.Code, s.file)
			}
			if !strings.Contains(body, "<details") || !strings.Contains(body, v.Secret) {
				t.Errorf("%s/%s: no secret behind Can't scan", l.Code, s.file)
			}
			if !strings.Contains(body, `<input type="hidden" name="enrollment" value="Xk3p9-QrT2m">`) {
				t.Errorf("%s/%s: hidden field missing", l.Code, s.file)
			}
			if !strings.Contains(body, "<h1>Acme Logistics</h1>") {
				t.Errorf("%s/%s: organization is not the heading", l.Code, s.file)
			}
			current := renderPlatform(v.Platform)
			for code, u := range v.PlatformURLs {
				want := `<a href="` + strings.ReplaceAll(u, "&", "&amp;") + `"`
				if code == current {
					want += ` aria-current="true"`
				}
				if !strings.Contains(body, want+">") {
					t.Errorf("%s/%s: platform link %s not as %s", l.Code, s.file, code, want)
				}
			}
			if s.page.Error != "" {
				if !strings.Contains(text, i18n.T(l.Code, s.page.Error, s.page.ErrorArgs...)) ||
					s.page.Hint != "" && !strings.Contains(text, i18n.T(l.Code, s.page.Hint, s.page.HintArgs...)) {
					t.Errorf("%s/%s: error or hint not shown", l.Code, s.file)
				}
				want := 1 // in the summary, and beside the field it is about
				if s.page.ErrorField != "" {
					want = 2
				}
				if n := strings.Count(text, i18n.T(l.Code, s.page.Error, s.page.ErrorArgs...)); n != want {
					t.Errorf("%s/%s: error shown %d times, want %d", l.Code, s.file, n, want)
				}
				if s.page.ErrorField != "" && !strings.Contains(body, `aria-invalid="true"`) {
					t.Errorf("%s/%s: code field not marked invalid", l.Code, s.file)
				}
			}
		}
	}
}

func TestRenderDashboard(t *testing.T) {
	r := newTestRenderer(t)
	s := renderSamples("en")
	var p page.Page
	for _, x := range s {
		if x.file == "dashboard" {
			p = x.page
		}
	}
	rec := httptest.NewRecorder()
	if err := r.Page(rec, http.StatusOK, "dashboard", p); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`href="/o/acme/tokens/remove?serial=TOTP0001A2B3"`,
		`<input type="hidden" name="serial" value="HOTP0003E6F7">`,
		`name="name" type="text" value="Work phone"`,
		`name="new_password"`, `name="new_password_confirm"`, `name="password"`,
		`action="/o/acme/add"`, `action="/o/acme/logout"`, `action="/o/acme/password"`,
		"Work phone", "Authenticator app", "Paused", "24 Nov 2026", "26 Nov 2026, 14:05 UTC", "Never",
		"Remove Work phone", `role="status"`, "Signed in as j.devries",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}

func TestRenderDefaults(t *testing.T) {
	r := newTestRenderer(t)
	rec := httptest.NewRecorder()
	// No language, no title, no org: English, the page's own title, Twofold.
	if err := r.Page(rec, http.StatusNotFound, "enroll_gone", page.Page{Lang: "xx", Data: EnrollGoneView{Reason: "used"}}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if rec.Code != http.StatusNotFound || !strings.Contains(body, `<html lang="en">`) ||
		!strings.Contains(body, "<title>This link no longer works · Twofold</title>") ||
		strings.Contains(body, `aria-label="Language"`) {
		t.Errorf("defaults: %d\n%s", rec.Code, body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	// Text from the handler is escaped.
	rec = httptest.NewRecorder()
	p := page.Page{Lang: "en", Org: &page.OrgView{Name: `<b>Evil</b> & "Co"`}, Data: LoginView{Action: "/o/x/login", Username: `"><script>`}}
	if err := r.Page(rec, http.StatusOK, "login", p); err != nil {
		t.Fatal(err)
	}
	if body := rec.Body.String(); strings.Contains(body, "<b>Evil") || strings.Contains(body, "<script>") {
		t.Errorf("not escaped:\n%s", body)
	}
}

func TestRenderUnknownPage(t *testing.T) {
	r := newTestRenderer(t)
	rec := httptest.NewRecorder()
	err := r.Page(rec, http.StatusOK, "no_such_page", page.Page{Lang: "en"})
	if err == nil {
		t.Fatal("no error for an unknown page")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "<html") {
		t.Error("half a page written")
	}
	// A template error (wrong data type) also gives a plain 500.
	rec = httptest.NewRecorder()
	if err := r.Page(rec, http.StatusOK, "dashboard", page.Page{Lang: "en", Data: 42}); err == nil || rec.Code != http.StatusInternalServerError {
		t.Errorf("bad data: err %v, status %d", err, rec.Code)
	}
	if strings.Contains(rec.Body.String(), "<html") {
		t.Error("half a page written")
	}
}

// TestWriteSamplePages writes every sample page, in every language, with
// the stylesheet next to them, to the directory in TWOFOLD_WRITE_SAMPLES:
// for looking at them in a browser and taking screenshots.
func TestWriteSamplePages(t *testing.T) {
	dir := os.Getenv("TWOFOLD_WRITE_SAMPLES")
	if dir == "" {
		t.Skip("set TWOFOLD_WRITE_SAMPLES=/some/dir to write the sample pages")
	}
	r := newTestRenderer(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"style.css", "favicon.svg"} {
		b, err := page.StaticFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range i18n.Languages {
		for _, s := range renderSamples(l.Code) {
			rec := httptest.NewRecorder()
			if err := r.Page(rec, http.StatusOK, s.name, s.page); err != nil {
				t.Fatal(err)
			}
			body := strings.ReplaceAll(rec.Body.String(), `href="`+page.StylesheetURL()+`"`, `href="style.css"`)
			body = strings.ReplaceAll(body, `href="/static/favicon.svg"`, `href="favicon.svg"`)
			file := s.file
			if l.Code != "en" {
				file += "-" + l.Code
			}
			if err := os.WriteFile(filepath.Join(dir, file+".html"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRenderKeysExist checks that every catalogue key the templates name,
// and every key-like string in this package's Go code (errors, notices,
// hints, titles), is in the catalogue.
func TestRenderKeysExist(t *testing.T) {
	pagetest.TemplateKeys(t, renderTemplateFS)
	pagetest.CodeKeys(t)
	// Prefixes used with print or keyfor: every value must be there too.
	for _, key := range []string{"enroll.platform.android", "enroll.platform.iphone", "enroll.platform.other",
		"enroll.install_android", "enroll.install_iphone", "enroll.install_other", "enroll.install_any",
		"enroll_gone.reason.unknown", "token.type.other", "token.state.other"} {
		if !i18n.Has(key) {
			t.Errorf("%q is not in the catalogue", key)
		}
	}
}
