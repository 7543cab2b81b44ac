package store

import (
	"context"
	"time"
)

// SetSearchPlan makes a search rare below rare terms and walk window
// users a row, until the test ends: a directory of a few dozen users then
// takes the plans that a large one does.
func SetSearchPlan(t interface{ Cleanup(func()) }, rare, window int) {
	oldRare, oldWindow := rareTerms, walkWindow
	rareTerms, walkWindow = rare, window
	t.Cleanup(func() { rareTerms, walkWindow = oldRare, oldWindow })
}

// GuessAsOneGroup makes the guesses in one group, as the group committer
// makes those that arrive at once, and returns each one's error.
func (s *Store) GuessAsOneGroup(ctx context.Context, userIDs []int64, now time.Time, l Lockout, decide func(i int) func(Reservation, bool) Verdict) []error {
	group := make([]*guess, len(userIDs))
	for i, id := range userIDs {
		group[i] = &guess{ctx: ctx, userID: id, now: now, lockout: l, decide: decide(i)}
	}
	s.commitGroup(group)
	errs := make([]error, len(group))
	for i, g := range group {
		errs[i] = g.err
	}
	return errs
}
