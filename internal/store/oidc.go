package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OIDCClient is an application that signs its users in with Twofold over
// OpenID Connect, registered by an organization's admin.
type OIDCClient struct {
	ID       int64
	OrgID    int64
	ClientID string
	Name     string
	// SecretHash is secret.HashToken of the client secret; empty for a
	// public client, which has none.
	SecretHash []byte
	Public     bool
	// FirstParty applications are the organization's own: the user is
	// not asked to consent.
	FirstParty   bool
	RedirectURIs []string
	LogoutURIs   []string
	Scopes       []string
	CreatedAt    time.Time
}

const oidcClientColumns = `id, org_id, client_id, name, secret_hash, public, first_party, redirect_uris, logout_uris, scopes, created_at`

// CreateOIDCClient adds a client and records e. It returns ErrExists when
// the organization has a client of that name.
func (s *Store) CreateOIDCClient(ctx context.Context, c OIDCClient, e Event) (OIDCClient, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c.ID, err = s.insert(ctx, tx, "create oidc client",
			`INSERT INTO oidc_clients (org_id, client_id, name, secret_hash, public, first_party, redirect_uris, logout_uris, scopes, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.OrgID, c.ClientID, c.Name, nonNil(c.SecretHash), boolInt(c.Public), boolInt(c.FirstParty),
			strings.Join(c.RedirectURIs, "\n"), strings.Join(c.LogoutURIs, "\n"), strings.Join(c.Scopes, " "), ms(c.CreatedAt))
		if err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
	return c, err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanOIDCClient(row scanner) (OIDCClient, error) {
	var c OIDCClient
	var public, firstParty int
	var redirects, logouts, scopes string
	var created int64
	if err := row.Scan(&c.ID, &c.OrgID, &c.ClientID, &c.Name, &c.SecretHash, &public, &firstParty, &redirects, &logouts, &scopes, &created); err != nil {
		return c, err
	}
	c.Public, c.FirstParty, c.CreatedAt = public != 0, firstParty != 0, fromMS(created)
	c.RedirectURIs, c.LogoutURIs, c.Scopes = splitNonEmpty(redirects, "\n"), splitNonEmpty(logouts, "\n"), strings.Fields(scopes)
	return c, nil
}

func splitNonEmpty(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// OIDCClients lists an organization's clients, oldest first.
func (s *Store) OIDCClients(ctx context.Context, orgID int64) ([]OIDCClient, error) {
	cs, err := scanRows(ctx, s.r, scanOIDCClient, s.d.q(`SELECT `+oidcClientColumns+` FROM oidc_clients WHERE org_id = ? ORDER BY id`), orgID)
	if err != nil {
		return nil, fmt.Errorf("store: oidc clients: %w", err)
	}
	return cs, nil
}

// OIDCClient finds a client of the organization by its client id.
func (s *Store) OIDCClient(ctx context.Context, orgID int64, clientID string) (OIDCClient, error) {
	c, err := scanOIDCClient(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+oidcClientColumns+` FROM oidc_clients WHERE org_id = ? AND client_id = ?`), orgID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: oidc client: %w", err)
	}
	return c, nil
}

// DeleteOIDCClient removes a client, revokes every grant it holds and
// drops its pending requests, recording e.
func (s *Store) DeleteOIDCClient(ctx context.Context, orgID int64, clientID string, now time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "delete oidc client", `DELETE FROM oidc_clients WHERE org_id = ? AND client_id = ?`, orgID, clientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE oidc_grants SET revoked_at = ? WHERE org_id = ? AND client_id = ? AND revoked_at = 0`), ms(now), orgID, clientID); err != nil {
			return fmt.Errorf("store: revoke the client's grants: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM oidc_auth_requests WHERE org_id = ? AND client_id = ?`), orgID, clientID); err != nil {
			return fmt.Errorf("store: drop the client's requests: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// OIDCAuthRequest is an authorization request on its way from the
// application through the sign-in to the code exchange. Request and
// SignIn are the oidc package's JSON; the store does not look inside.
type OIDCAuthRequest struct {
	ID        string
	OrgID     int64
	ClientID  string
	Request   string
	UserID    int64 // 0 until the sign-in completes it
	SignIn    string
	CodeUsed  bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Code states of an authorization request.
const (
	codeUnused = 0
	codeUsed   = 1
	codeReused = 2
)

// CreateOIDCAuthRequest stores a new authorization request.
func (s *Store) CreateOIDCAuthRequest(ctx context.Context, a OIDCAuthRequest) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`INSERT INTO oidc_auth_requests (id, org_id, client_id, request, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		a.ID, a.OrgID, a.ClientID, a.Request, ms(a.CreatedAt), ms(a.ExpiresAt)); err != nil {
		if isUnique(err) {
			return fmt.Errorf("store: create oidc auth request: %w", ErrExists)
		}
		return fmt.Errorf("store: create oidc auth request: %w", err)
	}
	return nil
}

const oidcAuthRequestColumns = `id, org_id, client_id, request, user_id, sign_in, code_used, created_at, expires_at`

func scanOIDCAuthRequest(row scanner) (OIDCAuthRequest, error) {
	var a OIDCAuthRequest
	var used int
	var created, expires int64
	err := row.Scan(&a.ID, &a.OrgID, &a.ClientID, &a.Request, &a.UserID, &a.SignIn, &used, &created, &expires)
	a.CodeUsed, a.CreatedAt, a.ExpiresAt = used != codeUnused, fromMS(created), fromMS(expires)
	return a, err
}

// OIDCAuthRequestByID finds an unexpired request of the organization
// whose code has not been used.
func (s *Store) OIDCAuthRequestByID(ctx context.Context, orgID int64, id string, now time.Time) (OIDCAuthRequest, error) {
	a, err := scanOIDCAuthRequest(s.w.QueryRowContext(ctx, s.d.q(`SELECT `+oidcAuthRequestColumns+`
		FROM oidc_auth_requests WHERE org_id = ? AND id = ? AND expires_at > ? AND code_used = 0`), orgID, id, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: oidc auth request: %w", err)
	}
	return a, nil
}

// CompleteOIDCAuthRequest records who signed in for the request and how,
// and e, once: a completed request is not completed again.
func (s *Store) CompleteOIDCAuthRequest(ctx context.Context, orgID int64, id string, userID int64, signIn string, now time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "complete oidc auth request",
			`UPDATE oidc_auth_requests SET user_id = ?, sign_in = ? WHERE org_id = ? AND id = ? AND user_id = 0 AND expires_at > ?`,
			userID, signIn, orgID, id, ms(now)); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// SetOIDCCode gives a completed request its code, by the code's hash,
// once.
func (s *Store) SetOIDCCode(ctx context.Context, orgID int64, id string, codeHash []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.exec(ctx, tx, "set oidc code",
			`UPDATE oidc_auth_requests SET code_hash = ? WHERE org_id = ? AND id = ? AND user_id <> 0 AND code_hash IS NULL`, codeHash, orgID, id)
	})
}

// ConsumeOIDCCode finds the request of a code and marks the code used,
// in one transaction: of any number of exchanges of one code, one gets
// the request. A code used before answers ErrNotConsumed, and revokes
// what its first use was granted (and any grant still to come of it),
// recording reused.
func (s *Store) ConsumeOIDCCode(ctx context.Context, orgID int64, codeHash []byte, now time.Time, reused Event) (OIDCAuthRequest, error) {
	var a OIDCAuthRequest
	var state int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT `+oidcAuthRequestColumns+` FROM oidc_auth_requests
			WHERE org_id = ? AND code_hash = ? AND expires_at > ?`+s.d.forUpdate), orgID, codeHash, ms(now)).
			Scan(&a.ID, &a.OrgID, &a.ClientID, &a.Request, &a.UserID, &a.SignIn, &state, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: oidc code: %w", err)
		}
		a.CreatedAt, a.ExpiresAt = fromMS(created), fromMS(expires)
		if state != codeUnused {
			if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE oidc_auth_requests SET code_used = ? WHERE id = ?`), codeReused, a.ID); err != nil {
				return fmt.Errorf("store: oidc code reused: %w", err)
			}
			if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE oidc_grants SET revoked_at = ? WHERE auth_request_id = ? AND revoked_at = 0`), ms(now), a.ID); err != nil {
				return fmt.Errorf("store: revoke the grant of a reused code: %w", err)
			}
			return s.addEvent(ctx, tx, reused)
		}
		return s.exec(ctx, tx, "use oidc code", `UPDATE oidc_auth_requests SET code_used = ? WHERE id = ? AND code_used = ?`, codeUsed, a.ID, codeUnused)
	})
	if err == nil && state != codeUnused {
		return OIDCAuthRequest{}, ErrNotConsumed
	}
	a.CodeUsed = true
	return a, err
}

