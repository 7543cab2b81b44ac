package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Org is an organization (tenant).
type Org struct {
	ID        int64
	Slug      string
	Name      string
	Policy    []byte // JSON, see package policy
	PolicyRev int64  // bumped on every policy change, so readers can cache the parsed policy
	CreatedAt time.Time
	Status    string // OrgActive or OrgDisabled
	OrgSettings
	// LogoHash is LogoHash of the organization's logo, empty when it has
	// none; the logo itself is read with OrgLogo.
	LogoHash string
}

// User is an account within one organization.
type User struct {
	ID            int64
	OrgID         int64
	Username      string // canonical form, see package auth
	Email         string
	DisplayName   string
	PasswordHash  string // argon2id PHC string; empty when the user has no password
	Role          string
	Status        string
	Failures      int // guesses counted in the current lock period
	TotalFailures int // consecutive failures since the last success, across periods
	LockedUntil   time.Time
	CreatedAt     time.Time
	Language      string // the language the user reads mail in; empty: not known yet
	PINHash       string // argon2id hash of the server PIN; empty: none set
	PINMustChange bool   // the PIN was assigned and must be changed at the next sign-in
	LastMethod    string // the second-factor method chosen last ("app", "email", "backup")
}

// Token is an authenticator of a user.
type Token struct {
	ID        int64
	OrgID     int64
	UserID    int64
	Serial    string
	Type      string // totp, hotp
	Name      string
	State     string
	Secret    []byte // sealed; see SecretAD
	Algorithm string
	Digits    int
	Period    int // seconds, TOTP only
	// LastStep is the last accepted TOTP time step or HOTP counter. A code
	// is accepted only for a step above it.
	LastStep    int64
	Drift       int // measured TOTP clock drift, in steps
	CreatedAt   time.Time
	ActivatedAt time.Time
	LastUsedAt  time.Time
	// SelfEnrolled says the user added the token at the portal, not an
	// operator with an invitation link.
	SelfEnrolled bool
}

// SecretAD is the additional data that binds a sealed token secret to its
// row, so that a secret copied into another token's or user's row does not
// open.
func SecretAD(t Token) []byte {
	return fmt.Appendf(nil, "twofold tokens.secret org=%d user=%d token=%d", t.OrgID, t.UserID, t.ID)
}

// Enrollment is the provisioning task of an assigned token.
type Enrollment struct {
	ID          int64
	OrgID       int64
	TokenID     int64
	CodeHash    []byte
	Status      string
	ExpiresAt   time.Time
	CreatedAt   time.Time
	CompletedAt time.Time
}

// APIKey lets an application call the REST API for one organization.
type APIKey struct {
	ID        int64
	OrgID     int64
	Name      string
	Prefix    string // the first characters of the key, to tell keys apart
	Hash      []byte
	CreatedAt time.Time
	RevokedAt time.Time
}

// Event is an audit event. It never holds a secret, code or password.
type Event struct {
	ID     int64
	OrgID  int64 // 0 for the service provider
	At     time.Time
	Actor  string // "cli", "api:<key name>", a username
	Action string // "org.create", "validate", …
	Target string // "acme/alice", a serial, …
	Result string // "ok", "accept", "reject", or why it was refused
	Detail string
	Source string // remote address, when there is one
}

const insertEventSQL = `INSERT INTO audit_events (org_id, at, actor, action, target, result, detail, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// args are insertEventSQL's arguments.
func (e Event) args() []any {
	return []any{e.OrgID, ms(e.At), e.Actor, e.Action, e.Target, e.Result, e.Detail, e.Source}
}

func (s *Store) addEvent(ctx context.Context, tx execer, e Event) error {
	_, err := tx.ExecContext(ctx, s.d.q(insertEventSQL), e.args()...)
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// Audit records an event on its own.
func (s *Store) Audit(ctx context.Context, e Event) error {
	if _, err := s.insertEvent.ExecContext(ctx, e.args()...); err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// Events returns an organization's newest events first, at most limit.
func (s *Store) Events(ctx context.Context, orgID int64, limit int) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT id, org_id, at, actor, action, target, result, detail, source
		FROM audit_events WHERE org_id = ? ORDER BY id DESC LIMIT ?`), orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	var es []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &e.OrgID, &at, &e.Actor, &e.Action, &e.Target, &e.Result, &e.Detail, &e.Source); err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		e.At = fromMS(at)
		es = append(es, e)
	}
	return es, rows.Err()
}

