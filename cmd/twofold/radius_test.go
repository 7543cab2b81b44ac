package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// radiusServer is twofold serve with its RADIUS listener on a free port.
type radiusServer struct {
	in   *installation
	addr string // 127.0.0.1:port
}

func startRadiusServer(t *testing.T, in *installation) *radiusServer {
	t.Helper()
	in.env["TWOFOLD_RADIUS_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return in.env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	waitForServer(t, &stdout, &stderr)
	m := regexp.MustCompile(`RADIUS: +listening on udp (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve started no RADIUS server\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
	return &radiusServer{in: in, addr: m[1]}
}

// radclient sends one Access-Request with FreeRADIUS's radclient and
// returns what came back: "Access-Accept", "Access-Reject",
// "Access-Challenge" or "" for no answer, and radclient's output.
func radclient(t *testing.T, addr, secret string, attrs ...string) (string, string) {
	t.Helper()
	path := testenv.Command(t, "radclient", "freeradius-utils")
	// Three seconds: an answer can take more than one on a busy machine
	// (a password is an argon2id hash), and only "no answer" waits it out.
	cmd := exec.Command(path, "-x", "-r", "1", "-t", "3", addr, "auth", secret)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, ", ") + "\n")
	out, _ := cmd.CombinedOutput()
	m := regexp.MustCompile(`Received (Access-\w+)`).FindStringSubmatch(string(out))
	if m == nil {
		return "", string(out)
	}
	return m[1], string(out)
}

// receivedProxyState returns the Proxy-State lines of the answer in
// radclient's output, in order.
func receivedProxyState(out string) []string {
	_, received, _ := strings.Cut(out, "Received Access-")
	return regexp.MustCompile(`Proxy-State = 0x[0-9a-f]*`).FindAllString(received, -1)
}

func pap(user, password string) []string {
	return []string{fmt.Sprintf("User-Name = %q", user), fmt.Sprintf("User-Password = %q", password), "Message-Authenticator = 0x00"}
}

func TestRadiusWithRadclient(t *testing.T) {
	testenv.Command(t, "radclient", "freeradius-utils")
	b := storetest.SQLite(t)
	in := newInstallation(t, b)
	in.ok("", "org", "create", "acme")
	in.ok("correct horse battery\n", "user", "add", "acme/alice", "--email", "alice@acme.example", "--password-stdin")
	serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret", "--no-email"))
	in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)
	in.ok("", "user", "add", "acme/bob")
	bobSerial, bob, _ := generator(t, in.ok("", "token", "enroll", "acme/bob", "--type", "hotp", "--show-secret", "--no-email"))
	in.ok(bob.Code(0)+"\n", "token", "activate", "acme/bob", bobSerial)

	srv := startRadiusServer(t, in)

	// Before the gateway is registered its requests go unanswered.
	if got, out := radclient(t, srv.addr, "not-registered-yet", pap("alice", hotp.Code(1))...); got != "" {
		t.Fatalf("unknown client: got %s, want no answer\n%s", got, out)
	}
	secret := strings.TrimSpace(in.ok("", "radius", "client", "add", "acme", "--name", "vpn", "--cidr", "127.0.0.1"))
	if len(secret) < 24 {
		t.Fatalf("generated secret %q, want 24 or more characters", secret)
	}
	time.Sleep(1100 * time.Millisecond) // the server reloads on a miss at most once a second

	code := hotp.Code(1)
	t.Run("the right code is accepted, with Message-Authenticator and Class", func(t *testing.T) {
		got, out := radclient(t, srv.addr, secret, pap("alice", code)...)
		if got != "Access-Accept" || !strings.Contains(out, "Message-Authenticator") || !strings.Contains(out, "Class") {
			t.Fatalf("got %q, want Access-Accept with Message-Authenticator and Class\n%s", got, out)
		}
	})
	t.Run("a replayed code is rejected", func(t *testing.T) {
		if got, out := radclient(t, srv.addr, secret, pap("alice", code)...); got != "Access-Reject" {
			t.Fatalf("got %q, want Access-Reject\n%s", got, out)
		}
	})
	t.Run("a wrong code is rejected", func(t *testing.T) {
		if got, out := radclient(t, srv.addr, secret, pap("alice", "000000")...); got != "Access-Reject" {
			t.Fatalf("got %q, want Access-Reject\n%s", got, out)
		}
	})
	t.Run("accepts and rejects echo the request's Proxy-State attributes in order", func(t *testing.T) {
		proxied := []string{"Proxy-State = 0x70726f78792d6f6e65", "Proxy-State = 0x00ff0a", "Proxy-State = 0x70726f78792d6f6e65"}
		for _, tt := range []struct{ code, want string }{{hotp.Code(2), "Access-Accept"}, {"000000", "Access-Reject"}} {
			got, out := radclient(t, srv.addr, secret, append(pap("alice", tt.code), proxied...)...)
			if got != tt.want {
				t.Fatalf("got %q, want %s\n%s", got, tt.want, out)
			}
			if echoed := receivedProxyState(out); strings.Join(echoed, ", ") != strings.Join(proxied, ", ") {
				t.Fatalf("%s carries %q, want %q\n%s", got, echoed, proxied, out)
			}
		}
	})
	t.Run("a request without Message-Authenticator is dropped", func(t *testing.T) {
		got, out := radclient(t, srv.addr, secret, `User-Name = "alice"`, fmt.Sprintf("User-Password = %q", hotp.Code(2)))
		if got != "" && !strings.Contains(out, "Sent Access-Request") {
			t.Fatalf("radclient sent nothing\n%s", out)
		}
		if got != "" && strings.Contains(out, "Message-Authenticator = 0x00") {
			t.Skip("this radclient adds a Message-Authenticator by itself")
		}
		if got != "" {
			t.Fatalf("got %q, want no answer\n%s", got, out)
		}
	})
	t.Run("a request with an invalid Message-Authenticator is dropped", func(t *testing.T) {
		if got, out := radclient(t, srv.addr, secret+"x", pap("alice", hotp.Code(2))...); got != "" {
			t.Fatalf("wrong secret: got %q, want no answer\n%s", got, out)
		}
	})
	t.Run("a locked user is rejected even with the right code", func(t *testing.T) {
		for range 5 {
			radclient(t, srv.addr, secret, pap("bob", "000000")...)
		}
		if got, out := radclient(t, srv.addr, secret, pap("bob", bob.Code(1))...); got != "Access-Reject" {
			t.Fatalf("got %q, want Access-Reject\n%s", got, out)
		}
	})
	t.Run("password, then a challenge for the code", func(t *testing.T) {
		in.ok("", "policy", "set", "acme", "radius_mode=password", "radius_attributes=Filter-Id=vpn-users")
		// The running server decodes RADIUS requests by a policy it
		// trusts for auth.PolicyFresh after reading its revision.
		time.Sleep(auth.PolicyFresh)
		got, out := radclient(t, srv.addr, secret, pap("alice", "correct horse battery")...)
		state := regexp.MustCompile(`State = (0x[0-9a-f]+)`).FindStringSubmatch(out)
		if got != "Access-Challenge" || state == nil || !strings.Contains(out, "Reply-Message") {
			t.Fatalf("got %q, want Access-Challenge with State and Reply-Message\n%s", got, out)
		}
		got, out = radclient(t, srv.addr, secret, append(pap("alice", hotp.Code(3)), "State = "+state[1])...)
		if got != "Access-Accept" || !strings.Contains(out, `Filter-Id = "vpn-users"`) {
			t.Fatalf("code after the challenge: got %q, want Access-Accept with Filter-Id\n%s", got, out)
		}
		if got, out := radclient(t, srv.addr, secret, pap("alice", "wrong password")...); got != "Access-Reject" {
			t.Fatalf("wrong password: got %q, want Access-Reject\n%s", got, out)
		}
	})
	t.Run("a challenge echoes the request's Proxy-State attributes in order", func(t *testing.T) {
		proxied := []string{"Proxy-State = 0x6f7574657231", "Proxy-State = 0x696e6e6572"}
		got, out := radclient(t, srv.addr, secret, append(pap("alice", "correct horse battery"), proxied...)...)
		if got != "Access-Challenge" {
			t.Fatalf("got %q, want Access-Challenge\n%s", got, out)
		}
		if echoed := receivedProxyState(out); strings.Join(echoed, ", ") != strings.Join(proxied, ", ") {
			t.Fatalf("the challenge carries %q, want %q\n%s", echoed, proxied, out)
		}
	})
	t.Run("the helpdesk's temporary code is accepted as often as it was issued for", func(t *testing.T) {
		in.ok("", "policy", "set", "acme", "radius_mode=code")
		// The running server decodes RADIUS requests by a policy it
		// trusts for auth.PolicyFresh after reading its revision.
		time.Sleep(auth.PolicyFresh)
		code := tempCodeRE.FindString(in.ok("", "user", "temp-code", "acme/alice"))
		if got, out := radclient(t, srv.addr, secret, pap("alice", code)...); got != "Access-Accept" {
			t.Fatalf("temporary code: got %q, want Access-Accept\n%s", got, out)
		}
		if got, out := radclient(t, srv.addr, secret, pap("alice", code)...); got != "Access-Reject" {
			t.Fatalf("temporary code used up: got %q, want Access-Reject\n%s", got, out)
		}
	})

	// Every attempt is in the audit log with the client's name.
	s := b.Open(t, clock.System{})
	org, err := s.OrgBySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.Events(context.Background(), org.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]int{}
	for _, e := range events {
		if e.Actor == "radius:vpn" && e.Source == "127.0.0.1" {
			results[e.Result]++
		}
	}
	for _, want := range []string{"accept", "replay", "bad_code", "locked", "bad_password"} {
		if results[want] == 0 {
			t.Errorf("no audit event radius:vpn from 127.0.0.1 with result %s; have %v", want, results)
		}
	}
}

// TestRadiusWithPAM logs in through Linux PAM: pam_radius_auth asks
// Twofold, driven by pamtester. It writes a PAM service file, so it needs
// root (as in CI's container).
func TestRadiusWithPAM(t *testing.T) {
	pamtester := testenv.Command(t, "pamtester", "pamtester")
	module := ""
	for _, p := range []string{"/lib/x86_64-linux-gnu/security/pam_radius_auth.so", "/usr/lib/x86_64-linux-gnu/security/pam_radius_auth.so",
		"/lib/aarch64-linux-gnu/security/pam_radius_auth.so", "/usr/lib/aarch64-linux-gnu/security/pam_radius_auth.so"} {
		if _, err := os.Stat(p); err == nil {
			module = p
			break
		}
	}
	if module == "" {
		testenv.Missing(t, "pam_radius_auth is not installed (apt-get install libpam-radius-auth)")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the PAM test writes /etc/pam.d/twofold-test and needs root")
	}
	in := newInstallation(t, storetest.SQLite(t))
	in.ok("", "org", "create", "acme")
	in.ok("", "user", "add", "acme/alice")
	serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret", "--no-email"))
	in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)
	// pam_radius_auth 2.0 sends no Message-Authenticator.
	in.ok("a-pam-test-secret-0123456789\n", "radius", "client", "add", "acme", "--name", "pam", "--cidr", "127.0.0.1",
		"--secret-stdin", "--allow-missing-message-authenticator")
	srv := startRadiusServer(t, in)

	conf := filepath.Join(t.TempDir(), "pam_radius_auth.conf")
	if err := os.WriteFile(conf, []byte(srv.addr+" a-pam-test-secret-0123456789 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	service := fmt.Sprintf("twofold-test-%d", os.Getpid())
	pamFile := filepath.Join("/etc/pam.d", service)
	if err := os.WriteFile(pamFile, []byte("auth required "+module+" conf="+conf+"\naccount required pam_permit.so\n"), 0o644); err != nil {
		testenv.Missing(t, "cannot write "+pamFile+": "+err.Error())
	}
	t.Cleanup(func() { os.Remove(pamFile) })

	login := func(code string) (bool, string) {
		cmd := exec.Command(pamtester, "-v", service, "alice", "authenticate")
		cmd.Stdin = strings.NewReader(code + "\n")
		out, err := cmd.CombinedOutput()
		return err == nil && strings.Contains(string(out), "successfully authenticated"), string(out)
	}
	code := hotp.Code(1)
	if ok, out := login(code); !ok {
		t.Fatalf("PAM login with the right code failed:\n%s", out)
	}
	if ok, out := login(code); ok {
		t.Fatalf("PAM login with a replayed code succeeded:\n%s", out)
	}
}
