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
	// subjectSQL starts from the organization, so that its policy revision
	// and status come back even for a username that names nobody: the
	// caller applies the same policy to known and unknown users alike, and
	// refuses both alike when the organization is disabled.
	subjectSQL = `SELECT o.policy_rev, o.status, u.id, u.status, u.password_hash, u.pin_hash, u.locked_until,
		t.id, t.serial, t.type, t.state, t.secret, t.algorithm, t.digits, t.period, t.last_step, t.drift
		FROM orgs o
		LEFT JOIN users u ON u.org_id = o.id AND u.username = ?
		LEFT JOIN tokens t ON t.user_id = u.id AND t.state IN ('active', 'assigned')
		WHERE o.id = ?
		ORDER BY t.id`
	// subjectsSQL is subjectSQL on PostgreSQL for a batch of subjects, the
	// organization ids and usernames of its two arrays, each row numbered
	// (from 1) by the subject it is of. Its users are looked up by the
	// array's organization id, not by the joined row's: so the lookup uses
	// the (org_id, username) index on tables PostgreSQL has no statistics
	// of yet.
	subjectsSQL = `SELECT q.n, o.policy_rev, o.status, u.id, u.status, u.password_hash, u.pin_hash, u.locked_until,
		t.id, t.serial, t.type, t.state, t.secret, t.algorithm, t.digits, t.period, t.last_step, t.drift
		FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[])) WITH ORDINALITY AS q (org_id, username, n)
		JOIN orgs o ON o.id = q.org_id
		LEFT JOIN users u ON u.org_id = q.org_id AND u.username = q.username
		LEFT JOIN tokens t ON t.user_id = u.id AND t.state IN ('active', 'assigned')
		ORDER BY q.n, t.id`

	// reserveSQL takes one guess from the user's allowance: before the
	// guess is evaluated (ReserveAttempt), or after it was refused in the
	// transaction that holds the user's row from the lock check on
	// (Guess). failures counts the guesses of the current lock
	// period: it starts again at 1 once a lock has run out (locked_until is
	// then in the past but not 0). total_failures counts every failure since
	// the last success, across periods. The guess that uses up the period's
	// allowance sets the lock at once, so that concurrent guesses beyond it
	// find the row locked and match nothing; each lock lasts lockFor times
	// the number of allowances used up so far, and reaching the hard limit
	// locks until an operator unlocks. The new failures count is written out
	// twice because SET expressions all see the row as it was.
	reserveSQL = `UPDATE users SET ` + reserveSet + `
		WHERE id = ? AND locked_until <= ?
		RETURNING total_failures, locked_until`
	// reserveSet is what reserveSQL writes, with the arguments hard limit,
	// LockedForever, threshold, now, lock period and threshold.
	reserveSet = `failures = CASE WHEN locked_until = 0 THEN failures + 1 ELSE 1 END,
		total_failures = total_failures + 1,
		locked_until = CASE
			WHEN total_failures + 1 >= ? THEN CAST(? AS BIGINT)
			WHEN (CASE WHEN locked_until = 0 THEN failures + 1 ELSE 1 END) >= ?
				THEN CAST(? AS BIGINT) + CAST(? AS BIGINT) * ((total_failures + 1) / CAST(? AS INTEGER))
			ELSE 0 END`

	// releaseSQL gives back a guess that turned out to be a correct
	// password: it was no failure. Earlier failures stay counted, and a
	// lock stays unless this guess was the one that set it.
	releaseSQL = `UPDATE users SET
		failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
		total_failures = CASE WHEN total_failures > 0 THEN total_failures - 1 ELSE 0 END,
		locked_until = CASE WHEN locked_until > ? AND failures - 1 < ? AND total_failures - 1 < ? THEN 0 ELSE locked_until END
		WHERE id = ?`

	// consumeSQL is the single-use invariant: the step is taken only if it
	// is above the last one accepted, whoever else is trying at once.
	consumeSQL = `UPDATE tokens SET last_step = ?, drift = ?, last_used_at = ?, state = 'active',
		activated_at = CASE WHEN activated_at = 0 THEN ? ELSE activated_at END
		WHERE id = ? AND last_step < ? AND state = ?`
	// consumeActiveSQL is consumeSQL for a token active already, the
	// validate path's: it sets no state, because SQLite rewrites the
	// entries of the two indexes that hold the state whenever an UPDATE
	// sets it, changed or not.
	consumeActiveSQL = `UPDATE tokens SET last_step = ?, drift = ?, last_used_at = ?
		WHERE id = ? AND last_step < ? AND state = 'active'`

	resetFailuresSQL = `UPDATE users SET failures = 0, total_failures = 0, locked_until = 0 WHERE id = ?`
	// guessLockSQL reads whether the user is locked, and whether an
	// accepted code has failures to reset (most users have none, and their
	// row is then not written at all), and locks the row for the guess's
	// transaction (on PostgreSQL, by the dialect's FOR UPDATE; SQLite's
	// write transactions run one at a time).
	guessLockSQL = `SELECT ` + guessLockColumns + ` FROM users WHERE id = ?`
	// guessLockColumns is what guessLockSQL reads of a user.
	guessLockColumns      = `locked_until, failures <> 0 OR total_failures <> 0 OR locked_until <> 0`
	completeEnrollmentSQL = `UPDATE enrollments SET status = 'completed', completed_at = ? WHERE token_id = ? AND status = 'pending'`
	apiKeySQL             = `SELECT id, org_id, name, prefix, created_at FROM api_keys WHERE hash = ? AND revoked_at = 0`
)

