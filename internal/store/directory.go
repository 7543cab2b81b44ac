package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User directory filters.
const (
	FilterNone            = ""
	FilterNoAuthenticator = "no-authenticator" // no active token
	FilterPending         = "pending"          // an invitation waits, not expired
	FilterExpired         = "expired"          // an invitation expired unused
	FilterLocked          = "locked"           // locked out now
)

// Enrollment states of a directory row: an enrollment's status, with
// EnrollmentExpired computed for a pending one past its expiry (no job
// marks them), and EnrollmentNone for a user who never had one.
const EnrollmentNone = ""

// UserQuery asks for one page of an organization's users, in username order.
type UserQuery struct {
	OrgID int64
	// Search matches a prefix of the username, of the email address, or
	// of the display name from one of its words on, without regard to
	// case (see SearchUsers).
	Search string
	Filter string // one of the Filter constants
	// Role, when not empty, keeps the users with that role: an
	// organization's admins, for the service provider's console.
	Role  string
	After string // the canonical username the previous page ended with
	Limit int    // rows per page, at least 1
	Now   time.Time
}

// UserRow is what a list of users shows of each.
type UserRow struct {
	ID          int64
	Username    string
	DisplayName string
	Email       string
	Status      string
	Role        string
	Language    string // the language of the user's mail; empty: not known yet
	// Authenticators counts the active tokens.
	Authenticators int
	// Enrollment is the state of the user's invitation that matters most
	// (a pending one first, else the newest), EnrollmentNone without any;
	// EnrollmentExpires is its expiry.
	Enrollment        string
	EnrollmentExpires time.Time
	LockedUntil       time.Time // zero when not locked at Now
}

// UserPage is a page of users; Next is the After of the next page, empty
// on the last.
type UserPage struct {
	Users []UserRow
	Next  string
}

// How a search chooses its plan (see SearchUsers): a search whose prefix
// fewer than rareTerms terms start is rare; a common one walks at most
// walkWindow users per row of the page before it asks the terms instead.
// They are variables so that a test of a few users can take every plan.
var (
	rareTerms  = 2000
	walkWindow = 200
)

// SearchUsers returns one page of an organization's users in at most
// four queries, whatever the page, the search or the size of the
// organization: keyset paging (username > After, LIMIT Limit+1 to learn
// whether a next page exists) and never a count of the whole table.
//
// A search matches a prefix of the username, of the email address, or of
// the display name from the start of any of its words on ("jan" and
// "jansen" find "Anna Jansen", so does "anna j"; "sen" does not): the
// prefixes of the terms searchTerms keeps in user_search_terms, which the
// store writes with the user. A part inside a word is no longer found, as
// it was by LIKE '%…%' up to migration 0022: no index that both
// databases have can find one (it takes pg_trgm or FTS5 trigrams, two
// code paths and indexes several times the size), and a helpdesk types
// the start of a name it was given, not its middle.
//
// What stays fast, and why. Without a search a page walks the index
// users (org_id, username), in byte order, from After, and stops at the
// Limit+1-th user that passes the filter: its cost is the users walked,
// about a millisecond at 100,000 users (BenchmarkSearchUsers). With a
// search, which may be common (a prefix of every username) or rare
// (nobody's), no one plan is fast for both: walking finds many matches
// at once but crosses the whole organization for a rare term, while the
// range of terms finds a rare term's few users at once but must sort a
// common term's every match by username. So a page first counts, up to
// rareTerms, the terms the search starts — an index range, no join. Fewer
// is a rare search: its users come from that range, joined to users
// after After and sorted, a few thousand rows at most. A common one
// walks as before, asking of each user one probe of its terms, but at
// most walkWindow users a row of the page (about 10,000), which fills the
// page when one user in two hundred matches; only when it does not, the
// rest of the page comes from the range of terms, joined to the users
// beyond the walk and sorted. A page's columns (tokens, enrollment) are
// worked out for its own rows alone.
//
// At 100,000 users on SQLite (2 loaded cores, ms a page, before the
// terms → now): a term nobody has 84 → 0.7, a rare username prefix 49 →
// 0.9, a rare email prefix 101 → 1.7, a common name 1.7 → 3.9, no search
// 1.0 → 0.9. The slowest now is a common term whose matches lie far
// from After (a tenth of the usernames, all at the end: 26 ms, and a
// common name with a rare filter: 25 ms, 14 before): the walk misses and
// the range sorts every match. PostgreSQL is slower on the rare plans in
// the benchmark (about 45 ms for a rare email prefix) than the same plan
// by hand (3 ms): see BenchmarkSearchUsers. Comparing in byte order
// keeps a prefix one contiguous range whatever the database's collation.
func (s *Store) SearchUsers(ctx context.Context, q UserQuery) (UserPage, error) {
	if q.Limit < 1 {
		return UserPage{}, fmt.Errorf("store: search users: limit %d", q.Limit)
	}
	search := fold(q.Search)
	var rows []UserRow
	var err error
	if search == "" {
		rows, err = s.userRows(ctx, q, q.After, q.Limit+1, userWalk, nil, "")
	} else {
		rows, err = s.searchRows(ctx, q, search)
	}
	if err != nil {
		return UserPage{}, fmt.Errorf("store: search users: %w", err)
	}
	p := UserPage{Users: rows}
	if len(p.Users) > q.Limit {
		p.Users = p.Users[:q.Limit]
		p.Next = p.Users[q.Limit-1].Username
	}
	return p, nil
}

