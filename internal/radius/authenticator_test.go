package radius

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The example of RFC 2865 section 7.1: nemo logs in with the password
// "arctangent"; the shared secret is "xyzzy5461".
const (
	rfcSecret  = "xyzzy5461"
	rfcRequest = `01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
		98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
		93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
		01 10 05 06 00 00 00 03`
	rfcAccept = `02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
		9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
		0e 06 c0 a8 01 03`
)

func TestRFC2865Example(t *testing.T) {
	req := unhex(t, rfcRequest)
	b, err := wellFormed(req)
	if err != nil {
		t.Fatal(err)
	}
	p, err := radius.Parse(b, []byte(rfcSecret))
	if err != nil {
		t.Fatal(err)
	}
	pw, err := radius.UserPassword(p.Get(rfc2865.UserPassword_Type), []byte(rfcSecret), p.Authenticator[:])
	if err != nil || string(pw) != "arctangent" || rfc2865.UserName_GetString(p) != "nemo" {
		t.Fatalf("decoded %q/%q, %v; want nemo/arctangent", rfc2865.UserName_GetString(p), pw, err)
	}
	if err := checkRequest(b, []byte(rfcSecret)); err != errNoMessageAuth {
		t.Fatalf("checkRequest() = %v, want errNoMessageAuth: the example has none", err)
	}

	// The Response Authenticator of the example's Access-Accept.
	accept := unhex(t, rfcAccept)
	want := append([]byte(nil), accept[4:20]...)
	copy(accept[4:20], b[4:20])
	signResponse(accept, []byte(rfcSecret))
	if !bytes.Equal(accept[4:20], want) {
		t.Fatalf("Response Authenticator = %x, want %x (RFC 2865 section 7.1)", accept[4:20], want)
	}
}

// withMessageAuthenticator appends a Message-Authenticator to a request,
// computed here the way RFC 3579 section 3.2 states it, independently of
// the code under test.
func withMessageAuthenticator(req []byte, secret string) []byte {
	b := append(append([]byte(nil), req...), typeMessageAuthenticator, 18)
	b = append(b, make([]byte, 16)...)
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	m := hmac.New(md5.New, []byte(secret))
	m.Write(b)
	copy(b[len(b)-16:], m.Sum(nil))
	return b
}

func TestRequestMessageAuthenticator(t *testing.T) {
	signed := withMessageAuthenticator(unhex(t, rfcRequest), rfcSecret)
	tests := []struct {
		name   string
		packet func() []byte
		secret string
		want   error
	}{
		{"a valid Message-Authenticator is accepted", func() []byte { return signed }, rfcSecret, nil},
		{"another secret does not verify", func() []byte { return signed }, "xyzzy5462", errInvalidMessageAuth},
		{"a changed attribute does not verify", func() []byte {
			b := bytes.Clone(signed)
			b[22] = 'N' // nemo → Nemo
			return b
		}, rfcSecret, errInvalidMessageAuth},
		{"a changed request authenticator does not verify", func() []byte {
			b := bytes.Clone(signed)
			b[4] ^= 1
			return b
		}, rfcSecret, errInvalidMessageAuth},
		{"a short Message-Authenticator is refused", func() []byte {
			b := append(unhex(t, rfcRequest), typeMessageAuthenticator, 10, 1, 2, 3, 4, 5, 6, 7, 8)
			b[3] = byte(len(b))
			return b
		}, rfcSecret, errBadMessageAuth},
		{"two Message-Authenticators are refused", func() []byte {
			return withMessageAuthenticator(signed, rfcSecret)
		}, rfcSecret, errBadMessageAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wellFormed(tt.packet())
			if err != nil {
				t.Fatal(err)
			}
			if got := checkRequest(b, []byte(tt.secret)); got != tt.want {
				t.Fatalf("checkRequest() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResponseCarriesMessageAuthenticatorFirst(t *testing.T) {
	req, err := radius.Parse(unhex(t, rfcRequest), []byte(rfcSecret))
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []radius.Code{radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge} {
		t.Run(code.String(), func(t *testing.T) {
			resp := req.Response(code)
			rfc2865.ReplyMessage_SetString(resp, "hello")
			resp.Add(typeMessageAuthenticator, make([]byte, 16)) // a stale one is replaced, not kept
			b, err := encodeResponse(resp, req.Authenticator)
			if err != nil {
				t.Fatal(err)
			}
			if b[20] != typeMessageAuthenticator || b[21] != 18 {
				t.Fatalf("first attribute is %d (length %d), want Message-Authenticator (80, 18)", b[20], b[21])
			}
			if at, err := messageAuthenticatorAt(b); err != nil || at != 22 {
				t.Fatalf("Message-Authenticator at %d, %v; want exactly one, at 22", at, err)
			}
			// Verified as a client does: with the request authenticator in
			// the header, then the Response Authenticator.
			check := bytes.Clone(b)
			copy(check[4:20], req.Authenticator[:])
			clear(check[22:38])
			m := hmac.New(md5.New, []byte(rfcSecret))
			m.Write(check)
			if !hmac.Equal(m.Sum(nil), b[22:38]) {
				t.Fatal("the response's Message-Authenticator does not verify")
			}
			if !radius.IsAuthenticResponse(b, unhex(t, rfcRequest), []byte(rfcSecret)) {
				t.Fatal("the Response Authenticator does not verify")
			}
			if len(resp.Attributes) != 2 {
				t.Fatal("encodeResponse changed the packet it was given")
			}
		})
	}
}

// hidePassword is RFC 2865 section 5.2, written out independently.
func hidePassword(password, secret string, authenticator []byte) []byte {
	p := []byte(password)
	for len(p) == 0 || len(p)%16 != 0 {
		p = append(p, 0)
	}
	out := make([]byte, len(p))
	prev := authenticator
	for i := 0; i < len(p); i += 16 {
		h := md5.Sum(append([]byte(secret), prev...))
		for j := range 16 {
			out[i+j] = p[i+j] ^ h[j]
		}
		prev = out[i : i+16]
	}
	return out
}

func TestPasswordsLongerThan16Bytes(t *testing.T) {
	auth := unhex(t, "0f403f94739780 57bd83d5cb98f4227a")
	for _, pw := range []string{
		"arctangent",
		"sixteen-bytes-pw",
		"correct horse battery staple123456",
		strings.Repeat("p", 120) + "123456",
	} {
		hidden := hidePassword(pw, rfcSecret, auth)
		got, err := radius.UserPassword(hidden, []byte(rfcSecret), auth)
		if err != nil || string(got) != pw {
			t.Errorf("a %d-byte password decodes to %q, %v", len(pw), got, err)
		}
	}
	if got := hex.EncodeToString(hidePassword("arctangent", rfcSecret, auth)); got != "0dbe708d93d413ce3196e43f782a0aee" {
		t.Fatalf("hidePassword does not reproduce RFC 2865 section 7.1: %s", got)
	}
}

func TestSplitCode(t *testing.T) {
	for _, tt := range []struct {
		in, password, code string
		ok                 bool
	}{
		{"secret123456", "secret", "123456", true},
		{"a long password with spaces 0123456789", "a long password with spaces 0123", "456789", true},
		{"123456", "", "", false},
		{"password", "", "", false},
		{"pass12345x", "", "", false},
	} {
		p, c, ok := splitCode(tt.in, 6)
		if p != tt.password || c != tt.code || ok != tt.ok {
			t.Errorf("splitCode(%q) = %q, %q, %v; want %q, %q, %v", tt.in, p, c, ok, tt.password, tt.code, tt.ok)
		}
	}
}
