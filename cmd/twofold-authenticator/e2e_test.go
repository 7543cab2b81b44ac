package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// binary is the app built once for the tests that run it as a process.
var binary struct {
	path string
	err  error
	done bool
}

// build builds the real binary into a temporary directory, once per test
// run.
func build(t *testing.T) string {
	t.Helper()
	if !binary.done {
		binary.done = true
		dir, err := os.MkdirTemp("", "twofold-authenticator-test")
		if err != nil {
			t.Fatal(err)
		}
		binary.path = filepath.Join(dir, "twofold-authenticator")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = err
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

// proc runs the binary on one store.
type proc struct {
	t     *testing.T
	bin   string
	store string
}

func newProc(t *testing.T) *proc {
	return &proc{t: t, bin: build(t), store: filepath.Join(t.TempDir(), "config", "tokens")}
}

// run runs the binary with stdin and returns its exit status and output.
func (p *proc) run(stdin string, args ...string) (code int, stdout, stderr string) {
	p.t.Helper()
	return testenv.Run(p.t, p.bin, []string{storeEnv + "=" + p.store}, stdin, args...)
}

func (p *proc) ok(stdin string, args ...string) string {
	p.t.Helper()
	code, out, errs := p.run(stdin, args...)
	if code != 0 {
		p.t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

func (p *proc) fails(stdin, want string, args ...string) {
	p.t.Helper()
	code, out, errs := p.run(stdin, args...)
	if code == 0 || !strings.Contains(errs, want) {
		p.t.Fatalf("%v: exit %d, stderr %q; want a failure saying %q (stdout %q)", args, code, errs, want, out)
	}
}

const testSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// oathtoolCode asks oathtool for the TOTP code now, and reports the step it
// was computed in.
func oathtoolCode(t *testing.T, tool string) (string, int64) {
	t.Helper()
	step := otp.Step(time.Now(), 30*time.Second)
	out, err := exec.Command(tool, "--totp", "-b", testSecret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out)), step
}

func TestImportedTOTPCodeMatchesOathtool(t *testing.T) {
	tool := testenv.Command(t, "oathtool", "oathtool")
	p := newProc(t)
	// Interactive: the URI on stdin, the suggested name taken, a PIN twice.
	p.ok("otpauth://totp/Acme:alice?secret="+testSecret+"&issuer=Acme\n\n4711\n4711\n", "import", "-")
	for attempt := 0; ; attempt++ {
		before := otp.Step(time.Now(), 30*time.Second)
		got := strings.TrimSpace(p.ok("4711\n", "code", "Acme:alice", "--pin-stdin"))
		want, after := oathtoolCode(t, tool)
		if before != after {
			// The code changed between the two; ask again.
			if attempt < 3 {
				continue
			}
			t.Fatal("the time step kept changing between the app and oathtool")
		}
		if got != want {
			t.Fatalf("code = %q, oathtool says %q", got, want)
		}
		break
	}
}

func TestImportedHOTPCounterMovesOn(t *testing.T) {
	tool := testenv.Command(t, "oathtool", "oathtool")
	p := newProc(t)
	p.ok("", "import", "otpauth://hotp/bank?secret="+testSecret+"&counter=7", "--name", "bank", "--no-pin")
	for _, counter := range []string{"7", "8"} {
		got := strings.TrimSpace(p.ok("", "code", "bank"))
		want, err := exec.Command(tool, "-c", counter, "-b", testSecret).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got != strings.TrimSpace(string(want)) {
			t.Fatalf("code at counter %s = %q, oathtool says %q", counter, got, want)
		}
	}
}

func TestWrongPINsWipeTheTokenAtTheLimit(t *testing.T) {
	p := newProc(t)
	p.ok("4711\n", "import", "otpauth://totp/Acme:alice?secret="+testSecret, "--name", "work", "--pin-stdin")
	for left := 4; left >= 1; left-- {
		p.fails("0000\n", "more wrong PIN(s) wipe the token", "code", "work", "--pin-stdin")
	}
	// The right PIN still works before the limit and resets the count.
	p.ok("4711\n", "code", "work", "--pin-stdin")
	for range 4 {
		p.fails("0000\n", "wipe the token", "code", "work", "--pin-stdin")
	}
	p.fails("0000\n", "the token has been wiped", "code", "work", "--pin-stdin")
	p.fails("4711\n", "no such token", "code", "work", "--pin-stdin")
	if out := p.ok("", "list"); strings.Contains(out, "work") {
		t.Fatalf("list after the wipe:\n%s", out)
	}
}

func TestListRenameRemove(t *testing.T) {
	p := newProc(t)
	p.ok("", "import", "otpauth://totp/Acme:alice?secret="+testSecret+"&issuer=Acme", "--name", "acme", "--no-pin")
	p.ok("4711\n", "import", "otpauth://totp/bob?secret="+testSecret, "--name", "other", "--pin-stdin")
	list := p.ok("", "list")
	for _, want := range []string{"NAME", "acme", "alice", "Acme", "totp", "other", "bob"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	p.fails("", "which token", "code")
	p.fails("", "exists already", "import", "otpauth://totp/x?secret="+testSecret, "--name", "acme", "--no-pin")
	p.fails("", "exists", "rename", "acme", "other")
	p.ok("", "rename", "acme", "work")
	p.fails("", "no such token", "code", "acme")
	p.ok("", "code", "work")

	p.fails("n\n", "nothing removed", "remove", "work")
	p.ok("y\n", "remove", "work")
	p.ok("", "remove", "other", "--yes")
	p.fails("", "no tokens", "code")

	st, err := os.Stat(p.store)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("store mode %v, want 0600", st.Mode().Perm())
	}
}

func TestClearErrors(t *testing.T) {
	p := newProc(t)
	for _, tc := range []struct {
		name, stdin, want string
		args              []string
	}{
		{"an activation string for import says to use enroll", "", "use enroll", []string{"import", "T1AB-CDEF", "--no-pin"}},
		{"an otpauth URI for enroll is refused", "", "not a Twofold activation", []string{"enroll", "otpauth://totp/x?secret=" + testSecret}},
		{"a mistyped activation string is caught by its check", "", "check it against the invitation", []string{"enroll", "T1AB-CDEF-GHJK"}},
		{"code with nothing stored says how to add", "", "enroll", []string{"code"}},
		{"a damaged store says what to do", "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args == nil {
				if err := os.MkdirAll(filepath.Dir(p.store), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p.store, []byte("{"), 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(p.store)
				p.fails("", "restore it from a backup", "list")
				return
			}
			p.fails(tc.stdin, tc.want, tc.args...)
		})
	}
}
