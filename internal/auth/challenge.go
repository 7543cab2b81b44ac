package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Emailed codes: a challenge binds one code to one login attempt, or to
// one adding of an authenticator, named by a transaction id the client
// keeps. The code is stored only as a MAC. Every kind takes from one send
// allowance per user, so switching between them cannot send more.

// ErrTooSoon means another code was asked for before the policy allows.
var ErrTooSoon = errors.New("auth: a new code was asked for too soon or too often")

// ErrNoEmailToken means the user has no usable email token (or email codes are not allowed).
var ErrNoEmailToken = errors.New("auth: no email token")

// ErrNoRecipient means no verification code can be mailed: no mailer is
// configured, or there is no such active user.
var ErrNoRecipient = errors.New("auth: no code can be mailed to the user")

// StartEmail mails the user a fresh code and returns the transaction id
// that names it. With activate it is the code that activates the user's
// assigned email token; otherwise the user's active email token is used.
// Starting a challenge is no guess: it neither counts against the lockout
// nor resets it.
func (v *Verifier) StartEmail(ctx context.Context, r Request, activate bool) (string, error) {
	if v.sender == nil {
		return "", ErrNoEmailToken
	}
	sub, pol, ok, err := v.mailee(ctx, r)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNoEmailToken
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
	if tok == nil || !pol.Allows(policy.MethodEmail) {
		return "", ErrNoEmailToken
	}
	return v.startChallenge(ctx, r, sub, pol, store.ChallengeEmail, tok.ID, "challenge.email", " "+tok.Serial)
}

// StartVerification mails the user a fresh code that confirms it is them
// adding an authenticator, and returns the transaction id that names it.
// The code goes to the user's address, with or without an email token,
// under the policy's rules for emailed codes. Like StartEmail it is no
// guess.
func (v *Verifier) StartVerification(ctx context.Context, r Request) (string, error) {
	if v.sender == nil {
		return "", ErrNoRecipient
	}
	sub, pol, ok, err := v.mailee(ctx, r)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNoRecipient
	}
	return v.startChallenge(ctx, r, sub, pol, store.ChallengeVerify, 0, "challenge.verify", "")
}

// CheckVerification checks r.Code against the verification challenge
// r.TransactionID names. It takes the path every code takes, so it is a
// guess counted against the lockout, and a correct code is used up.
func (v *Verifier) CheckVerification(ctx context.Context, r Request) (Outcome, error) {
	if r.transaction() == nil {
		// Without a challenge nothing is evaluated, so no guess is taken.
		return v.refuse(ctx, store.Event{OrgID: r.OrgID, At: v.clock.Now(), Actor: r.Actor, Action: actionVerify,
			Target: CanonicalUsername(r.Username), Source: r.Source}, ErrNoChallenge)
	}
	return v.check(ctx, r, attempt{action: actionVerify, state: stateVerify})
}

// A verification is checked as an attempt for no token state: its
// challenge belongs to no token, and no token's code answers it.
const (
	actionVerify = "add.verify"
	stateVerify  = ""
)

// mailee finds the user a code is to be mailed to and the policy; ok is
// false when there is no such active user.
func (v *Verifier) mailee(ctx context.Context, r Request) (sub store.Subject, pol policy.Policy, ok bool, err error) {
	username := CanonicalUsername(r.Username)
	if !ValidUsername(username) {
		return sub, pol, false, nil
	}
	sub, err = v.store.Subject(ctx, r.OrgID, username)
	if errors.Is(err, store.ErrNotFound) {
		return sub, pol, false, nil
	}
	if err != nil {
		return sub, pol, false, fmt.Errorf("auth: %w", err)
	}
	if pol, err = v.policy(ctx, r.OrgID, sub.PolicyRev); err != nil {
		return sub, pol, false, fmt.Errorf("auth: %w", err)
	}
	return sub, pol, sub.Status == store.UserActive && !sub.OrgDisabled, nil
}