// searchRows returns the first Limit+1 users after q.After that search
// matches, by the plan that suits how common it is (see SearchUsers).
func (s *Store) searchRows(ctx context.Context, q UserQuery, search string) ([]UserRow, error) {
	b := s.d.bytewise
	// Every string that starts with search sorts, byte by byte, at or
	// after it and before it followed by the highest code point.
	upper := search + "\U0010FFFF"
	terms := []any{q.OrgID, search, upper}
	var n int
	if err := s.r.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM (SELECT 1 FROM user_search_terms
		WHERE org_id = ? AND term >= ? AND term < ? LIMIT ?) c`), append(terms, rareTerms)...).Scan(&n); err != nil {
		return nil, fmt.Errorf("how common the search is: %w", err)
	}
	if n < rareTerms {
		return s.userRows(ctx, q, q.After, q.Limit+1, userTerms, terms, "")
	}
	var end string
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT username FROM users WHERE org_id = ? AND username `+b+` > ?
		ORDER BY username `+b+` LIMIT 1 OFFSET ?`), q.OrgID, q.After, walkWindow*(q.Limit+1)-1).Scan(&end)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Fewer users are left than the window: the walk reaches the end.
	case err != nil:
		return nil, fmt.Errorf("where the walk ends: %w", err)
	}
	walk := `EXISTS (SELECT 1 FROM user_search_terms t WHERE t.user_id = u.id AND t.term >= ? AND t.term < ?)`
	walkArgs := []any{search, upper}
	if end != "" {
		walk += ` AND u.username ` + b + ` <= ?`
		walkArgs = append(walkArgs, end)
	}
	rows, err := s.userRows(ctx, q, q.After, q.Limit+1, userWalk, nil, walk, walkArgs...)
	if err != nil || len(rows) > q.Limit || end == "" {
		return rows, err
	}
	rest, err := s.userRows(ctx, q, end, q.Limit+1-len(rows), userTerms, terms, "")
	return append(rows, rest...), err
}

// Where a page's users come from: the organization's, in username order;
// or those of the search terms in a range (bound to org_id and the
// range), one row per user.
const (
	userWalk  = `users u`
	userTerms = `(SELECT DISTINCT user_id FROM user_search_terms WHERE org_id = ? AND term >= ? AND term < ?) m
		JOIN users u ON u.id = m.user_id`
)

