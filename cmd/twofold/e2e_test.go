package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// TestEndToEndInvitationToDashboard walks flows 1 and 5 of the design the
// way a person does, in English, Dutch and German: an operator assigns a
// token with the CLI, the invitation arrives at a real SMTP server, and
// headless Chromium opens its link, gives the password, reads the QR code
// (decoded from the page's PNG with an independent decoder), types the
// first code, then signs in to the portal with password and the next code
// and sees the dashboard with the one authenticator.
//
// It waits for real time once per language: the sign-in needs the code of
// the time step after the one the activation used. The languages run in
// parallel, each with its own browser, organization and user, so the test
// takes about one TOTP period.
//
// With TWOFOLD_SCREENSHOTS set to a directory, the phone-sized screenshots
// of the enrollment page and the dashboard are also written there as
// enroll-<lang>.png and dashboard-<lang>.png.
func TestEndToEndInvitationToDashboard(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	mailbox := startMailbox(t)

	// The enrollment link must lead to the running server, so serve
	// starts first, on a port known in advance, and the CLI commands
	// below share its data directory and database.
	port := freePort(t)
	publicURL := fmt.Sprintf("https://localhost:%d", port)
	in := newInstallation(t, storetest.SQLite(t))
	in.env["TWOFOLD_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	in.env["TWOFOLD_PUBLIC_URL"] = publicURL
	in.env["TWOFOLD_SMTP_URL"] = "smtp://" + mailbox.addr
	startServer(t, in, publicURL)

	for _, lang := range []string{"en", "nl", "de"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			invitationToDashboard(t, in, mailbox, chromium, publicURL, lang)
		})
	}
}

// acceptLanguage is what a browser set up for each language sends.
var acceptLanguage = map[string]string{
	"en": "en-GB,en;q=0.9",
	"nl": "nl-NL,nl;q=0.9,en;q=0.5",
	"de": "de-DE,de;q=0.9,en;q=0.5",
}

