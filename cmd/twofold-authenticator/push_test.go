package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"image/png"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/push"
)

// deviceServer plays the server's side of the push protocol with the push
// package, checking every signature, until push-core's Handler can be used
// here instead.
type deviceServer struct {
	t      *testing.T
	now    func() time.Time
	secret []byte

	mu      sync.Mutex
	key     push.DeviceKey
	answers []push.AnswerRequest
	// once withdraws the request after its first answer, as the real
	// server does; the approve test leaves it offered to answer it again.
	once   bool
	closed bool
	// pin is the organization's token PIN rules the activation tells.
	pin push.PIN
}

const (
	testCode    = "link-code-1"
	testSerial  = "PUSH-0001"
	testRequest = "req-1"
	rightNumber = 42
)

func (s *deviceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fail := func(status int, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(push.ErrorResponse{Error: msg})
	}
	if r.URL.Path == push.PathActivate {
		var a push.ActivateRequest
		if json.Unmarshal(body, &a) != nil || a.ActivationCode != testCode {
			fail(http.StatusNotFound, "unknown activation code")
			return
		}
		key, err := push.ParseDeviceKey(a.Alg, a.PublicKey)
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		s.mu.Lock()
		used := s.key.Public != nil
		if !used {
			s.key = key
		}
		s.mu.Unlock()
		if used {
			fail(http.StatusNotFound, "unknown activation code")
			return
		}
		json.NewEncoder(w).Encode(push.ActivateResponse{
			Serial: testSerial, Org: push.Org{Slug: "acme", Name: "Acme"}, Username: "alice",
			TOTP: push.TOTP{Secret: otp.EncodeSecret(s.secret), Algorithm: "SHA1", Digits: 6, Period: 30},
			PIN:  s.pin,
		})
		return
	}
	sig, err := push.ParseSignature(r.Header.Get(push.SignatureHeader))
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	if err != nil || sig.Serial != testSerial || sig.Verify(key, r.Method, r.URL.RequestURI(), body, s.now()) != nil {
		s.t.Errorf("%s %s: signature %q does not verify", r.Method, r.URL, r.Header.Get(push.SignatureHeader))
		fail(http.StatusUnauthorized, "unauthorized")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == push.PathRequests:
		s.mu.Lock()
		done := s.closed
		s.mu.Unlock()
		if done {
			// Hold the long poll a little, as the server would.
			select {
			case <-r.Context().Done():
			case <-time.After(50 * time.Millisecond):
			}
			json.NewEncoder(w).Encode(push.RequestsResponse{})
			return
		}
		now := s.now().UTC()
		json.NewEncoder(w).Encode(push.RequestsResponse{Requests: []push.Request{{
			ID: testRequest, Org: "Acme", Application: "portal", Source: "203.0.113.7",
			CreatedAt: now.Format(time.RFC3339), ExpiresAt: now.Add(120 * time.Second).Format(time.RFC3339),
			Numbers: push.Choices(testRequest, rightNumber),
		}}})
	case r.Method == http.MethodPost && r.URL.Path == push.PathRequests+"/"+testRequest:
		var a push.AnswerRequest
		if err := json.Unmarshal(body, &a); err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		s.mu.Lock()
		s.answers = append(s.answers, a)
		s.closed = s.once
		s.mu.Unlock()
		status := map[string]string{push.DecisionDeny: push.StatusDenied, push.DecisionFraud: push.StatusFraud}[a.Decision]
		if a.Decision == push.DecisionApprove {
			status = push.StatusWrongNumber
			if a.Number == rightNumber {
				status = push.StatusAccepted
			}
		}
		json.NewEncoder(w).Encode(push.AnswerResponse{Status: status})
	default:
		fail(http.StatusNotFound, "not found")
	}
}

// appTest runs the app in-process on one store, with a fixed clock.
type appTest struct {
	t     *testing.T
	store string
	now   time.Time
}

func (a *appTest) run(stdin string, args ...string) (int, string, string) {
	var out, errs bytes.Buffer
	c := &cli{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errs,
		getenv: a.getenv, now: func() time.Time { return a.now },
	}
	code := c.run(context.Background(), args)
	return code, out.String(), errs.String()
}

func (a *appTest) getenv(k string) string {
	if k == storeEnv {
		return a.store
	}
	return ""
}

