package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/i18n"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// The Twofold Authenticator against a running server, each a real
// process: the app is the binary built from cmd/twofold-authenticator,
// the server is `twofold serve`, the portal is headless Chromium, the
// gateway is radclient and the mail goes through a real SMTP server.

// authenticatorBinary is the app, built once for every test that runs it.
var authenticatorBinary struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if authenticatorBinary.path != "" {
		os.RemoveAll(filepath.Dir(authenticatorBinary.path))
	}
	os.Exit(code)
}

// appProc runs the Twofold Authenticator binary on a store of its own,
// trusting the certificate of the server in dataDir.
type appProc struct {
	t     *testing.T
	bin   string
	store string
	ca    string
}

func newApp(t *testing.T, dataDir string) *appProc {
	t.Helper()
	authenticatorBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "twofold-authenticator-e2e")
		if err != nil {
			authenticatorBinary.err = err
			return
		}
		authenticatorBinary.path = filepath.Join(dir, "twofold-authenticator")
		if out, err := exec.Command("go", "build", "-o", authenticatorBinary.path, "../twofold-authenticator").CombinedOutput(); err != nil {
			authenticatorBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if authenticatorBinary.err != nil {
		t.Fatal(authenticatorBinary.err)
	}
	return &appProc{t: t, bin: authenticatorBinary.path, store: filepath.Join(t.TempDir(), "tokens"), ca: filepath.Join(dataDir, "tls.crt")}
}

// run runs the app with stdin and returns its exit status and output.
func (a *appProc) run(stdin string, args ...string) (int, string, string) {
	a.t.Helper()
	return testenv.Run(a.t, a.bin, []string{"TWOFOLD_AUTHENTICATOR_STORE=" + a.store}, stdin, args...)
}

