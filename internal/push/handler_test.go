package push_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/mail"
	"github.com/twofold-mfa/twofold/internal/mail/compose"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// env is a push Handler on a real store behind an httptest server, with
// organization acme (push allowed) and its users alice and bob.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *clock.Fake
	store *store.Store
	keys  *secret.Keyring
	admin *admin.Service
	org   store.Org
	srv   *httptest.Server
	// outbox holds the mails the handler sends.
	outbox string
	// draining, closed, ends the handlers' long polls (Handler.Draining).
	draining chan struct{}
}

func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: clock.NewFake(t0), outbox: t.TempDir(), draining: make(chan struct{})}
	e.store = b.Open(t, e.clock)
	var err error
	if e.keys, err = secret.NewKeyring([][]byte{bytes.Repeat([]byte{7}, 32)}, nil); err != nil {
		t.Fatal(err)
	}
	e.srv = e.serve(e.store)
	e.admin = &admin.Service{Store: e.store, Keys: e.keys, Clock: e.clock, PublicURL: e.srv.URL, Actor: "test"}
	if e.org, err = e.admin.CreateOrg(e.ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.SetPolicy(e.ctx, e.org, map[string]string{"methods": "app,push"}); err != nil {
		t.Fatal(err)
	}
	if e.org, err = e.store.OrgBySlug(e.ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: name, Email: name + "@acme.example"}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// serve starts another instance of the device endpoints on s.
func (e *env) serve(s *store.Store) *httptest.Server {
	sender, err := mail.New("", e.outbox, "Twofold <twofold@example.org>")
	if err != nil {
		e.t.Fatal(err)
	}
	render, err := compose.NewRenderer()
	if err != nil {
		e.t.Fatal(err)
	}
	h := &push.Handler{Store: s, Keys: e.keys, Clock: e.clock, Log: slog.New(slog.DiscardHandler), PollEvery: 20 * time.Millisecond, Draining: e.draining}
	srv := httptest.NewServer(h)
	h.PublicURL = srv.URL
	mailer := &compose.Mailer{Render: render, Sender: sender, PublicURL: srv.URL}
	h.Notifier = mailer
	h.Answers = auth.NewVerifier(auth.Config{Store: s, Keys: e.keys, Clock: e.clock, Sender: compose.CodeSender{Store: s, Mailer: mailer}})
	e.t.Cleanup(srv.Close)
	return srv
}

// enroll assigns username a token of typ and returns its enrollment.
func (e *env) enroll(username, typ string) admin.Enrolled {
	e.t.Helper()
	en, err := e.admin.EnrollToken(e.ctx, e.org, username, typ, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// device is an app holding a key — Ed25519 as the command-line app's, or
// with p256 set ECDSA P-256 as the web app's — and once activated its
// token's serial.
type device struct {
	priv   ed25519.PrivateKey
	p256   *ecdsa.PrivateKey
	serial string
}

// newWebDevice is a device with a P-256 key, as a browser makes one.
func newWebDevice(t *testing.T) *device {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &device{p256: k}
}

// publicKey is what d's activation carries: its key and algorithm.
func (d *device) publicKey(t *testing.T) (string, string) {
	if d.p256 == nil {
		return push.EncodePublicKey(d.priv.Public().(ed25519.PublicKey)), ""
	}
	b, err := d.p256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b), push.AlgES256
}

func newDevice(seed byte) *device {
	return &device{priv: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))}
}

func call(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", req.Method, req.URL, ct)
	}
	return resp.StatusCode, body
}

// activate posts an activation of code for d to base.
func (d *device) activate(t *testing.T, base, code string) (int, []byte) {
	t.Helper()
	key, alg := d.publicKey(t)
	body, _ := json.Marshal(push.ActivateRequest{ActivationCode: code, PublicKey: key, Alg: alg, DeviceName: "Alice's laptop"})
	req, _ := http.NewRequest(http.MethodPost, base+push.PathActivate, bytes.NewReader(body))
	return call(t, req)
}

// mustActivate activates d with the activation string of en.
func (d *device) mustActivate(t *testing.T, e *env, en admin.Enrolled) push.ActivateResponse {
	t.Helper()
	a, err := push.ParseActivation(en.Activation)
	if err != nil {
		t.Fatal(err)
	}
	status, body := d.activate(t, a.URL, a.Code)
	if status != http.StatusOK {
		t.Fatalf("activation: %d %s", status, body)
	}
	var got push.ActivateResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	d.serial = got.Serial
	return got
}

