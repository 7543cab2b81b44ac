package push

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testKey is a fixed device key, so failures are reproducible.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+seed)), ed25519.SeedSize)))
}

func TestSignVerify(t *testing.T) {
	priv := testKey(0)
	pub := DeviceKey{Public: priv.Public().(ed25519.PublicKey)}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"decision":"approve","number":42}`)
	h := Sign(priv, "PUSHABC", "POST", "/push/v1/requests/r1", body, now)

	s, err := ParseSignature(h)
	if err != nil {
		t.Fatalf("ParseSignature(%q): %v", h, err)
	}
	if s.Serial != "PUSHABC" || s.Timestamp != now.Unix() {
		t.Errorf("ParseSignature(%q) = %+v", h, s)
	}
	for _, tc := range []struct {
		name        string
		pub         DeviceKey
		method, uri string
		body        []byte
		at          time.Time
		want        error
	}{
		{"right", pub, "POST", "/push/v1/requests/r1", body, now, nil},
		{"late within skew", pub, "POST", "/push/v1/requests/r1", body, now.Add(MaxSkew), nil},
		{"early within skew", pub, "POST", "/push/v1/requests/r1", body, now.Add(-MaxSkew), nil},
		{"stale", pub, "POST", "/push/v1/requests/r1", body, now.Add(MaxSkew + time.Second), ErrSignatureStale},
		{"from the future", pub, "POST", "/push/v1/requests/r1", body, now.Add(-MaxSkew - time.Second), ErrSignatureStale},
		{"named Ed25519", DeviceKey{Alg: AlgEd25519, Public: pub.Public}, "POST", "/push/v1/requests/r1", body, now, nil},
		{"other key", DeviceKey{Public: testKey(1).Public().(ed25519.PublicKey)}, "POST", "/push/v1/requests/r1", body, now, ErrSignatureBad},
		{"short key", DeviceKey{Public: pub.Public[:31]}, "POST", "/push/v1/requests/r1", body, now, ErrSignatureBad},
		{"the key registered as ES256", DeviceKey{Alg: AlgES256, Public: pub.Public}, "POST", "/push/v1/requests/r1", body, now, ErrSignatureBad},
		{"an unknown algorithm", DeviceKey{Alg: "RS256", Public: pub.Public}, "POST", "/push/v1/requests/r1", body, now, ErrSignatureBad},
		{"other method", pub, "GET", "/push/v1/requests/r1", body, now, ErrSignatureBad},
		{"other request id", pub, "POST", "/push/v1/requests/r2", body, now, ErrSignatureBad},
		{"query added", pub, "POST", "/push/v1/requests/r1?wait=5", body, now, ErrSignatureBad},
		{"tampered body", pub, "POST", "/push/v1/requests/r1", []byte(`{"decision":"approve","number":43}`), now, ErrSignatureBad},
		{"no body", pub, "POST", "/push/v1/requests/r1", nil, now, ErrSignatureBad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Verify(tc.pub, tc.method, tc.uri, tc.body, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSignatureOtherTimestampRefused(t *testing.T) {
	// The timestamp is signed: moving it to look fresh breaks the signature.
	priv := testKey(0)
	now := time.Unix(1_800_000_000, 0)
	s, err := ParseSignature(Sign(priv, "P", "GET", "/push/v1/requests", nil, now))
	if err != nil {
		t.Fatal(err)
	}
	s.Timestamp += 120
	if err := s.Verify(DeviceKey{Public: priv.Public().(ed25519.PublicKey)}, "GET", "/push/v1/requests", nil, now.Add(120*time.Second)); !errors.Is(err, ErrSignatureBad) {
		t.Errorf("Verify with a moved timestamp = %v", err)
	}
}

func TestParseSignatureRefusals(t *testing.T) {
	sig := strings.Repeat("A", 86) // 64 zero bytes in unpadded base64url
	for _, tc := range []struct {
		name, in string
	}{
		{"empty", ""},
		{"missing sig", "serial=P, ts=1"},
		{"missing ts", "serial=P, sig=" + sig},
		{"missing serial", "ts=1, sig=" + sig},
		{"twice", "serial=P, serial=P, ts=1, sig=" + sig},
		{"unknown field", "serial=P, ts=1, sig=" + sig + ", x=1"},
		{"empty serial", "serial=, ts=1, sig=" + sig},
		{"serial with a space", "serial=P Q, ts=1, sig=" + sig},
		{"negative ts", "serial=P, ts=-1, sig=" + sig},
		{"leading zero ts", "serial=P, ts=01, sig=" + sig},
		{"plus ts", "serial=P, ts=+1, sig=" + sig},
		{"huge ts", "serial=P, ts=99999999999999999999, sig=" + sig},
		{"short sig", "serial=P, ts=1, sig=" + sig[:80]},
		{"padded sig", "serial=P, ts=1, sig=" + sig + "=="},
		{"standard base64 sig", "serial=P, ts=1, sig=" + strings.Repeat("+", 86)},
		{"no equals", "serial=P, ts=1, sig"},
		{"too long", "serial=" + strings.Repeat("P", maxSignatureLen) + ", ts=1, sig=" + sig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := ParseSignature(tc.in); !errors.Is(err, ErrSignatureFormat) {
				t.Errorf("ParseSignature(%q) = %+v, %v", tc.in, s, err)
			}
		})
	}
	if _, err := ParseSignature("ts=1,sig=" + sig + ",serial=P"); err != nil {
		t.Errorf("fields in another order, without spaces: %v", err)
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	pub := testKey(0).Public().(ed25519.PublicKey)
	for _, alg := range []string{"", AlgEd25519} {
		got, err := ParseDeviceKey(alg, EncodePublicKey(pub))
		if err != nil || got.Alg != AlgEd25519 || !pub.Equal(ed25519.PublicKey(got.Public)) {
			t.Errorf("round trip with alg %q = %+v, %v", alg, got, err)
		}
	}
	p256 := testP256Key(t)
	pointB64 := b64(point(t, p256)...)
	if got, err := ParseDeviceKey(AlgES256, pointB64); err != nil || got.Alg != AlgES256 || len(got.Public) != 65 {
		t.Errorf("ES256 key = %+v, %v", got, err)
	}
	offCurve := point(t, p256)
	offCurve[64] ^= 1
	for _, tc := range []struct{ name, alg, key string }{
		{"empty", "", ""},
		{"short Ed25519", "", EncodePublicKey(pub[:31])},
		{"padded", "", EncodePublicKey(pub) + "="},
		{"standard base64", "", strings.Repeat("/", 43)},
		{"a P-256 point without alg", "", pointB64},
		{"an Ed25519 key as ES256", AlgES256, EncodePublicKey(pub)},
		{"a point off the curve", AlgES256, b64(offCurve...)},
		{"a compressed point", AlgES256, b64(append([]byte{2 + point(t, p256)[64]&1}, point(t, p256)[1:33]...)...)},
		{"an unknown algorithm", "RS256", EncodePublicKey(pub)},
		{"the algorithm in lower case", "es256", pointB64},
	} {
		if _, err := ParseDeviceKey(tc.alg, tc.key); !errors.Is(err, ErrPublicKey) {
			t.Errorf("%s: ParseDeviceKey(%q, %q) = %v, want ErrPublicKey", tc.name, tc.alg, tc.key, err)
		}
	}
}

// testP256Key is a new P-256 device key, as WebCrypto makes one.
func testP256Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// point is k's public key as WebCrypto exports it ("raw"): uncompressed.
func point(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(b ...byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signES256 makes the header a browser makes with WebCrypto's ECDSA:
// the signature r || s, 32 bytes each.
func signES256(t testing.TB, k *ecdsa.PrivateKey, serial, method, uri string, body []byte, now time.Time) string {
	t.Helper()
	digest := sha256.Sum256(signedBytes(method, uri, now.Unix(), body))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return "serial=" + serial + ", ts=" + strconv.FormatInt(now.Unix(), 10) + ", sig=" + b64(sig...)
}

func TestES256SignatureVerifies(t *testing.T) {
	k := testP256Key(t)
	key, err := ParseDeviceKey(AlgES256, b64(point(t, k)...))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"decision":"approve","number":42}`)
	s, err := ParseSignature(signES256(t, k, "PUSHABC", "POST", "/push/v1/requests/r1", body, now))
	if err != nil {
		t.Fatal(err)
	}
	other := testP256Key(t)
	asn1, err := ecdsa.SignASN1(rand.Reader, k, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  DeviceKey
		uri  string
		body []byte
		sig  []byte
		want error
	}{
		{"right", key, "/push/v1/requests/r1", body, s.Sig, nil},
		{"other key", DeviceKey{Alg: AlgES256, Public: point(t, other)}, "/push/v1/requests/r1", body, s.Sig, ErrSignatureBad},
		{"the key taken for Ed25519", DeviceKey{Alg: AlgEd25519, Public: key.Public}, "/push/v1/requests/r1", body, s.Sig, ErrSignatureBad},
		{"other request id", key, "/push/v1/requests/r2", body, s.Sig, ErrSignatureBad},
		{"tampered body", key, "/push/v1/requests/r1", []byte(`{"decision":"approve","number":43}`), s.Sig, ErrSignatureBad},
		{"r and s swapped", key, "/push/v1/requests/r1", body, append(append([]byte{}, s.Sig[32:]...), s.Sig[:32]...), ErrSignatureBad},
		{"ASN.1 instead of r || s", key, "/push/v1/requests/r1", body, asn1, ErrSignatureBad},
		{"zero", key, "/push/v1/requests/r1", body, make([]byte, 64), ErrSignatureBad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Signature{Serial: s.Serial, Timestamp: s.Timestamp, Sig: tc.sig}
			if err := got.Verify(tc.key, "POST", tc.uri, tc.body, now); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