// insert runs an INSERT … RETURNING id inside tx and maps unique violations to ErrExists.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, what, query string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, s.d.q(query+" RETURNING id"), args...).Scan(&id)
	switch {
	case isUnique(err):
		return 0, fmt.Errorf("store: %s: %w", what, ErrExists)
	case err != nil:
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return id, nil
}

// exec runs an UPDATE inside tx and returns ErrNotFound when it matched no row.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, what, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, s.d.q(query), args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}

// one maps sql.ErrNoRows to ErrNotFound.
func one(what string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// CreateOrg adds an organization and records e.
func (s *Store) CreateOrg(ctx context.Context, o Org, e Event) (Org, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		o.ID, err = s.insert(ctx, tx, "create organization",
			`INSERT INTO orgs (slug, name, policy, policy_rev, created_at, status) VALUES (?, ?, ?, 1, ?, ?)`,
			o.Slug, o.Name, string(o.Policy), ms(o.CreatedAt), OrgActive)
		if err != nil {
			return err
		}
		e.OrgID = o.ID
		return s.addEvent(ctx, tx, e)
	})
	o.PolicyRev, o.Status = 1, OrgActive
	return o, err
}

const orgColumns = `id, slug, name, policy, policy_rev, created_at, status,
	support_contact, continue_url, sender_name, logo_hash`

func scanOrg(row scanner) (Org, error) {
	var o Org
	var policy string
	var created int64
	err := row.Scan(&o.ID, &o.Slug, &o.Name, &policy, &o.PolicyRev, &created, &o.Status,
		&o.SupportContact, &o.ContinueURL, &o.SenderName, &o.LogoHash)
	o.Policy, o.CreatedAt = []byte(policy), fromMS(created)
	return o, err
}

// OrgBySlug finds an organization.
func (s *Store) OrgBySlug(ctx context.Context, slug string) (Org, error) {
	o, err := scanOrg(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+orgColumns+` FROM orgs WHERE slug = ?`), slug))
	return o, one("organization "+slug, err)
}

const orgByIDSQL = `SELECT ` + orgColumns + ` FROM orgs WHERE id = ?`

// OrgByID finds an organization.
func (s *Store) OrgByID(ctx context.Context, id int64) (Org, error) {
	o, err := scanOrg(s.orgByID.QueryRowContext(ctx, id))
	return o, one("organization", err)
}

// ErrChanged means a row changed since it was read: the change was made
// from a stale copy and is not applied.
var ErrChanged = errors.New("store: changed meanwhile")

// SetPolicy replaces an organization's policy, read at revision fromRev,
// and records e. When someone else changed the policy since, it changes
// nothing and returns ErrChanged, so that no change is silently lost.
func (s *Store) SetPolicy(ctx context.Context, orgID, fromRev int64, policy []byte, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.setPolicy(ctx, tx, orgID, fromRev, policy); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

func (s *Store) setPolicy(ctx context.Context, tx *sql.Tx, orgID, fromRev int64, policy []byte) error {
	err := s.exec(ctx, tx, "set policy",
		`UPDATE orgs SET policy = ?, policy_rev = policy_rev + 1 WHERE id = ? AND policy_rev = ?`, string(policy), orgID, fromRev)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: set policy: %w", ErrChanged)
	}
	return err
}

