package admin

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// The rules a new password can break (PasswordError.Rule). They are NIST
// SP 800-63B-4 section 3.1.1.2's, and only those: no composition rules,
// which make passwords harder to remember without making them harder to
// guess.
const (
	PasswordShort   = "short"   // fewer characters than the policy's password_min_length
	PasswordLong    = "long"    // more than MaxPasswordBytes
	PasswordCommon  = "common"  // in the list of common and breached passwords, or one with digits or signs around it
	PasswordContext = "context" // the username or the organization's name
	PasswordSame    = "same"    // the user's current password
)

// MaxPasswordBytes is the longest password accepted, in bytes: enough for
// 64 characters of any script and more, while bounding the hashing work
// one request can ask for.
const MaxPasswordBytes = 1024

// PasswordError refuses a new password. Rule says which rule it breaks;
// Min is the policy's minimum length, for the PasswordShort message. It
// wraps ErrInvalid.
type PasswordError struct {
	Rule string
	Min  int
}

func (e *PasswordError) Error() string {
	switch e.Rule {
	case PasswordShort:
		return fmt.Sprintf("%v: the password must have at least %d characters", ErrInvalid, e.Min)
	case PasswordLong:
		return fmt.Sprintf("%v: the password must be at most %d bytes", ErrInvalid, MaxPasswordBytes)
	case PasswordCommon:
		return fmt.Sprintf("%v: the password is in the list of common and breached passwords; choose another (a few unrelated words make a good one)", ErrInvalid)
	case PasswordContext:
		return fmt.Sprintf("%v: the password may not be the username or the organization's name", ErrInvalid)
	case PasswordSame:
		return fmt.Sprintf("%v: the new password must differ from the current one", ErrInvalid)
	}
	return fmt.Sprintf("%v: the password is refused (%s)", ErrInvalid, e.Rule)
}

func (e *PasswordError) Unwrap() error { return ErrInvalid }

// commonPasswordsFile is the list of common passwords, one a line, shipped
// in the binary; see its header for where it comes from.
//
//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords is the list as a set, built on first use, so commands
// that set no password do not pay for it.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 18000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
})

// checkPassword applies the rules that need no stored hash to a new
// password: at least min characters (each Unicode code point counts as
// one), at most MaxPasswordBytes, not a common password and not one of the
// context words (the username, the organization's slug and name). A
// common password or context word with digits or signs before or after it
// ("Password1!", "alice2026") counts as that word.
func checkPassword(pw string, min int, context ...string) error {
	switch {
	case utf8.RuneCountInString(pw) < min:
		return &PasswordError{Rule: PasswordShort, Min: min}
	case len(pw) > MaxPasswordBytes:
		return &PasswordError{Rule: PasswordLong, Min: min}
	}
	lower := strings.ToLower(pw)
	core := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	common := commonPasswords()
	for _, s := range []string{lower, core} {
		if _, ok := common[s]; ok {
			return &PasswordError{Rule: PasswordCommon, Min: min}
		}
	}
	for _, word := range context {
		word = strings.ToLower(strings.TrimSpace(word))
		if word != "" && (lower == word || core == word) {
			return &PasswordError{Rule: PasswordContext, Min: min}
		}
	}
	return nil
}

// CheckPassword checks a new password of username in org against the
// rules that need no stored hash — the organization's minimum length, the
// common passwords, its context — so that a page can refuse a password
// before it asks for anything else. It returns a *PasswordError, or an
// error when the organization's policy cannot be read.
func CheckPassword(org store.Org, username, pw string) error {
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	return checkPassword(pw, pol.PasswordMinLength, username, org.Slug, org.Name)
}

// hashPassword checks a new password of username in org against every
// rule — CheckPassword's and, when currentHash is not empty, that it is
// not the current password — and hashes it. It is the one check every way
// of setting a password goes through: the CLI, the portal, a reset link,
// and adding a user.
func (s *Service) hashPassword(ctx context.Context, org store.Org, username, pw, currentHash string) (string, error) {
	if err := CheckPassword(org, username, pw); err != nil {
		return "", err
	}
	if currentHash != "" {
		same, err := s.Hasher.Verify(ctx, currentHash, pw)
		if err != nil {
			return "", fmt.Errorf("compare with the current password: %w", err)
		}
		if same {
			return "", &PasswordError{Rule: PasswordSame}
		}
	}
	return s.Hasher.Hash(ctx, pw)
}