// do sends a request signed by d at time at.
func (d *device) do(t *testing.T, base, method, uri string, body []byte, at time.Time) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, base+uri, bytes.NewReader(body))
	if d.p256 != nil {
		req.Header.Set(push.SignatureHeader, push.SignES256(t, d.p256, d.serial, method, uri, body, at))
	} else {
		req.Header.Set(push.SignatureHeader, push.Sign(d.priv, d.serial, method, uri, body, at))
	}
	return call(t, req)
}

func (d *device) poll(t *testing.T, e *env, base, query string) []push.Request {
	t.Helper()
	status, body := d.do(t, base, http.MethodGet, push.PathRequests+query, nil, e.clock.Now())
	if status != http.StatusOK {
		t.Fatalf("poll: %d %s", status, body)
	}
	var got push.RequestsResponse
	if err := json.Unmarshal(body, &got); err != nil || got.Requests == nil {
		t.Fatalf("poll answer %s: %v", body, err)
	}
	return got.Requests
}

func (d *device) answer(t *testing.T, e *env, base, id, decision string, number int) (int, string) {
	t.Helper()
	body, _ := json.Marshal(push.AnswerRequest{Decision: decision, Number: number})
	status, resp := d.do(t, base, http.MethodPost, push.PathRequests+"/"+id, body, e.clock.Now())
	return status, string(resp)
}

// request creates a push request for username through s, as a sign-in would.
func (e *env) request(s *store.Store, username, id string) store.PushRequest {
	e.t.Helper()
	u, err := s.UserByName(e.ctx, e.org.ID, username)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	r, err := s.CreatePushRequest(e.ctx, store.PushRequest{ID: id, OrgID: e.org.ID, UserID: u.ID, TxIDHash: []byte("tx-" + id),
		Number: 42, Application: "portal", Source: "192.0.2.7", CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute)},
		store.PushLimit{MaxOpen: 3}, store.Event{OrgID: e.org.ID, At: now, Actor: username, Action: "push.request", Target: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// The organization's token PIN rules reach the app with the token.
func TestActivationTellsTheTokenPINRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var err error
		if _, err := e.admin.SetPolicy(e.ctx, e.org, map[string]string{"pin_mode": "token", "pin_min_length": "6", "token_pin_attempts": "3"}); err != nil {
			t.Fatal(err)
		}
		if e.org, err = e.store.OrgBySlug(e.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if pin := newDevice(9).mustActivate(t, e, e.enroll("alice", "push")).PIN; pin != (push.PIN{Required: true, MinLength: 6, MaxAttempts: 3}) {
			t.Errorf("activation under pin_mode=token: PIN %+v", pin)
		}
	})
}