// CreateUser adds a user and records e.
func (s *Store) CreateUser(ctx context.Context, u User, e Event) (User, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		u.ID, err = s.insert(ctx, tx, "create user "+u.Username,
			`INSERT INTO users (org_id, username, email, display_name, password_hash, role, status, created_at, language)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.OrgID, u.Username, u.Email, u.DisplayName, u.PasswordHash, u.Role, u.Status, ms(u.CreatedAt), u.Language)
		if err != nil {
			return err
		}
		if err := s.indexUser(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
	return u, err
}

const userColumns = `id, org_id, username, email, display_name, password_hash, role, status,
	failures, total_failures, locked_until, created_at, language, pin_hash, pin_must_change, last_method`

func scanUser(row scanner) (User, error) {
	var u User
	var locked, created int64
	var mustChange int
	err := row.Scan(&u.ID, &u.OrgID, &u.Username, &u.Email, &u.DisplayName, &u.PasswordHash, &u.Role, &u.Status,
		&u.Failures, &u.TotalFailures, &locked, &created, &u.Language, &u.PINHash, &mustChange, &u.LastMethod)
	u.LockedUntil, u.CreatedAt, u.PINMustChange = fromMS(locked), fromMS(created), mustChange != 0
	return u, err
}

// UserByName finds a user by canonical username within an organization.
func (s *Store) UserByName(ctx context.Context, orgID int64, username string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+userColumns+` FROM users WHERE org_id = ? AND username = ?`), orgID, username))
	return u, one("user "+username, err)
}

// UsersByEmail finds the users of an organization with an address,
// compared without regard to case, at most max of them: several accounts
// may share one address.
func (s *Store) UsersByEmail(ctx context.Context, orgID int64, email string, max int) ([]User, error) {
	return s.users(ctx, "users by email", `SELECT `+userColumns+` FROM users
		WHERE org_id = ? AND email <> '' AND LOWER(email) = LOWER(?) ORDER BY id LIMIT ?`, orgID, email, max)
}

// users runs a query of userColumns and scans the users it finds; what
// names the query in errors.
func (s *Store) users(ctx context.Context, what, query string, args ...any) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return us, nil
}

// SetPassword replaces a user's password hash, signs the user out
// everywhere (see signOut) and records e.
func (s *Store) SetPassword(ctx context.Context, orgID, userID int64, hash string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.setPassword(ctx, tx, orgID, userID, hash, e) })
}

// ResetPassword uses up the user's pending, unexpired password reset link
// whose hash is link and replaces the password with hash, in one
// transaction: the conditional UPDATE's affected rows decide, so of
// concurrent redemptions of one link exactly one sets a password; the
// others get ErrNotConsumed and change nothing. Like SetPassword it signs
// the user out everywhere, which also voids the user's other links. The
// failure count is left alone: a reset unlocks nobody.
func (s *Store) ResetPassword(ctx context.Context, orgID, userID int64, link []byte, hash string, at time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE challenges SET status = 'accepted'
			WHERE org_id = ? AND user_id = ? AND txid_hash = ? AND kind = ? AND status = 'pending' AND expires_at > ?`),
			orgID, userID, link, ChallengeReset, ms(at))
		if err != nil {
			return fmt.Errorf("store: redeem reset link: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: redeem reset link: %w", err)
		} else if n == 0 {
			return ErrNotConsumed
		}
		return s.setPassword(ctx, tx, orgID, userID, hash, e)
	})
}

func (s *Store) setPassword(ctx context.Context, tx *sql.Tx, orgID, userID int64, hash string, e Event) error {
	if err := s.exec(ctx, tx, "set password",
		`UPDATE users SET password_hash = ? WHERE id = ? AND org_id = ?`, hash, userID, orgID); err != nil {
		return err
	}
	if err := s.signOut(ctx, tx, userID); err != nil {
		return err
	}
	return s.addEvent(ctx, tx, e)
}

