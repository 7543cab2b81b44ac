package selfsigned

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testNow returns the time every test generates certificates at.
func testNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// testHosts returns the hosts tests ask for, a fresh slice each time.
func testHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// paths returns certificate and key paths in a fresh temporary directory.
func paths(t *testing.T) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	return filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
}

// mustEnsure calls Ensure and fails the test unless it creates the files.
func mustEnsure(t *testing.T, cert, key string) {
	t.Helper()
	created, err := Ensure(cert, key, testHosts(), testNow(), nil)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if !created {
		t.Fatalf("Ensure created = false, want true for a fresh directory")
	}
}

func TestEnsureGeneratesUsableCertificate(t *testing.T) {
	certFile, keyFile := paths(t)
	mustEnsure(t, certFile, keyFile)

	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("tls.LoadX509KeyPair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatalf("parsing the certificate: %v", err)
	}

	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, host := range testHosts() {
		opts := x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: testNow()}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("Verify for %s: %v, want success", host, err)
		}
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: "example.com", CurrentTime: testNow()}
	if _, err := leaf.Verify(opts); err == nil {
		t.Errorf("Verify for example.com succeeded, want failure for a host not asked for")
	}

	if want := testNow().Add(-time.Hour); !leaf.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", leaf.NotBefore, want)
	}
	if want := testNow().AddDate(0, 0, 825); !leaf.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", leaf.NotAfter, want)
	}
	if leaf.IsCA {
		t.Errorf("IsCA = true, want false: browsers refuse CA certificates as server certificates")
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key is %T, want an ECDSA P-256 key", leaf.PublicKey)
	}
}

func TestEnsureSetsModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	certFile, keyFile := paths(t)
	mustEnsure(t, certFile, keyFile)
	for _, f := range []struct {
		path string
		want os.FileMode
	}{
		{keyFile, 0o600},
		{certFile, 0o600},
	} {
		info, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != f.want {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(f.path), got, f.want)
		}
	}
}

func TestEnsureLeavesOnlyTheTwoFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	mustEnsure(t, certFile, keyFile)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := "tls.crt tls.key"; strings.Join(got, " ") != want {
		t.Errorf("directory holds %q, want %q", got, want)
	}
}

func TestEnsureLeavesExistingFilesUntouched(t *testing.T) {
	certFile, keyFile := paths(t)
	mustEnsure(t, certFile, keyFile)
	before := readAll(t, certFile, keyFile)

	created, err := Ensure(certFile, keyFile, testHosts(), testNow().Add(48*time.Hour), nil)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if created {
		t.Errorf("second Ensure created = true, want false")
	}
	after := readAll(t, certFile, keyFile)
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			t.Errorf("second Ensure changed %s", []string{certFile, keyFile}[i])
		}
	}
}

func TestEnsureRefusesHalfAPair(t *testing.T) {
	tests := []struct {
		name   string
		remove func(cert, key string) (removed, kept string)
	}{
		{"A certificate without its key", func(cert, key string) (string, string) { return key, cert }},
		{"A key without its certificate", func(cert, key string) (string, string) { return cert, key }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certFile, keyFile := paths(t)
			mustEnsure(t, certFile, keyFile)
			removed, kept := tt.remove(certFile, keyFile)
			if err := os.Remove(removed); err != nil {
				t.Fatal(err)
			}
			before := readAll(t, kept)

			created, err := Ensure(certFile, keyFile, testHosts(), testNow(), nil)
			if err == nil || !strings.Contains(err.Error(), removed) || !strings.Contains(err.Error(), "missing") {
				t.Errorf("Ensure error = %v, want one saying %s is missing", err, removed)
			}
			if created {
				t.Errorf("Ensure created = true, want false")
			}
			if _, err := os.Stat(removed); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Ensure recreated %s (stat error %v), want it left missing", removed, err)
			}
			if after := readAll(t, kept); !bytes.Equal(before[0], after[0]) {
				t.Errorf("Ensure changed %s, want it untouched", kept)
			}
		})
	}
}

func TestEnsureRefusesBadHosts(t *testing.T) {
	tests := []struct {
		name  string
		hosts []string
	}{
		{"No hosts at all", nil},
		{"A host with a port", []string{"localhost:8443"}},
		{"An empty host", []string{"localhost", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certFile, keyFile := paths(t)
			if _, err := Ensure(certFile, keyFile, tt.hosts, testNow(), nil); err == nil {
				t.Errorf("Ensure(hosts %q) succeeded, want an error", tt.hosts)
			}
			assertAbsent(t, certFile, keyFile)
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestEnsureWritesNothingWhenGenerationFails(t *testing.T) {
	certFile, keyFile := paths(t)
	if _, err := Ensure(certFile, keyFile, testHosts(), testNow(), failingReader{}); err == nil {
		t.Fatalf("Ensure with a failing random source succeeded, want an error")
	}
	assertAbsent(t, certFile, keyFile)
}

func TestFingerprint(t *testing.T) {
	certFile, keyFile := paths(t)
	mustEnsure(t, certFile, keyFile)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pair.Certificate[0])
	want := strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum[:]), " ", ":"))

	got, err := Fingerprint(certFile)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	if got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(got) {
		t.Errorf("Fingerprint = %s, want 32 colon-separated upper-case hex bytes", got)
	}

	t.Run("The first certificate counts when other blocks come before it", func(t *testing.T) {
		both := filepath.Join(t.TempDir(), "both.pem")
		data := readAll(t, keyFile, certFile)
		if err := os.WriteFile(both, append(data[0], data[1]...), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := Fingerprint(both); err != nil || got != want {
			t.Errorf("Fingerprint = %s, %v, want %s, nil", got, err, want)
		}
	})
	t.Run("A file with no certificate is an error", func(t *testing.T) {
		if got, err := Fingerprint(keyFile); err == nil {
			t.Errorf("Fingerprint of a key file = %s, want an error", got)
		}
	})
	t.Run("A missing file is an error", func(t *testing.T) {
		if got, err := Fingerprint(filepath.Join(t.TempDir(), "absent.crt")); err == nil {
			t.Errorf("Fingerprint of a missing file = %s, want an error", got)
		}
	})
}

// readAll returns the contents of each file.
func readAll(t *testing.T, files ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// assertAbsent fails the test if any of files exists.
func assertAbsent(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (stat error %v), want it absent", f, err)
		}
	}
}
