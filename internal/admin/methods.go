package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// BackupCodeCount is how many backup codes a set holds.
const BackupCodeCount = 10

// GenerateBackupCodes makes a new set of backup codes for a user, voiding
// any earlier set, and returns them — the only time they are seen.
func (s *Service) GenerateBackupCodes(ctx context.Context, org store.Org, username string) ([]string, error) {
	codes, err := s.NewBackupCodes()
	if err != nil {
		return nil, err
	}
	if err := s.SetBackupCodes(ctx, org, username, codes); err != nil {
		return nil, err
	}
	return codes, nil
}

// NewBackupCodes makes a set of backup codes without putting it in use, in
// groups of four: "abcd-efgh-2345-67ab". Each has 80 random bits and at
// least one letter, which tells it from a one-time code. The portal keeps
// such a set pending until the user confirms having saved it.
func (s *Service) NewBackupCodes() ([]string, error) {
	codes := make([]string, 0, BackupCodeCount)
	for len(codes) < BackupCodeCount {
		c, err := secret.Token(s.Rand, 10)
		if err != nil {
			return nil, err
		}
		if !strings.ContainsAny(c, "abcdefghijklmnopqrstuvwxyz") {
			continue // all digits: it would read as a one-time code
		}
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16])
	}
	return codes, nil
}

// SetBackupCodes puts codes (from NewBackupCodes) in use as the user's
// set, voiding any earlier one. Only their hashes are stored.
func (s *Service) SetBackupCodes(ctx context.Context, org store.Org, username string, codes []string) error {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = secret.HashToken(strings.ReplaceAll(c, "-", ""))
	}
	return s.Store.ReplaceBackupCodes(ctx, org.ID, u.ID, hashes, s.Clock.Now(),
		s.event(org.ID, "backup.generate", org.Slug+"/"+u.Username))
}

// SetPIN sets a user's server PIN. With pin empty a random PIN of the
// policy's shortest length is made and returned. byUser says the user
// chose it; a PIN the operator assigned must be changed at the next
// sign-in when the policy says so.
func (s *Service) SetPIN(ctx context.Context, org store.Org, username, pin string, byUser bool) (string, error) {
	u, err := s.User(ctx, org, username)
	if err != nil {
		return "", err
	}
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return "", fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	if pin == "" {
		if pin, err = secret.Digits(s.Rand, max(pol.PINMinLength, 6)); err != nil {
			return "", err
		}
	}
	if err := CheckPIN(pol, pin); err != nil {
		return "", err
	}
	hash, err := s.Hasher.Hash(ctx, pin)
	if err != nil {
		return "", err
	}
	err = s.Store.SetPIN(ctx, org.ID, u.ID, hash, !byUser && pol.PINChangeOnFirstUse,
		s.event(org.ID, "user.pin", org.Slug+"/"+u.Username))
	return pin, err
}

// CheckPIN reports whether pin is one the policy allows.
func CheckPIN(pol policy.Policy, pin string) error {
	if len(pin) < pol.PINMinLength || len(pin) > pol.PINMaxLength {
		return invalid("a PIN must have %d to %d characters", pol.PINMinLength, pol.PINMaxLength)
	}
	for _, c := range pin {
		digit := c >= '0' && c <= '9'
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if pol.PINDigitsOnly && !digit {
			return invalid("a PIN may hold only digits")
		}
		if !digit && !letter {
			return invalid("a PIN may hold only letters and digits")
		}
	}
	return nil
}
