package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"

	"layeh.com/radius"
)

// The gateway's side, for the load tool (package loadtest) and tests: an
// Access-Request as a careful gateway sends it, and the checks it makes of
// the answer.

// Errors of CheckAnswer.
var (
	ErrNotTheAnswer     = errors.New("radius: not the answer to this request (identifier)")
	ErrBadResponseAuth  = errors.New("radius: the Response Authenticator does not verify (is the shared secret the same on both sides?)")
	ErrAnswerNoMsgAuth  = errors.New("radius: the answer has no Message-Authenticator")
	ErrAnswerBadMsgAuth = errors.New("radius: the answer's Message-Authenticator does not verify")
)

// AppendAccessRequest appends to dst a PAP Access-Request with identifier
// id and Request Authenticator auth, carrying user and password and a
// Message-Authenticator as its first attribute.
func AppendAccessRequest(dst []byte, id byte, auth [16]byte, secret []byte, user, password string) ([]byte, error) {
	hidden, err := radius.NewUserPassword([]byte(password), secret, auth[:])
	if err != nil {
		return nil, fmt.Errorf("radius: User-Password: %w", err)
	}
	if len(user) > 253 || len(user) == 0 {
		return nil, fmt.Errorf("radius: a User-Name of %d octets does not fit an attribute", len(user))
	}
	start := len(dst)
	dst = append(dst, byte(radius.CodeAccessRequest), id, 0, 0)
	dst = append(dst, auth[:]...)
	ma := len(dst) + 2 - start
	dst = append(dst, typeMessageAuthenticator, 18)
	dst = append(dst, make([]byte, 16)...)
	dst = append(dst, 1, byte(2+len(user)))
	dst = append(dst, user...)
	dst = append(dst, 2, byte(2+len(hidden)))
	dst = append(dst, hidden...)
	b := dst[start:]
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	copy(b[ma:ma+16], messageAuthenticator(b, ma, secret))
	return dst, nil
}

// CheckAnswer checks that b answers req, an Access-Request sent with
// secret: same identifier, a Response Authenticator and a
// Message-Authenticator that verify. It returns the answer's code.
func CheckAnswer(b, req, secret []byte) (radius.Code, error) {
	b, err := wellFormed(b)
	if err != nil {
		return 0, err
	}
	if len(req) < 20 || b[1] != req[1] {
		return 0, ErrNotTheAnswer
	}
	h := md5.New()
	h.Write(b[:4])
	h.Write(req[4:20])
	h.Write(b[20:])
	h.Write(secret)
	if !hmac.Equal(h.Sum(nil), b[4:20]) {
		return 0, ErrBadResponseAuth
	}
	at, err := messageAuthenticatorAt(b)
	if err != nil {
		return 0, err
	}
	if at < 0 {
		return 0, ErrAnswerNoMsgAuth
	}
	// The answer's HMAC was computed with the request's authenticator in
	// its header.
	signed := make([]byte, len(b))
	copy(signed, b)
	copy(signed[4:20], req[4:20])
	if !hmac.Equal(messageAuthenticator(signed, at, secret), b[at:at+16]) {
		return 0, ErrAnswerBadMsgAuth
	}
	return radius.Code(b[0]), nil
}