func invitationToDashboard(t *testing.T, parent *installation, mailbox *mailbox, chromium, publicURL, lang string) {
	start := time.Now()
	// The CLI helper reports failures to the test it belongs to: this
	// subtest, sharing the installation's environment (only read).
	in := &installation{t: t, env: parent.env}
	slug, username := "acme-"+lang, "alice-"+lang
	orgName, password := "Acme "+lang, "correct horse battery "+lang

	// The operator's part.
	in.ok("", "org", "create", slug, "--name", orgName)
	in.ok(password+"\n", "user", "add", slug+"/"+username, "--email", "alice@example.org", "--language", lang, "--password-stdin")
	out := in.ok("", "token", "enroll", slug+"/"+username, "--type", "totp")
	printed := regexp.MustCompile(`https://\S+/enroll\?code=\S+`).FindString(out)
	serial := regexp.MustCompile(`token (\S+) to`).FindStringSubmatch(out)
	if printed == "" || serial == nil || strings.Contains(out, "otpauth://") {
		t.Fatalf("%s: token enroll printed no link or serial, or the secret without --show-secret:\n%s", lang, out)
	}

	// The invitation: three arrive for alice@example.org at about the
	// same time, one per language; this one carries the printed link.
	msg := mailbox.waitFor(t, lang, printed)
	if !strings.Contains(msg.header.Get("To"), "alice@example.org") || !contains(msg.rcpt, "alice@example.org") {
		t.Errorf("invitation (%s): To %q, envelope recipients %q; want alice@example.org", lang, msg.header.Get("To"), msg.rcpt)
	}
	if got := msg.header.Get("Content-Language"); got != lang {
		t.Errorf("invitation (%s): Content-Language %q, want the user's language %q; subject %q", lang, got, lang, msg.subject)
	}
	if !strings.Contains(msg.text, orgName) {
		t.Errorf("invitation (%s) does not name the organization %q (design §8, Mail):\nSubject: %s\n%s", lang, orgName, msg.subject, msg.text)
	}
	linkRE := regexp.MustCompile(regexp.QuoteMeta(publicURL) + `/enroll\?code=[a-z2-7]+`)
	link := linkRE.FindString(msg.text)
	if link == "" {
		t.Fatalf("invitation (%s): the text part has no link %s/enroll?code=…:\nSubject: %s\n%s", lang, publicURL, msg.subject, msg.text)
	}
	t.Logf("%s: invitation %q arrived with %s", lang, msg.subject, link)

	b := newBrowser(t, chromium, lang)

	// a) The link asks for the password first.
	b.navigate("open the invitation link", link)
	b.fill("enrollment password page", "input[name=password]", password)
	b.submit("submit the password on the enrollment page", "input[name=password]")

	// b) The QR code, decoded from the image the page shows.
	const qrImg = `img[src^="data:image/png;base64,"]`
	src := b.attr("QR code on the enrollment page", qrImg, "src")
	uri := decodeQR(t, b, src)
	key, err := otp.ParseURI(uri)
	if err != nil {
		b.fatalf("QR code on the enrollment page", "the QR code holds %q, not an otpauth URI: %v", uri, err)
	}
	// The label carries the name the page offers, so that two phones'
	// entries in the app differ.
	name := b.attr("name of the authenticator", "input[name=name]", "value")
	if key.Type != "totp" || key.Issuer != orgName || key.Account != username+" ("+name+")" || name == "" || key.Digits != 6 || key.Period != 30*time.Second {
		b.errorf("QR code on the enrollment page", "otpauth URI %s: type %q, issuer %q, account %q, %d digits, period %v; want totp, %q, %q, 6, 30s",
			uri, key.Type, key.Issuer, key.Account, key.Digits, key.Period, orgName, username+" ("+name+")")
	}
	if href := b.attr("otpauth link on the enrollment page", `a[href^="otpauth://"]`, "href"); href != uri {
		b.errorf("otpauth link on the enrollment page", "the link for phones is %q, the QR code holds %q", href, uri)
	}
	if grouped := otp.GroupSecret(key.Secret); !strings.Contains(b.textContent("secret for manual entry"), grouped) {
		b.errorf("secret for manual entry", "the page does not show the secret of the QR code in groups of four (%q)", grouped)
	}
	b.screenshot("screenshot of the enrollment page", "enroll")
	gen, err := otp.NewGenerator(key.Secret, key.Algorithm, key.Digits)
	if err != nil {
		t.Fatalf("%s: generator for %s: %v", lang, uri, err)
	}

	// c) The first code activates the token.
	step := otp.Step(time.Now(), key.Period)
	const codeInput = `input[name=code]:not([type=hidden])`
	b.fill("enrollment code", codeInput, gen.Code(uint64(step)))
	b.submit("submit the first code", codeInput)
	if n := b.count("code field after activation", codeInput); n != 0 {
		b.fatalf("activation", "the code was refused: the page asks for a code again")
	}
	if b.effort != invitationToActive {
		b.errorf("activation", "invitation to an active token took %+v, want %+v", b.effort, invitationToActive)
	}

	// e) Recovery, set up with the first authenticator: backup codes that
	// a reload does not change, then the offer of email.
	codes := evaluate[string](b, "backup codes", `document.querySelector("textarea[readonly]").value`)
	b.navigate("reload the backup codes page", b.location("backup codes page").String())
	b.effort.actions-- // a reload for the test's sake, not the person's
	if again := evaluate[string](b, "backup codes after a reload", `document.querySelector("textarea[readonly]").value`); again != codes || len(codes) < 100 {
		b.fatalf("backup codes after a reload", "the reload shows other codes: %q, then %q", codes, again)
	}
	b.screenshot("screenshot of the backup codes at setup", "setup-backup-codes")
	b.do("tick I have saved these codes", chromedp.Click(chromedp.CSS("#saved"), chromedp.NodeVisible))
	b.effort.actions++
	b.submit("continue after saving the codes", "#saved")
	b.screenshot("screenshot of the offer of email", "setup-email")
	b.click("decline email for now", `button[value=skip]`)
	if b.effort != invitationToReady {
		b.errorf("end of the setup", "invitation to the end of the setup took %+v, want %+v", b.effort, invitationToReady)
	}
	const loginLink = `a[href$="/login"]`
	if href := b.attr("link to the login page after activation", loginLink, "href"); !strings.HasSuffix(href, "/o/"+slug+"/login") {
		b.fatalf("link to the login page after activation", "the page links to %q, want …/o/%s/login", href, slug)
	}
	if list := in.ok("", "token", "list", slug+"/"+username); !regexp.MustCompile(regexp.QuoteMeta(serial[1]) + `\s+totp\s+active\b`).MatchString(list) {
		b.fatalf("activation", "the page says done, but token list does not show %s as active:\n%s", serial[1], list)
	}

	// d) Sign in: password, then the code of the next time step, which
	// the app shows only when that step begins.
	b.click("follow the link to the login page", loginLink)
	if loc := b.location("login page"); !strings.HasSuffix(loc.Path, "/o/"+slug+"/login") {
		b.fatalf("login page", "the link led to %s, want /o/%s/login", loc, slug)
	}
	b.fill("login username", "input[name=username]", username)
	b.fill("login password", "input[name=password]", password)
	b.submit("submit username and password", "input[name=password]")
	if loc := b.location("code page"); !strings.HasSuffix(loc.Path, "/o/"+slug+"/login/code") {
		b.fatalf("code page", "after the password the browser is at %s, want /o/%s/login/code", loc, slug)
	}
	next := step + 1
	wait := time.Until(time.Unix(next*int64(key.Period/time.Second), 0))
	if wait > key.Period+5*time.Second {
		t.Fatalf("%s: would wait %v for the next time step", lang, wait)
	}
	if wait > 0 {
		time.Sleep(wait)
	}
	b.fill("login code", codeInput, gen.Code(uint64(next)))
	b.submit("submit the code", codeInput)

	// The dashboard, with the one authenticator.
	if loc := b.location("dashboard"); loc.Path != "/o/"+slug+"/" {
		b.fatalf("dashboard", "after the code the browser is at %s, want /o/%s/", loc, slug)
	}
	removes := b.attrs("authenticators on the dashboard", `a[href*="tokens/remove?serial="]`, "href")
	if len(removes) != 1 || !strings.HasSuffix(removes[0], "serial="+url.QueryEscape(serial[1])) {
		b.fatalf("authenticators on the dashboard", "remove links %q, want one for %s", removes, serial[1])
	}
	b.screenshot("screenshot of the dashboard", "dashboard")
	t.Logf("%s: invitation to dashboard in %v", lang, time.Since(start).Round(time.Millisecond))
}

