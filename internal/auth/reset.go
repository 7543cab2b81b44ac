package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Password reset: a user who forgot their password asks for a link,
// mailed to their address. The link's secret is stored only as its hash
// (secret.HashToken), as a challenge of kind store.ChallengeReset, so it
// takes from the same send allowance as emailed codes, and every change
// that signs the user out voids it.

// ResetLinkLifetime is how long a mailed password reset link works.
const ResetLinkLifetime = 30 * time.Minute

// maxResetAccounts bounds the accounts one address may name: a few people
// may share one, a list of hundreds is no person's.
const maxResetAccounts = 10

// ResetLink is a password reset link for one user: Token is its secret,
// to be mailed and then forgotten.
type ResetLink struct {
	UserID  int64
	Token   string
	Expires time.Time
}

// StartReset makes a password reset link for each account r.Username
// names: the user of that name or, when there is none, the users with
// that email address. It is no guess and counts against no lockout, but
// it takes from the client's password attempts (r.Client) and from each
// user's send allowance. Whoever asks learns nothing: an unknown name, a
// disabled user, one without an address, a policy without resets, an
// organization whose directory checks its passwords, an
// address or a user asking too often — each is written to the audit log
// and gives no link, without an error. An error means the links could not
// be made (the database is down).
func (v *Verifier) StartReset(ctx context.Context, r Request) ([]ResetLink, error) {
	now := v.clock.Now()
	typed := strings.TrimSpace(r.Username)
	ev := store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: "password.reset", Target: CanonicalUsername(typed), Source: r.Source}
	if r.Client != "" && !v.throttle.allow(r.Client, now) {
		return nil, v.refuseReset(ctx, ev, "throttled")
	}
	org, err := v.store.OrgByID(ctx, r.OrgID)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if org.Status != store.OrgActive {
		return nil, v.refuseReset(ctx, ev, reasonName[ErrOrgDisabled])
	}
	pol, err := v.policy(ctx, r.OrgID, org.PolicyRev)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if !pol.PasswordReset {
		return nil, v.refuseReset(ctx, ev, "not_offered")
	}
	// A password the directory checks is reset there: one set here would
	// never be asked for.
	if inDirectory, err := v.PasswordsInDirectory(ctx, r.OrgID); err != nil {
		return nil, err
	} else if inDirectory {
		return nil, v.refuseReset(ctx, ev, "directory")
	}
	users, err := v.resetUsers(ctx, r.OrgID, typed)
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		if !ValidUsername(ev.Target) {
			ev.Target = notAUsername
		}
		return nil, v.refuseReset(ctx, ev, reasonName[ErrUnknownUser])
	}
	var links []ResetLink
	for _, u := range users {
		ev.Target = u.Username
		switch {
		case u.Status != store.UserActive:
			err = v.refuseReset(ctx, ev, reasonName[ErrDisabled])
		case u.Email == "":
			err = v.refuseReset(ctx, ev, "no_email")
		default:
			var l ResetLink
			if l, err = v.resetLink(ctx, u, sendLimit(pol), ev); errors.Is(err, store.ErrRateLimited) {
				err = v.refuseReset(ctx, ev, "too_soon")
			} else if err == nil {
				links = append(links, l)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return links, nil
}

// resetUsers finds the accounts typed names. A username is tried first,
// since an address is a valid username too.
func (v *Verifier) resetUsers(ctx context.Context, orgID int64, typed string) ([]store.User, error) {
	if name := CanonicalUsername(typed); ValidUsername(name) {
		u, err := v.store.UserByName(ctx, orgID, name)
		if err == nil {
			return []store.User{u}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	if !strings.Contains(typed, "@") {
		return nil, nil
	}
	us, err := v.store.UsersByEmail(ctx, orgID, typed, maxResetAccounts)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return us, nil
}

// resetLink stores a new link for u if lim allows another mail, and
// records ev.
func (v *Verifier) resetLink(ctx context.Context, u store.User, lim store.SendLimit, ev store.Event) (ResetLink, error) {
	now := ev.At
	token, err := secret.Token(v.rand, 32)
	if err != nil {
		return ResetLink{}, fmt.Errorf("auth: make reset link: %w", err)
	}
	l := ResetLink{UserID: u.ID, Token: token, Expires: now.Add(ResetLinkLifetime)}
	ev.Result = "ok"
	_, err = v.store.CreateChallenge(ctx, store.Challenge{
		OrgID: u.OrgID, UserID: u.ID, TxIDHash: secret.HashToken(token), Kind: store.ChallengeReset,
		CodeMAC: []byte{}, Status: store.ChallengePending, ExpiresAt: l.Expires, CreatedAt: now,
	}, lim, ev)
	if err != nil {
		return ResetLink{}, fmt.Errorf("auth: %w", err)
	}
	return l, nil
}

// refuseReset records a reset request that makes no link.
func (v *Verifier) refuseReset(ctx context.Context, ev store.Event, reason string) error {
	ev.Result = reason
	if err := v.store.Audit(ctx, ev); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}
