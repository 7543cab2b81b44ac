package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The statements of the validate path are prepared once at Open. Each is
// served by an index: users (org_id, username), tokens (user_id), the
// primary keys, and api_keys (hash).
const (
	subjectSQL = `SELECT u.id, u.status, u.password_hash, u.pin_hash, o.policy_rev,
		t.id, t.serial, t.type, t.state, t.secret, t.algorithm, t.digits, t.period, t.last_step, t.drift
		FROM users u JOIN orgs o ON o.id = u.org_id
		LEFT JOIN tokens t ON t.user_id = u.id AND t.state IN ('active', 'assigned')
		WHERE u.org_id = ? AND u.username = ?
		ORDER BY t.id`

	// reserveSQL takes one guess from the user's allowance. It starts a
	// fresh count when the previous lock has run out, and sets the lock as
	// soon as the allowance is used up, so that concurrent guesses beyond
	// it find the row locked and match nothing. The CASE is written twice
	// because SET expressions all see the row as it was.
	reserveSQL = `UPDATE users SET
		failures = CASE WHEN locked_until = 0 AND failures < ? THEN failures + 1 ELSE 1 END,
		locked_until = CASE WHEN (CASE WHEN locked_until = 0 AND failures < ? THEN failures + 1 ELSE 1 END) >= ?
			THEN CAST(? AS BIGINT) ELSE 0 END
		WHERE id = ? AND locked_until <= ?
		RETURNING failures`

	// consumeSQL is the single-use invariant: the step is taken only if it
	// is above the last one accepted, whoever else is trying at once.
	consumeSQL = `UPDATE tokens SET last_step = ?, drift = ?, last_used_at = ?, state = 'active',
		activated_at = CASE WHEN activated_at = 0 THEN ? ELSE activated_at END
		WHERE id = ? AND last_step < ? AND state = ?`

	resetFailuresSQL      = `UPDATE users SET failures = 0, locked_until = 0 WHERE id = ?`
	completeEnrollmentSQL = `UPDATE enrollments SET status = 'completed', completed_at = ? WHERE token_id = ? AND status = 'pending'`
	apiKeySQL             = `SELECT id, org_id, name, prefix, created_at FROM api_keys WHERE hash = ? AND revoked_at = 0`
)

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&s.subject, s.r, subjectSQL},
		{&s.apiKey, s.r, apiKeySQL},
		{&s.reserve, s.w, reserveSQL},
		{&s.consume, s.w, consumeSQL},
		{&s.resetFailures, s.w, resetFailuresSQL},
		{&s.completeEnrollment, s.w, completeEnrollmentSQL},
		{&s.insertEvent, s.w, insertEventSQL},
	} {
		stmt, err := p.db.PrepareContext(ctx, s.d.q(p.query))
		if err != nil {
			return fmt.Errorf("store: prepare %.40q: %w", p.query, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// Subject is what the validate path needs about a user: one query.
type Subject struct {
	UserID       int64
	Status       string
	PasswordHash string
	PINHash      string
	PolicyRev    int64
	// Tokens are the user's active and assigned tokens.
	Tokens []Token
}

// Subject loads a user and their usable tokens by canonical username.
func (s *Store) Subject(ctx context.Context, orgID int64, username string) (Subject, error) {
	rows, err := s.subject.QueryContext(ctx, orgID, username)
	if err != nil {
		return Subject{}, fmt.Errorf("store: subject: %w", err)
	}
	defer rows.Close()
	sub := Subject{UserID: -1}
	for rows.Next() {
		var (
			id, lastStep            sql.NullInt64
			serial, typ, state, alg sql.NullString
			digits, period, drift   sql.NullInt64
			secret                  []byte
		)
		if err := rows.Scan(&sub.UserID, &sub.Status, &sub.PasswordHash, &sub.PINHash, &sub.PolicyRev,
			&id, &serial, &typ, &state, &secret, &alg, &digits, &period, &lastStep, &drift); err != nil {
			return Subject{}, fmt.Errorf("store: subject: %w", err)
		}
		if !id.Valid { // the user has no usable token
			continue
		}
		sub.Tokens = append(sub.Tokens, Token{
			ID: id.Int64, OrgID: orgID, UserID: sub.UserID, Serial: serial.String, Type: typ.String,
			State: state.String, Secret: secret, Algorithm: alg.String, Digits: int(digits.Int64),
			Period: int(period.Int64), LastStep: lastStep.Int64, Drift: int(drift.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return Subject{}, fmt.Errorf("store: subject: %w", err)
	}
	if sub.UserID < 0 {
		return Subject{}, fmt.Errorf("store: subject %s: %w", username, ErrNotFound)
	}
	return sub, nil
}

// ReserveAttempt takes one guess from the user's allowance of threshold
// guesses per lock period, before the guess is evaluated. It reports false
// when the user is locked: the guess must then be refused unevaluated. The
// guess that uses up the allowance locks the user until now+lockFor; a
// later success (Consume) lifts the lock.
func (s *Store) ReserveAttempt(ctx context.Context, userID int64, now time.Time, threshold int, lockFor time.Duration) (failures int, ok bool, err error) {
	err = s.reserve.QueryRowContext(ctx, threshold, threshold, threshold, ms(now.Add(lockFor)), userID, ms(now)).Scan(&failures)
	switch {
	case err == sql.ErrNoRows:
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("store: reserve attempt: %w", err)
	}
	return failures, true, nil
}

// Consumption is an accepted code to be recorded.
type Consumption struct {
	TokenID, UserID int64
	Step            int64 // the matched TOTP step or HOTP counter
	Drift           int
	At              time.Time
	// From is the state the token must be in: active for a login,
	// assigned for the first code that activates it. Either way the token
	// ends active.
	From  string
	Event Event
}

// Consume records an accepted code in one transaction: the token's step
// moves to c.Step only if that is above the last accepted one, the user's
// failures reset, a pending enrollment completes, and the event is
// written. It returns ErrNotConsumed, changing nothing, when the step was
// used already or the token left state c.From meanwhile.
func (s *Store) Consume(ctx context.Context, c Consumption) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		at := ms(c.At)
		res, err := tx.StmtContext(ctx, s.consume).ExecContext(ctx, c.Step, c.Drift, at, at, c.TokenID, c.Step, c.From)
		if err != nil {
			return fmt.Errorf("store: consume: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: consume: %w", err)
		} else if n == 0 {
			return ErrNotConsumed
		}
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, c.UserID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		if c.From == TokenAssigned {
			if _, err := tx.StmtContext(ctx, s.completeEnrollment).ExecContext(ctx, at, c.TokenID); err != nil {
				return fmt.Errorf("store: complete enrollment: %w", err)
			}
		}
		return s.addEvent(ctx, tx, c.Event)
	})
}
