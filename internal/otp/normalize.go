package otp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed reports a code that is not a string of ASCII digits of an
// acceptable length. Normalize wraps it with the reason.
var ErrMalformed = errors.New("otp: malformed code")

// Normalize turns what a person typed into the canonical form of a code.
// Spaces, tabs and hyphens are removed; every other character must be an
// ASCII digit, and there must be between min and max of them, inclusive.
// Digits of other scripts, such as Arabic-Indic or fullwidth digits, are
// refused rather than translated: no authenticator app shows them, and
// Unicode has dozens of digit sets that translating would have to follow.
// Any failure wraps ErrMalformed; the error does not repeat the input.
//
// When input is already canonical, Normalize returns it unchanged and does
// not allocate.
func Normalize(input string, min, max int) (string, error) {
	digits := 0
	canonical := true
	for i := 0; i < len(input); i++ {
		switch c := input[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == ' ' || c == '\t' || c == '-':
			canonical = false
		default:
			return "", fmt.Errorf("%w: only digits, spaces and hyphens are allowed", ErrMalformed)
		}
	}
	if digits < min || digits > max {
		return "", fmt.Errorf("%w: %d digits, want %d to %d", ErrMalformed, digits, min, max)
	}
	if canonical {
		return input, nil
	}
	var b strings.Builder
	b.Grow(digits)
	for i := 0; i < len(input); i++ {
		if c := input[i]; '0' <= c && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
