package push

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"
)

// FuzzParseActivation: any input parses or is refused without panicking,
// and whatever parses is valid and encodes back to a string that parses to
// the same activation.
func FuzzParseActivation(f *testing.F) {
	f.Add(Activation{URL: "https://mfa.acme.example:8443", Code: "abcdefghijklmnop"}.String())
	f.Add(Activation{URL: "http://localhost", Code: "x"}.String())
	f.Add("T1")
	f.Add("tl00-0000")
	f.Add("T1ZZZZZZZZ")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseActivation(s)
		if err != nil {
			return
		}
		if !validCode(a.Code) || checkBaseURL(a.URL) != nil {
			t.Fatalf("ParseActivation(%q) accepted %+v", s, a)
		}
		again, err := ParseActivation(a.String())
		if err != nil || again != a {
			t.Fatalf("round trip of %+v: %+v, %v", a, again, err)
		}
	})
}

// FuzzParseActivationLink: links never panic, and what they yield is what
// the string inside them yields.
func FuzzParseActivationLink(f *testing.F) {
	a := Activation{URL: "https://mfa.acme.example:8443", Code: "abcdef"}
	f.Add(a.String())
	f.Add(a.AppLink())
	f.Add("twofold-authenticator://activate?a=" + a.String())
	f.Add("https://evil.example/app/#a=" + a.String())
	f.Add("twofold-authenticator://activate?a=%zz")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseActivationLink(s)
		if err != nil {
			return
		}
		if again, err := ParseActivation(got.String()); err != nil || again != got {
			t.Fatalf("ParseActivationLink(%q) = %+v, which does not round-trip: %+v, %v", s, got, again, err)
		}
	})
}

// FuzzParseSignature: headers never panic; what parses is well formed, and
// a signature forged from fuzzed bytes never verifies for the test key.
func FuzzParseSignature(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := DeviceKey{Public: priv.Public().(ed25519.PublicKey)}
	p256 := testP256Key(f)
	es256 := DeviceKey{Alg: AlgES256, Public: point(f, p256)}
	now := time.Unix(1_800_000_000, 0)
	f.Add(Sign(priv, "PUSHABC", "GET", "/push/v1/requests", nil, now))
	es256Header := signES256(f, p256, "PUSHABC", "GET", "/push/v1/requests", nil, now)
	es256Seed, err := ParseSignature(es256Header)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(es256Header)
	// Found by the fuzzer: the first seed's signature, spelled otherwise
	// under another serial.
	f.Add("serial=0,ts=1800000000,sig=b_Qb4elvHbemYiN1j352ahz_XnPbhIWdBy57GjrV12DdY2cGYCPULLNFi4zSOOQkoog-0DrJyJ5MbTzTVwneCg")
	f.Add("serial=P, ts=1, sig=")
	f.Add("serial=P,,ts=1")
	f.Add("ts=00, sig=AA, serial==")
	f.Fuzz(func(t *testing.T, h string) {
		s, err := ParseSignature(h)
		if err != nil {
			return
		}
		if !validSerial(s.Serial) || len(s.Sig) != ed25519.SignatureSize || s.Timestamp < 0 {
			t.Fatalf("ParseSignature(%q) accepted %+v", h, s)
		}
		// The seeds' own signatures, however the header around them is
		// spelled, and under any serial (which picks the key, and is not
		// signed), are rightly valid.
		if bytes.Equal(s.Sig, ed25519.Sign(priv, signedBytes("GET", "/push/v1/requests", s.Timestamp, nil))) {
			return
		}
		if s.Verify(pub, "GET", "/push/v1/requests", nil, time.Unix(s.Timestamp, 0)) == nil {
			t.Fatalf("a fuzzed header verifies: %q", h)
		}
		if !bytes.Equal(s.Sig, es256Seed.Sig) && s.Verify(es256, "GET", "/push/v1/requests", nil, time.Unix(s.Timestamp, 0)) == nil {
			t.Fatalf("a fuzzed header verifies for the P-256 key: %q", h)
		}
	})
}

// FuzzParseDeviceKey: any algorithm and key parse or are refused without
// panicking; what parses has a known algorithm and the length it needs,
// and verifies no signature of zeros.
func FuzzParseDeviceKey(f *testing.F) {
	f.Add("", EncodePublicKey(make([]byte, 32)))
	f.Add(AlgEd25519, "AAAA")
	f.Add(AlgES256, b64(point(f, testP256Key(f))...))
	f.Add(AlgES256, b64(append([]byte{4}, make([]byte, 64)...)...))
	f.Add("RS256", "")
	f.Fuzz(func(t *testing.T, alg, public string) {
		k, err := ParseDeviceKey(alg, public)
		if err != nil {
			return
		}
		switch {
		case k.Alg == AlgEd25519 && len(k.Public) == 32:
		case k.Alg == AlgES256 && len(k.Public) == 65 && k.Public[0] == 4:
		default:
			t.Fatalf("ParseDeviceKey(%q, %q) accepted %+v", alg, public, k)
		}
		if k.verify([]byte("message"), make([]byte, 64)) {
			t.Fatalf("%+v verifies a signature of zeros", k)
		}
	})
}

// FuzzParseSubscription: any body is stored bounded and well formed, or
// refused, without panicking.
func FuzzParseSubscription(f *testing.F) {
	f.Add([]byte(`{"endpoint":"https://push.example/x","keys":{"p256dh":"BPr5b6ZQzy3DJw8ioyh0T5mf3K5gGfOnx3VaJbUZGpiSc2lzQ5Ahdq2wjHIeYv6RfYqTUHUkp3HrDIu3mRmM8Mk","auth":"AAECAwQFBgcICQoLDA0ODw"}}`))
	f.Add([]byte(`{"endpoint":"http://push.example/x","keys":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sub, err := ParseSubscription(body, 1, time.Unix(0, 0))
		if err != nil {
			return
		}
		if len(sub.Endpoint) > maxEndpoint || len(sub.P256dh) != 65 || len(sub.Auth) != authSize || sub.TokenID != 1 {
			t.Fatalf("ParseSubscription(%q) accepted %+v", body, sub)
		}
	})
}
