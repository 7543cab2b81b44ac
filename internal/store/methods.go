package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrRateLimited means a code was asked for again too soon or too often.
var ErrRateLimited = errors.New("store: too many codes asked for")

// ReplaceBackupCodes makes hashes the user's set of backup codes; the
// codes of any earlier set stop working. It records e.
func (s *Store) ReplaceBackupCodes(ctx context.Context, orgID, userID int64, hashes [][]byte, at time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM backup_codes WHERE org_id = ? AND user_id = ?`), orgID, userID); err != nil {
			return fmt.Errorf("store: void backup codes: %w", err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO backup_codes (org_id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)`),
				orgID, userID, h, ms(at)); err != nil {
				return fmt.Errorf("store: add backup code: %w", err)
			}
		}
		return s.addEvent(ctx, tx, e)
	})
}

// BackupCodesLeft counts the user's unused backup codes.
func (s *Store) BackupCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM backup_codes WHERE user_id = ? AND used_at = 0`), userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count backup codes: %w", err)
	}
	return n, nil
}

// RedeemBackupCode uses up one backup code, resets the user's failures and
// records e, in one transaction. The conditional UPDATE's affected rows
// decide, so of concurrent redemptions of one code exactly one succeeds;
// the others get ErrNotConsumed. It reports how many codes are left.
func (s *Store) RedeemBackupCode(ctx context.Context, userID int64, hash []byte, at time.Time, e Event) (left int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at = 0`),
			ms(at), userID, hash)
		if err != nil {
			return fmt.Errorf("store: redeem backup code: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: redeem backup code: %w", err)
		} else if n == 0 {
			return ErrNotConsumed
		}
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, userID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM backup_codes WHERE user_id = ? AND used_at = 0`), userID).Scan(&left); err != nil {
			return fmt.Errorf("store: count backup codes: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
	return left, err
}

// Challenge statuses.
const (
	ChallengePending  = "pending"
	ChallengeAccepted = "accepted"
	ChallengeDenied   = "denied"
	ChallengeExpired  = "expired"
)

// Challenge kinds.
const (
	ChallengeEmail  = "email"  // a login code, for the email token TokenID
	ChallengeVerify = "verify" // confirms it is the user adding an authenticator; no token
	// ChallengeReset is a mailed password reset link, named by the hash of
	// its secret: no token, no code. It takes from the user's send
	// allowance like a code.
	ChallengeReset = "reset"
)

// Challenge is a pending second-factor step bound to one login attempt.
type Challenge struct {
	ID         int64
	OrgID      int64
	UserID     int64
	TokenID    int64 // 0 for a verification challenge
	TxIDHash   []byte
	Kind       string
	CodeMAC    []byte // keyed hash of the code sent
	Status     string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	Sends      int
	LastSentAt time.Time
}

// Limits on sending codes, per user, whatever the kind of challenge.
type SendLimit struct {
	Every  time.Duration // at most one send per Every
	Max    int           // and at most Max sends
	Window time.Duration // within Window
}

// takeSendSQL takes the user's next send if the last one is Every ago:
// the affected rows decide. The row stays locked until the transaction
// ends, so the count of the window that follows is taken by one sender of
// the user at a time, and it sees every send committed before.
const takeSendSQL = `INSERT INTO send_limits (user_id, last_sent_at) VALUES (?, ?)
	ON CONFLICT (user_id) DO UPDATE SET last_sent_at = excluded.last_sent_at
	WHERE send_limits.last_sent_at <= ?`

// allowSend takes one send from the user's allowance inside tx, or
// returns ErrRateLimited; the caller rolls back then. A challenge's sends
// count while its last one is in the window.
func (s *Store) allowSend(ctx context.Context, tx *sql.Tx, userID int64, now time.Time, lim SendLimit) error {
	res, err := tx.ExecContext(ctx, s.d.q(takeSendSQL), userID, ms(now), ms(now.Add(-lim.Every)))
	if err != nil {
		return fmt.Errorf("store: take send: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: take send: %w", err)
	} else if n == 0 {
		return ErrRateLimited
	}
	var sends int
	if err := tx.QueryRowContext(ctx, s.d.q(`SELECT COALESCE(SUM(sends), 0) FROM challenges WHERE user_id = ? AND last_sent_at > ?`),
		userID, ms(now.Add(-lim.Window))).Scan(&sends); err != nil {
		return fmt.Errorf("store: count sends: %w", err)
	}
	if sends >= lim.Max {
		return ErrRateLimited
	}
	return nil
}

// CreateChallenge stores a new challenge if lim allows another send, and records e.
func (s *Store) CreateChallenge(ctx context.Context, c Challenge, lim SendLimit, e Event) (Challenge, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.allowSend(ctx, tx, c.UserID, c.CreatedAt, lim); err != nil {
			return err
		}
		var err error
		c.ID, err = s.insert(ctx, tx, "create challenge",
			`INSERT INTO challenges (org_id, user_id, token_id, txid_hash, kind, code_mac, status, expires_at, created_at, sends, last_sent_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
			c.OrgID, c.UserID, sql.NullInt64{Int64: c.TokenID, Valid: c.TokenID != 0}, c.TxIDHash, c.Kind, c.CodeMAC, c.Status,
			ms(c.ExpiresAt), ms(c.CreatedAt), ms(c.CreatedAt))
		if err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
	c.Sends, c.LastSentAt = 1, c.CreatedAt
	return c, err
}

