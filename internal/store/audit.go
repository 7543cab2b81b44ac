package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventFilter selects audit events of one organization. A zero field
// selects everything; the fields that are set must all match.
type EventFilter struct {
	OrgID int64
	// About selects events about any of these targets: the event's target
	// is one of them, or starts with one followed by a space (as
	// "acme/alice TOTP0001" is about "acme/alice").
	About []string
	Actor string
	// Action is one action ("token.suspend"), or a family of them when it
	// ends in ".*" ("token.*").
	Action string
	Result string
	Since  time.Time // events at or after Since
	Until  time.Time // events before Until
	// Before continues a listing: only events after this position in
	// newest-first order. The zero cursor starts at the newest event.
	Before EventCursor
	// Limit is the most events returned; 0 is no limit.
	Limit int
}

// EventCursor is a position in the newest-first order of the audit log:
// the time and id of the last event of a page.
type EventCursor struct {
	At time.Time
	ID int64
}

// IsZero reports whether c is the start of the log.
func (c EventCursor) IsZero() bool { return c.ID == 0 && c.At.IsZero() }

// Cursor returns e's position, from which the next page continues.
func (e Event) Cursor() EventCursor { return EventCursor{At: e.At, ID: e.ID} }

// eventQuery writes the SELECT for f. The order (at DESC, id DESC) and the
// keyset condition on the same pair let the (org_id, at, id) index serve
// every page without counting or skipping rows.
func eventQuery(f EventFilter) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT id, org_id, at, actor, action, target, result, detail, source FROM audit_events WHERE org_id = ?`)
	args := []any{f.OrgID}
	if len(f.About) > 0 {
		// substr instead of LIKE: no wildcards in usernames to escape,
		// and the same case-sensitive comparison in both dialects.
		b.WriteString(` AND (`)
		for i, t := range f.About {
			if i > 0 {
				b.WriteString(` OR `)
			}
			b.WriteString(`target = ? OR substr(target, 1, ?) = ?`)
			args = append(args, t, utf8.RuneCountInString(t)+1, t+" ")
		}
		b.WriteString(`)`)
	}
	if f.Actor != "" {
		b.WriteString(` AND actor = ?`)
		args = append(args, f.Actor)
	}
	if family, ok := strings.CutSuffix(f.Action, "*"); ok {
		b.WriteString(` AND substr(action, 1, ?) = ?`)
		args = append(args, utf8.RuneCountInString(family), family)
	} else if f.Action != "" {
		b.WriteString(` AND action = ?`)
		args = append(args, f.Action)
	}
	if f.Result != "" {
		b.WriteString(` AND result = ?`)
		args = append(args, f.Result)
	}
	if !f.Since.IsZero() {
		b.WriteString(` AND at >= ?`)
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		b.WriteString(` AND at < ?`)
		args = append(args, ms(f.Until))
	}
	if !f.Before.IsZero() {
		at := ms(f.Before.At)
		b.WriteString(` AND (at < ? OR (at = ? AND id < ?))`)
		args = append(args, at, at, f.Before.ID)
	}
	b.WriteString(` ORDER BY at DESC, id DESC`)
	if f.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}
	return b.String(), args
}

// EachEvent calls fn with every event f selects, newest first, as the
// rows arrive from the database: an export of any size holds one row in
// memory at a time. An error from fn stops the query and is returned.
// The listing is one statement, so it sees the log as it was when it
// began, whatever is written or purged meanwhile.
func (s *Store) EachEvent(ctx context.Context, f EventFilter, fn func(Event) error) error {
	query, args := eventQuery(f)
	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return fmt.Errorf("store: audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &e.OrgID, &at, &e.Actor, &e.Action, &e.Target, &e.Result, &e.Detail, &e.Source); err != nil {
			return fmt.Errorf("store: audit events: %w", err)
		}
		e.At = fromMS(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: audit events: %w", err)
	}
	return nil
}

// EventPage returns one page of the events f selects, newest first: at
// most f.Limit, from f.Before on. The next page is the same filter with
// Before set to the last event's Cursor; a page shorter than the limit is
// the last.
func (s *Store) EventPage(ctx context.Context, f EventFilter) ([]Event, error) {
	var es []Event
	err := s.EachEvent(ctx, f, func(e Event) error {
		es = append(es, e)
		return nil
	})
	return es, err
}

// OrgPolicies lists every organization with its policy, for the jobs
// that act on each organization as its policy says.
func (s *Store) OrgPolicies(ctx context.Context) ([]Org, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+orgColumns+` FROM orgs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: organizations: %w", err)
	}
	defer rows.Close()
	var orgs []Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("store: organizations: %w", err)
		}
		orgs = append(orgs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: organizations: %w", err)
	}
	return orgs, nil
}

// PurgeEvents deletes an organization's audit events from before before
// and, when it deleted any, records e in the same transaction, its detail
// saying how many went (followed by e.Detail, when given). It reports how
// many it deleted.
func (s *Store) PurgeEvents(ctx context.Context, orgID int64, before time.Time, e Event) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM audit_events WHERE org_id = ? AND at < ?`), orgID, ms(before))
		if err != nil {
			return fmt.Errorf("store: purge audit events: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("store: purge audit events: %w", err)
		}
		if n == 0 {
			return nil
		}
		detail := fmt.Sprintf("removed %d events from before %s", n, before.UTC().Format(time.RFC3339))
		if e.Detail != "" {
			detail += " " + e.Detail
		}
		e.OrgID, e.Detail = orgID, detail
		return s.addEvent(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