// signOut ends every session of a user and expires their pending
// challenges, inside tx. Each change to what lets the user in — the
// password, a token taken out of use, the user's status — calls it in the
// change's own transaction, so that nothing begun before the change (a
// signed-in browser, a sign-in halfway through, an emailed code) outlives
// it, and a change that fails leaves them all as they were. A portal that
// makes such a change for the user starts the user's new session after it.
func (s *Store) signOut(ctx context.Context, tx execer, userID int64) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("store: end sessions: %w", err)
	}
	return s.expireChallenges(ctx, tx, userID)
}

// expireChallenges expires a user's pending challenges (emailed codes,
// password reset links, push requests) inside tx.
func (s *Store) expireChallenges(ctx context.Context, tx execer, userID int64) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE challenges SET status = 'expired' WHERE user_id = ? AND status = 'pending'`), userID); err != nil {
		return fmt.Errorf("store: expire challenges: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE push_requests SET status = 'expired' WHERE user_id = ? AND status = 'pending'`), userID); err != nil {
		return fmt.Errorf("store: expire push requests: %w", err)
	}
	return nil
}

// UserChanges names the profile fields of a user to change; a nil field
// stays as it is.
type UserChanges struct {
	Email, DisplayName, Language *string
}

// UpdateUser changes the fields ch names of a user of the organization
// and records e. Only those columns are written, so that two operators
// changing different fields at once both keep their change. A new email
// address also expires the user's pending challenges: their codes and
// reset links went to the old address, which may be why it changed. It
// returns ErrNotFound when the user is not in the organization.
func (s *Store) UpdateUser(ctx context.Context, orgID, userID int64, ch UserChanges, e Event) error {
	var set []string
	var args []any
	for _, c := range []struct {
		column string
		value  *string
	}{{"email", ch.Email}, {"display_name", ch.DisplayName}, {"language", ch.Language}} {
		if c.value != nil {
			set = append(set, c.column+" = ?")
			args = append(args, *c.value)
		}
	}
	if len(set) == 0 {
		return errors.New("store: update user: no field to change")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "update user", `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = ? AND org_id = ?`,
			append(args, userID, orgID)...); err != nil {
			return err
		}
		if ch.Email != nil {
			if err := s.expireChallenges(ctx, tx, userID); err != nil {
				return err
			}
		}
		if ch.Email != nil || ch.DisplayName != nil {
			if err := s.indexUser(ctx, tx, userID); err != nil {
				return err
			}
		}
		return s.addEvent(ctx, tx, e)
	})
}

// SetUserStatus sets a user's status (UserActive or UserDisabled) and
// records e; disabling signs the user out everywhere. It returns
// ErrNotFound when the user is not in the organization or has that status
// already.
func (s *Store) SetUserStatus(ctx context.Context, orgID, userID int64, status string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "set user status",
			`UPDATE users SET status = ?, directory_disabled = 0 WHERE id = ? AND org_id = ? AND status <> ?`, status, userID, orgID, status); err != nil {
			return err
		}
		if status != UserActive {
			if err := s.signOut(ctx, tx, userID); err != nil {
				return err
			}
		}
		return s.addEvent(ctx, tx, e)
	})
}