func TestActivate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		en := e.enroll("alice", "push")
		d := newDevice(1)
		got := d.mustActivate(t, e, en)

		k, err := otp.ParseURI(en.URI)
		if err != nil {
			t.Fatal(err)
		}
		want := push.ActivateResponse{Serial: en.Token.Serial, Org: push.Org{Slug: "acme", Name: "Acme Corp"}, Username: "alice", URL: e.srv.URL,
			TOTP: push.TOTP{Secret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(k.Secret), Algorithm: "SHA1", Digits: 6, Period: 30},
			PIN:  push.PIN{Required: false, MinLength: 4, MaxAttempts: 5}}
		if got != want {
			t.Errorf("activation answer %+v\nwant %+v", got, want)
		}
		tok, err := e.store.TokenBySerial(e.ctx, e.org.ID, en.Token.Serial)
		if err != nil || tok.State != store.TokenActive {
			t.Errorf("token after activation: %+v, %v", tok, err)
		}
		events, err := e.store.Events(e.ctx, e.org.ID, 1)
		if err != nil || events[0].Action != "push.activate" || events[0].Result != "ok" {
			t.Errorf("newest event %+v, %v", events, err)
		}
		e.mailedAdded("alice@acme.example", "Alice's laptop")

		a, _ := push.ParseActivation(en.Activation)
		expiring, _ := push.ParseActivation(e.enroll("alice", "push").Activation)
		totpCode := strings.TrimPrefix(e.enroll("alice", "totp").Link, e.srv.URL+"/enroll?code=")
		resent := e.enroll("bob", "push")
		old, _ := push.ParseActivation(resent.Activation)
		if _, err := e.admin.ResendEnrollment(e.ctx, e.org, "bob", resent.Token.Serial); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(73 * time.Hour)
		defer func() {
			// A refused activation adds nothing to tell about.
			if names, _ := filepath.Glob(filepath.Join(e.outbox, "*.eml")); len(names) != 1 {
				t.Errorf("%d mails after the refused activations, want only the first one's", len(names))
			}
		}()
		var refusal []byte
		for _, tc := range []struct{ name, code string }{
			{"reused", a.Code},
			{"expired", expiring.Code},
			{"a TOTP token's link", totpCode},
			{"replaced by a resend", old.Code},
			{"unknown", "aaaaaaaaaaaaaaaaaaaaaaaaaa"},
		} {
			status, body := newDevice(2).activate(t, e.srv.URL, tc.code)
			if status != http.StatusNotFound {
				t.Errorf("%s: %d %s, want 404", tc.name, status, body)
			}
			if refusal != nil && !bytes.Equal(body, refusal) {
				t.Errorf("%s: refused with %s, others with %s", tc.name, body, refusal)
			}
			refusal = body
		}
	})
}

// mailedAdded checks the outbox holds one mail, to to, that the device
// called device was added.
func (e *env) mailedAdded(to, device string) {
	e.t.Helper()
	names, err := filepath.Glob(filepath.Join(e.outbox, "*.eml"))
	if err != nil || len(names) != 1 {
		e.t.Fatalf("mails %v, %v; want the one notice", names, err)
	}
	raw, err := os.ReadFile(names[0])
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	// The text part comes first; the multipart reader undoes its
	// quoted-printable encoding.
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		e.t.Fatal(err)
	}
	part, err := multipart.NewReader(m.Body, params["boundary"]).NextPart()
	if err != nil {
		e.t.Fatal(err)
	}
	text, _ := io.ReadAll(part)
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if addr, err := netmail.ParseAddress(m.Header.Get("To")); err != nil || addr.Address != to ||
		subject != "Acme Corp: an authenticator was added to your account" || !strings.Contains(string(text), "“"+device+"”") {
		e.t.Errorf("mail to %q, subject %q, want the notice to %s that %q was added:\n%s", m.Header.Get("To"), subject, to, device, text)
	}
}

// A web app's P-256 key is registered as ES256, its signed requests are
// served, and a signature of the other algorithm over the same request is
// not: the server verifies with what the activation registered.
func TestActivateWebAppKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		d := newWebDevice(t)
		d.mustActivate(t, e, e.enroll("alice", "push"))
		v, err := e.store.PushDeviceBySerial(e.ctx, d.serial)
		if err != nil || v.Device.Alg != push.AlgES256 || len(v.Device.PublicKey) != 65 {
			t.Fatalf("device after activation: %+v, %v", v.Device, err)
		}
		events, err := e.store.Events(e.ctx, e.org.ID, 1)
		if err != nil || events[0].Action != "push.activate" || events[0].Detail != "device key ES256" {
			t.Errorf("newest event %+v, %v", events, err)
		}
		r := e.request(e.store, "alice", "req-web")
		got := d.poll(t, e, e.srv.URL, "")
		if len(got) != 1 || got[0].ID != r.ID {
			t.Fatalf("poll: %+v", got)
		}
		impostor := &device{priv: newDevice(9).priv, serial: d.serial}
		if status, body := impostor.do(t, e.srv.URL, http.MethodGet, push.PathRequests, nil, e.clock.Now()); status != http.StatusUnauthorized {
			t.Errorf("an Ed25519 signature for the ES256 device: %d %s", status, body)
		}
		if status, body := d.answer(t, e, e.srv.URL, r.ID, push.DecisionApprove, 42); status != http.StatusOK || !strings.Contains(body, push.StatusAccepted) {
			t.Errorf("approve: %d %s", status, body)
		}

		// The command-line app's activation, without alg, registers
		// Ed25519 as before.
		cli := newDevice(3)
		cli.mustActivate(t, e, e.enroll("bob", "push"))
		if v, err := e.store.PushDeviceBySerial(e.ctx, cli.serial); err != nil || v.Device.Alg != push.AlgEd25519 {
			t.Errorf("the CLI's device: %+v, %v", v.Device, err)
		}
	})
}