// startChallenge stores a new challenge of kind with a fresh code, if the
// policy's send limits allow another send, and mails the code. action and
// the username followed by detail go to the audit log.
func (v *Verifier) startChallenge(ctx context.Context, r Request, sub store.Subject, pol policy.Policy, kind string, tokenID int64, action, detail string) (string, error) {
	now := v.clock.Now()
	code, err := secret.Digits(v.rand, pol.EmailCodeDigits)
	if err != nil {
		return "", fmt.Errorf("auth: make code: %w", err)
	}
	txid, err := secret.Token(v.rand, 16)
	if err != nil {
		return "", fmt.Errorf("auth: make transaction id: %w", err)
	}
	hash := secret.HashToken(txid)
	_, err = v.store.CreateChallenge(ctx, store.Challenge{
		OrgID: r.OrgID, UserID: sub.UserID, TokenID: tokenID, TxIDHash: hash, Kind: kind,
		CodeMAC: v.codeMAC(hash, code), Status: store.ChallengePending,
		ExpiresAt: now.Add(pol.EmailCodeLifetime.D()), CreatedAt: now,
	}, sendLimit(pol), store.Event{OrgID: r.OrgID, At: now, Actor: r.Actor, Action: action,
		Target: CanonicalUsername(r.Username) + detail, Result: "ok", Source: r.Source})
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

// ResendEmail mails a new code for a pending challenge of either kind,
// from the same send allowance; the older code stops working. The failure
// count is left as it is.
func (v *Verifier) ResendEmail(ctx context.Context, r Request) error {
	if v.sender == nil {
		return ErrNoEmailToken
	}
	now := v.clock.Now()
	hash := r.transaction()
	c, err := v.store.ChallengeByTxID(ctx, r.OrgID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoChallenge
	}
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	// Only the user the challenge belongs to may have it sent again, and
	// only while it can still be answered; a reset link has no code.
	username := CanonicalUsername(r.Username)
	if !ValidUsername(username) || c.Kind == store.ChallengeReset || c.Status != store.ChallengePending || !now.Before(c.ExpiresAt) {
		return ErrNoChallenge
	}
	sub, err := v.store.Subject(ctx, r.OrgID, username)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sub.UserID != c.UserID || sub.OrgDisabled)) {
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
// has been reserved already. state is the token state the check serves:
// an email challenge answers only for its token in that state, a
// verification challenge only a verification (stateVerify).
func (v *Verifier) answerChallenge(ctx context.Context, r Request, state string, sub store.Subject, in input, withPIN bool, pinOK func(string) bool, ev store.Event, pol policy.Policy) (Outcome, error) {
	now := ev.At
	hash := r.transaction()
	c, err := v.store.ChallengeByTxID(ctx, r.OrgID, hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (c.UserID != sub.UserID || c.Status != store.ChallengePending || !now.Before(c.ExpiresAt))) {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	if err != nil {
		return v.fail(err)
	}
	verify := state == stateVerify
	if verify != (c.Kind == store.ChallengeVerify) {
		return v.refuse(ctx, ev, ErrNoChallenge)
	}
	// A verification is asked of a user signed in with both factors: the
	// code alone shows the address is theirs, and no PIN goes with it.
	what, method := " email code", "email"
	if verify {
		what, method, withPIN = " verification code", "", false
	} else {
		// The challenge's token must be in the state this check serves:
		// a code that activates an assigned token signs nobody in.
		tokenOK := false
		for _, t := range sub.Tokens {
			tokenOK = tokenOK || (t.ID == c.TokenID && t.State == state)
		}
		if !tokenOK {
			return v.refuse(ctx, ev, ErrNoChallenge)
		}
	}
	pin, code, ok := in.otp(withPIN, pol.EmailCodeDigits)
	if !ok {
		return v.refuse(ctx, ev, ErrBadCode)
	}
	if !verify && !pinOK(pin) {
		return v.refuse(ctx, ev, ErrBadPIN)
	}
	ev.Target += what
	ev.Result = "accept"
	err = v.store.AcceptChallenge(ctx, c, v.codeMAC(hash, code), now, ev)
	if errors.Is(err, store.ErrNotConsumed) {
		return v.refuse(ctx, ev, ErrBadCode)
	}
	if err != nil {
		return v.fail(err)
	}
	v.outcomes["accept"].Inc()
	return Outcome{Accepted: true, Method: method}, nil
}

// codeMAC binds a code to its challenge, so equal codes of two challenges
// do not show as equal in the database.
func (v *Verifier) codeMAC(txidHash []byte, code string) []byte {
	return v.keys.MAC(append(append([]byte{}, txidHash...), code...))
}

func sendLimit(p policy.Policy) store.SendLimit {
	return store.SendLimit{Every: p.EmailResendEvery.D(), Max: p.EmailResendMax, Window: p.EmailResendWindow.D()}
}