// userRows returns the first limit users of from, after after in byte
// order, that pass cond (with condArgs), q's role and q's filter.
func (s *Store) userRows(ctx context.Context, q UserQuery, after string, limit int, from string, fromArgs []any, cond string, condArgs ...any) ([]UserRow, error) {
	now := ms(q.Now)
	b := s.d.bytewise
	query := `SELECT u.id FROM ` + from + ` WHERE u.org_id = ? AND u.username ` + b + ` > ?`
	args := append(append([]any{}, fromArgs...), q.OrgID, after)
	if cond != "" {
		query += ` AND ` + cond
		args = append(args, condArgs...)
	}
	if q.Role != "" {
		query += ` AND u.role = ?`
		args = append(args, q.Role)
	}
	const pendingExists = `EXISTS (SELECT 1 FROM tokens t JOIN enrollments e ON e.token_id = t.id
		WHERE t.user_id = u.id AND e.status = 'pending' AND e.expires_at `
	switch q.Filter {
	case FilterNone:
	case FilterNoAuthenticator:
		query += ` AND NOT EXISTS (SELECT 1 FROM tokens a WHERE a.user_id = u.id AND a.state = 'active')`
	case FilterPending:
		query += ` AND ` + pendingExists + `> ?)`
		args = append(args, now)
	case FilterExpired:
		// Expired and nothing newer waiting: a resend made it pending again.
		query += ` AND ` + pendingExists + `<= ?) AND NOT ` + pendingExists + `> ?)`
		args = append(args, now, now)
	case FilterLocked:
		// The condition of the partial index users_org_locked (0030).
		query += ` AND u.locked_until <> 0 AND u.locked_until > ?`
		args = append(args, now)
	default:
		return nil, fmt.Errorf("unknown filter %q", q.Filter)
	}
	query += ` ORDER BY u.username ` + b + ` LIMIT ?`
	args = append(args, limit)
	// The columns of a row are worked out for the page's rows alone:
	// SQLite would otherwise count tokens and pick enrollments for every
	// candidate it sorts.
	const pick = `FROM enrollments e JOIN tokens t ON t.id = e.token_id
		WHERE t.user_id = u.id AND e.org_id = u.org_id
		ORDER BY CASE WHEN e.status = 'pending' THEN 0 ELSE 1 END, e.id DESC LIMIT 1`
	query = `SELECT u.id, u.username, u.display_name, u.email, u.status, u.role, u.language, u.locked_until,
		(SELECT COUNT(*) FROM tokens a WHERE a.user_id = u.id AND a.state = 'active'),
		COALESCE((SELECT CASE WHEN e.status = 'pending' AND e.expires_at <= ? THEN 'expired' ELSE e.status END ` + pick + `), ''),
		COALESCE((SELECT e.expires_at ` + pick + `), 0)
		FROM (` + query + `) p JOIN users u ON u.id = p.id ORDER BY u.username ` + b
	args = append([]any{now}, args...)

	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserRow
	for rows.Next() {
		var r UserRow
		var locked, expires int64
		if err := rows.Scan(&r.ID, &r.Username, &r.DisplayName, &r.Email, &r.Status, &r.Role, &r.Language, &locked,
			&r.Authenticators, &r.Enrollment, &expires); err != nil {
			return nil, err
		}
		if locked > now {
			r.LockedUntil = fromMS(locked)
		}
		r.EnrollmentExpires = fromMS(expires)
		out = append(out, r)
	}
	return out, rows.Err()
}

// EnrollmentRow is an enrollment with whom and what it is for.
type EnrollmentRow struct {
	Username string
	Serial   string
	Type     string
	// Status is the enrollment's, with EnrollmentExpired for a pending
	// one past its expiry.
	Status      string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	CompletedAt time.Time
	// LastSentAt is when the link was last sent: made, or resent.
	LastSentAt time.Time
	UserID     int64
}

