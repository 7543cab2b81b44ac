package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Push request statuses. They are the push protocol's words (package
// push), which the device endpoints pass on as they are.
const (
	PushPending     = "pending"
	PushAccepted    = "accepted"
	PushWrongNumber = "wrong_number"
	PushDenied      = "denied"
	PushFraud       = "fraud"
	PushExpired     = "expired"
)

// Decisions a device may send on a push request.
const (
	PushApprove = "approve"
	PushDeny    = "deny"
	PushReport  = "fraud"
)

// ErrTooManyPush means the user already has the most open push requests
// allowed; CreatePushRequest stored nothing.
var ErrTooManyPush = errors.New("store: too many open push requests")

// ErrPushRateLimited means the user has been sent as many push requests
// as the limit allows within its window; CreatePushRequest stored nothing.
var ErrPushRateLimited = errors.New("store: too many push requests within the window")

// PushLimit bounds the push requests a user is sent, against MFA fatigue:
// at most MaxOpen pending at once, and at most Rate created within any
// Window (Rate 0: no such limit).
type PushLimit struct {
	MaxOpen int
	Rate    int
	Window  time.Duration
}

// PushDevice is the device that holds an activated push token.
type PushDevice struct {
	TokenID   int64
	PublicKey []byte
	Alg       string // the key's algorithm (push.AlgEd25519, push.AlgES256)
	Name      string
	CreatedAt time.Time
}

// PushDeviceView is a device with what a signed request needs to be
// judged and answered: its token, the token's user and organization.
type PushDeviceView struct {
	Device PushDevice
	Token  Token
	User   User
	Org    Org
}

// PushRequest is a sign-in waiting for the user's answer on a device.
type PushRequest struct {
	ID          string // random, unguessable: devices name requests by it
	OrgID       int64
	UserID      int64
	TokenID     int64  // the push token asked, 0 for any of the user's
	TxIDHash    []byte // hash of the sign-in's transaction id
	Number      int    // the number the sign-in shows (number matching)
	Application string // "portal", an API key's or a RADIUS client's name
	Source      string // the signing-in client's address
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Status      string
	AnsweredAt  time.Time
	ConsumedAt  time.Time // when the sign-in collected the outcome; zero: not yet
}

// StatusAt is r's status as of now: a pending request past its expiry is
// expired, though no write has said so.
func (r PushRequest) StatusAt(now time.Time) string {
	if r.Status == PushPending && !now.Before(r.ExpiresAt) {
		return PushExpired
	}
	return r.Status
}

