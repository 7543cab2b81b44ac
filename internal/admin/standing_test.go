package admin_test

import (
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

func TestStandingOf(t *testing.T) {
	used := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := func(state string, self bool, activated time.Time) store.Token {
		return store.Token{State: state, SelfEnrolled: self, ActivatedAt: activated}
	}
	closed := policy.Default()
	closed.FirstLoginEnrollment = false
	tests := []struct {
		name   string
		pol    policy.Policy
		tokens []store.Token
		want   admin.Standing
	}{
		{"a user who never had a token may enroll the first", policy.Default(), nil, admin.MayEnrollFirst},
		{"not where the policy says no", closed, nil, admin.NeedsHelp},
		{"an abandoned setup of one's own is no token one had", policy.Default(),
			[]store.Token{tok(store.TokenRevoked, true, time.Time{}), tok(store.TokenAssigned, true, time.Time{})}, admin.MayEnrollFirst},
		{"an active token asks for its code", policy.Default(),
			[]store.Token{tok(store.TokenRevoked, false, used), tok(store.TokenActive, true, used)}, admin.HasAuthenticator},
		{"a suspended token is said to be suspended", policy.Default(),
			[]store.Token{tok(store.TokenSuspended, false, used)}, admin.Suspended},
		{"a locked token is like a suspended one", policy.Default(),
			[]store.Token{tok(store.TokenLocked, true, used)}, admin.Suspended},
		{"an operator's assigned token is an invitation", policy.Default(),
			[]store.Token{tok(store.TokenAssigned, false, time.Time{})}, admin.InvitationPending},
		{"a revoked invitation was a token one had", policy.Default(),
			[]store.Token{tok(store.TokenRevoked, false, time.Time{})}, admin.NeedsHelp},
		{"a removed authenticator of one's own was a token one had", policy.Default(),
			[]store.Token{tok(store.TokenRevoked, true, used)}, admin.NeedsHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := admin.StandingOf(tt.pol, tt.tokens); got != tt.want {
				t.Fatalf("StandingOf = %d, want %d", got, tt.want)
			}
		})
	}
}