const enrollmentRowSQL = `SELECT u.username, t.serial, t.type,
	CASE WHEN e.status = 'pending' AND e.expires_at <= ? THEN 'expired' ELSE e.status END,
	e.created_at, e.expires_at, e.completed_at,
	COALESCE((SELECT MAX(r.replaced_at) FROM enrollment_replaced r WHERE r.enrollment_id = e.id), e.created_at),
	u.id
	FROM enrollments e JOIN tokens t ON t.id = e.token_id JOIN users u ON u.id = t.user_id
	WHERE e.org_id = ? AND u.org_id = ?`

// Enrollments lists an organization's enrollments by username, then
// age; status, when not empty, keeps those in that (computed) status.
func (s *Store) Enrollments(ctx context.Context, orgID int64, status string, now time.Time) ([]EnrollmentRow, error) {
	query := enrollmentRowSQL
	args := []any{ms(now), orgID, orgID}
	switch status {
	case "":
	case EnrollmentPending:
		query += ` AND e.status = 'pending' AND e.expires_at > ?`
		args = append(args, ms(now))
	case EnrollmentExpired:
		query += ` AND e.status = 'pending' AND e.expires_at <= ?`
		args = append(args, ms(now))
	default:
		query += ` AND e.status = ?`
		args = append(args, status)
	}
	return s.enrollmentRows(ctx, query+` ORDER BY u.username `+s.d.bytewise+`, e.id`, args...)
}

// UserEnrollments lists one user's enrollments, oldest first.
func (s *Store) UserEnrollments(ctx context.Context, orgID, userID int64, now time.Time) ([]EnrollmentRow, error) {
	return s.enrollmentRows(ctx, enrollmentRowSQL+` AND u.id = ? ORDER BY e.id`, ms(now), orgID, orgID, userID)
}

func (s *Store) enrollmentRows(ctx context.Context, query string, args ...any) ([]EnrollmentRow, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: enrollments: %w", err)
	}
	defer rows.Close()
	var out []EnrollmentRow
	for rows.Next() {
		var r EnrollmentRow
		var created, expires, completed, sent int64
		if err := rows.Scan(&r.Username, &r.Serial, &r.Type, &r.Status, &created, &expires, &completed, &sent, &r.UserID); err != nil {
			return nil, fmt.Errorf("store: enrollments: %w", err)
		}
		r.CreatedAt, r.ExpiresAt, r.CompletedAt, r.LastSentAt = fromMS(created), fromMS(expires), fromMS(completed), fromMS(sent)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: enrollments: %w", err)
	}
	return out, nil
}

// Footprint counts the rows that refer to a user, which deleting the
// user deletes with it.
type Footprint struct {
	Tokens, Enrollments, Challenges, Sessions, BackupCodes int
}

