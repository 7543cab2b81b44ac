package admin

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store"
)

// AuditQuery is what an operator asks of an organization's audit log.
// Every field is optional; those that are set must all match.
type AuditQuery struct {
	// User selects the events about a user: written by name as typed, or
	// as ORG/USER of this organization.
	User   string
	Actor  string // who acted: "cli", "api:<key name>", "radius:<client>", a username
	Action string // an action such as token.suspend, or a family such as token.*
	Result string // ok, accept, reject, or a reason such as locked
	Since  time.Time
	Until  time.Time
	// Before continues a listing after the last event of the previous page.
	Before store.EventCursor
	// Limit is the most events returned; 0 is no limit.
	Limit int
}

// actionPattern is what an action or a family of actions looks like.
var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*(\.\*)?$`)

// AuditFilter checks q and turns it into the store's filter for org.
func (s *Service) AuditFilter(org store.Org, q AuditQuery) (store.EventFilter, error) {
	f := store.EventFilter{OrgID: org.ID, Since: q.Since, Until: q.Until, Before: q.Before, Limit: q.Limit}
	if q.User != "" {
		typed := q.User
		if slug, name, ok := strings.Cut(typed, "/"); ok {
			if slug != org.Slug {
				return store.EventFilter{}, invalid("user %q is not in organization %s: give the username alone, or as %s/USER", q.User, org.Slug, org.Slug)
			}
			typed = name
		}
		if !utf8.ValidString(typed) {
			return store.EventFilter{}, invalid("user must be a username, as text")
		}
		u := auth.CanonicalUsername(typed)
		if err := checkUsername(u); err != nil {
			return store.EventFilter{}, err
		}
		// Operators' changes name the user as org/user, sign-ins and
		// codes as the bare username; either may be followed by a
		// serial or what was used.
		f.About = []string{org.Slug + "/" + u, u}
	}
	var err error
	if f.Actor, err = auditWord("actor", q.Actor, "cli, api:portal or alice"); err != nil {
		return store.EventFilter{}, err
	}
	if f.Result, err = auditWord("result", q.Result, "ok, accept, reject or locked"); err != nil {
		return store.EventFilter{}, err
	}
	f.Action = strings.ToLower(strings.TrimSpace(q.Action))
	if f.Action != "" && !actionPattern.MatchString(f.Action) {
		return store.EventFilter{}, invalid("action %q should be an action such as token.suspend, or a family such as token.*", q.Action)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return store.EventFilter{}, invalid("since (%s) must be before until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if q.Limit < 0 {
		return store.EventFilter{}, invalid("limit must be 0 (no limit) or more, not %d", q.Limit)
	}
	return f, nil
}

// auditWord checks an actor or result to look for: text of at most 200
// characters without control characters.
func auditWord(what, v, examples string) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 200 || strings.ContainsFunc(v, isControl) {
		return "", invalid("%s must be at most 200 characters of text without control characters, such as %s", what, examples)
	}
	return v, nil
}

// AuditEvents returns a page of the events q selects in org, newest
// first; continue with q.Before set to the last event's Cursor.
func (s *Service) AuditEvents(ctx context.Context, org store.Org, q AuditQuery) ([]store.Event, error) {
	f, err := s.AuditFilter(org, q)
	if err != nil {
		return nil, err
	}
	return s.Store.EventPage(ctx, f)
}

// EachAuditEvent calls fn with every event q selects in org, newest
// first, one row at a time, for exports of any size.
func (s *Service) EachAuditEvent(ctx context.Context, org store.Org, q AuditQuery, fn func(store.Event) error) error {
	f, err := s.AuditFilter(org, q)
	if err != nil {
		return err
	}
	return s.Store.EachEvent(ctx, f, fn)
}

// AuditTime reads a time an operator gives to look in the audit log from
// or until: an RFC 3339 time (2026-11-24T09:00:00Z), a date or a date and
// time of day in the organization's zone loc (2026-11-24, 2026-11-24T09:00,
// as a browser's date fields send them), or a duration back from now (90m,
// 24h, or days: 7d). what names the value in the error.
func (s *Service) AuditTime(what, v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	d, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok && err != nil {
		if n, nerr := strconv.Atoi(days); nerr == nil && n <= 100*366 {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil || d < 0 {
		return time.Time{}, invalid("%s %q should be a time such as 2026-11-24T09:00:00Z or 2026-11-24, or a duration back from now such as 24h or 7d", what, v)
	}
	return s.Clock.Now().Add(-d), nil
}
