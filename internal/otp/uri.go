package otp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The defaults of the Key URI format for parameters a URI leaves out.
const (
	defaultAlgorithm = SHA1
	defaultDigits    = 6
	defaultPeriod    = 30 * time.Second
)

// maxPeriod bounds the period ParseURI accepts. Longer periods give an
// attacker more guesses per code and are not offered by any app.
const maxPeriod = 300 * time.Second

// Key describes one token as an otpauth URI carries it; see
// https://github.com/google/google-authenticator/wiki/Key-Uri-Format.
type Key struct {
	Type      string // "totp" or "hotp"
	Issuer    string // the provider, shown above the account; may be empty
	Account   string // the user's account name; must not be empty
	Secret    []byte
	Algorithm Algorithm
	Digits    int
	Period    time.Duration // totp only
	Counter   uint64        // hotp only
}

// URI returns k as an otpauth URI:
//
//	otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// The issuer goes both in the label prefix and in the issuer parameter, as
// the format recommends, because older apps read only one of them. An hotp
// URI carries counter instead of period. The zero Algorithm, Digits and
// Period stand for the defaults SHA1, 6 and 30 seconds and are written out
// explicitly.
//
// URI does not check k. For ParseURI to read the result back, Type must be
// "totp" or "hotp", Account must not be empty and Issuer must not contain a
// colon; an Account may contain one only if Issuer is not empty.
func (k Key) URI() string {
	alg := k.Algorithm
	if alg == "" {
		alg = defaultAlgorithm
	}
	digits := k.Digits
	if digits == 0 {
		digits = defaultDigits
	}

	var b strings.Builder
	b.WriteString("otpauth://")
	b.WriteString(k.Type)
	b.WriteByte('/')
	if k.Issuer != "" {
		b.WriteString(url.PathEscape(k.Issuer))
		b.WriteByte(':')
	}
	b.WriteString(url.PathEscape(k.Account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(k.Secret))
	if k.Issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(queryEscape(k.Issuer))
	}
	b.WriteString("&algorithm=")
	b.WriteString(queryEscape(string(alg)))
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(digits))
	if k.Type == "hotp" {
		b.WriteString("&counter=")
		b.WriteString(strconv.FormatUint(k.Counter, 10))
	} else {
		period := k.Period
		if period == 0 {
			period = defaultPeriod
		}
		b.WriteString("&period=")
		b.WriteString(strconv.FormatInt(int64(period/time.Second), 10))
	}
	return b.String()
}