// DeleteOIDCAuthRequest drops a request whose code was never used; a used
// one stays until it expires, so that a second use is recognised.
func (s *Store) DeleteOIDCAuthRequest(ctx context.Context, orgID int64, id string) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`DELETE FROM oidc_auth_requests WHERE org_id = ? AND id = ? AND code_used = 0`), orgID, id); err != nil {
		return fmt.Errorf("store: delete oidc auth request: %w", err)
	}
	return nil
}

// OIDCGrant is what a code exchange gave an application: the user's
// sign-in for these scopes, until it expires or is revoked. Its access
// and refresh tokens are one family: revoking the grant revokes them all.
type OIDCGrant struct {
	ID            string
	OrgID         int64
	ClientID      string
	UserID        int64
	AuthRequestID string
	Scopes        []string
	SignIn        string
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// OIDCTokens are the tokens issued at once: an access token, and a
// refresh token when RefreshHash is set.
type OIDCTokens struct {
	AccessID       string
	AccessExpires  time.Time
	RefreshHash    []byte
	RefreshExpires time.Time
}

// CreateOIDCGrant stores a grant made of a code's request with its first
// tokens. It returns ErrNotConsumed when the code has been used a second
// time meanwhile (see ConsumeOIDCCode).
func (s *Store) CreateOIDCGrant(ctx context.Context, g OIDCGrant, t OIDCTokens) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var state int
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT code_used FROM oidc_auth_requests WHERE org_id = ? AND id = ?`), g.OrgID, g.AuthRequestID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != codeUsed) {
			return ErrNotConsumed
		}
		if err != nil {
			return fmt.Errorf("store: oidc grant's request: %w", err)
		}
		if _, err := s.insertNoID(ctx, tx, "create oidc grant",
			`INSERT INTO oidc_grants (id, org_id, client_id, user_id, auth_request_id, scopes, sign_in, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.OrgID, g.ClientID, g.UserID, g.AuthRequestID, strings.Join(g.Scopes, " "), g.SignIn, ms(g.CreatedAt), ms(g.ExpiresAt)); err != nil {
			return err
		}
		return s.addOIDCTokens(ctx, tx, g.ID, t)
	})
}

