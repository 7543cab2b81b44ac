package store

import (
	"context"
	"strings"
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
func (s *Store) GuessAsOneGroup(ctx context.Context, userIDs []int64, now time.Time, l Lockout, decide func(i int) func(bool) Verdict) []error {
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

// SubjectsAsOneBatch reads the subjects in one batch, as PostgreSQL's
// Subject reads those asked for at once, and returns what Subject would.
func (s *Store) SubjectsAsOneBatch(ctx context.Context, orgIDs []int64, usernames []string) ([]Subject, []error) {
	batch := make([]*subjectRead, len(orgIDs))
	for i := range batch {
		batch[i] = &subjectRead{ctx: ctx, orgID: orgIDs[i], username: usernames[i]}
	}
	s.readSubjects(batch)
	subs, errs := make([]Subject, len(batch)), make([]error, len(batch))
	for i, r := range batch {
		if errs[i] = r.err; r.err == nil {
			subs[i], errs[i] = r.rows.subject(r.orgID, r.username)
		}
	}
	return subs, errs
}

// StatsPlan is SQLite's plan of the dashboard's query (OrgStats), a
// line of EXPLAIN QUERY PLAN a step.
func (s *Store) StatsPlan(ctx context.Context) ([]string, error) {
	args := make([]any, strings.Count(statsSQL, "?"))
	for i := range args {
		args[i] = 0
	}
	rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+statsSQL, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}
