package push

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/big"
)

// Paths of the device endpoints, below the server's base URL.
const (
	PathActivate = "/push/v1/activate"
	PathRequests = "/push/v1/requests"
)

// MaxWait is the longest long poll, in seconds (GET PathRequests?wait=N):
// below the idle timeouts of common proxies.
const MaxWait = 25

// Decisions a device may send.
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
	DecisionFraud   = "fraud" // "Deny — this wasn't me"
)

// Statuses of a push request. Pending is the only one that changes, once.
const (
	StatusPending     = "pending"
	StatusAccepted    = "accepted"
	StatusWrongNumber = "wrong_number"
	StatusDenied      = "denied"
	StatusFraud       = "fraud"
	StatusExpired     = "expired"
)

// Algorithms of a device key. A device names its key's algorithm in the
// activation, and the server verifies its signatures with that one only.
const (
	// AlgEd25519 is the command-line app's key, and what an activation
	// without "alg" registers.
	AlgEd25519 = "Ed25519"
	// AlgES256 is ECDSA on P-256 with SHA-256, as WebCrypto makes it in
	// every browser: the public key is the 65-byte uncompressed point
	// (WebCrypto's "raw" export), a signature the 64 bytes r || s (IEEE
	// P1363), not ASN.1.
	AlgES256 = "ES256"
)

// ActivateRequest is the body of POST PathActivate.
type ActivateRequest struct {
	ActivationCode string `json:"activation_code"`
	// PublicKey is the device's new public key in unpadded base64url:
	// EncodePublicKey of an Ed25519 key, or an uncompressed P-256 point.
	PublicKey string `json:"public_key"`
	// Alg is the key's algorithm, AlgEd25519 when empty.
	Alg        string `json:"alg,omitempty"`
	DeviceName string `json:"device_name"`
}

// ActivateResponse tells the device which token it now holds and, for
// codes offline, that token's TOTP secret.
type ActivateResponse struct {
	Serial   string `json:"serial"`
	Org      Org    `json:"org"`
	Username string `json:"username"`
	URL      string `json:"url"`
	TOTP     TOTP   `json:"totp"`
	PIN      PIN    `json:"pin"`
}

// PIN is what the organization asks of the token PIN the app keeps: the
// app asks for one when Required, of at least MinLength characters, and
// wipes the token after MaxAttempts wrong ones in a row.
type PIN struct {
	Required    bool `json:"required"`
	MinLength   int  `json:"min_length"`
	MaxAttempts int  `json:"max_attempts"`
}

// Org names the organization a token belongs to.
type Org struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// TOTP is a token's offline code parameters.
type TOTP struct {
	Secret    string `json:"secret"` // RFC 4648 base32, no padding
	Algorithm string `json:"algorithm"`
	Digits    int    `json:"digits"`
	Period    int    `json:"period"`
}

// RequestsResponse is the answer of GET PathRequests.
type RequestsResponse struct {
	Requests []Request `json:"requests"`
}

// Request is a pending push request as a device shows it.
type Request struct {
	ID          string `json:"id"`
	Org         string `json:"org"`         // the organization's display name
	Application string `json:"application"` // "portal", an API key's or a RADIUS client's name
	Source      string `json:"source"`      // the signing-in client's address
	CreatedAt   string `json:"created_at"`  // RFC 3339
	ExpiresAt   string `json:"expires_at"`  // RFC 3339
	Numbers     []int  `json:"numbers"`     // three, the right one among them
}

// AnswerRequest is the body of POST PathRequests + "/{id}".
type AnswerRequest struct {
	Decision string `json:"decision"`
	Number   int    `json:"number,omitempty"` // required to approve
}

// AnswerResponse is the new status after an answer.
type AnswerResponse struct {
	Status string `json:"status"`
}

// ErrorResponse is the body of every refusal.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ErrPublicKey reports a public key that is not one of its algorithm in
// unpadded base64url, or an algorithm the protocol does not know.
var ErrPublicKey = errors.New(`push: public key is not an Ed25519 key (32 bytes) or, with "alg": "ES256", an uncompressed P-256 point (65 bytes), in unpadded base64url`)

// DeviceKey is a device's public key as its activation registered it.
type DeviceKey struct {
	Alg    string // AlgEd25519 (also when empty) or AlgES256
	Public []byte
}

// EncodePublicKey writes an Ed25519 device key as ActivateRequest carries it.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(pub)
}

// ParseDeviceKey reads ActivateRequest.Alg and PublicKey. An ES256 key
// must be a point on the curve; the returned key's Alg is never empty.
func ParseDeviceKey(alg, public string) (DeviceKey, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(public)
	if err != nil {
		return DeviceKey{}, ErrPublicKey
	}
	switch alg {
	case "", AlgEd25519:
		if len(b) != ed25519.PublicKeySize {
			return DeviceKey{}, ErrPublicKey
		}
		return DeviceKey{Alg: AlgEd25519, Public: b}, nil
	case AlgES256:
		if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b); err != nil {
			return DeviceKey{}, ErrPublicKey
		}
		return DeviceKey{Alg: AlgES256, Public: b}, nil
	}
	return DeviceKey{}, ErrPublicKey
}

// verify reports whether sig is k's signature of msg. A key that does not
// parse verifies nothing.
func (k DeviceKey) verify(msg, sig []byte) bool {
	switch k.Alg {
	case "", AlgEd25519:
		return len(k.Public) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(k.Public), msg, sig)
	case AlgES256:
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.Public)
		if err != nil || len(sig) != 64 {
			return false
		}
		digest := sha256.Sum256(msg)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, digest[:], r, s)
	}
	return false
}

// Choices returns the three numbers a device offers for a request whose
// right number is number (10–99): that one and two other distinct ones, in
// an order drawn from the request id. Derived rather than stored, every
// poll on every instance shows the same three in the same order, and the
// id is random, so neither the decoys nor the position of the right one
// can be predicted.
func Choices(id string, number int) []int {
	seed := sha256.Sum256([]byte("twofold-push-v1 choices\n" + id))
	// 90 two-digit numbers; pick two decoys among the 89 others, then a
	// position for the right one. A 64-bit value reduced modulo 89 or less
	// is biased by under 2^-57, which nobody can observe.
	draw := func(i, n int) int { return int(binary.BigEndian.Uint64(seed[8*i:]) % uint64(n)) }
	others := make([]int, 0, 89)
	for n := 10; n <= 99; n++ {
		if n != number {
			others = append(others, n)
		}
	}
	a := draw(0, len(others))
	first := others[a]
	others = append(others[:a], others[a+1:]...)
	second := others[draw(1, len(others))]
	out := []int{first, second}
	pos := draw(2, 3)
	out = append(out[:pos], append([]int{number}, out[pos:]...)...)
	return out
}