func (s *Store) prepare(ctx context.Context) error {
	type statement struct {
		stmt  **sql.Stmt
		db    *sql.DB
		query string
	}
	statements := []statement{
		{&s.apiKey, s.r, apiKeySQL},
		{&s.accessRevision, s.r, accessRevisionSQL},
		{&s.orgByID, s.r, orgByIDSQL},
		{&s.reserve, s.w, reserveSQL},
		{&s.release, s.w, releaseSQL},
		{&s.resetFailures, s.w, resetFailuresSQL},
		{&s.completeEnrollment, s.w, completeEnrollmentSQL},
		{&s.insertEvent, s.w, insertEventSQL},
	}
	if s.d.name == "postgres" {
		// SQLite reads subjects on lite's binding.
		statements = append(statements, statement{&s.subject, s.r, subjectsSQL})
	}
	for _, p := range statements {
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
	// LockedUntil is when the user's last lock ends, or ended: zero when
	// there has been none since the last success, LockedForever past the
	// hard limit.
	LockedUntil time.Time
	PolicyRev   int64 // of the user's organization
	// OrgDisabled says the user's organization is disabled: every
	// sign-in and validation in it is refused.
	OrgDisabled bool
	// Tokens are the user's active and assigned tokens.
	Tokens []Token
}

// Subject loads a user and their usable tokens by canonical username.
// When the organization has no such user it returns ErrNotFound and a
// Subject that carries only the organization's PolicyRev, so that the
// caller can judge the input by the same policy whether or not the user
// exists.
func (s *Store) Subject(ctx context.Context, orgID int64, username string) (Subject, error) {
	var rows subjectRows
	var err error
	if s.lite != nil {
		rows, err = s.lite.subject(ctx, orgID, username)
	} else {
		r := &subjectRead{ctx: ctx, orgID: orgID, username: username}
		s.reads.do(r, s.readSubjects)
		rows, err = r.rows, r.err
	}
	if err != nil {
		return Subject{}, fmt.Errorf("store: subject: %w", err)
	}
	return rows.subject(orgID, username)
}

// subjectRead is one call of Subject on PostgreSQL, read in one
// statement with the calls made at the same time (see readSubjects).
type subjectRead struct {
	ctx      context.Context
	orgID    int64
	username string
	rows     subjectRows
	err      error
	waiter
}

// readSubjects reads the subjects of batch in one statement, or, when
// that fails, each in its own, so that one read's error is no other's.
// A round trip to PostgreSQL and a statement cost more, on both sides of
// the connection, than the rows they carry.
func (s *Store) readSubjects(batch []*subjectRead) {
	// The statement is no single caller's: one that gives up waiting
	// does not cancel the others.
	err := s.subjectsIn(context.WithoutCancel(batch[0].ctx), batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].err = err
		return
	}
	for _, r := range batch {
		r.rows = subjectRows{}
		if r.err = r.ctx.Err(); r.err == nil {
			r.err = s.subjectsIn(r.ctx, []*subjectRead{r})
		}
	}
}