// The effort of the journeys, which the README's user section states.
var (
	// Open the link, password, the first code: three actions, two fields.
	invitationToActive = effort{actions: 3, typed: 2}
	// Then tick "I have saved these codes", continue, and "Not now" to email.
	invitationToReady = effort{actions: 6, typed: 2}
	// Sign in with a backup code, replace, the new phone's code.
	lostPhone = effort{actions: 5, typed: 4}
	// From the dashboard: add, the mailed code, the password, the app, its code.
	addAuthenticator = effort{actions: 5, typed: 3}
)

// startServer runs `twofold serve` for the rest of the test, and stops it
// at the end (after every parallel subtest). It returns what serve prints
// and what it logs.
func startServer(t *testing.T, in *installation, publicURL string) (stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr, _ = startStoppableServer(t, in, publicURL)
	return stdout, stderr
}

// startStoppableServer is startServer whose server the test may also stop
// before its end: stop waits for it to exit, and may be called again.
func startStoppableServer(t *testing.T, in *installation, publicURL string) (stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = new(syncBuffer), new(syncBuffer)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), stdout, stderr, func(k string) string { return in.env[k] })
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d after shutdown", code)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
		if t.Failed() && stderr.String() != "" {
			t.Logf("server log:\n%s", stderr.String())
		}
	})
	t.Cleanup(stop)
	if base := waitForServer(t, stdout, stderr); base != publicURL {
		t.Fatalf("serve runs at %s, want %s", base, publicURL)
	}
	return stdout, stderr, stop
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// A real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1 that keeps
// every message it receives.

type mailbox struct {
	addr string

	mu   sync.Mutex
	msgs []delivery
}

// delivery is one message as the server received it.
type delivery struct {
	from string
	rcpt []string
	data []byte
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailboxSession{mb: mb}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return mb
}

type mailboxSession struct {
	mb  *mailbox
	cur delivery
}

func (s *mailboxSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	return nil
}

func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.rcpt = append(s.cur.rcpt, to)
	return nil
}

func (s *mailboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, s.cur)
	s.mb.mu.Unlock()
	s.cur = delivery{}
	return nil
}

func (s *mailboxSession) Reset()        { s.cur = delivery{} }
func (s *mailboxSession) Logout() error { return nil }

// parsedMail is a received message, decoded.
type parsedMail struct {
	rcpt    []string
	header  mail.Header
	subject string
	text    string // the text/plain part
	html    string // the text/html part, if any
}

// waitFor returns the message whose plain text holds needle. `token
// enroll` returns after the server accepted the message, so it is there
// already; the wait is only a margin.
func (mb *mailbox) waitFor(t *testing.T, lang, needle string) parsedMail {
	t.Helper()
	var seen []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mb.mu.Lock()
		msgs := append([]delivery(nil), mb.msgs...)
		mb.mu.Unlock()
		seen = seen[:0]
		for _, d := range msgs {
			m, err := parseMail(d.data)
			if err != nil {
				t.Fatalf("invitation (%s): cannot parse a received message: %v\n%s", lang, err, d.data)
			}
			m.rcpt = d.rcpt
			if strings.Contains(m.text, needle) {
				return m
			}
			seen = append(seen, fmt.Sprintf("%q to %q:\n%s", m.subject, d.rcpt, m.text))
		}
		if time.Now().After(deadline) {
			t.Fatalf("invitation (%s): no message with %s arrived at the SMTP server; %d arrived:\n%s",
				lang, needle, len(seen), strings.Join(seen, "\n---\n"))
		}
	}
}

// parseMail decodes a MIME message: its subject (RFC 2047) and its text
// and HTML parts, whatever their nesting and transfer encoding.
func parseMail(raw []byte) (parsedMail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return parsedMail{}, err
	}
	m := parsedMail{header: msg.Header}
	if m.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("subject: %w", err)
	}
	err = m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err == nil && m.text == "" {
		err = errors.New("no text/plain part")
	}
	return m, err
}

func (m *parsedMail) walk(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart keeps Content-Transfer-Encoding, decoded below
			// the same way as a single-part message.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("unknown transfer encoding %q", encoding)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", media, err)
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return fmt.Errorf("%s in charset %q, want UTF-8", media, cs)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch media {
	case "text/plain":
		m.text += text
	case "text/html":
		m.html += text
	}
	return nil
}