func (s *Store) insertNoID(ctx context.Context, tx *sql.Tx, what, query string, args ...any) (sql.Result, error) {
	res, err := tx.ExecContext(ctx, s.d.q(query), args...)
	if isUnique(err) {
		return nil, fmt.Errorf("store: %s: %w", what, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return res, nil
}

func (s *Store) addOIDCTokens(ctx context.Context, tx *sql.Tx, grantID string, t OIDCTokens) error {
	if _, err := s.insertNoID(ctx, tx, "create oidc access token",
		`INSERT INTO oidc_access_tokens (id, grant_id, expires_at) VALUES (?, ?, ?)`, t.AccessID, grantID, ms(t.AccessExpires)); err != nil {
		return err
	}
	if t.RefreshHash == nil {
		return nil
	}
	_, err := s.insertNoID(ctx, tx, "create oidc refresh token",
		`INSERT INTO oidc_refresh_tokens (hash, grant_id, expires_at) VALUES (?, ?, ?)`, t.RefreshHash, grantID, ms(t.RefreshExpires))
	return err
}

const oidcGrantColumns = `g.id, g.org_id, g.client_id, g.user_id, g.auth_request_id, g.scopes, g.sign_in, g.created_at, g.expires_at`

func scanOIDCGrant(row interface{ Scan(...any) error }, more ...any) (OIDCGrant, error) {
	var g OIDCGrant
	var scopes string
	var created, expires int64
	err := row.Scan(append([]any{&g.ID, &g.OrgID, &g.ClientID, &g.UserID, &g.AuthRequestID, &scopes, &g.SignIn, &created, &expires}, more...)...)
	g.Scopes, g.CreatedAt, g.ExpiresAt = strings.Fields(scopes), fromMS(created), fromMS(expires)
	return g, err
}

// OIDCGrantByAccessToken finds the live grant of a live access token of
// the organization.
func (s *Store) OIDCGrantByAccessToken(ctx context.Context, orgID int64, accessID string, now time.Time) (OIDCGrant, error) {
	g, err := scanOIDCGrant(s.w.QueryRowContext(ctx, s.d.q(`SELECT `+oidcGrantColumns+`
		FROM oidc_access_tokens a JOIN oidc_grants g ON g.id = a.grant_id
		WHERE a.id = ? AND g.org_id = ? AND a.expires_at > ? AND a.revoked_at = 0 AND g.revoked_at = 0 AND g.expires_at > ?`),
		accessID, orgID, ms(now), ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return g, ErrNotFound
	}
	if err != nil {
		return g, fmt.Errorf("store: oidc access token: %w", err)
	}
	return g, nil
}

// OIDCGrantByRefreshToken finds the live grant of a refresh token of the
// organization. A token used before answers ErrNotConsumed and revokes
// its grant, recording reused: someone holds a copy of it.
func (s *Store) OIDCGrantByRefreshToken(ctx context.Context, orgID int64, hash []byte, now time.Time, reused Event) (OIDCGrant, error) {
	var g OIDCGrant
	var usedAt, revokedAt, tokenExpires int64
	// The revocation of a reused token's grant must commit, so the
	// transaction ends without error and the answer is given after it.
	wasUsed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		g, err = scanOIDCGrant(tx.QueryRowContext(ctx, s.d.q(`SELECT `+oidcGrantColumns+`, r.used_at, g.revoked_at, r.expires_at
			FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id WHERE r.hash = ? AND g.org_id = ?`), hash, orgID),
			&usedAt, &revokedAt, &tokenExpires)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: oidc refresh token: %w", err)
		}
		switch {
		case revokedAt != 0 || tokenExpires <= ms(now) || !g.ExpiresAt.After(now):
			return ErrNotFound
		case usedAt != 0:
			if err := s.revokeOIDCGrant(ctx, tx, g.ID, now); err != nil {
				return err
			}
			wasUsed = true
			return s.addEvent(ctx, tx, reused)
		}
		return nil
	})
	if err == nil && wasUsed {
		err = ErrNotConsumed
	}
	if err != nil {
		return OIDCGrant{}, err
	}
	return g, nil
}