// ActivatePushToken binds a device key to the push token whose pending,
// unexpired enrollment has the link code hash codeHash: in one transaction
// it completes the enrollment, makes the token active, stores d and
// records e. The enrollment's conditional update decides, so a code
// activates one device however many try at once; otherwise it returns
// ErrNotConsumed and changes nothing.
func (s *Store) ActivatePushToken(ctx context.Context, codeHash []byte, d PushDevice, now time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.d.q(`UPDATE enrollments SET status = 'completed', completed_at = ?
			WHERE code_hash = ? AND token_id = ? AND status = 'pending' AND expires_at > ?
			AND EXISTS (SELECT 1 FROM tokens t WHERE t.id = enrollments.token_id AND t.type = 'push' AND t.state = 'assigned')
			RETURNING id`), ms(now), codeHash, d.TokenID, ms(now)).Scan(new(int64))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotConsumed
		}
		if err != nil {
			return fmt.Errorf("store: complete push enrollment: %w", err)
		}
		if err := s.exec(ctx, tx, "activate push token", `UPDATE tokens SET state = 'active', activated_at = ?
			WHERE id = ? AND state = 'assigned'`, ms(now), d.TokenID); err != nil {
			return err
		}
		// A token activated again after a reset would have been revoked
		// and replaced, so a device row for it is always new.
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO push_devices (token_id, public_key, key_alg, name, created_at) VALUES (?, ?, ?, ?, ?)`),
			d.TokenID, d.PublicKey, d.Alg, d.Name, ms(d.CreatedAt)); err != nil {
			return fmt.Errorf("store: store push device: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// PushDeviceBySerial finds the device of a push token by the token's
// serial, whatever the token's state: the caller judges it.
func (s *Store) PushDeviceBySerial(ctx context.Context, serial string) (PushDeviceView, error) {
	var v PushDeviceView
	t, err := scanToken(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+tokenColumns+` FROM tokens WHERE serial = ? AND type = 'push'`), serial))
	if err := one("push token", err); err != nil {
		return v, err
	}
	var created int64
	err = s.r.QueryRowContext(ctx, s.d.q(`SELECT public_key, key_alg, name, created_at FROM push_devices WHERE token_id = ?`), t.ID).
		Scan(&v.Device.PublicKey, &v.Device.Alg, &v.Device.Name, &created)
	if err := one("push device", err); err != nil {
		return v, err
	}
	v.Token, v.Device.TokenID, v.Device.CreatedAt = t, t.ID, fromMS(created)
	if v.User, err = s.userByID(ctx, t.UserID); err != nil {
		return v, err
	}
	v.Org, err = s.OrgByID(ctx, t.OrgID)
	return v, err
}

// CreatePushRequest stores r, pending, and records e, unless the user has
// lim.MaxOpen pending unexpired requests already (ErrTooManyPush) or was
// sent lim.Rate within the lim.Window before r.CreatedAt
// (ErrPushRateLimited). The user's row is locked first (SQLite's writers
// queue anyway), so concurrent creators count one after another and the
// limits hold on every instance.
func (s *Store) CreatePushRequest(ctx context.Context, r PushRequest, lim PushLimit, e Event) (PushRequest, error) {
	if r.ID == "" || len(r.TxIDHash) == 0 {
		return r, errors.New("store: a push request needs an id and a transaction hash")
	}
	r.Status = PushPending
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT id FROM users WHERE id = ? AND org_id = ?`+s.d.forUpdate), r.UserID, r.OrgID).Scan(new(int64)); err != nil {
			return one("push request user", err)
		}
		var open, recent int
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT
			COALESCE(SUM(CASE WHEN status = 'pending' AND expires_at > ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END), 0)
			FROM push_requests WHERE user_id = ?`),
			ms(r.CreatedAt), ms(r.CreatedAt.Add(-lim.Window)), r.UserID).Scan(&open, &recent); err != nil {
			return fmt.Errorf("store: count push requests: %w", err)
		}
		if open >= lim.MaxOpen {
			return ErrTooManyPush
		}
		if lim.Rate > 0 && recent >= lim.Rate {
			return ErrPushRateLimited
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO push_requests (id, org_id, user_id, token_id, txid_hash, number,
			application, source, created_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.OrgID, r.UserID, sql.NullInt64{Int64: r.TokenID, Valid: r.TokenID != 0}, r.TxIDHash, r.Number,
			r.Application, r.Source, ms(r.CreatedAt), ms(r.ExpiresAt), r.Status); err != nil {
			if isUnique(err) {
				return fmt.Errorf("store: create push request: %w", ErrExists)
			}
			return fmt.Errorf("store: create push request: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
	return r, err
}

const pushRequestColumns = `id, org_id, user_id, COALESCE(token_id, 0), txid_hash, number, application, source,
	created_at, expires_at, status, answered_at, consumed_at`

func scanPushRequest(row scanner) (PushRequest, error) {
	var r PushRequest
	var created, expires, answered, consumed int64
	err := row.Scan(&r.ID, &r.OrgID, &r.UserID, &r.TokenID, &r.TxIDHash, &r.Number, &r.Application, &r.Source,
		&created, &expires, &r.Status, &answered, &consumed)
	r.CreatedAt, r.ExpiresAt, r.AnsweredAt, r.ConsumedAt = fromMS(created), fromMS(expires), fromMS(answered), fromMS(consumed)
	return r, err
}

// PendingPushRequests lists the user's pending requests unexpired at now,
// oldest first.
func (s *Store) PendingPushRequests(ctx context.Context, userID int64, now time.Time) ([]PushRequest, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT `+pushRequestColumns+` FROM push_requests
		WHERE user_id = ? AND status = 'pending' AND expires_at > ? ORDER BY created_at, id`), userID, ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: pending push requests: %w", err)
	}
	defer rows.Close()
	var out []PushRequest
	for rows.Next() {
		r, err := scanPushRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("store: pending push requests: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending push requests: %w", err)
	}
	return out, nil
}

// PushAnswered is what answering a push request did.
type PushAnswered struct {
	// Request is the request as answered.
	Request PushRequest
	// LockedUntil is the lock that the failure this answer counted set,
	// zero when it set none.
	LockedUntil time.Time
}

