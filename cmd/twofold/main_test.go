package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer that serve's goroutine and the test can share.
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

// installation runs twofold commands against one data directory and database.
type installation struct {
	t   *testing.T
	env map[string]string
}

func newInstallation(t *testing.T, b storetest.Backend) *installation {
	dsn := b.DSN
	if b.Driver == "sqlite" {
		dsn = "sqlite:" + dsn
	}
	return &installation{t: t, env: map[string]string{
		"TWOFOLD_DATA_DIR":     t.TempDir(),
		"TWOFOLD_DATABASE_URL": dsn,
		"TWOFOLD_HTTP_ADDR":    "127.0.0.1:0",
		"TWOFOLD_RADIUS_ADDR":  "127.0.0.1:0",
		"TWOFOLD_METRICS_ADDR": "127.0.0.1:0",
		"TWOFOLD_LOG_LEVEL":    "warn",
	}}
}

// run runs one command line with stdin and returns its exit status and output.
func (in *installation) run(stdin string, args ...string) (code int, stdout, stderr string) {
	in.t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return in.env[k] })
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed.
func (in *installation) ok(stdin string, args ...string) string {
	in.t.Helper()
	code, out, errs := in.run(stdin, args...)
	if code != 0 {
		in.t.Fatalf("twofold %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// generator reads the otpauth URI printed by token enroll --show-secret.
func generator(t *testing.T, out string) (serial string, g *otp.Generator, k otp.Key) {
	t.Helper()
	uri := regexp.MustCompile(`otpauth://\S+`).FindString(out)
	serial = regexp.MustCompile(`token (\S+) to`).FindStringSubmatch(out)[1]
	k, err := otp.ParseURI(uri)
	if err != nil {
		t.Fatalf("parse %q: %v", uri, err)
	}
	if g, err = otp.NewGenerator(k.Secret, k.Algorithm, k.Digits); err != nil {
		t.Fatal(err)
	}
	return serial, g, k
}

func TestOperatorFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme", "--name", "Acme Corp")
		in.ok("correct horse battery\n", "user", "add", "acme/Alice", "--email", "alice@acme.example", "--password-stdin")

		// A TOTP token, activated with the code of the current step.
		out := in.ok("", "token", "enroll", "acme/alice", "--type", "totp", "--show-secret")
		if !strings.Contains(out, "/enroll?code=") {
			t.Fatalf("enroll printed no enrollment link:\n%s", out)
		}
		totpSerial, totp, key := generator(t, out)
		if key.Issuer != "Acme Corp" || key.Account != "alice" {
			t.Fatalf("otpauth URI names %q/%q, want Acme Corp/alice", key.Issuer, key.Account)
		}
		in.ok(totp.Code(uint64(otp.Step(time.Now(), 30*time.Second)))+"\n", "token", "activate", "acme/alice", totpSerial)

		// An HOTP token: counters do not depend on the clock, so the
		// checks below can use fresh codes without waiting.
		hotpSerial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret"))
		in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", hotpSerial)

		if out := in.ok(hotp.Code(1)+"\n", "check", "acme/alice"); out != "accept\n" {
			t.Fatalf("check printed %q, want accept", out)
		}
		if code, out, _ := in.run(hotp.Code(1)+"\n", "check", "acme/alice"); code != 1 || out != "reject\n" {
			t.Fatalf("replayed code: exit %d %q, want 1 and reject", code, out)
		}
		if out := in.ok("correct horse battery\n"+hotp.Code(2)+"\n", "check", "--password-stdin", "acme/ALICE"); out != "accept\n" {
			t.Fatalf("check with password printed %q, want accept", out)
		}
		if code, _, errs := in.run(hotp.Code(3)+"\n", "check", "nosuch/alice"); code != 2 || !strings.Contains(errs, "no organization") {
			t.Fatalf("unknown organization: exit %d %q, want 2 and a clear message", code, errs)
		}

		in.ok("", "token", "suspend", "acme/alice", hotpSerial)
		if code, _, _ := in.run(hotp.Code(3)+"\n", "check", "acme/alice"); code != 1 {
			t.Fatalf("suspended token: exit %d, want 1", code)
		}
		in.ok("", "token", "resume", "acme/alice", hotpSerial)

		list := in.ok("", "token", "list", "acme/alice")
		for _, want := range []string{totpSerial, hotpSerial, "active", "totp", "hotp"} {
			if !strings.Contains(list, want) {
				t.Errorf("token list lacks %q:\n%s", want, list)
			}
		}

		// Rotating the master key re-seals both secrets; codes still work.
		if out := in.ok("", "keys", "rotate"); !strings.Contains(out, "re-sealed 2 secrets with key 2") {
			t.Fatalf("keys rotate printed %q", out)
		}
		if out := in.ok(hotp.Code(4)+"\n", "check", "acme/alice"); out != "accept\n" {
			t.Fatalf("check after rotation printed %q, want accept", out)
		}

		// Bad input gets a clear error and a non-zero exit.
		for _, args := range [][]string{
			{"org", "create", "Not A Slug"},
			{"org", "create", "acme"},
			{"org", "create", "evil", "--name", "Evil\r\nCorp"},
			{"user", "add", "acme/alice"},
			{"user", "add", "alice"},
			{"user", "add", "acme/bob", "--email", "not-an-address"},
			{"token", "enroll", "acme/alice", "--type", "sms"},
			{"token", "revoke", "acme/alice", "NOSUCHSERIAL"},
			{"apikey", "create", "acme"},
		} {
			if code, _, errs := in.run("", args...); code != 1 || !strings.HasPrefix(errs, "twofold: ") {
				t.Errorf("twofold %s: exit %d, stderr %q; want 1 and a message", strings.Join(args, " "), code, errs)
			}
		}

		// The server answers the API with a key made by the CLI.
		apiKey := strings.TrimSpace(in.ok("", "apikey", "create", "acme", "--name", "portal"))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve"}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return in.env[k] })
		}()
		base := waitForServer(t, &stdout, &stderr)
		client := trusting(t, filepath.Join(in.env["TWOFOLD_DATA_DIR"], "tls.crt"))

		resp, err := client.Get(base + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /readyz: %v %v", resp, err)
		}
		resp.Body.Close()
		body := `{"username": "alice", "code": "` + hotp.Code(5) + `"}`
		req, _ := http.NewRequest("POST", base+"/api/v1/validate", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct{ Result string }
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if answer.Result != "accept" {
			t.Fatalf("POST /api/v1/validate: %d %+v, want accept", resp.StatusCode, answer)
		}

		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("serve exited %d after shutdown; stderr: %s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
		}
	})
}