func (s *Store) revokeOIDCGrant(ctx context.Context, tx *sql.Tx, grantID string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE oidc_grants SET revoked_at = ? WHERE id = ? AND revoked_at = 0`), ms(now), grantID); err != nil {
		return fmt.Errorf("store: revoke oidc grant: %w", err)
	}
	return nil
}

// RotateOIDCRefreshToken uses the refresh token of hash once for new
// tokens of its grant: the conditional update's row count decides, so of
// two exchanges of one token only one succeeds; the other answers
// ErrNotConsumed and revokes the grant, recording reused.
func (s *Store) RotateOIDCRefreshToken(ctx context.Context, orgID int64, hash []byte, t OIDCTokens, now time.Time, reused Event) error {
	wasUsed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var grantID string
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT r.grant_id FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id
			WHERE r.hash = ? AND g.org_id = ? AND g.revoked_at = 0`), hash, orgID).Scan(&grantID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: oidc refresh token: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE oidc_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at = 0`), ms(now), hash)
		if err != nil {
			return fmt.Errorf("store: use oidc refresh token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: use oidc refresh token: %w", err)
		} else if n == 0 {
			if err := s.revokeOIDCGrant(ctx, tx, grantID, now); err != nil {
				return err
			}
			wasUsed = true
			return s.addEvent(ctx, tx, reused)
		}
		return s.addOIDCTokens(ctx, tx, grantID, t)
	})
	if err == nil && wasUsed {
		return ErrNotConsumed
	}
	return err
}

// RevokeOIDCRefreshToken revokes the grant of a refresh token of the
// organization's client (RFC 7009: its access tokens with it), recording
// e. An unknown token is no error.
func (s *Store) RevokeOIDCRefreshToken(ctx context.Context, orgID int64, clientID string, hash []byte, now time.Time, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var grantID string
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT r.grant_id FROM oidc_refresh_tokens r JOIN oidc_grants g ON g.id = r.grant_id
			WHERE r.hash = ? AND g.org_id = ? AND g.client_id = ? AND g.revoked_at = 0`), hash, orgID, clientID).Scan(&grantID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: oidc refresh token: %w", err)
		}
		if err := s.revokeOIDCGrant(ctx, tx, grantID, now); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// RevokeOIDCAccessToken revokes one access token of the organization's
// client. An unknown token is no error.
func (s *Store) RevokeOIDCAccessToken(ctx context.Context, orgID int64, clientID, accessID string, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.d.q(`UPDATE oidc_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0
		AND grant_id IN (SELECT id FROM oidc_grants WHERE org_id = ? AND client_id = ?)`), ms(now), accessID, orgID, clientID); err != nil {
		return fmt.Errorf("store: revoke oidc access token: %w", err)
	}
	return nil
}

// OIDCKey is a key that signs an organization's ID tokens: published
// from CreatedAt, signing from ActiveFrom, published until RetireAt.
type OIDCKey struct {
	ID         string
	OrgID      int64
	Algorithm  string
	PrivateKey []byte // sealed; see OIDCKeyAD
	CreatedAt  time.Time
	ActiveFrom time.Time
	RetireAt   time.Time
}