// decodeQR decodes the QR code of a data:image/png;base64 URI with
// gozxing, an implementation independent of the encoder.
func decodeQR(t *testing.T, b *browser, src string) string {
	t.Helper()
	const step = "decode the QR code"
	data, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		b.fatalf(step, "the QR image's src is not a PNG data URI: %.60q…", src)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b.fatalf(step, "base64 of the QR image: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.fatalf(step, "PNG of the QR image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		b.fatalf(step, "bitmap of the QR image: %v", err)
	}
	// The page's image is nothing but the code, which PURE_BARCODE reads
	// without hunting for finder patterns; the hunt alone once failed on a
	// valid code of the replace page (NotFoundException at (-22, -1)).
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		res, err = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	}
	if err != nil {
		b.fatalf(step, "gozxing cannot read the QR image (%v): %v", img.Bounds().Size(), err)
	}
	return res.GetText()
}

// browser is one headless Chromium with one tab, set up for one language.
// Its methods end the test on failure with the step, the language, the
// address and the visible text of the page.
type browser struct {
	t    *testing.T
	ctx  context.Context
	lang string
	// effort counts what the person did: opened a link or pressed a
	// button or box (actions), and filled a field (typed).
	effort effort
}

// effort is what a journey asks of the person. An action is one link
// opened, one button pressed or one box ticked; a typed field is one
// field filled in (with a password, a code or a name). Scanning the QR
// code is neither: the phone does it.
type effort struct{ actions, typed int }

// since is the effort spent after an earlier count.
func (e effort) since(before effort) effort {
	return effort{e.actions - before.actions, e.typed - before.typed}
}

// stepTimeout bounds one step: a page load, a form post (which may hash
// a password, slow under the race detector) or a query.
const stepTimeout = 30 * time.Second

func newBrowser(t *testing.T, chromium, lang string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", lang),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser; it must not run under a
	// timeout, which would end the browser with it.
	setLanguage := chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": acceptLanguage[lang]},
		})
		return err
	})
	if err := chromedp.Do(ctx, setLanguage); err != nil {
		t.Fatalf("%s: start Chromium: %v", lang, err)
	}
	return &browser{t: t, ctx: ctx, lang: lang}
}

// do runs actions of a step under the step timeout.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf(step, "%v", err)
	}
}

// navigate opens a URL and checks the page it shows.
func (b *browser) navigate(step, u string) {
	b.t.Helper()
	b.effort.actions++
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	b.checkPage(step, resp, err)
}

// click clicks a link or button that leads to another page, and checks
// that page.
func (b *browser) click(step, sel string) {
	b.t.Helper()
	b.effort.actions++
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	b.checkPage(step, resp, err)
}

// submit presses the submit button of the form that holds the field sel.
func (b *browser) submit(step, field string) {
	b.t.Helper()
	b.click(step, "form:has("+field+") button[type=submit]")
}

