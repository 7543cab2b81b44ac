package secret

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

// detRand returns a deterministic random source for tests.
func detRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

// testKeys returns n distinct deterministic 32-byte keys.
func testKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = bytes.Repeat([]byte{byte(i + 1)}, keySize)
	}
	return keys
}

func newTestKeyring(t testing.TB, n int) *Keyring {
	t.Helper()
	k, err := NewKeyring(testKeys(n), detRand(1))
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func mustSeal(t testing.TB, k *Keyring, plaintext, ad []byte) []byte {
	t.Helper()
	sealed, err := k.Seal(plaintext, ad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

// wantOpenFails checks that Open refuses sealed with an error wrapping ErrOpen.
func wantOpenFails(t *testing.T, k *Keyring, sealed, ad []byte) {
	t.Helper()
	got, err := k.Open(sealed, ad)
	if !errors.Is(err, ErrOpen) {
		t.Fatalf("Open = %x, %v; want error wrapping ErrOpen", got, err)
	}
	if got != nil {
		t.Fatalf("Open returned %x alongside its error; want nil", got)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := newTestKeyring(t, 1)
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"a TOTP secret bound to its row opens", []byte("12345678901234567890"), []byte("tokens.secret:42")},
		{"an empty plaintext opens", nil, []byte("tokens.secret:42")},
		{"empty additional data opens with empty additional data", []byte("radius shared secret"), nil},
		{"a long plaintext opens", bytes.Repeat([]byte("x"), 4096), []byte("ad")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := mustSeal(t, k, tt.plaintext, tt.ad)
			if got, want := len(sealed), overhead+len(tt.plaintext); got != want {
				t.Errorf("len(sealed) = %d, want %d", got, want)
			}
			if bytes.Contains(sealed, tt.plaintext) && len(tt.plaintext) > 4 {
				t.Errorf("sealed value contains the plaintext")
			}
			got, err := k.Open(sealed, tt.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestSealedFormat(t *testing.T) {
	k := newTestKeyring(t, 3)
	sealed := mustSeal(t, k, []byte("secret"), []byte("ad"))
	if sealed[0] != 1 {
		t.Errorf("version byte = %d, want 1", sealed[0])
	}
	if got, want := binary.BigEndian.Uint32(sealed[1:5]), uint32(3); got != want {
		t.Errorf("key id in header = %d, want %d", got, want)
	}
	again := mustSeal(t, k, []byte("secret"), []byte("ad"))
	if bytes.Equal(sealed[5:17], again[5:17]) {
		t.Errorf("two seals used the same nonce %x", sealed[5:17])
	}
}

func TestSealIsDeterministicGivenItsRandomSource(t *testing.T) {
	seal := func() []byte {
		k, err := NewKeyring(testKeys(1), detRand(7))
		if err != nil {
			t.Fatal(err)
		}
		return mustSeal(t, k, []byte("secret"), []byte("ad"))
	}
	if a, b := seal(), seal(); !bytes.Equal(a, b) {
		t.Fatalf("same random source sealed differently:\n%x\n%x", a, b)
	}
}

func TestSealReportsRandomSourceFailure(t *testing.T) {
	k, err := NewKeyring(testKeys(1), strings.NewReader("short"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Seal([]byte("secret"), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Seal error = %v, want one wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	k := newTestKeyring(t, 2)
	rowA := []byte("tokens.secret:1")
	rowB := []byte("tokens.secret:2")
	sealed := mustSeal(t, k, []byte("JBSWY3DPEHPK3PXP"), rowA)
	other, err := NewKeyring([][]byte{bytes.Repeat([]byte{0xee}, keySize), bytes.Repeat([]byte{0xff}, keySize)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	withVersion := func(v byte) []byte {
		b := bytes.Clone(sealed)
		b[0] = v
		return b
	}
	withKeyID := func(id uint32) []byte {
		b := bytes.Clone(sealed)
		binary.BigEndian.PutUint32(b[1:5], id)
		return b
	}
	tests := []struct {
		name   string
		k      *Keyring
		sealed []byte
		ad     []byte
	}{
		{"a value sealed for row A and copied to row B", k, sealed, rowB},
		{"a value opened with no additional data", k, sealed, nil},
		{"a value opened under a keyring with other keys of the same ids", other, sealed, rowA},
		{"a value naming a key id the keyring lacks", k, withKeyID(9), rowA},
		{"a value naming key id 0", k, withKeyID(0), rowA},
		{"a value relabelled to the other key of the keyring", k, withKeyID(1), rowA},
		{"a value with an unknown version", k, withVersion(2), rowA},
		{"a value with version 0", k, withVersion(0), rowA},
		{"nil", k, nil, rowA},
		{"a header and nonce without a tag", k, sealed[:headerSize+nonceSize], rowA},
		{"anything opened with the zero Keyring", &Keyring{}, sealed, rowA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOpenFails(t, tt.k, tt.sealed, tt.ad)
		})
	}
}

func TestOpenErrorNamesMissingKey(t *testing.T) {
	sealed := mustSeal(t, newTestKeyring(t, 3), []byte("secret"), nil)
	_, err := newTestKeyring(t, 2).Open(sealed, nil)
	if !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), "key 3") {
		t.Fatalf("Open error = %v, want ErrOpen naming key 3", err)
	}
}

func TestOpenRefusesEveryAlteredByte(t *testing.T) {
	k := newTestKeyring(t, 1)
	ad := []byte("tokens.secret:1")
	sealed := mustSeal(t, k, []byte("JBSWY3DPEHPK3PXP"), ad)
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(sealed)
			b[i] ^= mask
			wantOpenFails(t, k, b, ad)
		}
	}
}

func TestOpenRefusesEveryTruncationAndExtension(t *testing.T) {
	k := newTestKeyring(t, 1)
	ad := []byte("tokens.secret:1")
	sealed := mustSeal(t, k, []byte("JBSWY3DPEHPK3PXP"), ad)
	for n := range len(sealed) {
		wantOpenFails(t, k, sealed[:n], ad)
	}
	wantOpenFails(t, k, append(bytes.Clone(sealed), 0), ad)
}

func TestOpenDoesNotAliasInput(t *testing.T) {
	k := newTestKeyring(t, 1)
	sealed := mustSeal(t, k, []byte("secret"), nil)
	got, err := k.Open(sealed, nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(sealed)
	if string(got) != "secret" {
		t.Fatalf("after clearing the sealed value, plaintext = %q, want %q", got, "secret")
	}
}

// rotation returns a keyring of one key and the keyring it became after
// n-1 rotations.
func rotation(t *testing.T, n int) (old, rotated *Keyring) {
	t.Helper()
	keys := testKeys(n)
	old, err := NewKeyring(keys[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if rotated, err = NewKeyring(keys, nil); err != nil {
		t.Fatal(err)
	}
	return old, rotated
}

func TestOlderKeysOpenAndNewestSeals(t *testing.T) {
	old, rotated := rotation(t, 3)
	v1 := mustSeal(t, old, []byte("secret"), []byte("ad"))
	got, err := rotated.Open(v1, []byte("ad"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("rotated.Open(value sealed under key 1) = %q, %v; want %q, nil", got, err, "secret")
	}
	if got, want := rotated.NewestID(), uint32(3); got != want {
		t.Errorf("NewestID = %d, want %d", got, want)
	}
	v3 := mustSeal(t, rotated, []byte("secret"), []byte("ad"))
	if rotated.Current(v1) {
		t.Errorf("Current(value sealed under key 1) = true, want false")
	}
	if !rotated.Current(v3) {
		t.Errorf("Current(value sealed under key 3) = false, want true")
	}
	wantOpenFails(t, old, v3, []byte("ad"))
}

func TestCurrent(t *testing.T) {
	k := newTestKeyring(t, 2)
	sealed := mustSeal(t, k, []byte("secret"), nil)
	relabelled := bytes.Clone(sealed)
	relabelled[4] = 1
	badVersion := bytes.Clone(sealed)
	badVersion[0] = 2
	tests := []struct {
		name   string
		k      *Keyring
		sealed []byte
		want   bool
	}{
		{"a value sealed under the newest key is current", k, sealed, true},
		{"a value sealed under an older key is not current", k, relabelled, false},
		{"a value of another version is not current", k, badVersion, false},
		{"a truncated value is not current", k, sealed[:overhead-1], false},
		{"nil is not current", k, nil, false},
		{"nothing is current for the zero Keyring", &Keyring{}, sealed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.k.Current(tt.sealed); got != tt.want {
				t.Fatalf("Current = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	tests := []struct {
		name    string
		keys    [][]byte
		wantErr string
	}{
		{"no keys", nil, "at least one key"},
		{"a 16-byte key", [][]byte{make([]byte, 16)}, "key 1 is 16 bytes, want 32"},
		{"a short second key", [][]byte{make([]byte, 32), make([]byte, 31)}, "key 2 is 31 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKeyring(tt.keys, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewKeyring = %v, %v; want error containing %q", k, err, tt.wantErr)
			}
		})
	}
}

func TestZeroKeyringDoesNotSeal(t *testing.T) {
	var k Keyring
	if _, err := k.Seal([]byte("secret"), nil); err == nil {
		t.Fatal("Seal with the zero Keyring succeeded, want an error")
	}
}

func TestKeyringIsSafeForConcurrentUse(t *testing.T) {
	k, err := NewKeyring(testKeys(2), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			ad := []byte{byte(g)}
			for range 100 {
				sealed, err := k.Seal([]byte("secret"), ad)
				if err != nil {
					done <- err
					return
				}
				if got, err := k.Open(sealed, ad); err != nil || string(got) != "secret" {
					done <- fmt.Errorf("Open = %q, %v; want %q, nil", got, err, "secret")
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	k, err := NewKeyring(testKeys(2), detRand(3))
	if err != nil {
		f.Fatal(err)
	}
	ad := []byte("tokens.secret:1")
	valid := mustSeal(f, k, []byte("JBSWY3DPEHPK3PXP"), ad)
	f.Add(valid, ad)
	f.Add(valid, []byte("tokens.secret:2"))
	f.Add(valid[:len(valid)-1], ad)
	f.Add(valid[:overhead], ad)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 0, 0, 0, 1}, ad)
	f.Fuzz(func(t *testing.T, sealed, ad2 []byte) {
		got, err := k.Open(sealed, ad2)
		k.Current(sealed)
		if err == nil {
			// Only the one value this test sealed may open; anything else
			// would be a forgery.
			if !bytes.Equal(sealed, valid) || !bytes.Equal(ad2, ad) {
				t.Fatalf("Open(%x, %q) = %q, nil; want ErrOpen", sealed, ad2, got)
			}
			return
		}
		if !errors.Is(err, ErrOpen) {
			t.Fatalf("Open error = %v, want one wrapping ErrOpen", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	k, err := NewKeyring(testKeys(2), nil) // crypto/rand, as in production
	if err != nil {
		b.Fatal(err)
	}
	plaintext := make([]byte, 20) // a TOTP secret
	ad := []byte("tokens.secret:12345")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(plaintext, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newTestKeyring(b, 2)
	ad := []byte("tokens.secret:12345")
	sealed := mustSeal(b, k, make([]byte, 20), ad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMAC(t *testing.T) {
	k1, _ := NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32)}, nil)
	k1again, _ := NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32)}, nil)
	k2, _ := NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, nil)
	a, b := k1.MAC([]byte("123456")), k1again.MAC([]byte("123456"))
	if !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("the same key and code give %x and %x, want the same 32 bytes", a, b)
	}
	if bytes.Equal(a, k1.MAC([]byte("123457"))) {
		t.Fatal("two codes give one MAC")
	}
	if bytes.Equal(a, k2.MAC([]byte("123456"))) {
		t.Fatal("a rotated keyring gives the old MAC")
	}
	if bytes.Equal(a, sha256Sum("123456")) {
		t.Fatal("the MAC is a plain hash")
	}
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Reseal moves a value to another place, and to the newest key: it opens
// there only, and a value that does not open where it is said to be is
// refused, with nothing sealed.
func TestReseal(t *testing.T) {
	old, rotated := rotation(t, 2)
	v1 := mustSeal(t, old, []byte("secret"), []byte("from"))
	moved, err := rotated.Reseal(v1, []byte("from"), []byte("to"))
	if err != nil {
		t.Fatalf("Reseal: %v", err)
	}
	if got, err := rotated.Open(moved, []byte("to")); err != nil || string(got) != "secret" || !rotated.Current(moved) {
		t.Errorf("the resealed value opens as %q, %v (current %v); want %q under the newest key", got, err, rotated.Current(moved), "secret")
	}
	wantOpenFails(t, rotated, moved, []byte("from"))
	if got, err := rotated.Reseal(v1, []byte("elsewhere"), []byte("to")); !errors.Is(err, ErrOpen) || got != nil {
		t.Errorf("Reseal from the wrong place = %x, %v; want nothing and ErrOpen", got, err)
	}
}