func (a *appTest) ok(stdin string, args ...string) string {
	a.t.Helper()
	code, out, errs := a.run(stdin, args...)
	if code != 0 {
		a.t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

func startDeviceServer(t *testing.T, now time.Time) (*deviceServer, *httptest.Server, string) {
	t.Helper()
	ds := &deviceServer{t: t, now: func() time.Time { return now }, secret: []byte("12345678901234567890")}
	srv := httptest.NewUnstartedServer(ds)
	// The refused handshake of the test without --ca-file is expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ds, srv, ca
}

func TestEnrollAndApproveWithSignedRequests(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ds, srv, ca := startDeviceServer(t, now)
	app := &appTest{t: t, store: filepath.Join(t.TempDir(), "tokens"), now: now}
	activation := push.Activation{URL: srv.URL, Code: testCode}

	// Without the server's CA the certificate is refused, with advice.
	if code, _, errs := app.run("", "enroll", activation.String(), "--no-pin", "--name", "work"); code == 0 || !strings.Contains(errs, "--ca-file") {
		t.Fatalf("enroll without --ca-file: exit %d, %q", code, errs)
	}

	// Interactive: the name suggested from the answer, then the PIN twice.
	out := app.ok("\n4711\n4711\n", "enroll", activation.AppLink(), "--ca-file", ca)
	g, _ := otp.NewGenerator(ds.secret, otp.SHA1, 6)
	if want := g.Code(uint64(otp.Step(now, 30*time.Second))); strings.TrimSpace(out) != want {
		t.Fatalf("first code %q, want the token's %q", out, want)
	}
	list := app.ok("", "list")
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "Acme alice Acme totp yes yes" {
		t.Fatalf("list after enroll:\n%s", list)
	}
	if code, _, errs := app.run("", "enroll", activation.String(), "--ca-file", ca, "--no-pin", "--name", "again"); code == 0 || !strings.Contains(errs, "new invitation") {
		t.Fatalf("a used activation string: exit %d, %q", code, errs)
	}

	// A wrong number is refused by the server and reported as a failure.
	wrong := push.Choices(testRequest, rightNumber)[0]
	if wrong == rightNumber {
		wrong = push.Choices(testRequest, rightNumber)[1]
	}
	if code, _, errs := app.run("4711\n", "approve", "--number", itoa(wrong), "--pin-stdin", "--ca-file", ca); code == 0 || !strings.Contains(errs, "not the number") {
		t.Fatalf("approve with the wrong number: exit %d, %q", code, errs)
	}
	if out := app.ok("4711\n", "approve", "Acme", "--request", testRequest, "--number", itoa(rightNumber), "--pin-stdin", "--ca-file", ca); out != "accepted\n" {
		t.Fatalf("approve --number: %q", out)
	}
	// Interactively: a number not offered is asked again; r reports.
	_, _, errs := app.run("4711\n7\nr\n", "approve", "--pin-stdin", "--ca-file", ca)
	for _, want := range []string{"Acme, portal", "203.0.113.7", "120 seconds left", "none of the three", "reported"} {
		if !strings.Contains(errs, want) {
			t.Errorf("interactive approve lacks %q:\n%s", want, errs)
		}
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	want := []push.AnswerRequest{{Decision: "approve", Number: wrong}, {Decision: "approve", Number: rightNumber}, {Decision: "fraud"}}
	if len(ds.answers) != len(want) {
		t.Fatalf("answers = %+v, want %+v", ds.answers, want)
	}
	for i := range want {
		if ds.answers[i] != want[i] {
			t.Errorf("answer %d = %+v, want %+v", i, ds.answers[i], want[i])
		}
	}
}

func TestEnrollKeepsTheOrganizationsPINRules(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ds, srv, ca := startDeviceServer(t, now)
	ds.pin = push.PIN{Required: true, MinLength: 6, MaxAttempts: 3}
	app := &appTest{t: t, store: filepath.Join(t.TempDir(), "tokens"), now: now}
	activation := push.Activation{URL: srv.URL, Code: testCode}.String()

	// An empty PIN is no way out, and one too short is asked again.
	_, _, errs := app.run("work\n\n4711\n471147\n471147\n", "enroll", activation, "--ca-file", ca)
	for _, want := range []string{"requires one, at least 6 characters", "too short", "added work"} {
		if !strings.Contains(errs, want) {
			t.Errorf("enroll under pin_mode=token lacks %q:\n%s", want, errs)
		}
	}
	// Three wrong PINs, the organization's limit, wipe the token.
	for range 2 {
		if code, _, errs := app.run("000000\n", "code", "work", "--pin-stdin"); code == 0 || !strings.Contains(errs, "wipe the token") {
			t.Fatalf("a wrong PIN: exit %d, %q", code, errs)
		}
	}
	if code, _, errs := app.run("000000\n", "code", "work", "--pin-stdin"); code == 0 || !strings.Contains(errs, "has been wiped") {
		t.Fatalf("the third wrong PIN: exit %d, %q", code, errs)
	}
}

func TestEnrollWithoutAPINTheOrganizationRequiresSaysWhatToDo(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ds, srv, ca := startDeviceServer(t, now)
	ds.pin = push.PIN{Required: true, MinLength: 4, MaxAttempts: 5}
	app := &appTest{t: t, store: filepath.Join(t.TempDir(), "tokens"), now: now}
	for _, tc := range []struct {
		stdin, want string
		args        []string
	}{
		{"", "without --no-pin", []string{"--no-pin"}},
		{"\n", "at least 4 characters", []string{"--pin-stdin"}},
	} {
		ds.mu.Lock()
		ds.key = push.DeviceKey{} // a new activation code each time
		ds.mu.Unlock()
		args := append([]string{"enroll", push.Activation{URL: srv.URL, Code: testCode}.String(), "--ca-file", ca, "--name", "work"}, tc.args...)
		if code, _, errs := app.run(tc.stdin, args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("enroll %v: exit %d, %q; want a refusal saying %q", tc.args, code, errs, tc.want)
		}
	}
	if out := app.ok("", "list"); strings.Contains(out, "work") {
		t.Errorf("a refused enrollment kept a token:\n%s", out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestEnrollFromAQRImage(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	_, srv, ca := startDeviceServer(t, now)
	app := &appTest{t: t, store: filepath.Join(t.TempDir(), "tokens"), now: now}
	code, err := qr.Encode(push.Activation{URL: srv.URL, Code: testCode}.AppLink(), qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if code, err = barcode.Scale(code, 300, 300); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "invitation.png")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, code); err != nil {
		t.Fatal(err)
	}
	f.Close()
	app.ok("", "enroll", "--qr", img, "--ca-file", ca, "--name", "work", "--no-pin")
	if out := app.ok("", "list"); !strings.Contains(out, "work") {
		t.Fatalf("list after enroll --qr:\n%s", out)
	}
	if code, _, errs := app.run("", "enroll", "--qr", ca, "--ca-file", ca); code == 0 || !strings.Contains(errs, "not a PNG or JPEG") {
		t.Fatalf("enroll --qr of a PEM file: exit %d, %q", code, errs)
	}
}

// syncBuffer is a bytes.Buffer the test reads while the app writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWatchShowsARequestAndApprovesIt(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ds, srv, ca := startDeviceServer(t, now)
	ds.once = true
	app := &appTest{t: t, store: filepath.Join(t.TempDir(), "tokens"), now: now}
	app.ok("", "enroll", push.Activation{URL: srv.URL, Code: testCode}.String(), "--ca-file", ca, "--name", "work", "--no-pin")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errs syncBuffer
	c := &cli{
		stdin: strings.NewReader(itoa(rightNumber) + "\n"), stdout: io.Discard, stderr: &errs,
		getenv: app.getenv, now: func() time.Time { return now },
	}
	done := make(chan int)
	go func() { done <- c.run(ctx, []string{"watch", "--ca-file", ca}) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(errs.String(), "approved"); {
		if time.Now().After(deadline) {
			t.Fatalf("watch approved nothing:\n%s", errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch: exit %d\n%s", code, errs.String())
	}
	for _, want := range []string{"waiting for sign-in requests to work", "sign-in request to work: Acme, portal", "from 203.0.113.7"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("watch's output lacks %q:\n%s", want, errs.String())
		}
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if len(ds.answers) != 1 || ds.answers[0] != (push.AnswerRequest{Decision: push.DecisionApprove, Number: rightNumber}) {
		t.Fatalf("answers = %+v", ds.answers)
	}
}