// Any origin may call the device endpoints: the web app of one server
// holds tokens of others. Nothing there is authorized by a cookie.
func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+push.PathRequests+"/r1", nil)
	req.Header.Set("Origin", "https://other.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type, twofold-signature")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), push.SignatureHeader) ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+push.PathRequests, nil)
	req.Header.Set("Origin", "https://other.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("an unsigned poll from another origin: %d %v, want 401 that the page may read", resp.StatusCode, resp.Header)
	}
}

func TestActivateMalformed(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	pub := push.EncodePublicKey(newDevice(1).priv.Public().(ed25519.PublicKey))
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"not JSON", "activation", http.StatusBadRequest},
		{"two values", `{"activation_code":"abc","public_key":"` + pub + `"} {}`, http.StatusBadRequest},
		{"no code", `{"public_key":"` + pub + `"}`, http.StatusBadRequest},
		{"short key", `{"activation_code":"abc","public_key":"AAAA"}`, http.StatusBadRequest},
		{"an Ed25519 key named ES256", `{"activation_code":"abc","alg":"ES256","public_key":"` + pub + `"}`, http.StatusBadRequest},
		{"an unknown algorithm", `{"activation_code":"abc","alg":"RS256","public_key":"` + pub + `"}`, http.StatusBadRequest},
		{"long name", `{"activation_code":"abc","public_key":"` + pub + `","device_name":"` + strings.Repeat("x", 65) + `"}`, http.StatusBadRequest},
		{"too large", `{"activation_code":"` + strings.Repeat("a", 17<<10) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+push.PathActivate, strings.NewReader(tc.body))
		if status, body := call(t, req); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+push.PathActivate, nil)
	if status, _ := call(t, req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET activate: %d", status)
	}
}

func TestSignedRequestsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		d := newDevice(1)
		d.mustActivate(t, e, e.enroll("alice", "push"))
		if got := d.poll(t, e, e.srv.URL, ""); len(got) != 0 {
			t.Fatalf("requests before any: %+v", got)
		}
		r := e.request(e.store, "alice", "r1")
		now := e.clock.Now()
		answer := []byte(`{"decision":"approve","number":42}`)
		path := push.PathRequests + "/" + r.ID
		unsigned := func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+push.PathRequests, nil)
			return req
		}
		signedAs := func(serial string, key ed25519.PrivateKey, method, uri string, body, sent []byte, at time.Time) *http.Request {
			req, _ := http.NewRequest(method, e.srv.URL+uri, bytes.NewReader(sent))
			req.Header.Set(push.SignatureHeader, push.Sign(key, serial, method, uri, body, at))
			return req
		}
		other := newDevice(9).priv
		for _, tc := range []struct {
			name string
			req  *http.Request
		}{
			{"unsigned", unsigned()},
			{"stale", signedAs(d.serial, d.priv, "GET", push.PathRequests, nil, nil, now.Add(-61*time.Second))},
			{"from the future", signedAs(d.serial, d.priv, "GET", push.PathRequests, nil, nil, now.Add(61*time.Second))},
			{"wrong key", signedAs(d.serial, other, "GET", push.PathRequests, nil, nil, now)},
			{"unknown serial", signedAs("PUSHNOPE", d.priv, "GET", push.PathRequests, nil, nil, now)},
			{"signed for another query", signedAs(d.serial, d.priv, "GET", push.PathRequests, nil, nil, now)},
			{"tampered body", signedAs(d.serial, d.priv, "POST", path, answer, []byte(`{"decision":"approve","number":43}`), now)},
			{"signed for another request id", signedAs(d.serial, d.priv, "POST", push.PathRequests+"/r2", answer, answer, now)},
			{"garbled header", func() *http.Request { req := unsigned(); req.Header.Set(push.SignatureHeader, "serial=x"); return req }()},
		} {
			if tc.name == "signed for another query" {
				tc.req.URL.RawQuery = "wait=1"
			}
			if tc.name == "signed for another request id" {
				tc.req.URL.Path = path
			}
			status, body := call(t, tc.req)
			if status != http.StatusUnauthorized || !strings.Contains(string(body), "not signed by an active device") {
				t.Errorf("%s: %d %s, want 401", tc.name, status, body)
			}
		}

		tok, err := e.store.TokenBySerial(e.ctx, e.org.ID, d.serial)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetTokenState(e.ctx, e.org.ID, tok.ID, []string{store.TokenActive}, store.TokenSuspended, store.Event{OrgID: e.org.ID, Action: "token.suspend"}); err != nil {
			t.Fatal(err)
		}
		if status, body := d.do(t, e.srv.URL, "GET", push.PathRequests, nil, now); status != http.StatusUnauthorized {
			t.Errorf("a suspended token polls: %d %s", status, body)
		}
	})
}

func TestAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		alice, bob := newDevice(1), newDevice(2)
		alice.mustActivate(t, e, e.enroll("alice", "push"))
		bob.mustActivate(t, e, e.enroll("bob", "push"))
		for _, id := range []string{"right", "wrong", "deny"} {
			e.request(e.store, "alice", id)
		}
		got := alice.poll(t, e, e.srv.URL, "")
		if len(got) != 3 {
			t.Fatalf("alice sees %+v", got)
		}
		// Created at the same time, they come in id order.
		r := got[1]
		if r.ID != "right" || r.Org != "Acme Corp" || r.Application != "portal" || r.Source != "192.0.2.7" ||
			r.CreatedAt != t0.Format(time.RFC3339) || r.ExpiresAt != t0.Add(2*time.Minute).Format(time.RFC3339) {
			t.Errorf("request %+v", r)
		}
		if n := r.Numbers; len(n) != 3 || (n[0] != 42 && n[1] != 42 && n[2] != 42) {
			t.Errorf("numbers %v do not offer 42", n)
		}
		if bobs := bob.poll(t, e, e.srv.URL, ""); len(bobs) != 0 {
			t.Errorf("bob sees alice's requests: %+v", bobs)
		}

		for _, tc := range []struct {
			name, id, decision string
			number             int
			status             int
			body               string
		}{
			{"bad decision", "right", "maybe", 0, 400, "decision"},
			{"approve without a number", "right", "approve", 0, 400, "number"},
			{"unknown id", "nope", "approve", 42, 404, "no such push request"},
			{"right number", "right", "approve", 42, 200, `"accepted"`},
			{"answered already", "right", "deny", 0, 409, "answered already"},
			{"wrong number", "wrong", "approve", 17, 200, `"wrong_number"`},
			{"deny", "deny", "deny", 0, 200, `"denied"`},
		} {
			if status, body := alice.answer(t, e, e.srv.URL, tc.id, tc.decision, tc.number); status != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.body)
			}
		}
		e.request(e.store, "alice", "fraud")
		e.request(e.store, "alice", "late")
		if status, body := bob.answer(t, e, e.srv.URL, "fraud", "approve", 42); status != 404 {
			t.Errorf("bob answers alice's request: %d %s, want 404", status, body)
		}
		if status, body := alice.answer(t, e, e.srv.URL, "fraud", "fraud", 0); status != 200 || !strings.Contains(body, `"fraud"`) {
			t.Errorf("fraud: %d %s", status, body)
		}
		// The wrong number, the denial and the report count against the
		// lockout as they are given, before any sign-in collects them.
		if u, err := e.store.UserByName(e.ctx, e.org.ID, "alice"); err != nil || u.Failures != 3 {
			t.Errorf("alice's failures after three refusals: %d, %v; want 3", u.Failures, err)
		}
		if tx, err := e.store.PushRequestByTxHash(e.ctx, e.org.ID, []byte("tx-right")); err != nil || tx.Status != store.PushAccepted {
			t.Errorf("the sign-in reads %+v, %v", tx, err)
		}
		e.clock.Advance(2 * time.Minute)
		if got := alice.poll(t, e, e.srv.URL, ""); len(got) != 0 {
			t.Errorf("expired requests shown: %+v", got)
		}
		if status, body := alice.answer(t, e, e.srv.URL, "late", "approve", 42); status != 409 {
			t.Errorf("an answer after expiry: %d %s, want 409", status, body)
		}
	})
}

func TestLongPoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		d := newDevice(1)
		d.mustActivate(t, e, e.enroll("alice", "push"))
		created := make(chan struct{})
		go func() {
			defer close(created)
			time.Sleep(100 * time.Millisecond)
			e.request(e.store, "alice", "r1")
		}()
		// Were the request not noticed, the poll would end after 20 s
		// with none.
		got := d.poll(t, e, e.srv.URL, "?wait=20")
		<-created
		if len(got) != 1 || got[0].ID != "r1" {
			t.Fatalf("long poll answered %+v", got)
		}
	})
}

// A server shutting down ends the long polls at once, rather than wait
// for each to run out.
func TestLongPollEndsWhenDraining(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	d := newDevice(1)
	d.mustActivate(t, e, e.enroll("alice", "push"))
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(e.draining)
	}()
	start := time.Now()
	if got := d.poll(t, e, e.srv.URL, "?wait=20"); len(got) != 0 {
		t.Fatalf("a drained poll answered %+v", got)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the poll took %v after the drain began", took)
	}
}

func TestTwoInstances(t *testing.T) {
	b := storetest.Postgres(t)
	e := newEnv(t, b)
	other := b.Open(t, e.clock)
	second := e.serve(other)
	d := newDevice(1)
	d.mustActivate(t, e, e.enroll("alice", "push"))

	done := make(chan []push.Request)
	go func() {
		// The device polls the second instance while the sign-in on the
		// first creates the request.
		req, _ := http.NewRequest(http.MethodGet, second.URL+push.PathRequests+"?wait=20", nil)
		req.Header.Set(push.SignatureHeader, push.Sign(d.priv, d.serial, "GET", push.PathRequests+"?wait=20", nil, e.clock.Now()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		var got push.RequestsResponse
		json.NewDecoder(resp.Body).Decode(&got)
		done <- got.Requests
	}()
	time.Sleep(100 * time.Millisecond)
	e.request(e.store, "alice", "r1")
	if got := <-done; len(got) != 1 || got[0].ID != "r1" {
		t.Fatalf("the second instance's device saw %+v", got)
	}
	if status, body := d.answer(t, e, second.URL, "r1", "approve", 42); status != 200 {
		t.Fatalf("answer on the second instance: %d %s", status, body)
	}
	if r, err := e.store.PushRequestByTxHash(e.ctx, e.org.ID, []byte("tx-r1")); err != nil || r.Status != store.PushAccepted {
		t.Errorf("the first instance reads %+v, %v", r, err)
	}
}

// TestStatusWords pins the store's statuses and decisions to the
// protocol's, which the handler passes on unchanged.
func TestStatusWords(t *testing.T) {
	for _, p := range [][2]string{
		{store.PushPending, push.StatusPending}, {store.PushAccepted, push.StatusAccepted}, {store.PushWrongNumber, push.StatusWrongNumber},
		{store.PushDenied, push.StatusDenied}, {store.PushFraud, push.StatusFraud}, {store.PushExpired, push.StatusExpired},
		{store.PushApprove, push.DecisionApprove}, {store.PushDeny, push.DecisionDeny}, {store.PushReport, push.DecisionFraud},
	} {
		if p[0] != p[1] {
			t.Errorf("store says %q where the protocol says %q", p[0], p[1])
		}
	}
}

// Without number matching the device is offered the one number, and
// approving with it accepts.
func TestWithoutNumberMatching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		if _, err := e.admin.SetPolicy(e.ctx, e.org, map[string]string{"push_number_matching": "false"}); err != nil {
			t.Fatal(err)
		}
		d := newDevice(1)
		d.mustActivate(t, e, e.enroll("alice", "push"))
		e.request(e.store, "alice", "one")
		got := d.poll(t, e, e.srv.URL, "")
		if len(got) != 1 || len(got[0].Numbers) != 1 || got[0].Numbers[0] != 42 {
			t.Fatalf("requests %+v, want one offering 42 alone", got)
		}
		if status, body := d.answer(t, e, e.srv.URL, "one", push.DecisionApprove, 42); status != http.StatusOK || !strings.Contains(body, push.StatusAccepted) {
			t.Errorf("approve: %d %s", status, body)
		}
	})
}
