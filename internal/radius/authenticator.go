package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"

	"layeh.com/radius"
)

// typeMessageAuthenticator is the Message-Authenticator attribute (RFC 3579
// section 3.2): an HMAC-MD5 of the whole packet, keyed with the shared
// secret, computed with its own 16 octets set to zero.
const typeMessageAuthenticator = 80

var (
	errMalformed           = errors.New("malformed packet")
	errBadMessageAuth      = errors.New("Message-Authenticator is not 16 octets, or appears twice")
	errNoMessageAuth       = errors.New("no Message-Authenticator")
	errInvalidMessageAuth  = errors.New("Message-Authenticator does not match (is the shared secret the same on both sides?)")
	errWrongCode           = errors.New("not an Access-Request")
	errMissingUserPassword = errors.New("no User-Password (only PAP is supported)")
)

// wellFormed checks a packet's header and attribute framing and returns the
// packet cut to the length its header states (octets beyond it are
// padding, RFC 2865 section 3).
func wellFormed(b []byte) ([]byte, error) {
	if len(b) < 20 {
		return nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 20 || n > radius.MaxPacketLength || n > len(b) {
		return nil, errMalformed
	}
	b = b[:n]
	for a := b[20:]; len(a) > 0; {
		if len(a) < 2 || a[1] < 2 || int(a[1]) > len(a) {
			return nil, errMalformed
		}
		a = a[a[1]:]
	}
	return b, nil
}

// messageAuthenticatorAt returns the offset of the value of the packet's
// Message-Authenticator, or -1 when it has none. b must be well formed.
func messageAuthenticatorAt(b []byte) (int, error) {
	at := -1
	for off := 20; off < len(b); off += int(b[off+1]) {
		if b[off] != typeMessageAuthenticator {
			continue
		}
		if b[off+1] != 18 || at >= 0 {
			return 0, errBadMessageAuth
		}
		at = off + 2
	}
	return at, nil
}

// messageAuthenticator computes the Message-Authenticator of b, whose own
// value (at offset at) is taken as zero; b is not changed.
func messageAuthenticator(b []byte, at int, secret []byte) []byte {
	var zero [16]byte
	m := hmac.New(md5.New, secret)
	m.Write(b[:at])
	m.Write(zero[:])
	m.Write(b[at+16:])
	return m.Sum(nil)
}

// checkRequest verifies the Message-Authenticator of a well-formed request.
// It reports errNoMessageAuth when there is none, so the caller can decide
// whether one is required; a present but wrong one is always an error.
func checkRequest(b, secret []byte) error {
	at, err := messageAuthenticatorAt(b)
	switch {
	case err != nil:
		return err
	case at < 0:
		return errNoMessageAuth
	case !hmac.Equal(messageAuthenticator(b, at, secret), b[at:at+16]):
		return errInvalidMessageAuth
	}
	return nil
}

// encodeResponse encodes resp, the answer to a request whose authenticator
// was requestAuth, with a Message-Authenticator as its first attribute
// (RFC 3579 section 3.2, and the BlastRADIUS advice): the HMAC is computed
// with the request's authenticator in the header, then the Response
// Authenticator over the packet that includes it (RFC 2865 section 3).
func encodeResponse(resp *radius.Packet, requestAuth [16]byte) ([]byte, error) {
	p := *resp
	p.Authenticator = requestAuth
	p.Attributes = radius.Attributes{{Type: typeMessageAuthenticator, Attribute: make(radius.Attribute, 16)}}
	for _, a := range resp.Attributes {
		if a.Type != typeMessageAuthenticator {
			p.Attributes = append(p.Attributes, a)
		}
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	copy(b[22:38], messageAuthenticator(b, 22, p.Secret))
	signResponse(b, p.Secret)
	return b, nil
}

// signResponse writes the Response Authenticator into b, a response whose
// authenticator field holds the request's authenticator:
// MD5(Code+Identifier+Length+RequestAuth+Attributes+Secret).
func signResponse(b, secret []byte) {
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
}
