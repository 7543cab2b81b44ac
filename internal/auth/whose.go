package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/twofold-mfa/twofold/internal/store"
)

// Whose finds the organization's authenticator apps that show code now —
// within the policy's window, a code already used included — for the
// helpdesk's "whose authenticator is this?". It is no sign-in: it counts
// no guess and consumes nothing, which is why only an operator may ask it
// (the CLI, later the console); the asking is audited.
func (v *Verifier) Whose(ctx context.Context, orgID int64, code, actor string) ([]store.TokenOwner, error) {
	in, ok := parseInput(code)
	if !ok {
		return nil, ErrMalformed
	}
	pol, err := v.OrgPolicy(ctx, orgID)
	if err != nil {
		return nil, err
	}
	tokens, err := v.store.AppTokens(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	now := v.clock.Now()
	var found []store.TokenOwner
	for _, t := range tokens {
		_, c, ok := in.otp(false, t.Digits)
		if !ok || codeKind(t.Token) == "" {
			continue // a push token shows codes once its app has it
		}
		g, err := v.generator(t.Token, store.SecretAD(t.Token))
		if errors.Is(err, ErrUnsealable) {
			continue // logged by generator; it shows no code we can know
		}
		if err != nil {
			return nil, err
		}
		lo, hi, _ := window(t.Token, now, pol.TOTPWindow, pol.HOTPWindow)
		if t.Type == "hotp" {
			lo = max(0, t.LastStep) // the code shown may be the one used last
		}
		if _, ok := g.Match(c, uint64(lo), uint64(hi)); ok {
			found = append(found, t)
		}
	}
	ev := store.Event{OrgID: orgID, At: now, Actor: actor, Action: "token.find", Target: fmt.Sprintf("%d tokens", len(tokens)),
		Result: "ok", Detail: fmt.Sprintf("%d match", len(found))}
	if err := v.store.Audit(ctx, ev); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return found, nil
}