// subjectsIn runs subjectsSQL for batch.
func (s *Store) subjectsIn(ctx context.Context, batch []*subjectRead) error {
	orgIDs := make([]int64, len(batch))
	usernames := make([]string, len(batch))
	for i, r := range batch {
		orgIDs[i], usernames[i] = r.orgID, r.username
	}
	rows, err := s.subject.QueryContext(ctx, orgIDs, usernames)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			n                             int
			r                             subjectRow
			orgStatus                     string
			user, lockedUntil, id, step   sql.NullInt64
			status, passwordHash, pinHash sql.NullString
			serial, typ, state, alg       sql.NullString
			digits, period, drift         sql.NullInt64
		)
		if err := rows.Scan(&n, &r.policyRev, &orgStatus, &user, &status, &passwordHash, &pinHash, &lockedUntil,
			&id, &serial, &typ, &state, &r.token.Secret, &alg, &digits, &period, &step, &drift); err != nil {
			return err
		}
		if n < 1 || n > len(batch) {
			return fmt.Errorf("row of subject %d of %d", n, len(batch))
		}
		r.orgActive, r.user, r.userID = orgStatus == OrgActive, user.Valid, user.Int64
		r.status, r.passwordHash, r.pinHash, r.lockedUntil = status.String, passwordHash.String, pinHash.String, lockedUntil.Int64
		r.hasToken = id.Valid
		r.token = Token{ID: id.Int64, Serial: serial.String, Type: typ.String, State: state.String, Secret: r.token.Secret,
			Algorithm: alg.String, Digits: int(digits.Int64), Period: int(period.Int64), LastStep: step.Int64, Drift: int(drift.Int64)}
		batch[n-1].rows.add(r)
	}
	return rows.Err()
}

// subjectRow is one row of subjectSQL or subjectsSQL: the organization, the user when
// it has one of that name, and one of the user's usable tokens, if any.
type subjectRow struct {
	policyRev                     int64
	orgActive, user, hasToken     bool
	userID, lockedUntil           int64
	status, passwordHash, pinHash string
	token                         Token
}

// subjectRows gathers the rows of subjectSQL, read by either binding.
type subjectRows struct {
	sub        Subject
	org, found bool // a row came back; it named a user
}

func (rs *subjectRows) add(r subjectRow) {
	rs.org, rs.found = true, r.user
	rs.sub.PolicyRev, rs.sub.OrgDisabled = r.policyRev, !r.orgActive
	rs.sub.UserID, rs.sub.Status, rs.sub.PasswordHash, rs.sub.PINHash = r.userID, r.status, r.passwordHash, r.pinHash
	rs.sub.LockedUntil = fromMS(r.lockedUntil)
	if r.hasToken {
		r.token.UserID = r.userID
		rs.sub.Tokens = append(rs.sub.Tokens, r.token)
	}
}

// subject is the Subject the rows describe.
func (rs *subjectRows) subject(orgID int64, username string) (Subject, error) {
	switch {
	case !rs.org:
		return Subject{}, fmt.Errorf("store: subject: organization %d: %w", orgID, ErrNotFound)
	case !rs.found:
		return Subject{PolicyRev: rs.sub.PolicyRev, OrgDisabled: rs.sub.OrgDisabled}, fmt.Errorf("store: subject %s: %w", username, ErrNotFound)
	}
	for i := range rs.sub.Tokens {
		rs.sub.Tokens[i].OrgID = orgID
	}
	return rs.sub, nil
}

// LockedForever is the locked_until of an account past the hard limit of
// consecutive failures: no time lifts it, only an operator's unlock.
var LockedForever = time.UnixMilli(253402300799999).UTC() // 9999-12-31T23:59:59.999Z

// Lockout is how guessing is bounded for one user: Threshold guesses per
// lock period, each lock lasting LockFor times the number of allowances
// used up since the last success, and no more than HardLimit consecutive
// failures in all before only an operator can unlock.
type Lockout struct {
	Threshold int
	LockFor   time.Duration
	HardLimit int
}

// Reservation is one guess taken from a user's allowance.
type Reservation struct {
	// Failures is the consecutive failures counted so far, this guess
	// included.
	Failures int
	// LockedUntil is the lock this guess set by using up the allowance:
	// zero when it set none, LockedForever when it reached the hard limit.
	// Exactly one guess sets each lock, so whoever tells the user about a
	// lock tells it once.
	LockedUntil time.Time
}

