package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/testenv"
)

// fastKDF keeps tests quick; the parameters are stored per token, so the
// code paths are the same as with DefaultKDF.
var fastKDF = KDF{Time: 1, Memory: 64, Threads: 1}

func newVault(t *testing.T) *Vault {
	t.Helper()
	return &Vault{
		Path: filepath.Join(t.TempDir(), "twofold-authenticator", "tokens"),
		KDF:  fastKDF,
		Now:  func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) },
	}
}

func totpToken(name string) Token {
	return Token{Name: name, Type: "totp", Issuer: "Acme", Account: "alice", Algorithm: otp.SHA1, Digits: 6, Period: 30}
}

var secrets = Secrets{OTP: []byte("12345678901234567890"), DeviceKey: bytes.Repeat([]byte{7}, 32)}

func add(t *testing.T, v *Vault, name, pin string) Token {
	t.Helper()
	tok, err := v.Add(totpToken(name), secrets, pin)
	if err != nil {
		t.Fatalf("Add(%q): %v", name, err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, pin string
	}{
		{"a token with a PIN opens with it", "4711"},
		{"a token without a PIN opens without one", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVault(t)
			added := add(t, v, "work", tc.pin)
			tok, s, err := v.Open("work", tc.pin)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(s.OTP, secrets.OTP) || !bytes.Equal(s.DeviceKey, secrets.DeviceKey) {
				t.Errorf("secrets = %+v, want %+v", s, secrets)
			}
			if tok.ID != added.ID || tok.Issuer != "Acme" || tok.Period != 30 || tok.HasPIN() != (tc.pin != "") {
				t.Errorf("token = %+v", tok)
			}
			if !tok.Added.Equal(v.Now()) {
				t.Errorf("added %v, want %v", tok.Added, v.Now())
			}
		})
	}
}

func TestSecretsAreNotInTheFileInTheClearUnderAPIN(t *testing.T) {
	v := newVault(t)
	add(t, v, "work", "4711")
	data, err := os.ReadFile(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{secrets.OTP, secrets.DeviceKey} {
		if bytes.Contains(data, b) || strings.Contains(string(data), otp.EncodeSecret(b)) {
			t.Fatalf("the file holds a secret in the clear:\n%s", data)
		}
	}
}

func TestOpenWithoutPINWhenOneIsSetIsRefusedWithoutCounting(t *testing.T) {
	v := newVault(t)
	add(t, v, "work", "4711")
	if _, _, err := v.Open("work", ""); !errors.Is(err, ErrNeedPIN) {
		t.Fatalf("Open without PIN: %v, want ErrNeedPIN", err)
	}
	if tok, _ := v.Get("work"); tok.PINFailures != 0 {
		t.Errorf("failures = %d, want 0", tok.PINFailures)
	}
}

func TestWrongPINsAreCountedAndWipeAtTheLimit(t *testing.T) {
	v := newVault(t)
	tok := totpToken("work")
	tok.PINLimit = 3
	if _, err := v.Add(tok, secrets, "4711"); err != nil {
		t.Fatal(err)
	}
	add(t, v, "other", "1234")

	wrong := func(wantLeft int) {
		t.Helper()
		_, _, err := v.Open("work", "0000")
		var wp *WrongPINError
		if !errors.As(err, &wp) || wp.Left != wantLeft {
			t.Fatalf("Open with a wrong PIN: %v, want %d left", err, wantLeft)
		}
	}
	wrong(2)
	// A right PIN resets the count.
	if _, _, err := v.Open("work", "4711"); err != nil {
		t.Fatalf("Open with the right PIN: %v", err)
	}
	if got, _ := v.Get("work"); got.PINFailures != 0 {
		t.Fatalf("failures after a right PIN = %d, want 0", got.PINFailures)
	}
	wrong(2)
	wrong(1)
	wrong(0)
	if _, err := v.Get("work"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the limit: Get = %v, want ErrNotFound (wiped)", err)
	}
	if _, _, err := v.Open("work", "4711"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the right PIN after the wipe: %v, want ErrNotFound", err)
	}
	if _, _, err := v.Open("other", "1234"); err != nil {
		t.Fatalf("the other token: %v", err)
	}
	data, _ := os.ReadFile(v.Path)
	if bytes.Contains(data, []byte(`"work"`)) {
		t.Errorf("the wiped token is still in the file:\n%s", data)
	}
}

func TestDefaultPINLimit(t *testing.T) {
	v := newVault(t)
	if tok := add(t, v, "work", "4711"); tok.PINLimit != DefaultPINLimit {
		t.Errorf("limit = %d, want %d", tok.PINLimit, DefaultPINLimit)
	}
}

func TestSealedSecretsMovedToAnotherTokenDoNotOpen(t *testing.T) {
	v := newVault(t)
	add(t, v, "a", "4711")
	add(t, v, "b", "4711")
	f, err := v.read()
	if err != nil {
		t.Fatal(err)
	}
	f.Tokens[1].Sealed, f.Tokens[1].KDF = f.Tokens[0].Sealed, f.Tokens[0].KDF
	err = v.update(func(g *file) error { *g = *f; return nil })
	if err != nil {
		t.Fatal(err)
	}
	var wp *WrongPINError
	if _, _, err := v.Open("b", "4711"); !errors.As(err, &wp) {
		t.Fatalf("Open = %v, want a refusal", err)
	}
}

func TestNamesAndCounter(t *testing.T) {
	v := newVault(t)
	add(t, v, "a", "")
	add(t, v, "b", "")
	if _, err := v.Add(totpToken("a"), secrets, ""); !errors.Is(err, ErrExists) {
		t.Errorf("adding a second a: %v, want ErrExists", err)
	}
	if err := v.Rename("a", "b"); !errors.Is(err, ErrExists) {
		t.Errorf("renaming a to b: %v, want ErrExists", err)
	}
	if err := v.Rename("a", "c"); err != nil {
		t.Fatal(err)
	}
	if err := v.Rename("a", "d"); !errors.Is(err, ErrNotFound) {
		t.Errorf("renaming the old name: %v, want ErrNotFound", err)
	}
	if err := v.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if err := v.Remove("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing b twice: %v, want ErrNotFound", err)
	}
	toks, err := v.Tokens()
	if err != nil || len(toks) != 1 || toks[0].Name != "c" {
		t.Fatalf("tokens = %+v, %v; want only c", toks, err)
	}

	h := totpToken("h")
	h.Type, h.Period, h.Counter = "hotp", 0, 41
	if _, err := v.Add(h, secrets, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{41, 42, 43} {
		if c, err := v.NextCounter("h"); err != nil || c != want {
			t.Fatalf("NextCounter = %d, %v; want %d", c, err, want)
		}
	}
	if _, err := v.NextCounter("c"); err == nil {
		t.Error("NextCounter of a totp token succeeded")
	}
}

func TestConcurrentChangesAreNotLost(t *testing.T) {
	v := newVault(t)
	h := totpToken("h")
	h.Type, h.Period = "hotp", 0
	if _, err := v.Add(h, secrets, ""); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := v.NextCounter("h"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if tok, _ := v.Get("h"); tok.Counter != n {
		t.Errorf("counter = %d after %d increments", tok.Counter, n)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes say nothing about access on Windows")
	}
	testenv.Umask(t, 0)
	v := newVault(t)
	add(t, v, "a", "")
	for path, want := range map[string]os.FileMode{filepath.Dir(v.Path): 0o700 | os.ModeDir, v.Path: 0o600, v.Path + ".lock": 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode(), want)
		}
	}
}

