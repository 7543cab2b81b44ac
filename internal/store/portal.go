package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in (or half signed-in) browser.
type Session struct {
	IDHash     []byte
	OrgID      int64
	UserID     int64
	Stage      string
	Data       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// CreateSession stores a new session and, when e.Action is set, records e.
func (s *Store) CreateSession(ctx context.Context, ses Session, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO sessions (id_hash, org_id, user_id, stage, data, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), ses.IDHash, ses.OrgID, ses.UserID, ses.Stage, ses.Data,
			ms(ses.CreatedAt), ms(ses.LastSeenAt), ms(ses.ExpiresAt)); err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		if e.Action == "" {
			return nil
		}
		return s.addEvent(ctx, tx, e)
	})
}

// SessionByHash finds a session that has not expired by now and was seen
// within idle; it returns ErrNotFound otherwise.
func (s *Store) SessionByHash(ctx context.Context, idHash []byte, now time.Time, idle time.Duration) (Session, error) {
	var ses Session
	var created, seen, expires int64
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT id_hash, org_id, user_id, stage, data, created_at, last_seen_at, expires_at
		FROM sessions WHERE id_hash = ? AND expires_at > ? AND last_seen_at > ?`), idHash, ms(now), ms(now.Add(-idle))).
		Scan(&ses.IDHash, &ses.OrgID, &ses.UserID, &ses.Stage, &ses.Data, &created, &seen, &expires)
	ses.CreatedAt, ses.LastSeenAt, ses.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return ses, one("session", err)
}

// TouchSession records that a session was used at now.
func (s *Store) TouchSession(ctx context.Context, idHash []byte, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`), ms(now), idHash); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session and, when e.Action is set, records e.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE id_hash = ?`), idHash); err != nil {
			return fmt.Errorf("store: delete session: %w", err)
		}
		if e.Action == "" {
			return nil
		}
		return s.addEvent(ctx, tx, e)
	})
}

// DeleteExpiredSessions removes sessions past their absolute expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE expires_at <= ?`), ms(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// EnrollmentView is an enrollment with the token, user and organization
// its page needs.
type EnrollmentView struct {
	Enrollment Enrollment
	Token      Token
	User       User
	Org        Org
	// Replaced says the code looked up is an older link of the
	// enrollment, which a resend replaced.
	Replaced bool
}

// EnrollmentByCodeHash finds an enrollment by the hash of its link code,
// whatever its status.
func (s *Store) EnrollmentByCodeHash(ctx context.Context, hash []byte) (EnrollmentView, error) {
	var v EnrollmentView
	var en = &v.Enrollment
	var expires, created, completed int64
	scan := func(query string) error {
		return s.r.QueryRowContext(ctx, s.d.q(query), hash).
			Scan(&en.ID, &en.OrgID, &en.TokenID, &en.Status, &expires, &created, &completed)
	}
	err := scan(`SELECT id, org_id, token_id, status, expires_at, created_at, completed_at
		FROM enrollments WHERE code_hash = ?`)
	if errors.Is(err, sql.ErrNoRows) {
		err = scan(`SELECT e.id, e.org_id, e.token_id, e.status, e.expires_at, e.created_at, e.completed_at
			FROM enrollment_replaced r JOIN enrollments e ON e.id = r.enrollment_id WHERE r.code_hash = ?`)
		v.Replaced = err == nil
	}
	if err := one("enrollment", err); err != nil {
		return v, err
	}
	en.CodeHash, en.ExpiresAt, en.CreatedAt, en.CompletedAt = hash, fromMS(expires), fromMS(created), fromMS(completed)
	if v.Token, err = scanToken(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+tokenColumns+` FROM tokens WHERE id = ?`), en.TokenID)); err != nil {
		return v, one("enrollment token", err)
	}
	if v.User, err = s.userByID(ctx, v.Token.UserID); err != nil {
		return v, err
	}
	v.Org, err = s.OrgByID(ctx, en.OrgID)
	return v, err
}

// RenewEnrollment gives a token's enrollment a new link code and expiry —
// the old link stops working, and is remembered as replaced — and sets it
// pending again (a resend or an extension), recording e. It returns
// ErrNotFound when the token has no enrollment or is no longer assigned.
func (s *Store) RenewEnrollment(ctx context.Context, orgID, tokenID int64, codeHash []byte, expires time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO enrollment_replaced (code_hash, enrollment_id, replaced_at)
			SELECT code_hash, id, ? FROM enrollments WHERE token_id = ? AND org_id = ? AND status <> 'completed'`),
			ms(e.At), tokenID, orgID); err != nil {
			return fmt.Errorf("store: remember the replaced link: %w", err)
		}
		if err := s.exec(ctx, tx, "renew enrollment", `UPDATE enrollments SET code_hash = ?, expires_at = ?, status = 'pending'
			WHERE token_id = ? AND org_id = ? AND status <> 'completed'
			AND EXISTS (SELECT 1 FROM tokens WHERE tokens.id = enrollments.token_id AND tokens.state = 'assigned')`,
			codeHash, ms(expires), tokenID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// ExtendEnrollment moves a pending enrollment's expiry, keeping its link.
func (s *Store) ExtendEnrollment(ctx context.Context, orgID, tokenID int64, expires time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "extend enrollment", `UPDATE enrollments SET expires_at = ?
			WHERE token_id = ? AND org_id = ? AND status = 'pending'`, ms(expires), tokenID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// CancelEnrollment stops a pending enrollment's link from working.
func (s *Store) CancelEnrollment(ctx context.Context, orgID, tokenID int64, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "cancel enrollment", `UPDATE enrollments SET status = 'cancelled'
			WHERE token_id = ? AND org_id = ? AND status = 'pending'`, tokenID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

func (s *Store) userByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
	return u, one("user", err)
}

// UserByID finds a user within an organization.
func (s *Store) UserByID(ctx context.Context, orgID, id int64) (User, error) {
	u, err := s.userByID(ctx, id)
	if err == nil && u.OrgID != orgID {
		return User{}, fmt.Errorf("store: user: %w", ErrNotFound)
	}
	return u, err
}

// SetLanguage remembers the language a user reads.
func (s *Store) SetLanguage(ctx context.Context, userID int64, lang string) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`UPDATE users SET language = ? WHERE id = ?`), lang, userID); err != nil {
		return fmt.Errorf("store: set language: %w", err)
	}
	return nil
}

// RenameToken sets the user's name for one of their tokens.
func (s *Store) RenameToken(ctx context.Context, orgID, userID int64, serial, name string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "rename token", `UPDATE tokens SET name = ? WHERE org_id = ? AND user_id = ? AND serial = ? AND state <> 'revoked'`,
			name, orgID, userID, serial); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// SetSessionData replaces a session's stage state.
func (s *Store) SetSessionData(ctx context.Context, idHash []byte, stage, data string) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`UPDATE sessions SET data = ? WHERE id_hash = ? AND stage = ?`), data, idHash, stage); err != nil {
		return fmt.Errorf("store: set session data: %w", err)
	}
	return nil
}