// ReserveAttempt takes one guess from the user's allowance before the
// guess is evaluated. It reports false when the user is locked: the
// guess must then be refused unevaluated. A later success (Consume,
// RedeemBackupCode, AcceptChallenge) resets the count and lifts the lock.
func (s *Store) ReserveAttempt(ctx context.Context, userID int64, now time.Time, l Lockout) (Reservation, bool, error) {
	return reserve(ctx, s.reserve, userID, now, l)
}

// reserve runs reserveSQL prepared as stmt, alone or in a transaction.
func reserve(ctx context.Context, stmt *sql.Stmt, userID int64, now time.Time, l Lockout) (Reservation, bool, error) {
	var failures int
	var until int64
	err := stmt.QueryRowContext(ctx, reserveArgs(userID, now, l)...).Scan(&failures, &until)
	switch {
	case err == sql.ErrNoRows:
		return Reservation{}, false, nil
	case err != nil:
		return Reservation{}, false, fmt.Errorf("store: reserve attempt: %w", err)
	}
	return reservation(failures, until, now), true, nil
}

// reserveArgs are reserveSQL's arguments.
func reserveArgs(userID int64, now time.Time, l Lockout) []any {
	return []any{l.HardLimit, ms(LockedForever), l.Threshold, ms(now), l.LockFor.Milliseconds(), l.Threshold, userID, ms(now)}
}

// reservation is what reserveSQL returned, for a guess made at now.
func reservation(failures int, until int64, now time.Time) Reservation {
	r := Reservation{Failures: failures}
	// The row was not locked before this guess, so a lock it has now is
	// the one this guess set.
	if until > ms(now) {
		r.LockedUntil = fromMS(until)
	}
	return r
}

// ReleaseAttempt gives back one reserved guess that was no failure (a
// correct password or PIN confirmed on its own), without resetting the
// failures before it.
func (s *Store) ReleaseAttempt(ctx context.Context, userID int64, now time.Time, l Lockout) error {
	if _, err := s.release.ExecContext(ctx, ms(now), l.Threshold, l.HardLimit, userID); err != nil {
		return fmt.Errorf("store: release attempt: %w", err)
	}
	return nil
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
	// Retire, when not zero, is a token of the same user that the
	// activated one replaces: it is revoked in the same transaction, so
	// that an abandoned replacement leaves it working and a finished one
	// never leaves both.
	Retire int64
}

// Consume records an accepted code in one transaction: the token's step
// moves to c.Step only if that is above the last accepted one, the user's
// failures reset, a pending enrollment completes, the token it replaces
// is revoked, and the event is written. It returns ErrNotConsumed, changing nothing, when the step was
// used already or the token left state c.From meanwhile.
func (s *Store) Consume(ctx context.Context, c Consumption) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// The user's row is written first, in the order Guess takes the
		// rows, so that concurrent transactions on PostgreSQL wait for
		// each other instead of deadlocking; a step not consumed rolls
		// this back with the rest.
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, c.UserID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		return s.consumeIn(ctx, tx, c)
	})
}

// consumeIn is Consume in the transaction tx, which holds the user's row
// and has reset their failures already. The step is taken before anything
// else is written: when it was taken already, consumeIn has changed
// nothing.
func (s *Store) consumeIn(ctx context.Context, tx execer, c Consumption) error {
	at := ms(c.At)
	var res sql.Result
	var err error
	if c.From == TokenActive {
		res, err = tx.ExecContext(ctx, s.d.q(consumeActiveSQL), c.Step, c.Drift, at, c.TokenID, c.Step)
	} else {
		res, err = tx.ExecContext(ctx, s.d.q(consumeSQL), c.Step, c.Drift, at, at, c.TokenID, c.Step, c.From)
	}
	if err != nil {
		return fmt.Errorf("store: consume: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: consume: %w", err)
	} else if n == 0 {
		return ErrNotConsumed
	}
	if c.From == TokenAssigned {
		if _, err := tx.ExecContext(ctx, s.d.q(completeEnrollmentSQL), at, c.TokenID); err != nil {
			return fmt.Errorf("store: complete enrollment: %w", err)
		}
	}
	if c.Retire != 0 {
		if err := s.retire(ctx, tx, c.Retire, c.UserID); err != nil {
			return err
		}
	}
	return s.addEvent(ctx, tx, c.Event)
}