func TestWriteIsAtomic(t *testing.T) {
	v := newVault(t)
	add(t, v, "a", "")
	before, _ := os.ReadFile(v.Path)
	// A change that fails leaves the file as it was and no temporary file.
	boom := errors.New("boom")
	err := v.update(func(f *file) error {
		f.Tokens = nil
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update = %v", err)
	}
	after, _ := os.ReadFile(v.Path)
	if !bytes.Equal(before, after) {
		t.Error("a failed change altered the file")
	}
	// A write replaces the file by rename: a handle opened before still
	// reads the old, whole content.
	old, err := os.Open(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	add(t, v, "b", "")
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(old); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), before) {
		t.Error("the file was rewritten in place, not replaced")
	}
	entries, _ := os.ReadDir(filepath.Dir(v.Path))
	for _, e := range entries {
		if e.Name() != "tokens" && e.Name() != "tokens.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestCorruptFileGivesAClearError(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"truncated JSON", `{"version": 1, "tok`, "damaged"},
		{"another format version", `{"version": 2, "tokens": []}`, "format version 2"},
		{"an unknown field", `{"version": 1, "tokens": [], "x": 1}`, "damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVault(t)
			if err := os.MkdirAll(filepath.Dir(v.Path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(v.Path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := v.Tokens()
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "backup") {
				t.Fatalf("Tokens = %v, want a CorruptError saying %q and what to do", err, tc.want)
			}
			if _, err := v.Add(totpToken("a"), secrets, ""); !errors.As(err, &ce) {
				t.Fatalf("Add over a damaged file = %v, want a CorruptError", err)
			}
		})
	}
}

func TestAMissingFileHoldsNoTokens(t *testing.T) {
	toks, err := newVault(t).Tokens()
	if err != nil || len(toks) != 0 {
		t.Fatalf("Tokens = %v, %v", toks, err)
	}
}