// AnswerPushRequest records, once, the decision of the device of user
// userID on its pending, unexpired push request id: an approval with the
// number the sign-in shows is accepted, with another number it is a
// wrong number; a denial is denied and a report is fraud. In the same
// transaction, a refusal counts one failure under l — at the answer, not
// when the sign-in collects it, so that a sign-in left waiting does not
// hide a "no" from the lockout — and e is recorded with the status. It
// returns ErrNotFound for a request that is not the user's, and
// ErrNotConsumed for one answered before or expired: of concurrent
// answers exactly one wins.
func (s *Store) AnswerPushRequest(ctx context.Context, id string, userID int64, decision string, number int, now time.Time, l Lockout, e Event) (PushAnswered, error) {
	right, wrong := "", ""
	switch decision {
	case PushApprove:
		right, wrong = PushAccepted, PushWrongNumber
	case PushDeny:
		right, wrong = PushDenied, PushDenied
	case PushReport:
		right, wrong = PushFraud, PushFraud
	default:
		return PushAnswered{}, fmt.Errorf("store: push decision %q", decision)
	}
	var a PushAnswered
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a = PushAnswered{}
		r, err := scanPushRequest(tx.QueryRowContext(ctx, s.d.q(`UPDATE push_requests SET status = CASE WHEN number = ? THEN ? ELSE ? END, answered_at = ?
			WHERE id = ? AND user_id = ? AND status = 'pending' AND expires_at > ? RETURNING `+pushRequestColumns),
			number, right, wrong, ms(now), id, userID, ms(now)))
		if errors.Is(err, sql.ErrNoRows) {
			var owner int64
			err := tx.QueryRowContext(ctx, s.d.q(`SELECT user_id FROM push_requests WHERE id = ?`), id).Scan(&owner)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != userID) {
				return fmt.Errorf("store: push request: %w", ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("store: push request: %w", err)
			}
			return ErrNotConsumed
		}
		if err != nil {
			return fmt.Errorf("store: answer push request: %w", err)
		}
		a.Request = r
		if r.Status != PushAccepted {
			// A user locked already gets no failure counted: the lock
			// refuses whatever comes next anyway.
			res, _, err := reserve(ctx, tx.StmtContext(ctx, s.reserve), userID, now, l)
			if err != nil {
				return fmt.Errorf("store: count push refusal: %w", err)
			}
			a.LockedUntil = res.LockedUntil
		}
		e.Result = r.Status
		return s.addEvent(ctx, tx, e)
	})
	return a, err
}

// PushRequestByTxHash finds an organization's push request by the hash of
// its sign-in's transaction id, whatever its status (see StatusAt).
func (s *Store) PushRequestByTxHash(ctx context.Context, orgID int64, hash []byte) (PushRequest, error) {
	r, err := scanPushRequest(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+pushRequestColumns+` FROM push_requests
		WHERE org_id = ? AND txid_hash = ?`), orgID, hash))
	return r, one("push request", err)
}

// PushCollection is what collecting a push request's outcome found.
type PushCollection struct {
	// Request is the request as it stands after the call.
	Request PushRequest
	// Collected says this call collected the outcome: false when the
	// request is still pending or was collected before.
	Collected bool
	// Locked says an approval was refused because the user was locked
	// meanwhile: it is collected as denied.
	Locked bool
}

// errCollectedMeanwhile rolls back a collection that another caller won.
var errCollectedMeanwhile = errors.New("store: push request collected meanwhile")

// CollectPushRequest collects, once, the outcome of the organization's
// push request whose transaction hash is hash, in one transaction with
// what the outcome means for the user: an approval resets the failure
// count, as an accepted code does, and marks the push tokens used —
// unless the user is locked, which refuses it (collected as denied). A
// refusal was counted when the device answered (AnswerPushRequest) and an
// expiry counts nothing. e is recorded with the result (accept, locked,
// or the status). The conditional update of consumed_at decides, so of
// concurrent collectors on any instance exactly one collects.
func (s *Store) CollectPushRequest(ctx context.Context, orgID int64, hash []byte, now time.Time, e Event) (PushCollection, error) {
	var c PushCollection
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c = PushCollection{}
		r, err := scanPushRequest(tx.QueryRowContext(ctx, s.d.q(`SELECT `+pushRequestColumns+` FROM push_requests
			WHERE org_id = ? AND txid_hash = ?`+s.d.forUpdate), orgID, hash))
		if err := one("push request", err); err != nil {
			return err
		}
		c.Request = r
		status := r.StatusAt(now)
		if !r.ConsumedAt.IsZero() || status == PushPending {
			return nil
		}
		e.Result = status
		switch status {
		case PushAccepted:
			res, err := tx.ExecContext(ctx, s.d.q(`UPDATE users SET failures = 0, total_failures = 0, locked_until = 0
				WHERE id = ? AND locked_until <= ?`), r.UserID, ms(now))
			if err != nil {
				return fmt.Errorf("store: reset failures: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("store: reset failures: %w", err)
			} else if n == 0 {
				c.Locked, status, e.Result = true, PushDenied, "locked"
				break
			}
			e.Result = "accept"
			if err := s.exec(ctx, tx, "mark push token used", `UPDATE tokens SET last_used_at = ?
				WHERE user_id = ? AND type = 'push' AND state = 'active' AND (id = ? OR ? = 0)`,
				ms(now), r.UserID, r.TokenID, r.TokenID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE push_requests SET consumed_at = ?, status = ? WHERE id = ? AND consumed_at = 0`),
			ms(now), status, r.ID)
		if err != nil {
			return fmt.Errorf("store: collect push request: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: collect push request: %w", err)
		} else if n == 0 {
			return errCollectedMeanwhile
		}
		c.Request.Status, c.Request.ConsumedAt, c.Collected = status, now, true
		return s.addEvent(ctx, tx, e)
	})
	if errors.Is(err, errCollectedMeanwhile) {
		r, err := s.PushRequestByTxHash(ctx, orgID, hash)
		return PushCollection{Request: r}, err
	}
	if err != nil {
		return PushCollection{}, err
	}
	return c, nil
}