// waitForServer reads the address serve prints.
func waitForServer(t *testing.T, stdout, stderr *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`running at (https://localhost:\d+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("serve did not start\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	return ""
}

// trusting returns a client that trusts only the given certificate.
func trusting(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestFirstStartCreatesDataDirectory(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	dir := filepath.Join(t.TempDir(), "twofold-data")
	in.env["TWOFOLD_DATA_DIR"] = dir
	delete(in.env, "TWOFOLD_DATABASE_URL")
	code, _, errs := in.run("", "migrate")
	if code != 0 || !strings.Contains(errs, "no data directory at "+dir+": creating it, with a new SQLite database "+filepath.Join(dir, "twofold.db")) ||
		!strings.Contains(errs, "--data-dir or TWOFOLD_DATA_DIR") {
		t.Fatalf("first run: exit %d, stderr:\n%s\nwant it to say which database it creates, and the setting for another", code, errs)
	}
	if _, _, errs := in.run("", "migrate"); strings.Contains(errs, "creating") {
		t.Errorf("second run says again it creates the data directory:\n%s", errs)
	}
	for name, mode := range map[string]os.FileMode{"master.key": 0o600, "twofold.db": 0o600} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s was not created: %v", name, err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", name, st.Mode().Perm(), mode)
		}
	}
}

func TestExplicitMasterKeyFileMustExist(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	in.env["TWOFOLD_MASTER_KEY_FILE"] = filepath.Join(t.TempDir(), "missing.key")
	if code, _, errs := in.run("", "migrate"); code != 1 || !strings.Contains(errs, "does not exist") {
		t.Fatalf("missing explicit key file: exit %d, %q; want 1 and a clear message", code, errs)
	}
}

// codeNotAmong returns a code that g gives for none of the counters 0 to n-1.
func codeNotAmong(g *otp.Generator, n uint64) string {
	used := map[string]bool{}
	for c := range n {
		used[g.Code(c)] = true
	}
	for i := 0; ; i++ {
		if code := fmt.Sprintf("%06d", i); !used[code] {
			return code
		}
	}
}

func TestUnlockAndResync(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret"))
		in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)
		check := func(code string) (int, string, string) {
			t.Helper()
			return in.run(code+"\n", "check", "acme/alice")
		}

		// Five wrong codes use up the allowance and lock alice.
		wrong := codeNotAmong(hotp, 100)
		for i := range 5 {
			if code, out, _ := check(wrong); code != 1 || out != "reject\n" {
				t.Fatalf("wrong code %d: exit %d %q, want 1 and reject", i+1, code, out)
			}
		}
		if code, out, errs := check(hotp.Code(1)); code != 1 || out != "reject\n" || !strings.Contains(errs, "user locked") {
			t.Fatalf("right code while locked: exit %d %q %q, want 1, reject and the reason user locked", code, out, errs)
		}
		if list := in.ok("", "token", "list", "acme/alice"); !strings.Contains(list, "acme/alice is locked until") ||
			!strings.Contains(list, "after 5 failed attempts (twofold token unlock acme/alice)") {
			t.Fatalf("token list does not mention the lock:\n%s", list)
		}

		if out := in.ok("", "token", "unlock", "acme/alice"); out != "acme/alice unlocked\n" {
			t.Fatalf("token unlock printed %q, want %q", out, "acme/alice unlocked\n")
		}
		if list := in.ok("", "token", "list", "acme/alice"); strings.Contains(list, "locked") {
			t.Fatalf("token list still mentions a lock after unlock:\n%s", list)
		}
		if code, out, errs := check(hotp.Code(1)); code != 0 || out != "accept\n" {
			t.Fatalf("right code after unlock: exit %d %q %q, want 0 and accept", code, out, errs)
		}

		// The token ran ahead beyond the look-ahead of 10 counters: its
		// code is refused until two consecutive codes bring it back.
		if code, _, errs := check(hotp.Code(30)); code != 1 || !strings.Contains(errs, "wrong code") {
			t.Fatalf("code of counter 30, 29 ahead: exit %d %q, want 1 and wrong code", code, errs)
		}
		if out := in.ok(hotp.Code(30)+"\n"+hotp.Code(31)+"\n", "token", "resync", "acme/alice"); out != serial+" is back in step\n" {
			t.Fatalf("token resync printed %q, want %q", out, serial+" is back in step\n")
		}
		if code, out, errs := check(hotp.Code(32)); code != 0 || out != "accept\n" {
			t.Fatalf("code after resync: exit %d %q %q, want 0 and accept", code, out, errs)
		}

		// Two codes that are not consecutive are refused and change nothing.
		code, out, errs := in.run(hotp.Code(34)+"\n"+hotp.Code(36)+"\n", "token", "resync", "acme/alice", serial)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "twofold: ") || !strings.Contains(errs, "two consecutive codes") {
			t.Fatalf("resync with codes 34 and 36: exit %d, stdout %q, stderr %q; want 1 and a message asking for consecutive codes", code, out, errs)
		}
		if code, out, errs := check(hotp.Code(33)); code != 0 || out != "accept\n" {
			t.Fatalf("next code after a refused resync: exit %d %q %q, want 0 and accept", code, out, errs)
		}
	})
}

func TestEnrollmentLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice", "--email", "alice@acme.example")
		out := in.ok("", "token", "enroll", "acme/alice")
		link := regexp.MustCompile(`https://\S+/enroll\?code=\S+`).FindString(out)
		if link == "" || !strings.Contains(out, "mailed to alice@acme.example") {
			t.Fatalf("enroll printed no link or did not mail it:\n%s", out)
		}
		mails, _ := filepath.Glob(filepath.Join(in.env["TWOFOLD_DATA_DIR"], "outbox", "*.eml"))
		if len(mails) != 1 {
			t.Fatalf("%d mails in the outbox, want the invitation", len(mails))
		}
		// The code is base32, which quoted-printable leaves alone but for soft line breaks.
		code := link[strings.Index(link, "code=")+len("code="):]
		if raw, _ := os.ReadFile(mails[0]); !strings.Contains(strings.ReplaceAll(string(raw), "=\r\n", ""), code) {
			t.Errorf("the invitation does not hold the link's code %s", code)
		}

		out = in.ok("", "token", "resend", "acme/alice", "--no-email")
		if again := regexp.MustCompile(`https://\S+/enroll\?code=\S+`).FindString(out); again == "" || again == link {
			t.Fatalf("resend printed %q, want a new link", out)
		}
		if out := in.ok("", "token", "extend", "acme/alice", "--for", "24h"); !strings.Contains(out, "now works until") {
			t.Fatalf("extend printed %q", out)
		}
		if out := in.ok("", "token", "cancel", "acme/alice"); !strings.Contains(out, "no longer works") {
			t.Fatalf("cancel printed %q", out)
		}
		if code, _, errs := in.run("", "token", "extend", "acme/alice"); code != 1 || !strings.Contains(errs, "no pending enrollment link") {
			t.Fatalf("extend after cancel: exit %d %q, want a clear refusal", code, errs)
		}
		in.ok("", "user", "add", "acme/bob")
		if out := in.ok("", "token", "enroll", "acme/bob"); !strings.Contains(out, "has no email address") {
			t.Fatalf("enroll for a user without email printed %q", out)
		}
	})
}

func TestUserDisableEnableResetMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		serial, hotp, _ := generator(t, in.ok("", "token", "enroll", "acme/alice", "--type", "hotp", "--show-secret"))
		in.ok(hotp.Code(0)+"\n", "token", "activate", "acme/alice", serial)
		backup := strings.Fields(in.ok("", "user", "backup-codes", "acme/alice"))
		if out := in.ok(backup[1]+"\n", "check", "acme/alice"); out != "accept\n" {
			t.Fatalf("backup code: %q, want accept", out)
		}

		next := uint64(1) // the HOTP counter of alice's next code
		for _, step := range []struct {
			args           []string
			exit           int
			stdout, stderr string // what the output must hold
			accepted       bool   // whether alice's next code is accepted afterwards
		}{
			{[]string{"user", "disable", "acme/Alice"}, 0, "acme/alice disabled and signed out everywhere", "", false},
			{[]string{"user", "disable", "acme/alice"}, 1, "", "user acme/alice is disabled already", false},
			{[]string{"user", "enable", "acme/alice"}, 0, "acme/alice enabled", "", true},
			{[]string{"user", "enable", "acme/alice"}, 1, "", "user acme/alice is active already", true},
			{[]string{"user", "disable", "acme/nobody"}, 1, "", `no user "nobody"`, true},
			{[]string{"user", "reset-mfa", "nosuch/alice"}, 1, "", `no organization "nosuch"`, true},
			{[]string{"user", "reset-mfa", "acme/alice"}, 0, "MFA of acme/alice reset (tokens revoked: 1)", "", false},
		} {
			code, out, errs := in.run("", step.args...)
			if code != step.exit || !strings.Contains(out, step.stdout) || !strings.Contains(errs, step.stderr) {
				t.Fatalf("twofold %s: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					strings.Join(step.args, " "), code, out, errs, step.exit, step.stdout, step.stderr)
			}
			code, out, _ = in.run(hotp.Code(next)+"\n", "check", "acme/alice")
			if accepted := code == 0 && out == "accept\n"; accepted != step.accepted {
				t.Fatalf("after twofold %s: code accepted %v, want %v", strings.Join(step.args, " "), accepted, step.accepted)
			} else if accepted {
				next++
			}
		}
		if list := in.ok("", "token", "list", "acme/alice"); !strings.Contains(list, "revoked") {
			t.Errorf("token list after reset-mfa shows no revoked token:\n%s", list)
		}
		if code, out, _ := in.run(backup[0]+"\n", "check", "acme/alice"); code != 1 || out != "reject\n" {
			t.Errorf("backup code after reset-mfa: exit %d %q, want 1 and reject", code, out)
		}
	})
}

