// Package otp implements HOTP (RFC 4226) and TOTP (RFC 6238) one-time codes
// and the otpauth Key URI format.
package otp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Algorithm names the hash function under the HMAC, spelled as in the
// algorithm parameter of the Key URI format.
type Algorithm string

// The algorithms of RFC 6238. SHA1 is the default and the only one that
// every authenticator app supports.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// ParseAlgorithm returns the Algorithm that s names. It accepts the names
// with or without a hyphen after "SHA", in any ASCII letter case: "sha1",
// "SHA-256", "Sha512".
func ParseAlgorithm(s string) (Algorithm, error) {
	// Fold ASCII only: strings.ToUpper would turn "ſha1" (long s) into
	// "SHA1", and outside input should not be accepted by accident.
	upper := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	switch upper {
	case "SHA1", "SHA-1":
		return SHA1, nil
	case "SHA256", "SHA-256":
		return SHA256, nil
	case "SHA512", "SHA-512":
		return SHA512, nil
	}
	return "", fmt.Errorf("otp: unknown algorithm %q", s)
}

// Valid reports whether a is one of SHA1, SHA256 and SHA512.
func (a Algorithm) Valid() bool {
	return a == SHA1 || a == SHA256 || a == SHA512
}

func (a Algorithm) hash() func() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Generator computes the codes of one secret. It reuses one HMAC, so that
// matching a code against several counters allocates nothing. A Generator is
// not safe for concurrent use.
type Generator struct {
	mac     hash.Hash
	digits  int
	modulus uint32
	msg     [8]byte
	sum     [sha512.Size]byte
}

// NewGenerator returns a Generator of digits-long codes for secret under
// alg. It fails if secret is empty, alg is not valid, or digits is not 6, 7
// or 8: RFC 4226 requires at least 6 and provides for up to 8, and no app
// shows more. The Generator keeps its own copy of secret.
func NewGenerator(secret []byte, alg Algorithm, digits int) (*Generator, error) {
	if len(secret) == 0 {
		return nil, errors.New("otp: empty secret")
	}
	if !alg.Valid() {
		return nil, fmt.Errorf("otp: unknown algorithm %q", string(alg))
	}
	if digits < 6 || digits > 8 {
		return nil, fmt.Errorf("otp: %d digits, want 6 to 8", digits)
	}
	modulus := uint32(1)
	for range digits {
		modulus *= 10
	}
	// hmac.New copies the key into its pads, so the caller may reuse secret.
	return &Generator{mac: hmac.New(alg.hash(), secret), digits: digits, modulus: modulus}, nil
}

// Value returns the code for counter as a number below 10^digits: the
// dynamic truncation of RFC 4226 section 5.3. It does not allocate.
func (g *Generator) Value(counter uint64) uint32 {
	binary.BigEndian.PutUint64(g.msg[:], counter)
	g.mac.Reset()
	g.mac.Write(g.msg[:])
	sum := g.mac.Sum(g.sum[:0])
	offset := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[offset:]) & 0x7fffffff
	return bin % g.modulus
}

// Code returns the code for counter as a decimal string of exactly the
// Generator's number of digits, with leading zeros.
func (g *Generator) Code(counter uint64) string {
	var buf [8]byte
	v := g.Value(counter)
	for i := g.digits - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return string(buf[:g.digits])
}

// Match reports the first counter in [from, to], trying them in ascending
// order, whose code equals code. Each candidate is compared in constant
// time. code must consist of exactly as many ASCII digits as the Generator
// produces; anything else matches nothing, as does from > to. Match does not
// allocate.
func (g *Generator) Match(code string, from, to uint64) (counter uint64, ok bool) {
	if len(code) != g.digits || from > to {
		return 0, false
	}
	var want uint32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		want = want*10 + uint32(c-'0')
	}
	for c := from; ; c++ {
		// Values are below 10^8, so they fit in an int32.
		if subtle.ConstantTimeEq(int32(g.Value(c)), int32(want)) == 1 {
			return c, true
		}
		// Test before incrementing: to may be the largest uint64.
		if c == to {
			return 0, false
		}
	}
}

// Step returns the TOTP time step of t for period: T = floor((unix - T0) / X)
// of RFC 6238 with T0 = 0, the Unix epoch. Sub-second parts of t are
// ignored. Step panics if period is not a positive whole number of seconds,
// because the Key URI format and authenticator apps count periods in seconds.
func Step(t time.Time, period time.Duration) int64 {
	if period < time.Second || period%time.Second != 0 {
		panic(fmt.Sprintf("otp: TOTP period %v is not a positive whole number of seconds", period))
	}
	x := int64(period / time.Second)
	unix := t.Unix()
	step := unix / x
	// Go's division truncates toward zero; the RFC floors, which differs
	// only for times before the epoch.
	if unix%x < 0 {
		step--
	}
	return step
}
