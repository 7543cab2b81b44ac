// Package push holds version 1 of the push protocol between the Twofold
// server and the Twofold Authenticator: the activation string, the signed
// requests a device makes, and the JSON it exchanges with the server. Both
// sides import it, so the encoding and the signed bytes are written once; the
// server's device endpoints (Handler) live here too.
package push

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Activation is what a person carries from the invitation to the app: where
// the server is and the enrollment's single-use link code. It is never a
// secret by itself — the code works once, before its enrollment expires.
type Activation struct {
	URL  string // the server's public base URL, e.g. "https://mfa.acme.example:8443"
	Code string // the enrollment link code
}

const (
	activationPrefix = "T1"
	// crockford is Crockford's base32 alphabet: no I, L, O or U, so what a
	// person reads back cannot be confused.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	groupSize = 4
	// maxActivationLen bounds the input before any decoding work; a base URL
	// and a code fit many times over.
	maxActivationLen = 2048
	// maxCodeLen is what the one length byte can carry.
	maxCodeLen = 255
)

// Errors of ParseActivation, distinct so the app can say what to fix.
var (
	ErrActivationPrefix   = errors.New("push: not a Twofold activation string (it starts with T1)")
	ErrActivationChar     = errors.New("push: the activation string has a character that is not allowed")
	ErrActivationCheck    = errors.New("push: a character is mistyped (the check symbol does not match)")
	ErrActivationLength   = errors.New("push: the activation string is cut short or too long")
	ErrActivationURL      = errors.New("push: the activation string's server address is not an https URL")
	ErrActivationCode     = errors.New("push: the activation string's code is not valid")
	ErrActivationLinkForm = errors.New("push: not a Twofold activation link")
)

// symbolValue maps an upper-case input byte to its base32 value, reading O
// as 0 and I and L as 1 as Crockford specifies; -1 for anything else.
var symbolValue = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(crockford); i++ {
		t[crockford[i]] = int8(i)
	}
	t['O'], t['I'], t['L'] = 0, 1, 1
	return t
}()

// String encodes a as "T1" + Crockford base32 of (len(Code) || Code || URL)
// + a Luhn mod 32 check symbol, in groups of four joined by hyphens. The
// Code must be at most 255 bytes; the server's link codes are far shorter,
// so a longer one is a programming error and panics.
func (a Activation) String() string {
	if len(a.Code) > maxCodeLen {
		panic(fmt.Sprintf("push: activation code of %d bytes", len(a.Code)))
	}
	payload := make([]byte, 0, 1+len(a.Code)+len(a.URL))
	payload = append(payload, byte(len(a.Code)))
	payload = append(payload, a.Code...)
	payload = append(payload, a.URL...)
	values := toSymbols(payload)
	values = append(values, luhnCheck(values))

	text := make([]byte, 0, len(activationPrefix)+len(values))
	text = append(text, activationPrefix...)
	for _, v := range values {
		text = append(text, crockford[v])
	}
	var b strings.Builder
	for i := 0; i < len(text); i += groupSize {
		if i > 0 {
			b.WriteByte('-')
		}
		b.Write(text[i:min(i+groupSize, len(text))])
	}
	return b.String()
}

// ParseActivation reads an activation string as a person may have typed or
// pasted it: any case, with or without spaces and hyphens, O for 0, I or L
// for 1. It refuses a wrong check symbol, prefix or length, and a server
// address that is not an absolute https URL (http only for localhost).
func ParseActivation(s string) (Activation, error) {
	if len(s) > maxActivationLen {
		return Activation{}, ErrActivationLength
	}
	values := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' || c == '\t' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		v := symbolValue[c]
		if v < 0 {
			if !hasPrefix(values) {
				return Activation{}, ErrActivationPrefix
			}
			return Activation{}, ErrActivationChar
		}
		values = append(values, byte(v))
	}
	if !hasPrefix(values) {
		return Activation{}, ErrActivationPrefix
	}
	values = values[len(activationPrefix):]
	if len(values) < 2 {
		return Activation{}, ErrActivationLength
	}
	if !luhnValid(values) {
		return Activation{}, ErrActivationCheck
	}
	payload, ok := fromSymbols(values[:len(values)-1])
	if !ok || len(payload) < 1 {
		return Activation{}, ErrActivationLength
	}
	n := int(payload[0])
	if n == 0 || 1+n >= len(payload) {
		return Activation{}, ErrActivationLength
	}
	a := Activation{Code: string(payload[1 : 1+n]), URL: string(payload[1+n:])}
	if !validCode(a.Code) {
		return Activation{}, ErrActivationCode
	}
	if err := checkBaseURL(a.URL); err != nil {
		return Activation{}, err
	}
	return a, nil
}

