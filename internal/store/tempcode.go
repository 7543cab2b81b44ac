package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TempCode is a temporary code the helpdesk issued to a user who lost
// their authenticator. Only a keyed hash of the code is kept.
type TempCode struct {
	OrgID, UserID int64
	CodeMAC       []byte
	Uses          int // how many sign-ins it was issued for
	UsesLeft      int
	ExpiresAt     time.Time
	CreatedAt     time.Time
	LastUsedAt    time.Time
}

// IssueTempCode gives the user c as their temporary code, replacing any
// earlier one, and suspends the user's tokens suspend (the lost
// authenticators), all with e in one transaction. Suspending signs the
// user out everywhere. It returns ErrNotFound, changing nothing, when one
// of suspend is not an active or locked token of the user.
func (s *Store) IssueTempCode(ctx context.Context, c TempCode, suspend []int64, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range suspend {
			if err := s.exec(ctx, tx, "suspend token", `UPDATE tokens SET state = ?
				WHERE id = ? AND user_id = ? AND org_id = ? AND state IN (?, ?)`,
				TokenSuspended, id, c.UserID, c.OrgID, TokenActive, TokenLocked); err != nil {
				return err
			}
		}
		if len(suspend) > 0 {
			if err := s.signOut(ctx, tx, c.UserID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM temp_codes WHERE user_id = ?`), c.UserID); err != nil {
			return fmt.Errorf("store: replace temporary code: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO temp_codes (user_id, org_id, code_mac, uses, uses_left, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), c.UserID, c.OrgID, c.CodeMAC, c.Uses, c.Uses, ms(c.ExpiresAt), ms(c.CreatedAt)); err != nil {
			return fmt.Errorf("store: issue temporary code: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// redeemTempCodeSQL takes one use of a temporary code: the affected row
// decides, so concurrent uses never exceed the count, and an expired code
// matches nothing.
const redeemTempCodeSQL = `UPDATE temp_codes SET uses_left = uses_left - 1, last_used_at = ?
	WHERE user_id = ? AND code_mac = ? AND uses_left > 0 AND expires_at > ?
	RETURNING uses_left`

// RedeemTempCode uses up one use of the user's temporary code whose keyed
// hash is mac, resets the user's failures and records e, in one
// transaction. It returns ErrNotConsumed, changing nothing, when the user
// has no such code, or it is used up or expired. It reports how many uses
// are left.
func (s *Store) RedeemTempCode(ctx context.Context, userID int64, mac []byte, at time.Time, e Event) (left int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.d.q(redeemTempCodeSQL), ms(at), userID, mac, ms(at)).Scan(&left)
		if err == sql.ErrNoRows {
			return ErrNotConsumed
		}
		if err != nil {
			return fmt.Errorf("store: redeem temporary code: %w", err)
		}
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, userID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
	return left, err
}

// LiveTempCode returns the user's temporary code if it still has uses
// left and has not expired at now; otherwise ErrNotFound.
func (s *Store) LiveTempCode(ctx context.Context, userID int64, now time.Time) (TempCode, error) {
	var c TempCode
	var expires, created, used int64
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT org_id, user_id, code_mac, uses, uses_left, expires_at, created_at, last_used_at
		FROM temp_codes WHERE user_id = ? AND uses_left > 0 AND expires_at > ?`), userID, ms(now)).
		Scan(&c.OrgID, &c.UserID, &c.CodeMAC, &c.Uses, &c.UsesLeft, &expires, &created, &used)
	c.ExpiresAt, c.CreatedAt, c.LastUsedAt = fromMS(expires), fromMS(created), fromMS(used)
	return c, one("temporary code", err)
}

// DeleteSpentLeftovers removes rows that can no longer serve anyone:
// temporary codes used up or expired at now, and the record of invitation
// links a resend replaced longer than keepReplaced ago — by then the link
// that replaced them has expired too, the longest an enrollment may live.
// It reports how many of each it removed.
func (s *Store) DeleteSpentLeftovers(ctx context.Context, now time.Time, keepReplaced time.Duration) (tempCodes, replaced int64, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if tempCodes, err = s.deleted(ctx, tx, "spent temporary codes",
			`DELETE FROM temp_codes WHERE uses_left <= 0 OR expires_at <= ?`, ms(now)); err != nil {
			return err
		}
		replaced, err = s.deleted(ctx, tx, "old replaced links",
			`DELETE FROM enrollment_replaced WHERE replaced_at <= ?`, ms(now.Add(-keepReplaced)))
		return err
	})
	return tempCodes, replaced, err
}

// deleted runs a DELETE in tx and reports how many rows it removed.
func (s *Store) deleted(ctx context.Context, tx *sql.Tx, what, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, s.d.q(query), args...)
	if err != nil {
		return 0, fmt.Errorf("store: delete %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete %s: %w", what, err)
	}
	return n, nil
}