// queryEscape escapes s for a query value with %20 for a space: some
// authenticator apps show the '+' of url.QueryEscape literally in the
// issuer name. A '+' in s is escaped as %2B, so every '+' left is a space.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// ParseURI parses an otpauth URI into a Key. It reads outside input, so it
// refuses anything it cannot represent faithfully: a scheme other than
// otpauth, a type other than totp or hotp, a missing account name, a
// missing or invalid secret, digits other than 6 to 8, a period outside 1 to
// 300 seconds, an hotp URI without a counter, an issuer parameter that
// disagrees with the label prefix, an issuer with a colon, names that are
// not UTF-8 or contain control characters, and a repeated parameter.
// Unknown parameters, such as the image parameter of some apps, are ignored,
// as are period in an hotp URI and counter in a totp URI.
//
// Missing parameters take the defaults of the format: SHA1, 6 digits and,
// for totp, 30 seconds. The type is accepted in any letter case and
// returned in lower case. Spaces after the colon of the label are dropped,
// as the format allows them there.
//
// Errors do not repeat the secret.
func ParseURI(s string) (Key, error) {
	u, err := url.Parse(s)
	if err != nil {
		// A *url.Error quotes the whole URI, secret included; keep only
		// the reason.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return Key{}, fmt.Errorf("otp: invalid URI: %w", err)
	}
	if u.Scheme != "otpauth" {
		return Key{}, fmt.Errorf("otp: URI scheme is %q, want otpauth", u.Scheme)
	}
	if u.Opaque != "" || u.User != nil {
		return Key{}, errors.New("otp: URI is not of the form otpauth://TYPE/LABEL?PARAMETERS")
	}
	var k Key
	switch typ := strings.ToLower(u.Host); typ {
	case "totp", "hotp":
		k.Type = typ
	default:
		return Key{}, fmt.Errorf("otp: URI type is %q, want totp or hotp", u.Host)
	}

	// The format allows the separator to be percent-encoded as %3A, so
	// the label is split after decoding, at its first colon.
	label := strings.TrimPrefix(u.Path, "/")
	prefixed := false
	if issuer, account, found := strings.Cut(label, ":"); found {
		if issuer == "" {
			return Key{}, errors.New("otp: URI label has an empty issuer before the colon")
		}
		k.Issuer, label, prefixed = issuer, account, true
	}
	k.Account = strings.TrimLeft(label, " ")
	if k.Account == "" {
		return Key{}, errors.New("otp: URI has no account name")
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Key{}, fmt.Errorf("otp: invalid URI query: %w", err)
	}
	// A repeated parameter leaves its meaning to whichever occurrence an
	// app happens to read.
	for _, name := range []string{"secret", "issuer", "algorithm", "digits", "period", "counter"} {
		if len(q[name]) > 1 {
			return Key{}, fmt.Errorf("otp: URI repeats parameter %s", name)
		}
	}

	if q.Has("issuer") {
		issuer := q.Get("issuer")
		if prefixed && issuer != k.Issuer {
			return Key{}, fmt.Errorf("otp: URI issuer parameter %q disagrees with label prefix %q", issuer, k.Issuer)
		}
		k.Issuer = issuer
	}
	if strings.Contains(k.Issuer, ":") {
		return Key{}, fmt.Errorf("otp: URI issuer %q contains a colon", k.Issuer)
	}
	if err := checkName("issuer", k.Issuer); err != nil {
		return Key{}, err
	}
	if err := checkName("account name", k.Account); err != nil {
		return Key{}, err
	}

	if !q.Has("secret") {
		return Key{}, errors.New("otp: URI has no secret")
	}
	if k.Secret, err = DecodeSecret(q.Get("secret")); err != nil {
		return Key{}, fmt.Errorf("otp: URI secret: %w", err)
	}

	k.Algorithm = defaultAlgorithm
	if q.Has("algorithm") {
		if k.Algorithm, err = ParseAlgorithm(q.Get("algorithm")); err != nil {
			return Key{}, err
		}
	}

	k.Digits = defaultDigits
	if q.Has("digits") {
		v := q.Get("digits")
		if k.Digits, err = strconv.Atoi(v); err != nil || k.Digits < 6 || k.Digits > 8 {
			return Key{}, fmt.Errorf("otp: URI digits %q, want 6 to 8", v)
		}
	}

	switch k.Type {
	case "totp":
		k.Period = defaultPeriod
		if q.Has("period") {
			v := q.Get("period")
			// Compare in seconds: a huge n would overflow a Duration.
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > int(maxPeriod/time.Second) {
				return Key{}, fmt.Errorf("otp: URI period %q, want 1 to %d seconds", v, int(maxPeriod/time.Second))
			}
			k.Period = time.Duration(n) * time.Second
		}
	case "hotp":
		if !q.Has("counter") {
			return Key{}, errors.New("otp: hotp URI has no counter")
		}
		v := q.Get("counter")
		if k.Counter, err = strconv.ParseUint(v, 10, 64); err != nil {
			return Key{}, fmt.Errorf("otp: URI counter %q is not a non-negative integer", v)
		}
	}
	return k, nil
}

// checkName refuses names that an app could not show faithfully.
func checkName(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("otp: URI %s is not valid UTF-8", what)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("otp: URI %s %q contains a control character", what, s)
	}
	return nil
}

// secretEncoding is the Base32 of the Key URI format: RFC 4648 without
// padding.
var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret returns secret in unpadded upper-case Base32, the form of the
// Key URI format.
func EncodeSecret(secret []byte) string {
	return secretEncoding.EncodeToString(secret)
}

// DecodeSecret decodes a Base32 secret as people type it from a screen: in
// either letter case, with or without '=' padding, and with spaces anywhere.
// An empty secret is an error.
func DecodeSecret(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
		case 'a' <= c && c <= 'z':
			clean = append(clean, c-'a'+'A')
		default:
			clean = append(clean, c)
		}
	}
	for len(clean) > 0 && clean[len(clean)-1] == '=' {
		clean = clean[:len(clean)-1]
	}
	if len(clean) == 0 {
		return nil, errors.New("otp: empty secret")
	}
	// No whole number of bytes encodes to these lengths, and without
	// padding the decoder silently drops such a final group, so a
	// character lost in copying would go unnoticed.
	switch len(clean) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("otp: invalid Base32 secret: %d characters cannot be a whole number of bytes", len(clean))
	}
	secret := make([]byte, secretEncoding.DecodedLen(len(clean)))
	n, err := secretEncoding.Decode(secret, clean)
	if err != nil {
		// The error names only an offset, not the secret.
		return nil, fmt.Errorf("otp: invalid Base32 secret: %w", err)
	}
	return secret[:n], nil
}

// GroupSecret returns secret in unpadded upper-case Base32 in groups of four
// characters separated by spaces, for a person to type in by hand.
func GroupSecret(secret []byte) string {
	enc := EncodeSecret(secret)
	var b strings.Builder
	b.Grow(len(enc) + len(enc)/4)
	for i := 0; i < len(enc); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(enc[i:min(i+4, len(enc))])
	}
	return b.String()
}
