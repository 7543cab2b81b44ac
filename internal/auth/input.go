package auth

import "strings"

// BackupCodeLength is the length of a backup code without its separators:
// 16 base32 characters, 80 random bits.
const BackupCodeLength = 16

// TempCodeLength is the length of a temporary code from the helpdesk
// without its separators, and TempCodeAlphabet the characters it is made
// of: no 0/O, 1/I/L or U/V to confuse when it is read out over the phone.
// A temporary code has a letter in it, like a backup code.
const (
	TempCodeLength   = 12
	TempCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"
)

// maxInput bounds what is looked at: the longest PIN and the longest code.
const maxInput = 16 + BackupCodeLength

// input is what a person typed where a code is asked, normalised once
// (invariant 5): the spaces, tabs and hyphens people type are gone, and
// what is left is ASCII letters and digits. How it splits into a server
// PIN and a code depends on the token it is tried against, so the split
// is asked for per kind of code.
type input string

// parseInput normalises raw, or reports false when no code could be in it.
func parseInput(raw string) (input, bool) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == ' ' || c == '\t' || c == '-':
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	in := b.String()
	if len(in) < 6 || len(in) > maxInput {
		return "", false
	}
	return input(in), true
}

// otp splits the input into a PIN and a one-time code of digits digits.
// Without a server PIN the whole input must be the code.
func (in input) otp(withPIN bool, digits int) (pin, code string, ok bool) {
	s := string(in)
	if len(s) < digits || (!withPIN && len(s) != digits) {
		return "", "", false
	}
	pin, code = s[:len(s)-digits], s[len(s)-digits:]
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", "", false
		}
	}
	return pin, code, true
}

// backup splits the input into a PIN and a backup code. A backup code
// has a letter in it (they are made so), which tells it from a one-time
// code of digits.
func (in input) backup(withPIN bool) (pin, code string, ok bool) {
	s := string(in)
	if len(s) < BackupCodeLength || (!withPIN && len(s) != BackupCodeLength) {
		return "", "", false
	}
	pin, code = s[:len(s)-BackupCodeLength], strings.ToLower(s[len(s)-BackupCodeLength:])
	letter := false
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '2' && c <= '7':
		default:
			return "", "", false
		}
	}
	return pin, code, letter
}

// temp splits the input into a PIN and a temporary code, which it returns
// in upper case: the canonical form its keyed hash is made of.
func (in input) temp(withPIN bool) (pin, code string, ok bool) {
	s := string(in)
	if len(s) < TempCodeLength || (!withPIN && len(s) != TempCodeLength) {
		return "", "", false
	}
	pin, code = s[:len(s)-TempCodeLength], strings.ToUpper(s[len(s)-TempCodeLength:])
	letter := false
	for i := 0; i < len(code); i++ {
		c := code[i]
		if strings.IndexByte(TempCodeAlphabet, c) < 0 {
			return "", "", false
		}
		letter = letter || c >= 'A'
	}
	return pin, code, letter
}

// plausible reports whether the input can be any code at all: a one-time
// code of 6 to 8 digits, a backup code or a temporary code, after a PIN
// when withPIN.
func (in input) plausible(withPIN bool) bool {
	for d := 6; d <= 8; d++ {
		if _, _, ok := in.otp(withPIN, d); ok {
			return true
		}
	}
	if _, _, ok := in.backup(withPIN); ok {
		return true
	}
	_, _, ok := in.temp(withPIN)
	return ok
}
