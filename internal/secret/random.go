// Package secret seals secrets at rest with AES-256-GCM under a rotating
// master keyring, hashes passwords with argon2id, and makes and hashes random
// codes.
//
// Every function that needs randomness takes an io.Reader, so tests can make
// the output deterministic. A nil reader means crypto/rand.Reader, the only
// source production code should use.
//
// Nothing in this package logs, and no error it returns contains a key, a
// plaintext, a password or a code.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
)

// orDefault returns r, or crypto/rand.Reader if r is nil.
func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// Bytes returns n random bytes read from r (crypto/rand.Reader if r is nil).
// A short read is an error: a partly filled buffer must never pass for random.
func Bytes(r io.Reader, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("secret: negative length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(orDefault(r), b); err != nil {
		return nil, fmt.Errorf("secret: reading random bytes: %w", err)
	}
	return b, nil
}

// tokenEncoding is base32 in lower case: safe in URLs and file names, free of
// characters that are easy to confuse (0/O, 1/l), and re-typable in any case
// once the caller lower-cases the input.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Token returns n random bytes from r (crypto/rand.Reader if r is nil)
// encoded as unpadded lower-case base32, ceil(8n/5) characters long. It is
// URL-safe; a token typed back by a person should be lower-cased before it is
// compared or passed to HashToken. n must be at least 1.
func Token(r io.Reader, n int) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("secret: token of %d bytes", n)
	}
	b, err := Bytes(r, n)
	if err != nil {
		return "", err
	}
	return tokenEncoding.EncodeToString(b), nil
}

// Digits returns a string of n random decimal digits read from r
// (crypto/rand.Reader if r is nil). Each digit is uniformly distributed: bytes
// of 250 and above are discarded rather than reduced modulo 10, which would
// favour 0 to 5. The same reader contents always give the same digits. n must
// be at least 1.
func Digits(r io.Reader, n int) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("secret: %d digits", n)
	}
	r = orDefault(r)
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		// Ask only for what is missing; about 2% of bytes are discarded, so
		// a second round is rare and short.
		b := buf[:n-len(out)]
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("secret: reading random bytes: %w", err)
		}
		for _, c := range b {
			if c < 250 {
				out = append(out, '0'+c%10)
			}
		}
	}
	return string(out), nil
}

// HashToken returns the SHA-256 digest of s, for storing and looking up
// high-entropy random codes (API keys, enrollment codes) by a unique index.
// A fast unsalted hash is enough only because such codes cannot be guessed;
// it is not for passwords, PINs or other short codes a person chooses or
// that an attacker could enumerate offline — use Hasher for those.
func HashToken(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}