// ResendChallenge gives a pending challenge a new code — the old one dies
// — if lim allows another send, and records e. The failure count is left
// alone: a new code is no new allowance of guesses.
func (s *Store) ResendChallenge(ctx context.Context, id, userID int64, mac []byte, now, expires time.Time, lim SendLimit, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.allowSend(ctx, tx, userID, now, lim); err != nil {
			return err
		}
		if err := s.exec(ctx, tx, "resend challenge", `UPDATE challenges SET code_mac = ?, sends = sends + 1, last_sent_at = ?, expires_at = ?
			WHERE id = ? AND user_id = ? AND status = 'pending' AND expires_at > ?`, mac, ms(now), ms(expires), id, userID, ms(now)); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// ChallengeByTxID finds a challenge of an organization by the hash of its transaction id.
func (s *Store) ChallengeByTxID(ctx context.Context, orgID int64, hash []byte) (Challenge, error) {
	var c Challenge
	var expires, created, last int64
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT id, org_id, user_id, COALESCE(token_id, 0), txid_hash, kind, code_mac, status, expires_at, created_at, sends, last_sent_at
		FROM challenges WHERE org_id = ? AND txid_hash = ?`), orgID, hash).
		Scan(&c.ID, &c.OrgID, &c.UserID, &c.TokenID, &c.TxIDHash, &c.Kind, &c.CodeMAC, &c.Status, &expires, &created, &c.Sends, &last)
	c.ExpiresAt, c.CreatedAt, c.LastSentAt = fromMS(expires), fromMS(created), fromMS(last)
	return c, one("challenge", err)
}

// AcceptChallenge settles a pending, unexpired challenge whose code MAC
// is mac: the conditional UPDATE's affected rows decide, so a code is
// accepted once. In the same transaction the user's failures reset, the
// token's last use is noted and e is recorded. Otherwise it returns
// ErrNotConsumed and changes nothing.
func (s *Store) AcceptChallenge(ctx context.Context, c Challenge, mac []byte, at time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE challenges SET status = 'accepted'
			WHERE id = ? AND user_id = ? AND status = 'pending' AND expires_at > ? AND code_mac = ?`), c.ID, c.UserID, ms(at), mac)
		if err != nil {
			return fmt.Errorf("store: accept challenge: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: accept challenge: %w", err)
		} else if n == 0 {
			return ErrNotConsumed
		}
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, c.UserID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		if c.TokenID == 0 { // a verification: no token was used
			return s.addEvent(ctx, tx, e)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE tokens SET last_used_at = ?, state = 'active',
			activated_at = CASE WHEN activated_at = 0 THEN ? ELSE activated_at END WHERE id = ? AND state IN ('active', 'assigned')`),
			ms(at), ms(at), c.TokenID); err != nil {
			return fmt.Errorf("store: note token use: %w", err)
		}
		if _, err := tx.StmtContext(ctx, s.completeEnrollment).ExecContext(ctx, ms(at), c.TokenID); err != nil {
			return fmt.Errorf("store: complete enrollment: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// DeleteExpiredChallenges removes challenges that expired and were last
// sent before now-keep. A send limit counts the sends of every challenge
// within its window, expired or not, so keep must be at least the longest
// window any policy may set; until then the row is still evidence.
func (s *Store) DeleteExpiredChallenges(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	before := ms(now.Add(-keep))
	res, err := s.w.ExecContext(ctx, s.d.q(`DELETE FROM challenges WHERE expires_at <= ? AND last_sent_at <= ?`), before, before)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired challenges: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired challenges: %w", err)
	}
	return n, nil
}

// SetPIN replaces a user's server PIN hash ("" removes it) and whether it
// must be changed at the next sign-in, and records e.
func (s *Store) SetPIN(ctx context.Context, orgID, userID int64, hash string, mustChange bool, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "set pin", `UPDATE users SET pin_hash = ?, pin_must_change = ? WHERE id = ? AND org_id = ?`,
			hash, boolInt(mustChange), userID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// SetLastMethod remembers the second-factor method a user chose, to offer it first next time.
func (s *Store) SetLastMethod(ctx context.Context, userID int64, method string) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`UPDATE users SET last_method = ? WHERE id = ?`), method, userID); err != nil {
		return fmt.Errorf("store: set last method: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
