package push

import (
	"crypto/ed25519"
	"errors"
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
	pub := priv.Public().(ed25519.PublicKey)
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
		pub         ed25519.PublicKey
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
		{"other key", testKey(1).Public().(ed25519.PublicKey), "POST", "/push/v1/requests/r1", body, now, ErrSignatureBad},
		{"short key", pub[:31], "POST", "/push/v1/requests/r1", body, now, ErrSignatureBad},
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
	if err := s.Verify(priv.Public().(ed25519.PublicKey), "GET", "/push/v1/requests", nil, now.Add(120*time.Second)); !errors.Is(err, ErrSignatureBad) {
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
	got, err := DecodePublicKey(EncodePublicKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Errorf("round trip = %x, %v", got, err)
	}
	for _, bad := range []string{"", EncodePublicKey(pub[:31]), EncodePublicKey(pub) + "=", strings.Repeat("/", 43)} {
		if _, err := DecodePublicKey(bad); !errors.Is(err, ErrPublicKey) {
			t.Errorf("DecodePublicKey(%q) = %v", bad, err)
		}
	}
}