// UserFootprint counts the rows that refer to a user.
func (s *Store) UserFootprint(ctx context.Context, orgID, userID int64) (Footprint, error) {
	var f Footprint
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT
		(SELECT COUNT(*) FROM tokens WHERE user_id = u.id),
		(SELECT COUNT(*) FROM enrollments e JOIN tokens t ON t.id = e.token_id WHERE t.user_id = u.id),
		(SELECT COUNT(*) FROM challenges WHERE user_id = u.id),
		(SELECT COUNT(*) FROM sessions WHERE user_id = u.id),
		(SELECT COUNT(*) FROM backup_codes WHERE user_id = u.id)
		FROM users u WHERE u.id = ? AND u.org_id = ?`), userID, orgID).
		Scan(&f.Tokens, &f.Enrollments, &f.Challenges, &f.Sessions, &f.BackupCodes)
	return f, one("user footprint", err)
}

// userRefs are the deletes that take a user's rows, children before
// parents; each names the user by the placeholder.
var userRefs = []struct{ what, query string }{
	{"replaced links", `DELETE FROM enrollment_replaced WHERE enrollment_id IN
		(SELECT e.id FROM enrollments e JOIN tokens t ON t.id = e.token_id WHERE t.user_id = ?)`},
	{"enrollments", `DELETE FROM enrollments WHERE token_id IN (SELECT id FROM tokens WHERE user_id = ?)`},
	{"challenges", `DELETE FROM challenges WHERE user_id = ?`},
	{"tokens", `DELETE FROM tokens WHERE user_id = ?`},
	{"sessions", `DELETE FROM sessions WHERE user_id = ?`},
	{"backup codes", `DELETE FROM backup_codes WHERE user_id = ?`},
	{"send limits", `DELETE FROM send_limits WHERE user_id = ?`},
	{"search terms", `DELETE FROM user_search_terms WHERE user_id = ?`},
}

// DeleteUser deletes a user and every row that refers to them — tokens,
// enrollments and their replaced links, challenges, sessions, backup codes,
// send limits — with e, in one transaction. It returns ErrNotFound when
// the user is not in the organization. Audit events name the user by text
// and stay.
func (s *Store) DeleteUser(ctx context.Context, orgID, userID int64, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM users WHERE id = ? AND org_id = ?`), userID, orgID).Scan(&exists); err != nil {
			return one("delete user", err)
		}
		for _, r := range userRefs {
			if _, err := tx.ExecContext(ctx, s.d.q(r.query), userID); err != nil {
				return fmt.Errorf("store: delete the user's %s: %w", r.what, err)
			}
		}
		if err := s.exec(ctx, tx, "delete user", `DELETE FROM users WHERE id = ? AND org_id = ?`, userID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// Unenrolled is an active user without an active token: whom a rollout
// looks at.
type Unenrolled struct {
	ID       int64
	Username string
	Email    string
	// Suspended says a token of the user is suspended or locked: the
	// helpdesk's case, not a rollout's.
	Suspended bool
}

// UnenrolledUsers lists an organization's active users who have no active
// token, by username.
func (s *Store) UnenrolledUsers(ctx context.Context, orgID int64) ([]Unenrolled, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT u.id, u.username, u.email,
		EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = u.id AND t.state IN ('suspended', 'locked'))
		FROM users u WHERE u.org_id = ? AND u.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM tokens a WHERE a.user_id = u.id AND a.state = 'active')
		ORDER BY u.username `+s.d.bytewise), orgID)
	if err != nil {
		return nil, fmt.Errorf("store: unenrolled users: %w", err)
	}
	defer rows.Close()
	var out []Unenrolled
	for rows.Next() {
		var u Unenrolled
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.Suspended); err != nil {
			return nil, fmt.Errorf("store: unenrolled users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unenrolled users: %w", err)
	}
	return out, nil
}

// tokenRefs are the rows that refer to one token, deleted with it.
var tokenRefs = []struct{ what, query string }{
	{"replaced links", `DELETE FROM enrollment_replaced WHERE enrollment_id IN (SELECT id FROM enrollments WHERE token_id = ?)`},
	{"enrollment", `DELETE FROM enrollments WHERE token_id = ?`},
	{"challenges", `DELETE FROM challenges WHERE token_id = ?`},
}

// DeleteToken deletes a token of the organization that is revoked or
// still only assigned, with its enrollment, replaced links and challenges,
// and records e, in one transaction. A token in use (active, suspended,
// locked) is never deleted outright: it returns ErrNotFound, changing
// nothing, for such a token as for one not in the organization.
func (s *Store) DeleteToken(ctx context.Context, orgID, tokenID int64, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM tokens WHERE id = ? AND org_id = ? AND state IN ('revoked', 'assigned')`),
			tokenID, orgID).Scan(&exists); err != nil {
			return one("delete token", err)
		}
		for _, r := range tokenRefs {
			if _, err := tx.ExecContext(ctx, s.d.q(r.query), tokenID); err != nil {
				return fmt.Errorf("store: delete the token's %s: %w", r.what, err)
			}
		}
		if err := s.exec(ctx, tx, "delete token", `DELETE FROM tokens WHERE id = ? AND org_id = ?`, tokenID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}
