package otp

import (
	"bytes"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestURIRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		key  Key
	}{
		{"a totp key with the defaults survives", Key{
			Type: "totp", Issuer: "Twofold", Account: "alice",
			Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second,
		}},
		{"an issuer with spaces and an account with '@' survive", Key{
			Type: "totp", Issuer: "ACME Co Bank", Account: "alice@example.com",
			Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second,
		}},
		{"an account with a colon after the issuer survives", Key{
			Type: "totp", Issuer: "ACME Co", Account: "corp:alice@example.com",
			Secret: seedSHA256, Algorithm: SHA256, Digits: 8, Period: 60 * time.Second,
		}},
		{"characters that URIs reserve survive", Key{
			Type: "totp", Issuer: "A&B /?#%+= Ltd", Account: "bob+tag/x?y#z%&=",
			Secret: seedSHA512, Algorithm: SHA512, Digits: 7, Period: 15 * time.Second,
		}},
		{"non-ASCII names survive", Key{
			Type: "totp", Issuer: "Bücher GmbH", Account: "jürgen@bücher.de",
			Secret: []byte{0}, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second,
		}},
		{"a key without an issuer survives", Key{
			Type: "totp", Account: "alice@example.com",
			Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second,
		}},
		{"an hotp key with its counter survives", Key{
			Type: "hotp", Issuer: "ACME Co", Account: "alice:work@example.com",
			Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Counter: 42,
		}},
		{"an hotp key at counter zero survives", Key{
			Type: "hotp", Issuer: "ACME Co", Account: "alice",
			Secret: seedSHA1, Algorithm: SHA256, Digits: 8, Counter: 0,
		}},
		{"the largest counter survives", Key{
			Type: "hotp", Issuer: "ACME Co", Account: "alice",
			Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Counter: ^uint64(0),
		}},
	}
	for _, tt := range tests {
		uri := tt.key.URI()
		got, err := ParseURI(uri)
		if err != nil {
			t.Errorf("%s: ParseURI(%s): %v", tt.name, uri, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.key) {
			t.Errorf("%s: ParseURI(%s)\n got %+v\nwant %+v", tt.name, uri, got, tt.key)
		}
	}
}

func TestURIHasTheFormAppsImport(t *testing.T) {
	k := Key{
		Type: "totp", Issuer: "ACME Co", Account: "alice@example.com",
		Secret: []byte("hello"), Algorithm: SHA1, Digits: 6, Period: 30 * time.Second,
	}
	const want = "otpauth://totp/ACME%20Co:alice@example.com?secret=NBSWY3DP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
	if got := k.URI(); got != want {
		t.Errorf("URI() =\n%s\nwant\n%s", got, want)
	}

	k.Secret = seedSHA512[:11] // padded Base32 would end in "======"
	uri := k.URI()
	for _, part := range []string{"/ACME%20Co:", "&issuer=ACME%20Co&"} {
		if !strings.Contains(uri, part) {
			t.Errorf("URI() = %s, want it to contain %s", uri, part)
		}
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("url.Parse(%s): %v", uri, err)
	}
	if secret := u.Query().Get("secret"); strings.Contains(secret, "=") || secret != strings.ToUpper(secret) {
		t.Errorf("URI() secret = %q, want upper-case Base32 without '=' padding", secret)
	}
}

func TestURIHotpCarriesCounterNotPeriod(t *testing.T) {
	k := Key{Type: "hotp", Issuer: "ACME", Account: "alice", Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Counter: 7, Period: 30 * time.Second}
	uri := k.URI()
	if !strings.Contains(uri, "&counter=7") || strings.Contains(uri, "period=") {
		t.Errorf("URI() = %s, want counter=7 and no period", uri)
	}
}

func TestURIWritesDefaultsForZeroFields(t *testing.T) {
	k := Key{Type: "totp", Issuer: "ACME", Account: "alice", Secret: seedSHA1}
	const want = "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME&algorithm=SHA1&digits=6&period=30"
	if got := k.URI(); got != want {
		t.Errorf("URI() =\n%s\nwant\n%s", got, want)
	}
}