// ResetMFA takes every second factor from a user, for a fresh start: each
// token not revoked yet is revoked and its pending enrollment cancelled,
// the backup codes and a temporary code are deleted, a lockout is lifted and the user is signed
// out everywhere, all with e in one transaction. The password and the server PIN stay. It
// reports how many tokens it revoked, and returns ErrNotFound when the
// user is not in the organization.
func (s *Store) ResetMFA(ctx context.Context, orgID, userID int64, e Event) (revoked int64, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM users WHERE id = ? AND org_id = ?`), userID, orgID).Scan(&exists); err != nil {
			return one("reset mfa", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE enrollments SET status = 'cancelled'
			WHERE status = 'pending' AND token_id IN (SELECT id FROM tokens WHERE user_id = ?)`), userID); err != nil {
			return fmt.Errorf("store: cancel enrollments: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE tokens SET state = 'revoked' WHERE user_id = ? AND state <> 'revoked'`), userID)
		if err != nil {
			return fmt.Errorf("store: revoke tokens: %w", err)
		}
		if revoked, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("store: revoke tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM backup_codes WHERE user_id = ?`), userID); err != nil {
			return fmt.Errorf("store: delete backup codes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM temp_codes WHERE user_id = ?`), userID); err != nil {
			return fmt.Errorf("store: delete temporary code: %w", err)
		}
		// A helpdesk's reset is the action a lock past the hard limit
		// waits for: the user starts afresh.
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, userID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		if err := s.signOut(ctx, tx, userID); err != nil {
			return err
		}
		e.Detail = fmt.Sprintf("tokens revoked: %d", revoked)
		return s.addEvent(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return revoked, nil
}

// Unlock clears a user's failure count and lock and records e.
func (s *Store) Unlock(ctx context.Context, orgID, userID int64, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "unlock",
			`UPDATE users SET failures = 0, total_failures = 0, locked_until = 0 WHERE id = ? AND org_id = ?`, userID, orgID); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// retireAbandonedSetups revokes the user's self-enrolled tokens still
// waiting for their first code, in the transaction tx.
func (s *Store) retireAbandonedSetups(ctx context.Context, tx *sql.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE tokens SET state = 'revoked'
		WHERE user_id = ? AND self_enrolled = 1 AND state = 'assigned'`), userID); err != nil {
		return fmt.Errorf("store: retire abandoned setups: %w", err)
	}
	return nil
}

// CreateToken adds a token, its enrollment when en is not nil, and event e,
// all or nothing. The secret is sealed by seal once the row has its id,
// because the id is part of the sealed value's additional data. A
// self-enrolled token replaces the user's earlier self-enrolled ones still
// waiting for their first code: each was shown to whoever started it, and
// only the newest setup may complete.
func (s *Store) CreateToken(ctx context.Context, t Token, seal func(Token) ([]byte, error), en *Enrollment, e Event) (Token, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if t.SelfEnrolled {
			if err := s.retireAbandonedSetups(ctx, tx, t.UserID); err != nil {
				return err
			}
		}
		var err error
		t.ID, err = s.insert(ctx, tx, "create token",
			`INSERT INTO tokens (org_id, user_id, serial, type, name, state, secret, algorithm, digits, period,
			 last_step, drift, created_at, self_enrolled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			t.OrgID, t.UserID, t.Serial, t.Type, t.Name, t.State, []byte{}, t.Algorithm, t.Digits, t.Period,
			t.LastStep, ms(t.CreatedAt), boolInt(t.SelfEnrolled))
		if err != nil {
			return err
		}
		if t.Secret, err = seal(t); err != nil {
			return fmt.Errorf("store: seal token secret: %w", err)
		}
		if err := s.exec(ctx, tx, "store token secret", `UPDATE tokens SET secret = ? WHERE id = ?`, t.Secret, t.ID); err != nil {
			return err
		}
		if en != nil {
			en.TokenID, en.OrgID = t.ID, t.OrgID
			if en.ID, err = s.insert(ctx, tx, "create enrollment",
				`INSERT INTO enrollments (org_id, token_id, code_hash, status, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				en.OrgID, en.TokenID, en.CodeHash, en.Status, ms(en.ExpiresAt), ms(en.CreatedAt)); err != nil {
				return err
			}
		}
		return s.addEvent(ctx, tx, e)
	})
	return t, err
}

const tokenColumns = `id, org_id, user_id, serial, type, name, state, secret, algorithm, digits, period,
	last_step, drift, created_at, activated_at, last_used_at, self_enrolled`

func scanToken(row scanner) (Token, error) {
	var t Token
	var created, activated, used int64
	var self int
	err := row.Scan(&t.ID, &t.OrgID, &t.UserID, &t.Serial, &t.Type, &t.Name, &t.State, &t.Secret, &t.Algorithm,
		&t.Digits, &t.Period, &t.LastStep, &t.Drift, &created, &activated, &used, &self)
	t.CreatedAt, t.ActivatedAt, t.LastUsedAt, t.SelfEnrolled = fromMS(created), fromMS(activated), fromMS(used), self != 0
	return t, err
}

// Tokens lists a user's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, orgID, userID int64) ([]Token, error) {
	ts, err := scanRows(ctx, s.r, scanToken, s.d.q(`SELECT `+tokenColumns+` FROM tokens WHERE org_id = ? AND user_id = ? ORDER BY id`), orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	return ts, nil
}

// TokenBySerial finds a token within an organization.
func (s *Store) TokenBySerial(ctx context.Context, orgID int64, serial string) (Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+tokenColumns+` FROM tokens WHERE org_id = ? AND serial = ?`), orgID, serial))
	return t, one("token "+serial, err)
}

// SetTokenState moves a token from one of the states in from to state to
// and records e. It returns ErrNotFound when the token is not in one of
// those states. Revoking a token cancels its pending enrollment; any
// state but active signs the token's user out everywhere (see signOut).
func (s *Store) SetTokenState(ctx context.Context, orgID, tokenID int64, from []string, to string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		query := `UPDATE tokens SET state = ? WHERE id = ? AND org_id = ? AND state IN (?` + strings.Repeat(", ?", len(from)-1) + `) RETURNING user_id`
		args := []any{to, tokenID, orgID}
		for _, f := range from {
			args = append(args, f)
		}
		var userID int64
		if err := tx.QueryRowContext(ctx, s.d.q(query), args...).Scan(&userID); err != nil {
			return one("set token state", err)
		}
		if to != TokenActive {
			if err := s.signOut(ctx, tx, userID); err != nil {
				return err
			}
		}
		if to == TokenRevoked {
			if err := s.cancelEnrollment(ctx, tx, tokenID); err != nil {
				return err
			}
		}
		return s.addEvent(ctx, tx, e)
	})
}

func (s *Store) cancelEnrollment(ctx context.Context, tx execer, tokenID int64) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE enrollments SET status = ? WHERE token_id = ? AND status = ?`),
		EnrollmentCancelled, tokenID, EnrollmentPending); err != nil {
		return fmt.Errorf("store: cancel enrollment: %w", err)
	}
	return nil
}

// retire revokes the user's token tokenID, if it is not revoked already,
// inside tx: its pending enrollment is cancelled and, as for every token
// taken out of use, the user is signed out everywhere.
func (s *Store) retire(ctx context.Context, tx execer, tokenID, userID int64) error {
	res, err := tx.ExecContext(ctx, s.d.q(`UPDATE tokens SET state = ? WHERE id = ? AND user_id = ? AND state <> ?`),
		TokenRevoked, tokenID, userID, TokenRevoked)
	if err != nil {
		return fmt.Errorf("store: retire token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: retire token: %w", err)
	} else if n == 0 {
		return nil
	}
	if err := s.signOut(ctx, tx, userID); err != nil {
		return err
	}
	return s.cancelEnrollment(ctx, tx, tokenID)
}

// Reseal offers every token secret to reseal, in one transaction, and
// stores what it returns when changed is true. It reports how many secrets
// changed. An error from reseal rolls everything back.
func (s *Store) Reseal(ctx context.Context, reseal func(Token) (sealed []byte, changed bool, err error), e Event) (int, error) {
	return resealRows(s, ctx, "secrets", e,
		func(tx *sql.Tx) ([]Token, error) {
			return scanRows(ctx, tx, scanToken, `SELECT `+tokenColumns+` FROM tokens ORDER BY id`)
		},
		reseal,
		func(tx *sql.Tx, t Token, sealed []byte) error {
			return s.exec(ctx, tx, "reseal", `UPDATE tokens SET secret = ? WHERE id = ?`, sealed, t.ID)
		},
		func(t Token) string { return "token " + t.Serial })
}

// CreateAPIKey adds an API key and records e.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey, e Event) (APIKey, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if k.ID, err = s.insert(ctx, tx, "create api key",
			`INSERT INTO api_keys (org_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.OrgID, k.Name, k.Prefix, k.Hash, ms(k.CreatedAt)); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
	return k, err
}

// ErrRevoked means the key asked for is revoked already.
var ErrRevoked = errors.New("store: revoked already")

// APIKeys lists every API key of an organization, revoked ones included,
// oldest first. The hash is left out: a listing has no use for it.
func (s *Store) APIKeys(ctx context.Context, orgID int64) ([]APIKey, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT id, org_id, name, prefix, created_at, revoked_at
		FROM api_keys WHERE org_id = ? ORDER BY id`), orgID)
	if err != nil {
		return nil, fmt.Errorf("store: api keys: %w", err)
	}
	defer rows.Close()
	var ks []APIKey
	for rows.Next() {
		var k APIKey
		var created, revoked int64
		if err := rows.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &created, &revoked); err != nil {
			return nil, fmt.Errorf("store: api keys: %w", err)
		}
		k.CreatedAt, k.RevokedAt = fromMS(created), fromMS(revoked)
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: api keys: %w", err)
	}
	return ks, nil
}