// fill types value into a field, as a person would.
func (b *browser) fill(step, sel, value string) {
	b.t.Helper()
	b.effort.typed++
	b.do(step, chromedp.SendKeys(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// attr returns an attribute of the first element sel matches.
func (b *browser) attr(step, sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !res.Exists {
		b.fatalf(step, "no %s with attribute %s on the page (%v)", sel, name, err)
	}
	return res.Value
}

// attrs returns an attribute of every element sel matches, without
// waiting for any to appear.
func (b *browser) attrs(step, sel, name string) []string {
	b.t.Helper()
	return evaluate[[]string](b, step, fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.getAttribute(%q))`, sel, name))
}

// count returns how many elements sel matches now.
func (b *browser) count(step, sel string) int {
	b.t.Helper()
	return evaluate[int](b, step, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// location returns the address of the page.
func (b *browser) location(step string) *url.URL {
	b.t.Helper()
	u, err := url.Parse(evaluate[string](b, step, `document.location.href`))
	if err != nil {
		b.fatalf(step, "location: %v", err)
	}
	return u
}

// textContent returns all text of the page, hidden parts included.
func (b *browser) textContent(step string) string {
	b.t.Helper()
	return evaluate[string](b, step, `document.body.textContent`)
}

func evaluate[T any](b *browser, step, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fatalf(step, "evaluate %s: %v", expr, err)
	}
	return v
}

// checkPage checks a page that was just loaded: it loaded with 200 OK,
// its <html lang> is the browser's language, and no message is missing
// from that language's catalogue (shown as "!(key)").
func (b *browser) checkPage(step string, resp *network.Response, err error) {
	b.t.Helper()
	if err != nil {
		b.fatalf(step, "%v", err)
	}
	if resp == nil || resp.Status != 200 {
		status := "no response"
		if resp != nil {
			status = fmt.Sprintf("status %d %s", resp.Status, resp.StatusText)
		}
		b.fatalf(step, "the page loaded with %s, want 200", status)
	}
	if lang := evaluate[string](b, step, `document.documentElement.lang`); lang != b.lang {
		b.fatalf(step, `the page has <html lang=%q>, want %q`, lang, b.lang)
	}
	if text := b.visibleText(); strings.Contains(text, "!(") {
		b.errorf(step, "the page shows a message key missing from the catalogue, as !(…)")
	}
}

// visibleText is what the page shows, for failure messages; never fails.
func (b *browser) visibleText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return fmt.Sprintf("(cannot read the page's text: %v)", err)
	}
	return text
}

func (b *browser) describe(step, format string, args ...any) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		loc = fmt.Sprintf("(unknown: %v)", err)
	}
	text := strings.TrimSpace(b.visibleText())
	return fmt.Sprintf("%s (%s): %s\n  page %s shows:\n    %s", step, b.lang, fmt.Sprintf(format, args...), loc,
		strings.ReplaceAll(text, "\n", "\n    "))
}

func (b *browser) fatalf(step, format string, args ...any) {
	b.t.Helper()
	b.t.Fatal(b.describe(step, format, args...))
}

func (b *browser) errorf(step, format string, args ...any) {
	b.t.Helper()
	b.t.Error(b.describe(step, format, args...))
}

// screenshot photographs the whole page at the size of a phone (390×844
// CSS pixels, twice as many device pixels) into the test's temporary
// directory and, when TWOFOLD_SCREENSHOTS names a directory, there as
// name-lang.png.
func (b *browser) screenshot(step, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2))); err != nil {
		b.fatalf(step, "phone viewport: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf(step, "%v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
		b.fatalf(step, "back to the desktop viewport: %v", err)
	}
	file := name + "-" + b.lang + ".png"
	dirs := []string{b.t.TempDir()}
	if dir := os.Getenv("TWOFOLD_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatalf("TWOFOLD_SCREENSHOTS: %v", err)
		}
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, file), shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.t.Logf("%s: screenshot %s", b.lang, filepath.Join(dirs[len(dirs)-1], file))
}

// TestEndToEndEmailCodeLogin signs in with a code mailed to a real SMTP
// server (flow 3 of the design): the operator assigns an email token with
// the CLI, whose mailed link opens a page that, after the password, mails
// the first code and takes it, then asks to save backup codes; in headless Chromium the code step says a code
// was mailed, "Re-send code" at once asks to wait, after the policy's
// email_resend_every (10 s) it mails a new code, the first code is then
// refused and the second accepted.
func TestEndToEndEmailCodeLogin(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	in, mailbox, publicURL := startPortal(t)
	const slug, username, password = "acme", "erin", "correct horse battery staple"
	in.ok("", "org", "create", slug, "--name", "Acme Corp")
	in.ok("", "policy", "set", slug, "email_resend_every=10s")
	in.ok(password+"\n", "user", "add", slug+"/"+username, "--email", "erin@example.org", "--language", "en", "--password-stdin")
	out := in.ok("", "token", "enroll", slug+"/"+username, "--type", "email")
	link := regexp.MustCompile(`https://\S+/enroll\?code=\S+`).FindString(out)
	if link == "" {
		t.Fatalf("token enroll --type email printed no enrollment link:\n%s", out)
	}
	mailbox.waitFor(t, "en", link)

	b := newBrowser(t, chromium, "en")
	b.navigate("open the email token's link", link)
	b.fill("enrollment password page", "input[name=password]", password)
	b.submit("submit the password on the enrollment page", "input[name=password]")
	enrolled := time.Now()
	b.click("send the first code", `form[action="/enroll/email"] button[type=submit]`)
	b.fill("the first code", `input[name=code]`, mailbox.codeIn(t, 1))
	b.submit("submit the first code", `input[name=code]`)
	// Recovery is set up with the first authenticator: the backup codes.
	b.do("tick I have saved these codes", chromedp.Click(chromedp.CSS("#saved"), chromedp.NodeVisible))
	b.submit("continue after saving the codes", "#saved")
	if text := b.visibleText(); !strings.Contains(text, "Codes by email are on") {
		b.fatalf("email token active", "the page does not say codes by email are on")
	}
	// The activation's code counts against email_resend_every too.
	time.Sleep(time.Until(enrolled.Add(11 * time.Second)))
	b.navigate("login page", publicURL+"/o/"+slug+"/login")
	b.fill("login username", "input[name=username]", username)
	b.fill("login password", "input[name=password]", password)
	sent := time.Now()
	b.submit("submit username and password", "input[name=password]")
	if loc := b.location("code page"); loc.Path != "/o/"+slug+"/login/code" {
		b.fatalf("code page", "after the password the browser is at %s", loc)
	}
	if text := b.visibleText(); !strings.Contains(text, "e•••@example.org") || !strings.Contains(text, "Re-send code") {
		b.fatalf("code page", "the page does not say a code was mailed to e•••@example.org, or has no Re-send code")
	}
	first := mailbox.codeIn(t, 3) // mail 2 is the notice that the email token was added
	b.screenshot("screenshot of the email code page", "login-email")

	const resend = `form[action$="/login/resend"] button[type=submit]`
	b.click("re-send at once", resend)
	if text := b.visibleText(); !strings.Contains(text, "wait a little") {
		b.errorf("re-send at once", "the page does not ask to wait before another code")
	}
	if wait := time.Until(sent.Add(11 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	b.click("re-send after the wait", resend)
	if text := b.visibleText(); !strings.Contains(text, "We sent you a new code") {
		b.errorf("re-send after the wait", "the page does not say a new code was sent")
	}
	second := mailbox.codeIn(t, 4)

	const codeInput = `input[name=code]`
	if first != second {
		b.fill("the first, replaced code", codeInput, first)
		b.submit("submit the first code", codeInput)
		if loc := b.location("first code refused"); loc.Path != "/o/"+slug+"/login/code" || !strings.Contains(b.visibleText(), "didn't work") {
			b.fatalf("first code refused", "the replaced code was not refused (at %s)", loc)
		}
	}
	b.fill("the second code", codeInput, second)
	b.submit("submit the second code", codeInput)
	if loc := b.location("dashboard"); loc.Path != "/o/"+slug+"/" {
		b.fatalf("dashboard", "after the second code the browser is at %s", loc)
	}
}

// TestEndToEndBackupCodeLogin: a user with an authenticator app makes
// backup codes in the dashboard (reading them from the page, ticking "I
// have saved these codes"), then "loses the phone" and signs in with a
// backup code; the dashboard says 9 are left, and the notice mail arrives
// at the SMTP server.
func TestEndToEndBackupCodeLogin(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	in, mailbox, publicURL := startPortal(t)
	const slug, username, password = "acme", "bob", "correct horse battery staple"
	in.ok("", "org", "create", slug, "--name", "Acme Corp")
	in.ok(password+"\n", "user", "add", slug+"/"+username, "--email", "bob@example.org", "--language", "en", "--password-stdin")
	out := in.ok("", "token", "enroll", slug+"/"+username, "--type", "totp", "--show-secret")
	key, err := otp.ParseURI(regexp.MustCompile(`otpauth://\S+`).FindString(out))
	if err != nil {
		t.Fatalf("token enroll --show-secret: %v\n%s", err, out)
	}
	gen, _ := otp.NewGenerator(key.Secret, key.Algorithm, key.Digits)
	// Activate with the previous step's code (inside the window), so that
	// the current step is still free for the sign-in: no waiting.
	step := otp.Step(time.Now(), key.Period)
	in.ok(gen.Code(uint64(step-1))+"\n", "token", "activate", slug+"/"+username)

	const codeInput = `input[name=code]`
	b := newBrowser(t, chromium, "en")
	signIn := func() {
		b.navigate("login page", publicURL+"/o/"+slug+"/login")
		b.fill("login username", "input[name=username]", username)
		b.fill("login password", "input[name=password]", password)
		b.submit("submit username and password", "input[name=password]")
	}
	signIn()
	b.fill("app code", codeInput, gen.Code(uint64(otp.Step(time.Now(), key.Period))))
	b.submit("submit the app code", codeInput)
	if loc := b.location("dashboard"); loc.Path != "/o/"+slug+"/" {
		b.fatalf("dashboard", "after the code the browser is at %s", loc)
	}

	// Make the backup codes.
	b.fill("password for backup codes", "#backup-password", password)
	b.submit("make backup codes", "#backup-password")
	codes := regexp.MustCompile(`[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}`).FindAllString(evaluate[string](b, "codes", `document.querySelector("textarea[readonly]").value`), -1)
	if len(codes) != 10 {
		b.fatalf("backup codes page", "the box holds %d codes, want 10", len(codes))
	}
	if href := b.attr("download link", "a[download]", "href"); !strings.HasPrefix(href, "data:text/plain") || !strings.Contains(href, codes[0]) {
		b.errorf("download link", "the download link %.60q… does not hold the codes as text", href)
	}
	b.screenshot("screenshot of the backup codes page", "backup-codes")
	b.do("tick I have saved these codes", chromedp.Click(chromedp.CSS("#saved"), chromedp.NodeVisible))
	b.submit("continue after saving the codes", "#saved")
	if text := b.visibleText(); !strings.Contains(text, "10 of 10 backup codes left") {
		b.errorf("dashboard after making codes", "the dashboard does not say 10 of 10 are left")
	}

	// The phone is lost: sign in again with a backup code.
	b.click("sign out", `form[action$="/logout"] button[type=submit]`)
	signIn()
	b.screenshot("screenshot of the code page with its methods", "login-methods")
	b.click("choose a backup code", `button[value=backup]`)
	b.fill("backup code", codeInput, codes[4])
	b.submit("submit the backup code", codeInput)
	if loc := b.location("dashboard after the backup code"); loc.Path != "/o/"+slug+"/" {
		b.fatalf("dashboard after the backup code", "the browser is at %s", loc)
	}
	if text := b.visibleText(); !strings.Contains(text, "You signed in with a backup code; 9 left.") || !strings.Contains(text, "9 of 10 backup codes left") {
		b.errorf("dashboard after the backup code", "the dashboard does not say 9 backup codes are left")
	}
	msg := mailbox.waitFor(t, "en", "You have 9 backup codes left.")
	if !contains(msg.rcpt, "bob@example.org") || !strings.Contains(msg.subject, "backup code") {
		t.Errorf("notice: %q to %q", msg.subject, msg.rcpt)
	}
}

// TestEndToEndLockedAtTheSecondStep: past the password, five wrong codes
// lock the user. The code step then says until when, not that the phone's
// clock may be off — also for the right code —, and the lock mail, sent
// once, arrives at the SMTP server.
func TestEndToEndLockedAtTheSecondStep(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	in, mailbox, publicURL := startPortal(t)
	const slug, username, password = "acme", "lena", "correct horse battery staple"
	in.ok("", "org", "create", slug, "--name", "Acme Corp")
	in.ok(password+"\n", "user", "add", slug+"/"+username, "--email", "lena@example.org", "--language", "en", "--password-stdin")
	out := in.ok("", "token", "enroll", slug+"/"+username, "--type", "totp", "--show-secret")
	key, err := otp.ParseURI(regexp.MustCompile(`otpauth://\S+`).FindString(out))
	if err != nil {
		t.Fatalf("token enroll --show-secret: %v\n%s", err, out)
	}
	gen, _ := otp.NewGenerator(key.Secret, key.Algorithm, key.Digits)
	in.ok(gen.Code(uint64(otp.Step(time.Now(), key.Period)-1))+"\n", "token", "activate", slug+"/"+username)

	const codeInput = `input[name=code]`
	b := newBrowser(t, chromium, "en")
	b.navigate("login page", publicURL+"/o/"+slug+"/login")
	b.fill("login username", "input[name=username]", username)
	b.fill("login password", "input[name=password]", password)
	b.submit("submit username and password", "input[name=password]")
	for i := range 4 {
		step := fmt.Sprintf("wrong code %d", i+1)
		b.fill(step, codeInput, "000000")
		b.submit(step, codeInput)
		if text := b.visibleText(); !strings.Contains(text, "Try the code the app shows now") {
			b.fatalf(step, "the code page does not say the app's code was wrong")
		}
	}
	locked := regexp.MustCompile(`Too many wrong attempts in a row\. You can try again after \d\d:\d\d UTC\.`)
	for _, c := range []struct{ step, code string }{
		{"the fifth wrong code", "000000"},
		{"the right code while locked", gen.Code(uint64(otp.Step(time.Now(), key.Period)))},
	} {
		b.fill(c.step, codeInput, c.code)
		b.submit(c.step, codeInput)
		if loc := b.location(c.step); loc.Path != "/o/"+slug+"/login/code" {
			b.fatalf(c.step, "the browser is at %s, want the code step", loc)
		}
		text := b.visibleText()
		if !locked.MatchString(text) {
			b.errorf(c.step, "the page does not say until when the account is locked")
		}
		if strings.Contains(text, "clock") || strings.Contains(text, "didn't work") {
			b.errorf(c.step, "a locked user is told the code was wrong or the clock is off")
		}
	}
	b.screenshot("screenshot of the locked code step", "login-locked")
	msg := mailbox.waitFor(t, "en", "If this wasn't you, someone may be trying to guess your password or code.")
	if !contains(msg.rcpt, "lena@example.org") || !strings.Contains(msg.subject, "Acme Corp: your account is locked") {
		t.Errorf("lock mail: %q to %q", msg.subject, msg.rcpt)
	}
}

// startPortal starts a mailbox and `twofold serve` with it, on SQLite.
func startPortal(t *testing.T) (*installation, *mailbox, string) {
	t.Helper()
	mailbox := startMailbox(t)
	port := freePort(t)
	publicURL := fmt.Sprintf("https://localhost:%d", port)
	in := newInstallation(t, storetest.SQLite(t))
	in.env["TWOFOLD_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	in.env["TWOFOLD_PUBLIC_URL"] = publicURL
	in.env["TWOFOLD_SMTP_URL"] = "smtp://" + mailbox.addr
	startServer(t, in, publicURL)
	return in, mailbox, publicURL
}

// codeIn waits for message i (counting from 0) and returns the one-time
// code in its text.
func (mb *mailbox) codeIn(t *testing.T, i int) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mb.mu.Lock()
		msgs := append([]delivery(nil), mb.msgs...)
		mb.mu.Unlock()
		if len(msgs) > i {
			m, err := parseMail(msgs[i].data)
			if err != nil {
				t.Fatalf("mail %d: %v", i, err)
			}
			code := regexp.MustCompile(`\b\d{6}\b`).FindString(m.text)
			if code == "" {
				t.Fatalf("mail %d (%q) holds no code:\n%s", i, m.subject, m.text)
			}
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail %d never arrived; %d did", i, len(msgs))
		}
	}
}

// TestEndToEndLostPhone is the journey of a user whose phone is lost,
// with no operator to help: a backup code signs in, "Replace with a new
// phone" shows the new phone's QR code, and its first code activates it and
// retires the old one, in at most five actions. Then adding another
// authenticator from the dashboard is measured too.
func TestEndToEndLostPhone(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	in, mailbox, publicURL := startPortal(t)
	const slug, username, password = "acme", "dana", "correct horse battery staple"
	in.ok("", "org", "create", slug, "--name", "Acme Corp")
	in.ok(password+"\n", "user", "add", slug+"/"+username, "--email", "dana@example.org", "--language", "en", "--password-stdin")
	out := in.ok("", "token", "enroll", slug+"/"+username, "--type", "totp", "--show-secret")
	oldSerial := regexp.MustCompile(`token (\S+) to`).FindStringSubmatch(out)
	key, err := otp.ParseURI(regexp.MustCompile(`otpauth://\S+`).FindString(out))
	if err != nil || oldSerial == nil {
		t.Fatalf("token enroll --show-secret: %v\n%s", err, out)
	}
	old, _ := otp.NewGenerator(key.Secret, key.Algorithm, key.Digits)
	in.ok(old.Code(uint64(otp.Step(time.Now(), key.Period)-1))+"\n", "token", "activate", slug+"/"+username)
	codes := regexp.MustCompile(`[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}`).FindAllString(in.ok("", "user", "backup-codes", slug+"/"+username), -1)
	if len(codes) != 10 {
		t.Fatalf("user backup-codes printed %d codes", len(codes))
	}

	const codeInput = `input[name=code]:not([type=hidden])`
	b := newBrowser(t, chromium, "en")
	b.navigate("login page", publicURL+"/o/"+slug+"/login")
	b.fill("login username", "input[name=username]", username)
	b.fill("login password", "input[name=password]", password)
	b.submit("submit username and password", "input[name=password]")
	b.fill("backup code in the code field", codeInput, codes[0])
	b.submit("submit the backup code", codeInput)
	if loc := b.location("dashboard after the backup code"); loc.Path != "/o/"+slug+"/" {
		b.fatalf("dashboard after the backup code", "the browser is at %s", loc)
	}
	b.click("replace the lost phone", `form[action$="/tokens/replace"] button[type=submit]`)
	b.screenshot("screenshot of the replacement's QR code", "replace")
	name := b.attr("name of the new authenticator", "input[name=name]", "value")
	uri := decodeQR(t, b, b.attr("QR code of the new phone", `img[src^="data:image/png;base64,"]`, "src"))
	newKey, err := otp.ParseURI(uri)
	if err != nil || newKey.Account != username+" ("+name+")" {
		b.fatalf("QR code of the new phone", "label %q (%v), want the account and the name %q", newKey.Account, err, name)
	}
	gen, _ := otp.NewGenerator(newKey.Secret, newKey.Algorithm, newKey.Digits)
	if list := in.ok("", "token", "list", slug+"/"+username); !regexp.MustCompile(regexp.QuoteMeta(oldSerial[1]) + `\s+totp\s+active\b`).MatchString(list) {
		b.fatalf("before the new code", "the old phone stopped working before the new one is active:\n%s", list)
	}
	b.fill("the new phone's code", codeInput, gen.Code(uint64(otp.Step(time.Now(), newKey.Period))))
	b.submit("submit the new phone's code", codeInput)
	if text := b.visibleText(); !strings.Contains(text, "Your new phone is set up.") || !strings.Contains(text, name) {
		b.fatalf("dashboard after the replacement", "the dashboard does not say the new phone %q is set up", name)
	}
	if b.effort != lostPhone {
		b.errorf("dashboard after the replacement", "the lost phone took %+v, want %+v", b.effort, lostPhone)
	}
	if list := in.ok("", "token", "list", slug+"/"+username); !regexp.MustCompile(regexp.QuoteMeta(oldSerial[1]) + `\s+totp\s+revoked\b`).MatchString(list) {
		b.fatalf("after the replacement", "the old phone is not revoked:\n%s", list)
	}
	b.screenshot("screenshot of the dashboard after the replacement", "dashboard-replaced")

	// Adding another authenticator from the dashboard.
	before := b.effort
	mailbox.mu.Lock()
	sent := len(mailbox.msgs)
	mailbox.mu.Unlock()
	b.click("add authenticator", `form[action$="/add"] button[type=submit]`)
	b.fill("the mailed verification code", codeInput, mailbox.codeIn(t, sent))
	b.submit("submit the verification code", codeInput)
	b.fill("confirm the password", "input[name=password]", password)
	b.submit("submit the password", "input[name=password]")
	b.click("choose the authenticator app", `button[value=app]`)
	third, err := otp.ParseURI(decodeQR(t, b, b.attr("QR code of the added app", `img[src^="data:image/png;base64,"]`, "src")))
	if err != nil {
		b.fatalf("QR code of the added app", "%v", err)
	}
	gen, _ = otp.NewGenerator(third.Secret, third.Algorithm, third.Digits)
	b.fill("the added app's code", codeInput, gen.Code(uint64(otp.Step(time.Now(), third.Period))))
	b.submit("submit the added app's code", codeInput)
	if loc := b.location("dashboard after adding"); loc.RawQuery != "done=added" {
		b.fatalf("dashboard after adding", "the browser is at %s", loc)
	}
	if got := b.effort.since(before); got != addAuthenticator {
		b.errorf("dashboard after adding", "adding an authenticator took %+v, want %+v", got, addAuthenticator)
	}
	names := evaluate[[]string](b, "names on the dashboard", `Array.from(document.querySelectorAll(".token-name")).map(e => e.textContent)`)
	if len(names) != 2 || names[0] == names[1] {
		b.errorf("names on the dashboard", "the dashboard shows %q: two authenticators that look alike", names)
	}
}
