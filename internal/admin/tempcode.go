package admin

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// TempCodeOptions shape a temporary code for a user who lost their
// authenticator. Their zero values take the policy's.
type TempCodeOptions struct {
	// Valid is how long the code works: at most the policy's
	// temp_code_lifetime, which is also the default.
	Valid time.Duration
	// Uses is how many sign-ins it allows: at most the policy's
	// temp_code_uses, which is also the default.
	Uses int
	// Suspend is the serial of the lost authenticator; SuspendAll takes
	// every active authenticator app of the user. With neither, the user's
	// only active authenticator app is suspended, if they have just one.
	Suspend    string
	SuspendAll bool
}

// TempCode is an issued temporary code.
type TempCode struct {
	// Code is the code, in groups of four ("K7QM-4XPR-9TWC"): shown once,
	// to the helpdesk person, never stored.
	Code      string
	ExpiresAt time.Time
	Uses      int
	Suspended []string // serials of the tokens it suspended
	User      store.User
}

// IssueTempCode gives a user who lost their authenticator a temporary
// code that works wherever a one-time code is asked, and suspends the lost
// authenticator, replacing any earlier temporary code, all in one
// transaction with its audit event. Only the code's keyed hash is kept.
func (s *Service) IssueTempCode(ctx context.Context, org store.Org, username string, o TempCodeOptions) (TempCode, error) {
	if o.Suspend != "" && o.SuspendAll {
		return TempCode{}, invalid("name one lost authenticator (--suspend SERIAL) or all of them (--suspend-all), not both")
	}
	pol, err := policy.Parse(org.Policy)
	if err != nil {
		return TempCode{}, fmt.Errorf("organization %s: %w", org.Slug, err)
	}
	lifetime := pol.TempCodeLifetime.D()
	switch {
	case o.Valid == 0:
		o.Valid = lifetime
	case o.Valid < time.Minute:
		return TempCode{}, invalid("a temporary code must be valid at least 1m, not %s", o.Valid)
	case o.Valid > lifetime:
		return TempCode{}, invalid("a temporary code of %s may be valid at most %s (the policy's temp_code_lifetime): give a shorter time, or raise it with: twofold policy set %s temp_code_lifetime=%s",
			org.Slug, lifetime, org.Slug, o.Valid)
	}
	switch {
	case o.Uses == 0:
		o.Uses = pol.TempCodeUses
	case o.Uses < 0 || o.Uses > pol.TempCodeUses:
		return TempCode{}, invalid("a temporary code of %s allows 1 to %d sign-ins (the policy's temp_code_uses), not %d: give fewer, or raise it with: twofold policy set %s temp_code_uses=N",
			org.Slug, pol.TempCodeUses, o.Uses, org.Slug)
	}
	u, ts, err := s.Tokens(ctx, org, username)
	if err != nil {
		return TempCode{}, err
	}
	if u.Status != store.UserActive {
		return TempCode{}, invalid("user %s/%s is %s: enable them first (twofold user enable %s/%s)", org.Slug, u.Username, u.Status, org.Slug, u.Username)
	}
	lost, err := lostTokens(org, u, ts, o)
	if err != nil {
		return TempCode{}, err
	}
	code, err := newTempCode(s.Rand)
	if err != nil {
		return TempCode{}, err
	}
	now := s.Clock.Now()
	out := TempCode{Code: code[0:4] + "-" + code[4:8] + "-" + code[8:12], ExpiresAt: now.Add(o.Valid), Uses: o.Uses, User: u}
	ids := make([]int64, len(lost))
	for i, t := range lost {
		ids[i], out.Suspended = t.ID, append(out.Suspended, t.Serial)
	}
	e := s.event(org.ID, "user.temp-code", org.Slug+"/"+u.Username)
	e.Detail = fmt.Sprintf("valid until %s, uses %d", out.ExpiresAt.UTC().Format(time.RFC3339), o.Uses)
	if len(out.Suspended) > 0 {
		e.Detail += "; suspends " + strings.Join(out.Suspended, ", ")
	}
	err = s.Store.IssueTempCode(ctx, store.TempCode{
		OrgID: org.ID, UserID: u.ID, CodeMAC: s.Keys.MAC([]byte(code)), Uses: o.Uses, ExpiresAt: out.ExpiresAt, CreatedAt: now,
	}, ids, e)
	if err != nil {
		return TempCode{}, err
	}
	return out, nil
}

// lostTokens are the tokens a temporary code suspends, as o names them.
func lostTokens(org store.Org, u store.User, ts []store.Token, o TempCodeOptions) ([]store.Token, error) {
	usable := func(t store.Token) bool { return t.State == store.TokenActive || t.State == store.TokenLocked }
	if o.Suspend != "" {
		serial := strings.ToUpper(strings.TrimSpace(o.Suspend))
		for _, t := range ts {
			if t.Serial != serial {
				continue
			}
			if !usable(t) {
				return nil, invalid("token %s is %s already; only an active token can be suspended", t.Serial, t.State)
			}
			return []store.Token{t}, nil
		}
		return nil, invalid("user %s has no token %q (see: twofold token list %s/%s)", u.Username, o.Suspend, org.Slug, u.Username)
	}
	var apps []store.Token
	var serials []string
	for _, t := range ts {
		if usable(t) && (t.Type == "totp" || t.Type == "hotp") {
			apps, serials = append(apps, t), append(serials, t.Serial)
		}
	}
	if len(apps) > 1 && !o.SuspendAll {
		return nil, invalid("user %s/%s has %d active authenticator apps (%s): name the lost one with --suspend SERIAL, or suspend them all with --suspend-all",
			org.Slug, u.Username, len(apps), strings.Join(serials, ", "))
	}
	return apps, nil
}

// newTempCode makes a temporary code: auth.TempCodeLength characters of
// auth.TempCodeAlphabet, each uniformly chosen, with at least one letter.
func newTempCode(r io.Reader) (string, error) {
	const alphabet = auth.TempCodeAlphabet
	// The largest multiple of the alphabet's size a byte holds: bytes from
	// there on are discarded rather than reduced, which would favour the
	// first characters.
	limit := 256 - 256%len(alphabet)
	for {
		out := make([]byte, 0, auth.TempCodeLength)
		for len(out) < auth.TempCodeLength {
			b, err := secret.Bytes(r, auth.TempCodeLength-len(out))
			if err != nil {
				return "", err
			}
			for _, c := range b {
				if int(c) < limit {
					out = append(out, alphabet[int(c)%len(alphabet)])
				}
			}
		}
		if strings.ContainsFunc(string(out), func(c rune) bool { return c >= 'A' }) {
			return string(out), nil
		}
	}
}
