package store

import (
	"context"
	"fmt"
	"time"
)

// OrgStats are the figures an organization's dashboard shows.
type OrgStats struct {
	Users        int
	ActiveTokens int // tokens in state active
	// PendingEnrollments counts the invitations waiting to be used: not
	// completed, cancelled or expired (as Enrollments classifies them).
	PendingEnrollments int
	Locked             int // users whose lockout is in force now
	// SignIns and Failures count, since the time asked for, the checks of
	// a second factor that let someone in and the sign-in attempts that
	// were refused (see signInActions).
	SignIns, Failures int
	// FraudReports counts, since the same time, the push requests users
	// answered "this wasn't me": someone else has their password.
	FraudReports int
}

// A sign-in, on every channel (portal, REST, RADIUS, twofold check), is
// one "validate" event: accepted, or refused with the reason as its result.
// The portal's two-step login checks the password first as
// "login.password": its refusals are failed sign-ins too, but its
// acceptance is only the first half of one, which "validate" counts.
// portal.login follows a validate accept, so counting it would count one
// sign-in twice.
const statsSQL = `SELECT
	(SELECT COUNT(*) FROM users WHERE org_id = ?),
	(SELECT COUNT(*) FROM tokens WHERE org_id = ? AND state = 'active'),
	(SELECT COUNT(*) FROM enrollments WHERE org_id = ? AND status = 'pending' AND expires_at > ?),
	(SELECT COUNT(*) FROM users WHERE org_id = ? AND locked_until <> 0 AND locked_until > ?),
	(SELECT COUNT(*) FROM audit_events WHERE org_id = ? AND action = 'validate' AND at >= ? AND result = 'accept'),
	(SELECT COUNT(*) FROM audit_events WHERE org_id = ? AND action IN ('validate', 'login.password') AND at >= ? AND result <> 'accept'),
	(SELECT COUNT(*) FROM audit_events WHERE org_id = ? AND action = 'push.answer' AND at >= ? AND result = 'fraud')`

// OrgStats counts an organization's figures for its dashboard: the
// users, tokens, invitations and locks as they are now (by the store's
// clock), the sign-ins and failures since since. It is one query, each of
// whose counts is a range of one index (see migration 0017), read in one
// snapshot so the figures agree with each other.
func (s *Store) OrgStats(ctx context.Context, orgID int64, since time.Time) (OrgStats, error) {
	now := ms(s.clock.Now())
	var st OrgStats
	err := s.r.QueryRowContext(ctx, s.d.q(statsSQL), orgID, orgID, orgID, now, orgID, now, orgID, ms(since), orgID, ms(since), orgID, ms(since)).
		Scan(&st.Users, &st.ActiveTokens, &st.PendingEnrollments, &st.Locked, &st.SignIns, &st.Failures, &st.FraudReports)
	if err != nil {
		return OrgStats{}, fmt.Errorf("store: organization figures: %w", err)
	}
	return st, nil
}
