package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Emailed codes: a challenge binds one code to one login attempt, named by
// a transaction id the client keeps. The code is stored only as a MAC.

// ErrTooSoon means another code was asked for before the policy allows.
var ErrTooSoon = errors.New("auth: a new code was asked for too soon or too often")

// ErrNoEmailToken means the user has no usable email token (or email codes are not allowed).
var ErrNoEmailToken = errors.New("auth: no email token")

// StartEmail mails the user a fresh code and returns the transaction id
// that names it. With activate it is the code that activates the user's
// assigned email token; otherwise the user's active email token is used.
// Starting a challenge is no guess: it neither counts against the lockout
// nor resets it.
func (v *Verifier) StartEmail(ctx context.Context, r Request, activate bool) (string, error) {
	if v.sender == nil {
		return "", ErrNoEmailToken
	}
	now := v.clock.Now()
	username := CanonicalUsername(r.Username)
	if !ValidUsername(username) {
		return "", ErrNoEmailToken
	}
	sub, err := v.store.Subject(ctx, r.OrgID, username)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNoEmailToken
	}
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	pol, err := v.policy(ctx, r.OrgID, sub.PolicyRev)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	want := store.TokenActive
	if activate {
		want = store.TokenAssigned
	}
	var tok *store.Token
	for i, t := range sub.Tokens {
		if t.Type == "email" && t.State == want {
			tok = &sub.Tokens[i]
		}
	}
	if sub.Status != store.UserActive || tok == nil || !pol.Allows(policy.MethodEmail) {
		return "", ErrNoEmailToken
	}
	code, err := secret.Digits(v.rand, pol.EmailCodeDigits)
	if err != nil {
		return "", err
	}
	txid, err := secret.Token(v.rand, 16)
	if err != nil {
		return "", err
	}
	hash := secret.HashToken(txid)
	_, err = v.store.CreateChallenge(ctx, store.Challenge{
		OrgID: r.OrgID, UserID: sub.UserID, TokenID: tok.ID, TxIDHash: hash, Kind: "email",
		CodeMAC: v.codeMAC(hash, code), Status: store.ChallengePending,
		ExpiresAt: now.Add(pol.EmailCodeLifetime.D()), CreatedAt: now,
	}, sendLimit(pol), store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: "challenge.email", Target: username + " " + tok.Serial, Result: "ok", Source: r.Source})
	if errors.Is(err, store.ErrRateLimited) {
		return "", ErrTooSoon
	}
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if err := v.sender.SendCode(ctx, r.OrgID, sub.UserID, code, pol.EmailCodeLifetime.D()); err != nil {
		return "", fmt.Errorf("auth: send code: %w", err)
	}
	return txid, nil
}

// ResendEmail mails a new code for a pending challenge; the older code
// stops working. The failure count is left as it is.
func (v *Verifier) ResendEmail(ctx context.Context, r Request) error {
	if v.sender == nil {
		return ErrNoEmailToken
	}
	now := v.clock.Now()
	hash := secret.HashToken(r.TransactionID)
	c, err := v.store.ChallengeByTxID(ctx, r.OrgID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoChallenge
	}
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	// Only the user the challenge belongs to may have it sent again, and
	// only while it can still be answered.
	username := CanonicalUsername(r.Username)
	if !ValidUsername(username) || c.Status != store.ChallengePending || !now.Before(c.ExpiresAt) {
		return ErrNoChallenge
	}
	sub, err := v.store.Subject(ctx, r.OrgID, username)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sub.UserID != c.UserID) {
		return ErrNoChallenge
	}
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	pol, err := v.policy(ctx, r.OrgID, sub.PolicyRev)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	code, err := secret.Digits(v.rand, pol.EmailCodeDigits)
	if err != nil {
		return err
	}
	err = v.store.ResendChallenge(ctx, c.ID, c.UserID, v.codeMAC(hash, code), now, now.Add(pol.EmailCodeLifetime.D()), sendLimit(pol),
		store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: "challenge.resend", Target: username, Result: "ok", Source: r.Source})
	switch {
	case errors.Is(err, store.ErrRateLimited):
		return ErrTooSoon
	case errors.Is(err, store.ErrNotFound):
		return ErrNoChallenge
	case err != nil:
		return fmt.Errorf("auth: %w", err)
	}
	if err := v.sender.SendCode(ctx, r.OrgID, c.UserID, code, pol.EmailCodeLifetime.D()); err != nil {
		return fmt.Errorf("auth: send code: %w", err)
	}
	return nil
}

// answerChallenge checks a code against the challenge r names. The guess
// has been reserved already.
func (v *Verifier) answerChallenge(ctx context.Context, r Request, state string, sub store.Subject, in input, withPIN bool, pinOK func(string) bool, ev store.Event, pol policy.Policy) (Outcome, error) {
	now := ev.At
	hash := secret.HashToken(r.TransactionID)
	c, err := v.store.ChallengeByTxID(ctx, r.OrgID, hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (c.UserID != sub.UserID || c.Status != store.ChallengePending || !now.Before(c.ExpiresAt))) {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	if err != nil {
		return v.fail(err)
	}
	// The challenge's token must be in the state this check serves: a
	// code that activates an assigned token signs nobody in.
	tokenOK := false
	for _, t := range sub.Tokens {
		tokenOK = tokenOK || (t.ID == c.TokenID && t.State == state)
	}
	if !tokenOK {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	pin, code, ok := in.otp(withPIN, pol.EmailCodeDigits)
	if !ok {
		return v.refuse(ctx, ev, ErrBadCode)
	}
	if !pinOK(pin) {
		return v.refuse(ctx, ev, ErrBadPIN)
	}
	ev.Target, ev.Result = ev.Target+" email code", "accept"
	err = v.store.AcceptChallenge(ctx, c, v.codeMAC(hash, code), now, ev)
	if errors.Is(err, store.ErrNotConsumed) {
		return v.refuse(ctx, ev, ErrBadCode)
	}
	if err != nil {
		return v.fail(err)
	}
	v.outcomes["accept"].Inc()
	return Outcome{Accepted: true, Method: "email"}, nil
}

// codeMAC binds a code to its challenge, so equal codes of two challenges
// do not show as equal in the database.
func (v *Verifier) codeMAC(txidHash []byte, code string) []byte {
	return v.keys.MAC(append(append([]byte{}, txidHash...), code...))
}

func sendLimit(p policy.Policy) store.SendLimit {
	return store.SendLimit{Every: p.EmailResendEvery.D(), Max: p.EmailResendMax, Window: p.EmailResendWindow.D()}
}