func TestUnknownCommandsFailWithAHint(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	for _, tt := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"an unknown command", []string{"frobnicate"}, `twofold has no command "frobnicate"; run "twofold --help"`},
		{"a typo is answered with the command meant", []string{"tokn"}, `did you mean "twofold token"?`},
		{"an unknown subcommand", []string{"user", "frobnicate"}, `twofold user has no command "frobnicate"; run "twofold user --help"`},
		{"a typo in a subcommand", []string{"token", "enrol", "acme/alice"}, `did you mean "twofold token enroll"?`},
		{"a group without its command", []string{"token"}, "twofold token needs a command"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := in.run("", tt.args...)
			if code == 0 || !strings.Contains(errs, tt.want) {
				t.Fatalf("twofold %s: exit %d, stderr:\n%s\nwant non-zero and %q", strings.Join(tt.args, " "), code, errs, tt.want)
			}
		})
	}
}

func TestHelpShowsTheCommandsFlagsFirstAndOnlyTheSettingsThatMatter(t *testing.T) {
	in := newInstallation(t, storetest.SQLite(t))
	for _, tt := range []struct {
		name    string
		args    []string
		want    []string // in this order
		wantNot []string
	}{
		{"a command's own flags come first, then where the installation is",
			[]string{"user", "add", "--help"},
			[]string{"Flags:", "--email", "--password-stdin", "Settings", "--data-dir", "--database-url", "--master-key-file"},
			[]string{"--http-addr", "--radius-addr", "--tls-cert", "--smtp-url", "Global Flags"}},
		{"a command that mails lists the mail settings",
			[]string{"token", "enroll", "--help"},
			[]string{"Flags:", "--type", "Settings", "--data-dir", "--public-url", "--smtp-url"},
			[]string{"--http-addr", "--radius-addr"}},
		{"serve lists every server setting",
			[]string{"serve", "--help"},
			[]string{"Settings", "--data-dir", "--http-addr", "--metrics-addr", "--radius-addr", "--smtp-url", "--tls-cert"}, nil},
		{"a group lists its commands and no settings",
			[]string{"user", "--help"},
			[]string{"Available Commands:", "add", "passwd"},
			[]string{"--data-dir", "--http-addr"}},
		{"the root points to serve for the settings",
			[]string{"--help"},
			[]string{"Available Commands:", "serve", `"twofold serve --help"`},
			[]string{"--http-addr", "--data-dir"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := in.run("", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("help lacks %q after the earlier parts:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("help shows %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestPublicURLMismatch(t *testing.T) {
	addr := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tt := range []struct {
		name, publicURL, listen string
		plain                   bool
		want                    string // in the warning; "" for none
	}{
		{"the default agrees with the default", "https://localhost:8443", "[::]:8443", false, ""},
		{"a proxy's port 443 is not 8443", "https://mfa.acme.example", "[::]:8443", false, "its port 443 is not the port Twofold listens on (8443)"},
		{"443 agrees with 443", "https://mfa.acme.example", "0.0.0.0:443", false, ""},
		{"another port", "https://localhost:8443", "127.0.0.1:9443", false, "its port 8443 is not the port Twofold listens on (9443)"},
		{"http:// while serving HTTPS", "http://localhost:8443", "[::]:8443", false, "it says http://"},
		{"an address literal that is not the one listened on", "https://192.0.2.10:8443", "127.0.0.1:8443", false, "its host 192.0.2.10 is not the address"},
		{"a name when only loopback is listened on", "https://mfa.acme.example:8443", "127.0.0.1:8443", false, "listens only on the loopback address 127.0.0.1"},
		{"localhost when only another address is listened on", "https://localhost:8443", "192.0.2.10:8443", false, "localhost does not reach"},
		{"behind a TLS-terminating proxy nothing is said", "https://mfa.acme.example", "127.0.0.1:8080", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := publicURLMismatch(tt.publicURL, addr(tt.listen), tt.plain)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("publicURLMismatch(%s, %s) = %q, want %q", tt.publicURL, tt.listen, got, tt.want)
			}
		})
	}
}
