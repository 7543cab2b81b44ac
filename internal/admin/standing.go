package admin

import (
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Standing is where a user stands with their authenticators when they
// sign in with a correct password: what the password alone may lead to.
type Standing int

const (
	// HasAuthenticator: an active authenticator asks for its code.
	HasAuthenticator Standing = iota
	// MayEnrollFirst: the user never had an authenticator, and the policy
	// lets them add the first one at sign-in with the password alone.
	MayEnrollFirst
	// Suspended: an operator suspended (or the system locked) the user's
	// authenticator; only the helpdesk can resume it.
	Suspended
	// InvitationPending: an operator assigned an authenticator, which the
	// invitation link sets up.
	InvitationPending
	// NeedsHelp: the user had an authenticator that is gone, or the policy
	// does not let the password alone add one; something beyond the
	// password is needed (a backup code, a mailed code, the helpdesk).
	NeedsHelp
)

// StandingOf decides where a user with tokens ts stands. It holds the
// rule of DESIGN.md invariant 8: a new authenticator needs more than the
// password, except a first one where the policy allows it and the user
// has never had one in any state. Self-enrolled setups that never received
// their first code are no authenticator the user had: they are replaced by
// the next setup.
func StandingOf(pol policy.Policy, ts []store.Token) Standing {
	had, pending, suspended := false, false, false
	for _, t := range ts {
		switch {
		case t.State == store.TokenActive:
			return HasAuthenticator
		case t.State == store.TokenSuspended || t.State == store.TokenLocked:
			suspended = true
		case t.State == store.TokenAssigned && !t.SelfEnrolled:
			pending = true
		case t.SelfEnrolled && t.ActivatedAt.IsZero():
			// An abandoned setup of the user's own.
		default:
			had = true
		}
	}
	switch {
	case suspended:
		return Suspended
	case pending:
		return InvitationPending
	case had || !pol.FirstLoginEnrollment:
		return NeedsHelp
	}
	return MayEnrollFirst
}