func (a *appProc) ok(stdin string, args ...string) string {
	a.t.Helper()
	code, out, errs := a.run(stdin, args...)
	if code != 0 {
		a.t.Fatalf("twofold-authenticator %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// answer answers the one request waiting, with the PIN, once it has
// arrived: the sign-in that sends it may still be on its way.
func (a *appProc) answer(pin string, args ...string) (int, string) {
	a.t.Helper()
	args = append([]string{"approve", "--pin-stdin", "--ca-file", a.ca}, args...)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, out, errs := a.run(pin+"\n", args...)
		if code == 0 || !strings.Contains(errs, "no sign-in request is waiting") || time.Now().After(deadline) {
			return code, out + errs
		}
	}
}

var activationRE = regexp.MustCompile(`T1[0-9A-Z]{2}(?:-[0-9A-Z]{1,4})+`)

// enrollApp assigns username a push token, reads the activation string
// from the invitation the SMTP server received, and enrolls the app with
// it, PIN pin; the organization asks for one (pin_mode=token).
func enrollApp(t *testing.T, in *installation, mb *mailbox, a *appProc, user, pin string) {
	t.Helper()
	in.ok("", "token", "enroll", user, "--type", "push")
	m := mb.waitFor(t, "en", "T1")
	activation := activationRE.FindString(m.text)
	if activation == "" {
		t.Fatalf("the invitation holds no activation string:\n%s", m.text)
	}
	// Interactively: the name suggested, then the PIN twice.
	_, _, errs := a.run("\n"+pin+"\n"+pin+"\n", "enroll", activation, "--ca-file", a.ca)
	if !strings.Contains(errs, "added Acme Corp") {
		t.Fatalf("enroll from the mailed activation string:\n%s", errs)
	}
	if !strings.Contains(errs, "requires one") {
		t.Errorf("the app did not ask for the PIN the organization requires:\n%s", errs)
	}
}

// pushPortal is a served installation for push: organization acme allows
// app and push, with a token PIN and RADIUS asking the password first;
// alice (password alicePassword) has the app enrolled.
type pushPortal struct {
	in        *installation
	mailbox   *mailbox
	publicURL string
	radius    string // the RADIUS address
	app       *appProc
}

const (
	alicePassword = "correct horse battery staple"
	appPIN        = "271828"
)

func startPushPortal(t *testing.T) *pushPortal {
	t.Helper()
	p := &pushPortal{mailbox: startMailbox(t)}
	port := freePort(t)
	p.publicURL = fmt.Sprintf("https://localhost:%d", port)
	p.in = newInstallation(t, storetest.SQLite(t))
	for k, v := range map[string]string{
		"TWOFOLD_HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "TWOFOLD_PUBLIC_URL": p.publicURL,
		"TWOFOLD_SMTP_URL": "smtp://" + p.mailbox.addr,
	} {
		p.in.env[k] = v
	}
	stdout, _ := startServer(t, p.in, p.publicURL)
	m := regexp.MustCompile(`RADIUS: +listening on udp (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve started no RADIUS server:\n%s", stdout.String())
	}
	p.radius = m[1]
	p.in.ok("", "org", "create", "acme", "--name", "Acme Corp")
	p.in.ok("", "policy", "set", "acme", "methods=app,push", "pin_mode=token", "pin_min_length=6", "token_pin_attempts=3", "radius_mode=password")
	p.in.ok(alicePassword+"\n", "user", "add", "acme/alice", "--email", "alice@acme.example", "--language", "en", "--password-stdin")
	p.app = newApp(t, p.in.env["TWOFOLD_DATA_DIR"])
	enrollApp(t, p.in, p.mailbox, p.app, "acme/alice", appPIN)
	return p
}

var portalPushNumberRE = regexp.MustCompile(`\b(\d{2})\b`)

// portalPush signs alice in to the portal in b up to the page waiting for
// the push, and returns the number it shows.
func (p *pushPortal) portalPush(b *browser) int {
	b.t.Helper()
	b.navigate("login page", p.publicURL+"/o/acme/login")
	b.fill("login username", "input[name=username]", "alice")
	b.fill("login password", "input[name=password]", alicePassword)
	b.submit("submit username and password", "input[name=password]")
	if b.count("the code step", `button[name=method][value=push]`) > 0 {
		b.click("send a push", `button[name=method][value=push]`)
	}
	shown := evaluate[string](b, "the push number", `(document.querySelector(".push-number strong") || {}).textContent || ""`)
	n, err := strconv.Atoi(strings.TrimSpace(shown))
	if err != nil || n < 10 || n > 99 {
		b.fatalf("the push number", "the page waiting for the push shows no number (%q)", shown)
	}
	return n
}

// checkNow presses the waiting page's "Check now".
func checkNow(b *browser) {
	b.t.Helper()
	b.click("check now", `form[action$="/login/push"] button[type=submit]`)
}

// TestEndToEndPush walks flows 2 and 4 of the design with every part real:
// an operator assigns a push token, the invitation reaches the SMTP
// server, the app enrolls from the activation string in it under the
// organization's token PIN rules, and then approves, refuses and reports
// sign-ins from the portal in Chromium, the REST API and RADIUS.
func TestEndToEndPush(t *testing.T) {
	chromium := testenv.Command(t, "chromium", "chromium")
	testenv.Command(t, "radclient", "freeradius-utils")
	p := startPushPortal(t)
	en := func(key string) string { return i18n.T("en", key) }

	t.Run("portal sign-in approved in the app with the number shown", func(t *testing.T) {
		b := newBrowser(t, chromium, "en")
		n := p.portalPush(b)
		if code, out := p.app.answer(appPIN, "--number", strconv.Itoa(n)); code != 0 || !strings.Contains(out, "accepted") {
			t.Fatalf("approve --number %d: exit %d\n%s", n, code, out)
		}
		checkNow(b)
		if loc := b.location("dashboard"); loc.Path != "/o/acme/" {
			b.fatalf("dashboard", "after the approval the browser is at %s", loc)
		}
	})

	t.Run("the wrong number picked refuses the sign-in", func(t *testing.T) {
		b := newBrowser(t, chromium, "en")
		n := p.portalPush(b)
		wrong := 10 + (n-10+1)%90
		if code, out := p.app.answer(appPIN, "--number", strconv.Itoa(wrong)); code == 0 || !strings.Contains(out, "wrong_number") {
			t.Fatalf("approve with the wrong number: exit %d\n%s", code, out)
		}
		checkNow(b)
		if text := b.visibleText(); !strings.Contains(text, en("error.push_wrong_number")) {
			b.fatalf("wrong number", "the page does not say a different number was picked:\n%s", text)
		}
	})

	t.Run("deny and report: refused, and the user is mailed", func(t *testing.T) {
		b := newBrowser(t, chromium, "en")
		p.portalPush(b)
		if code, out := p.app.answer(appPIN, "--decision", "fraud"); code != 0 || !strings.Contains(out, "fraud") {
			t.Fatalf("approve --decision fraud: exit %d\n%s", code, out)
		}
		// The mail goes out when the user reports, not when the page
		// looks: the sign-in may never look again.
		m := p.mailbox.waitFor(t, "en", "this wasn't me")
		if want := fmt.Sprintf(en("mail.push_fraud.subject"), "Acme Corp"); m.subject != want || !strings.Contains(m.text, "portal") {
			t.Errorf("fraud notice %q:\n%s", m.subject, m.text)
		}
		checkNow(b)
		if text := b.visibleText(); !strings.Contains(text, en("error.push_denied")) {
			b.fatalf("reported", "the page does not say the sign-in was denied:\n%s", text)
		}
	})

	apiKey := strings.TrimSpace(p.in.ok("", "apikey", "create", "acme", "--name", "intranet"))
	client := trusting(t, p.app.ca)
	validate := func(body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.publicURL+"/api/v1/validate", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		_, got := fetch(t, client, req)
		var a map[string]any
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("validate %s: %s", body, got)
		}
		return a
	}
	transaction := func(id string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, p.publicURL+"/api/v1/transactions/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		_, got := fetch(t, client, req)
		var a struct{ Status string }
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("transaction %s: %s", id, got)
		}
		return a.Status
	}
	challenge := `{"username":"alice","password":"` + alicePassword + `","methods":["push"]}`

	t.Run("REST challenge approved in the app", func(t *testing.T) {
		a := validate(challenge)
		id, _ := a["transaction_id"].(string)
		number, _ := a["number"].(float64)
		if a["result"] != "challenge" || id == "" || number < 10 {
			t.Fatalf("push challenge: %v", a)
		}
		if got := transaction(id); got != "pending" {
			t.Fatalf("before the answer: %s", got)
		}
		if code, out := p.app.answer(appPIN, "--number", strconv.Itoa(int(number))); code != 0 {
			t.Fatalf("approve: exit %d\n%s", code, out)
		}
		if got := transaction(id); got != "accepted" {
			t.Fatalf("after the approval: %s, want accepted", got)
		}
	})

	t.Run("a push nobody answers expires", func(t *testing.T) {
		// push_timeout's shortest, 30 s, passes in parallel with the
		// rest of the package's tests.
		t.Parallel()
		p.in.ok("", "policy", "set", "acme", "push_timeout=30s")
		a := validate(challenge)
		id, _ := a["transaction_id"].(string)
		p.in.ok("", "policy", "set", "acme", "push_timeout=2m")
		if a["result"] != "challenge" || id == "" {
			t.Fatalf("push challenge: %v", a)
		}
		time.Sleep(31 * time.Second)
		if got := transaction(id); got != "expired" {
			t.Fatalf("after 31 s: %s, want expired", got)
		}
	})

	t.Run("RADIUS holds the Access-Request for the answer", func(t *testing.T) {
		secret := strings.TrimSpace(p.in.ok("", "radius", "client", "add", "acme", "--name", "vpn", "--cidr", "127.0.0.1"))
		time.Sleep(1100 * time.Millisecond) // the server reloads its clients on a miss at most once a second
		send := func(password, state string) (string, string) {
			attrs := pap("alice", password)
			if state != "" {
				attrs = append(attrs, "State = "+state)
			}
			return radclient(t, p.radius, secret, attrs...)
		}
		// The State of the answer, not of the request radclient prints first.
		stateRE := regexp.MustCompile(`Received Access-[\s\S]*State = (0x[0-9a-f]+)`)
		got, out := send(alicePassword, "")
		state := stateRE.FindStringSubmatch(out)
		if got != "Access-Challenge" || state == nil {
			t.Fatalf("the password: %s\n%s", got, out)
		}
		// An empty answer asks for the push, and the gateway shows the
		// number to pick.
		got, out = send("", state[1])
		number := regexp.MustCompile(`Pick (\d+) in Twofold Authenticator`).FindStringSubmatch(out)
		state = stateRE.FindStringSubmatch(out)
		if got != "Access-Challenge" || number == nil || state == nil {
			t.Fatalf("the empty answer: %s\n%s", got, out)
		}
		type answer struct{ got, out string }
		held := make(chan answer, 1)
		start := time.Now()
		go func() {
			// radclient waits up to 25 s: longer than the server holds.
			cmd := exec.Command(testenv.Command(t, "radclient", "freeradius-utils"), "-x", "-r", "1", "-t", "25", p.radius, "auth", secret)
			cmd.Stdin = strings.NewReader(strings.Join(append(pap("alice", ""), "State = "+state[1]), ", ") + "\n")
			out, _ := cmd.CombinedOutput()
			m := regexp.MustCompile(`Received (Access-\w+)`).FindStringSubmatch(string(out))
			if m == nil {
				held <- answer{"", string(out)}
				return
			}
			held <- answer{m[1], string(out)}
		}()
		time.Sleep(time.Second) // the held request is on its way
		if code, out := p.app.answer(appPIN, "--number", number[1]); code != 0 {
			t.Fatalf("approve: exit %d\n%s", code, out)
		}
		a := <-held
		if a.got != "Access-Accept" {
			t.Fatalf("the held request: %q, want Access-Accept\n%s\n%s", a.got, a.out, p.in.ok("", "audit", "acme", "--limit", "8"))
		}
		if waited := time.Since(start); waited > 20*time.Second {
			t.Errorf("the gateway waited %v for the answer", waited)
		}
	})

	t.Run("fatigue: past the rate or three waiting, a typed code is asked", func(t *testing.T) {
		typedCode := func(a map[string]any) bool {
			return a["result"] == "challenge" && fmt.Sprint(a["methods"]) == "[code]" && a["transaction_id"] == nil
		}
		// Five pushes went out above, push_rate's default of 5 in 5
		// minutes: the sixth is withheld.
		if a := validate(challenge); !typedCode(a) {
			t.Fatalf("a sixth push within 5 minutes: %v, want a challenge for a typed code", a)
		}
		p.in.ok("", "policy", "set", "acme", "push_rate=50/5m")
		var ids []string
		for range 3 {
			a := validate(challenge)
			id, _ := a["transaction_id"].(string)
			if a["result"] != "challenge" || id == "" {
				t.Fatalf("push %d: %v", len(ids)+1, a)
			}
			ids = append(ids, id)
		}
		if a := validate(challenge); !typedCode(a) {
			t.Fatalf("a fourth push while three wait: %v, want a challenge for a typed code", a)
		}
		// The app shows the three, and several at once need choosing:
		// answered one by one, interactively.
		if code, out := p.app.answer(appPIN, "--decision", "deny"); code == 0 || !strings.Contains(out, "3 sign-in requests are waiting") {
			t.Errorf("approve --decision deny with three waiting: exit %d\n%s", code, out)
		}
		if code, _, errs := p.app.run(appPIN+"\nd\nd\nd\n", "approve", "--pin-stdin", "--ca-file", p.app.ca); code != 0 || strings.Count(errs, "sign-in request to") != 3 {
			t.Fatalf("approve, denying each of three: exit %d\n%s", code, errs)
		}
		for _, id := range ids {
			if got := transaction(id); got != "denied" {
				t.Errorf("transaction %s: %s, want denied", id, got)
			}
		}
	})

	t.Run("wrong token PINs wipe the token at the organization's limit", func(t *testing.T) {
		for i := 1; i < 3; i++ {
			if code, _, errs := p.app.run("000000\n", "code", "--pin-stdin"); code == 0 || !strings.Contains(errs, "wipe the token") {
				t.Fatalf("wrong PIN %d: exit %d, %s", i, code, errs)
			}
		}
		if code, _, errs := p.app.run("000000\n", "code", "--pin-stdin"); code == 0 || !strings.Contains(errs, "has been wiped") {
			t.Fatalf("the third wrong PIN: exit %d, %s", code, errs)
		}
		if code, _, errs := p.app.run("", "list"); code != 0 || strings.Contains(errs, "Acme") {
			t.Errorf("list after the wipe: exit %d, %s", code, errs)
		}
	})
}

// TestEndToEndPushAcrossInstances runs two instances of `twofold serve` on
// one PostgreSQL database, as a load balancer without sticky sessions
// sees them: the app, enrolled with the first, polls the first, while the
// sign-in waits on the second; the approval reaches it there.
func TestEndToEndPushAcrossInstances(t *testing.T) {
	b := storetest.Postgres(t)
	mailbox := startMailbox(t)
	in := newInstallation(t, b)
	in.env["TWOFOLD_SMTP_URL"] = "smtp://" + mailbox.addr
	// Both share the data directory, and so the master key; each has its
	// own address.
	urls := make([]string, 2)
	for i := range urls {
		port := freePort(t)
		urls[i] = fmt.Sprintf("https://localhost:%d", port)
		inst := &installation{t: t, env: maps.Clone(in.env)}
		inst.env["TWOFOLD_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
		inst.env["TWOFOLD_PUBLIC_URL"] = urls[i]
		startServer(t, inst, urls[i])
		if i == 0 {
			// The invitation leads to the first instance.
			in.env["TWOFOLD_PUBLIC_URL"] = urls[0]
		}
	}
	in.ok("", "org", "create", "acme", "--name", "Acme Corp")
	in.ok("", "policy", "set", "acme", "methods=app,push", "pin_mode=token", "pin_min_length=6")
	in.ok(alicePassword+"\n", "user", "add", "acme/alice", "--email", "alice@acme.example", "--language", "en", "--password-stdin")
	a := newApp(t, in.env["TWOFOLD_DATA_DIR"])
	enrollApp(t, in, mailbox, a, "acme/alice", appPIN)
	apiKey := strings.TrimSpace(in.ok("", "apikey", "create", "acme", "--name", "intranet"))

	client := trusting(t, a.ca)
	call := func(method, url, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		_, got := fetch(t, client, req)
		var v map[string]any
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Fatalf("%s %s: %s", method, url, got)
		}
		return v
	}
	c := call(http.MethodPost, urls[1]+"/api/v1/validate", `{"username":"alice","password":"`+alicePassword+`","methods":["push"]}`)
	id, _ := c["transaction_id"].(string)
	number, _ := c["number"].(float64)
	if c["result"] != "challenge" || id == "" {
		t.Fatalf("a push challenge on the second instance: %v", c)
	}
	// The app knows only the first instance.
	if code, out := a.answer(appPIN, "--number", strconv.Itoa(int(number))); code != 0 || !strings.Contains(out, "accepted") {
		t.Fatalf("approve on the first instance: exit %d\n%s", code, out)
	}
	if got := call(http.MethodGet, urls[1]+"/api/v1/transactions/"+id, ""); got["status"] != "accepted" {
		t.Fatalf("the second instance reads %v, want accepted", got)
	}
	// Collected once, on either instance.
	if got := call(http.MethodGet, urls[0]+"/api/v1/transactions/"+id, ""); got["status"] != "accepted" {
		t.Errorf("the first instance then reads %v, want accepted again (answered, collected once)", got)
	}
}