// RevokeAPIKey revokes the organization's key named name, as of e.At, and
// records e; the REST API refuses the key from then on (see apiKeySQL).
// Names are not unique, so every key of that name still in use goes: an
// operator who names a key to revoke wants nothing of that name to get in.
// It returns ErrNotFound when the organization has no key of that name and
// ErrRevoked when all of them are revoked already.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID int64, name string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND name = ? AND revoked_at = 0`),
			ms(e.At), orgID, name)
		if err != nil {
			return fmt.Errorf("store: revoke api key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: revoke api key: %w", err)
		}
		if n == 0 {
			var exists int
			err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM api_keys WHERE org_id = ? AND name = ? LIMIT 1`), orgID, name).Scan(&exists)
			if err == nil {
				return fmt.Errorf("store: revoke api key %s: %w", name, ErrRevoked)
			}
			return one("api key "+name, err)
		}
		if n > 1 {
			e.Detail = fmt.Sprintf("%d keys of that name", n)
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// APIKeyByHash finds a key that has not been revoked.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	var k APIKey
	var created int64
	err := s.apiKey.QueryRowContext(ctx, hash).Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &created)
	k.Hash, k.CreatedAt = hash, fromMS(created)
	return k, one("api key", err)
}

// TokenOwner is a token with the name of its user.
type TokenOwner struct {
	Token
	Username string
}

// AppTokens lists an organization's tokens that show codes (TOTP, HOTP,
// and push tokens, whose app shows codes for offline use) that are not
// revoked, with their users' names: the ones a code someone reads out
// may come from.
func (s *Store) AppTokens(ctx context.Context, orgID int64) ([]TokenOwner, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT `+tokenColumns+`, (SELECT username FROM users WHERE users.id = tokens.user_id)
		FROM tokens WHERE org_id = ? AND type IN ('totp', 'hotp', 'push') AND state <> 'revoked' ORDER BY id`), orgID)
	if err != nil {
		return nil, fmt.Errorf("store: app tokens: %w", err)
	}
	defer rows.Close()
	var ts []TokenOwner
	for rows.Next() {
		var o TokenOwner
		if o.Token, err = scanToken(andAlso{rows, &o.Username}); err != nil {
			return nil, fmt.Errorf("store: app tokens: %w", err)
		}
		ts = append(ts, o)
	}
	return ts, rows.Err()
}

// andAlso scans a row's columns into what scanToken asks for and then
// the extra columns after them.
type andAlso struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (a andAlso) Scan(dest ...any) error { return a.row.Scan(append(dest, a.extra)...) }
