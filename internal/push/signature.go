package push

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a device's signature on every request after
// activation.
const SignatureHeader = "Twofold-Signature"

// MaxSkew is how far a request's timestamp may be from the server's clock:
// wide enough for a phone's drift, narrow enough that a captured request is
// soon useless.
const MaxSkew = 60 * time.Second

// signedPrefix names the protocol and its version in the signed bytes, so a
// signature can never be taken for one of another protocol or version.
const signedPrefix = "twofold-push-v1\n"

// maxSignatureLen bounds a header before it is split: three short fields.
const maxSignatureLen = 512

// Errors of ParseSignature and Verify. The server answers every one of them
// with the same 401; they are distinct for the audit log and for tests.
var (
	ErrSignatureFormat = errors.New("push: malformed signature header")
	ErrSignatureStale  = errors.New("push: signature timestamp outside the allowed skew")
	ErrSignatureBad    = errors.New("push: signature does not verify")
)

// Signature is a parsed Twofold-Signature header.
type Signature struct {
	Serial    string // the push token's serial, naming the device key
	Timestamp int64  // unix seconds when the device signed
	Sig       []byte // 64 bytes: Ed25519, or ES256's r || s
}

// Sign returns the Twofold-Signature header value for a request: serial,
// the current time and an Ed25519 signature over the method, the request
// URI (path with query, as sent), that time and the body's SHA-256.
func Sign(priv ed25519.PrivateKey, serial, method, uri string, body []byte, now time.Time) string {
	ts := now.Unix()
	sig := ed25519.Sign(priv, signedBytes(method, uri, ts, body))
	return "serial=" + serial + ", ts=" + strconv.FormatInt(ts, 10) + ", sig=" + base64.RawURLEncoding.EncodeToString(sig)
}

// ParseSignature reads a header value made by Sign. Each field must appear
// exactly once; the timestamp must be written as Sign writes it, so the
// signed bytes have one spelling.
func ParseSignature(header string) (Signature, error) {
	if len(header) > maxSignatureLen {
		return Signature{}, ErrSignatureFormat
	}
	var s Signature
	var seen [3]bool
	for _, field := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok || value == "" {
			return Signature{}, ErrSignatureFormat
		}
		var i int
		switch name {
		case "serial":
			i = 0
			if !validSerial(value) {
				return Signature{}, ErrSignatureFormat
			}
			s.Serial = value
		case "ts":
			i = 1
			ts, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ts < 0 || strconv.FormatInt(ts, 10) != value {
				return Signature{}, ErrSignatureFormat
			}
			s.Timestamp = ts
		case "sig":
			i = 2
			sig, err := base64.RawURLEncoding.Strict().DecodeString(value)
			if err != nil || len(sig) != ed25519.SignatureSize {
				return Signature{}, ErrSignatureFormat
			}
			s.Sig = sig
		default:
			return Signature{}, ErrSignatureFormat
		}
		if seen[i] {
			return Signature{}, ErrSignatureFormat
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return Signature{}, ErrSignatureFormat
	}
	return s, nil
}

// Verify checks that s was made by the holder of key for this request, at a
// time within MaxSkew of now, with the algorithm key was registered with.
func (s Signature) Verify(key DeviceKey, method, uri string, body []byte, now time.Time) error {
	if d := now.Sub(time.Unix(s.Timestamp, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrSignatureStale
	}
	if !key.verify(signedBytes(method, uri, s.Timestamp, body), s.Sig) {
		return ErrSignatureBad
	}
	return nil
}

// signedBytes is what a device signs: prefix, method, URI, timestamp and
// the body's digest on their own lines. None of the fields can hold a
// newline where it matters (a method is a token, a URI is escaped), so the
// lines cannot be shifted into one another.
func signedBytes(method, uri string, ts int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	return fmt.Appendf(nil, "%s%s\n%s\n%d\n%s", signedPrefix, method, uri, ts, hex.EncodeToString(sum[:]))
}

// validSerial accepts what Sign can write into the header unambiguously:
// printable ASCII without spaces, commas or equals signs.
func validSerial(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == ',' || c == '=' {
			return false
		}
	}
	return s != ""
}