// hasPrefix reports whether values start with "T1". It compares symbol
// values, so "tl" or "TI" typed for "T1" passes like any other ambiguous
// character.
func hasPrefix(values []byte) bool {
	return len(values) >= len(activationPrefix) && values[0] == byte(symbolValue['T']) && values[1] == 1
}

// ParseActivationLink accepts an activation string or either link that
// carries one: "twofold-authenticator://activate?a=<string>" or
// "<base URL>/app/#a=<string>". A web link must point at the server the
// string names, so a link cannot dress one server up as another.
func ParseActivationLink(s string) (Activation, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		return ParseActivation(s)
	}
	if len(s) > 2*maxActivationLen {
		return Activation{}, ErrActivationLength
	}
	u, err := url.Parse(s)
	if err != nil {
		return Activation{}, ErrActivationLinkForm
	}
	switch {
	case u.Scheme == "twofold-authenticator":
		if u.Host != "activate" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
			return Activation{}, ErrActivationLinkForm
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(q["a"]) != 1 {
			return Activation{}, ErrActivationLinkForm
		}
		return ParseActivation(q.Get("a"))
	case u.Scheme == "https" || u.Scheme == "http":
		base, ok := strings.CutSuffix(u.Path, "/app/")
		if !ok || u.RawQuery != "" {
			return Activation{}, ErrActivationLinkForm
		}
		q, err := url.ParseQuery(u.EscapedFragment())
		if err != nil || len(q["a"]) != 1 {
			return Activation{}, ErrActivationLinkForm
		}
		a, err := ParseActivation(q.Get("a"))
		if err != nil {
			return Activation{}, err
		}
		if strings.TrimSuffix(a.URL, "/") != u.Scheme+"://"+u.Host+base {
			return Activation{}, ErrActivationLinkForm
		}
		return a, nil
	}
	return Activation{}, ErrActivationLinkForm
}

// AppLink is the web form of the link that opens the app with a:
// "<URL>/app/#a=<string>". The string goes in the fragment, which a browser
// never sends to a server or writes to its logs.
func (a Activation) AppLink() string {
	return strings.TrimSuffix(a.URL, "/") + "/app/#a=" + a.String()
}

// validCode accepts what can travel in JSON and a URL query unchanged:
// printable ASCII without spaces.
func validCode(code string) bool {
	for i := 0; i < len(code); i++ {
		if code[i] <= ' ' || code[i] > '~' {
			return false
		}
	}
	return code != ""
}

// checkBaseURL accepts an absolute https URL with a host and nothing after
// its path; plain http only for localhost, where a developer runs without a
// certificate.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return ErrActivationURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" {
			return nil
		}
	}
	return ErrActivationURL
}

// toSymbols splits b into 5-bit values, most significant bit first, the
// last one padded with zero bits (RFC 4648 base32 without padding).
func toSymbols(b []byte) []byte {
	out := make([]byte, 0, (len(b)*8+4)/5)
	var acc uint
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>uint(bits))&31)
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<uint(5-bits))&31)
	}
	return out
}

// fromSymbols reverses toSymbols. It refuses a symbol count no byte string
// encodes to, and padding bits that are not zero, so every payload has
// exactly one spelling.
func fromSymbols(values []byte) ([]byte, bool) {
	out := make([]byte, 0, len(values)*5/8)
	var acc uint
	bits := 0
	for _, v := range values {
		acc = acc<<5 | uint(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>uint(bits)))
		}
	}
	if bits >= 5 || acc&(1<<uint(bits)-1) != 0 {
		return nil, false
	}
	return out, true
}

// luhnCheck is the Luhn mod N check symbol (N = 32) of values: weights 2
// and 1 alternate from the rightmost symbol, so a single mistyped symbol or
// two adjacent ones swapped change the sum.
func luhnCheck(values []byte) byte {
	sum, factor := 0, 2
	for i := len(values) - 1; i >= 0; i-- {
		sum += luhnAddend(int(values[i]), factor)
		factor = 3 - factor
	}
	return byte((32 - sum%32) % 32)
}

// luhnValid reports whether the last of values is the check symbol of the
// others.
func luhnValid(values []byte) bool {
	sum, factor := 0, 1
	for i := len(values) - 1; i >= 0; i-- {
		sum += luhnAddend(int(values[i]), factor)
		factor = 3 - factor
	}
	return sum%32 == 0
}

func luhnAddend(v, factor int) int {
	a := v * factor
	return a/32 + a%32
}