// OIDCKeyAD is the additional data that binds a sealed signing key to its
// row.
func OIDCKeyAD(k OIDCKey) []byte {
	return fmt.Appendf(nil, "twofold oidc_keys.private_key org=%d id=%s", k.OrgID, k.ID)
}

// OIDCKeys lists the organization's keys not yet retired at now, in the
// order they sign.
func (s *Store) OIDCKeys(ctx context.Context, orgID int64, now time.Time) ([]OIDCKey, error) {
	rows, err := s.r.QueryContext(ctx, s.d.q(`SELECT id, org_id, algorithm, private_key, created_at, active_from, retire_at
		FROM oidc_keys WHERE org_id = ? AND retire_at > ? ORDER BY active_from`), orgID, ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: oidc keys: %w", err)
	}
	defer rows.Close()
	var ks []OIDCKey
	for rows.Next() {
		var k OIDCKey
		var created, active, retire int64
		if err := rows.Scan(&k.ID, &k.OrgID, &k.Algorithm, &k.PrivateKey, &created, &active, &retire); err != nil {
			return nil, fmt.Errorf("store: oidc keys: %w", err)
		}
		k.CreatedAt, k.ActiveFrom, k.RetireAt = fromMS(created), fromMS(active), fromMS(retire)
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

// AddOIDCKey stores a new signing key, and retires the keys it succeeds
// keepOld after it begins to sign, recording e. When the organization has
// a key from the same ActiveFrom already (another instance made it a
// moment ago) it changes nothing and returns ErrExists.
func (s *Store) AddOIDCKey(ctx context.Context, k OIDCKey, keepOld time.Duration, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.insertNoID(ctx, tx, "add oidc key",
			`INSERT INTO oidc_keys (id, org_id, algorithm, private_key, created_at, active_from, retire_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.OrgID, k.Algorithm, k.PrivateKey, ms(k.CreatedAt), ms(k.ActiveFrom), ms(k.RetireAt)); err != nil {
			return err
		}
		retire := ms(k.ActiveFrom.Add(keepOld))
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE oidc_keys SET retire_at = ? WHERE org_id = ? AND active_from < ? AND retire_at > ?`),
			retire, k.OrgID, ms(k.ActiveFrom), retire); err != nil {
			return fmt.Errorf("store: retire oidc keys: %w", err)
		}
		return s.addEvent(ctx, tx, e)
	})
}

// ResealOIDCKeys offers every organization's sealed signing keys to
// reseal, in one transaction, and stores what it returns when changed is
// true. It reports how many changed.
func (s *Store) ResealOIDCKeys(ctx context.Context, reseal func(OIDCKey) (sealed []byte, changed bool, err error), e Event) (int, error) {
	return resealRows(s, ctx, "oidc keys", e,
		func(tx *sql.Tx) ([]OIDCKey, error) {
			return scanRows(ctx, tx, func(r scanner) (OIDCKey, error) {
				var k OIDCKey
				err := r.Scan(&k.ID, &k.OrgID, &k.PrivateKey)
				return k, err
			}, `SELECT id, org_id, private_key FROM oidc_keys ORDER BY id`)
		},
		reseal,
		func(tx *sql.Tx, k OIDCKey, sealed []byte) error {
			return s.exec(ctx, tx, "reseal oidc key", `UPDATE oidc_keys SET private_key = ? WHERE id = ?`, sealed, k.ID)
		},
		func(k OIDCKey) string { return "oidc key " + k.ID })
}

// PurgeOIDC deletes what has expired before now: requests, tokens,
// grants past their end, and retired signing keys. It returns how many
// rows went.
func (s *Store) PurgeOIDC(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM oidc_auth_requests WHERE expires_at <= ?`,
			`DELETE FROM oidc_access_tokens WHERE expires_at <= ?`,
			`DELETE FROM oidc_refresh_tokens WHERE expires_at <= ?`,
			`DELETE FROM oidc_access_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE expires_at <= ?)`,
			`DELETE FROM oidc_refresh_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE expires_at <= ?)`,
			`DELETE FROM oidc_grants WHERE expires_at <= ?`,
			`DELETE FROM oidc_keys WHERE retire_at <= ?`,
		} {
			res, err := tx.ExecContext(ctx, s.d.q(q), ms(now))
			if err != nil {
				return fmt.Errorf("store: purge oidc: %w", err)
			}
			m, _ := res.RowsAffected()
			n += m
		}
		return nil
	})
	return n, err
}