func TestParseURIAcceptsWhatAppsAndProvidersWrite(t *testing.T) {
	secret := []byte("hello")
	tests := []struct {
		name string
		uri  string
		want Key
	}{
		{"the example of the Key URI format is read",
			"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: "totp", Issuer: "Example", Account: "alice@google.com", Secret: []byte("Hello!\xde\xad\xbe\xef"), Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"missing parameters take the defaults",
			"otpauth://totp/alice?secret=NBSWY3DP",
			Key{Type: "totp", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"an issuer only in the parameter is used",
			"otpauth://totp/alice?secret=NBSWY3DP&issuer=ACME+Co",
			Key{Type: "totp", Issuer: "ACME Co", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"a percent-encoded colon separates the issuer",
			"otpauth://totp/ACME%20Co%3Aalice?secret=NBSWY3DP",
			Key{Type: "totp", Issuer: "ACME Co", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"spaces after the colon are dropped",
			"otpauth://totp/ACME%20Co:%20%20alice?secret=NBSWY3DP",
			Key{Type: "totp", Issuer: "ACME Co", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"a lower-case secret is read",
			"otpauth://totp/alice?secret=nbswy3dp",
			Key{Type: "totp", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"a hyphenated algorithm and an upper-case type are read",
			"otpauth://TOTP/alice?secret=NBSWY3DP&algorithm=sha-256&digits=8&period=60",
			Key{Type: "totp", Account: "alice", Secret: secret, Algorithm: SHA256, Digits: 8, Period: 60 * time.Second}},
		{"unknown parameters are ignored",
			"otpauth://totp/alice?secret=NBSWY3DP&image=https%3A%2F%2Fexample.com%2Flogo.png",
			Key{Type: "totp", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Period: 30 * time.Second}},
		{"an hotp URI has no period",
			"otpauth://hotp/alice?secret=NBSWY3DP&counter=3&period=60",
			Key{Type: "hotp", Account: "alice", Secret: secret, Algorithm: SHA1, Digits: 6, Counter: 3}},
	}
	for _, tt := range tests {
		got, err := ParseURI(tt.uri)
		if err != nil {
			t.Errorf("%s: ParseURI(%s): %v", tt.name, tt.uri, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseURI(%s)\n got %+v\nwant %+v", tt.name, tt.uri, got, tt.want)
		}
	}
}

func TestParseURIRefusesGarbage(t *testing.T) {
	tests := []struct {
		name string
		uri  string
	}{
		{"the empty string is refused", ""},
		{"another scheme is refused", "https://totp/alice?secret=NBSWY3DP"},
		{"the opaque form is refused", "otpauth:totp/alice?secret=NBSWY3DP"},
		{"user information is refused", "otpauth://eve@totp/alice?secret=NBSWY3DP"},
		{"a type other than totp or hotp is refused", "otpauth://motp/alice?secret=NBSWY3DP"},
		{"a port after the type is refused", "otpauth://totp:80/alice?secret=NBSWY3DP"},
		{"a missing label is refused", "otpauth://totp?secret=NBSWY3DP"},
		{"an empty account is refused", "otpauth://totp/ACME:?secret=NBSWY3DP"},
		{"an empty issuer before the colon is refused", "otpauth://totp/:alice?secret=NBSWY3DP"},
		{"a missing secret is refused", "otpauth://totp/alice"},
		{"an empty secret is refused", "otpauth://totp/alice?secret="},
		{"a secret that is not Base32 is refused", "otpauth://totp/alice?secret=NBSWY3D1"},
		{"a secret of impossible length is refused", "otpauth://totp/alice?secret=NBS"},
		{"a repeated secret is refused", "otpauth://totp/alice?secret=NBSWY3DP&secret=JBSWY3DP"},
		{"an unknown algorithm is refused", "otpauth://totp/alice?secret=NBSWY3DP&algorithm=MD5"},
		{"five digits are refused", "otpauth://totp/alice?secret=NBSWY3DP&digits=5"},
		{"nine digits are refused", "otpauth://totp/alice?secret=NBSWY3DP&digits=9"},
		{"non-numeric digits are refused", "otpauth://totp/alice?secret=NBSWY3DP&digits=six"},
		{"a zero period is refused", "otpauth://totp/alice?secret=NBSWY3DP&period=0"},
		{"a negative period is refused", "otpauth://totp/alice?secret=NBSWY3DP&period=-30"},
		{"a period over 300 seconds is refused", "otpauth://totp/alice?secret=NBSWY3DP&period=301"},
		{"a huge period is refused", "otpauth://totp/alice?secret=NBSWY3DP&period=99999999999999999999"},
		{"a period that overflows a Duration into range is refused", "otpauth://totp/alice?secret=NBSWY3DP&period=18446744075"},
		{"an hotp URI without a counter is refused", "otpauth://hotp/alice?secret=NBSWY3DP"},
		{"a negative counter is refused", "otpauth://hotp/alice?secret=NBSWY3DP&counter=-1"},
		{"a counter beyond 64 bits is refused", "otpauth://hotp/alice?secret=NBSWY3DP&counter=18446744073709551616"},
		{"an issuer parameter that disagrees with the label is refused", "otpauth://totp/ACME:alice?secret=NBSWY3DP&issuer=Evil"},
		{"an empty issuer parameter with a label prefix is refused", "otpauth://totp/ACME:alice?secret=NBSWY3DP&issuer="},
		{"an issuer parameter with a colon is refused", "otpauth://totp/alice?secret=NBSWY3DP&issuer=A:B"},
		{"a control character in the account is refused", "otpauth://totp/ACME:alice%0A?secret=NBSWY3DP"},
		{"invalid UTF-8 in the issuer is refused", "otpauth://totp/alice?secret=NBSWY3DP&issuer=%FF"},
		{"a bad escape in the query is refused", "otpauth://totp/alice?secret=NBSWY3DP&issuer=%zz"},
		{"a semicolon in the query is refused", "otpauth://totp/alice?secret=NBSWY3DP;digits=8"},
	}
	for _, tt := range tests {
		if k, err := ParseURI(tt.uri); err == nil {
			t.Errorf("%s: ParseURI(%q) = %+v, want an error", tt.name, tt.uri, k)
		}
	}
}

func TestParseURIErrorsDoNotRepeatTheSecret(t *testing.T) {
	const secret = "NBSWY3DPNBSWY3DP"
	for _, uri := range []string{
		"otpauth://totp/alice%zz?secret=" + secret,
		"otpauth://totp/alice?secret=" + secret + "1",
		"otpauth://totp/alice?secret=" + secret + "&digits=9",
	} {
		_, err := ParseURI(uri)
		if err == nil {
			t.Errorf("ParseURI(%q) succeeded, want an error", uri)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURI(%q) error %q repeats the secret", uri, err)
		}
	}
}

func TestSecretEncoding(t *testing.T) {
	secret := seedSHA512[:11]
	const enc = "GEZDGNBVGY3TQOJQGE"
	if got := EncodeSecret(secret); got != enc {
		t.Errorf("EncodeSecret = %q, want %q", got, enc)
	}
	if got, want := GroupSecret(secret), "GEZD GNBV GY3T QOJQ GE"; got != want {
		t.Errorf("GroupSecret = %q, want %q", got, want)
	}
	if got, want := GroupSecret([]byte("hello")), "NBSW Y3DP"; got != want {
		t.Errorf("GroupSecret = %q, want %q", got, want)
	}

	for _, typed := range []string{
		enc,
		strings.ToLower(enc),
		enc + "======",
		"GEZD GNBV GY3T QOJQ GE",
		"  gezd gnbv gy3t qojq ge ======  ",
	} {
		got, err := DecodeSecret(typed)
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("DecodeSecret(%q) = %x, %v; want %x, nil", typed, got, err, secret)
		}
	}
	for _, typed := range []string{"", "   ", "====", "GEZ", "GEZDGN", "GEZDGNBVG", "GEZDG1", "GE=ZD", "ＧＥＺＤＧＮＢＶ", "ſEZDGNBV"} {
		if got, err := DecodeSecret(typed); err == nil {
			t.Errorf("DecodeSecret(%q) = %x, nil; want an error", typed, got)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/ACME%20Co:alice@example.com?secret=NBSWY3DP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
		"otpauth://hotp/ACME:alice?secret=NBSWY3DP&counter=18446744073709551615&digits=8&algorithm=SHA512",
		"otpauth://totp/alice?secret=nbswy3dp====&issuer=ACME+Co",
		"otpauth://totp/ACME%3A%20alice?secret=NBSWY3DP",
		"otpauth://TOTP/a:b:c?secret=NBSWY3DP&period=300",
		"otpauth://totp/%20alice?secret=NBSWY3DP&issuer=X",
		"otpauth://totp/alice?secret=NBSWY3DP&issuer=A:B",
		"otpauth://totp/:alice?secret=NBSWY3DP",
		"otpauth://totp/alice?secret=NBSWY3DP&secret=NBSWY3DP",
		"otpauth://hotp/alice?secret=NBSWY3DP",
		"otpauth:totp/alice?secret=NBSWY3DP",
		"https://example.com/",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseURI(s)
		if err != nil {
			return
		}
		uri := k.URI()
		again, err := ParseURI(uri)
		if err != nil {
			t.Fatalf("ParseURI(%q) = %+v, whose URI %q does not parse: %v", s, k, uri, err)
		}
		if !reflect.DeepEqual(again, k) {
			t.Fatalf("ParseURI(%q) = %+v, but its URI %q parses to %+v", s, k, uri, again)
		}
	})
}
