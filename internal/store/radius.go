package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RadiusClient is a gateway allowed to send RADIUS requests for one
// organization.
type RadiusClient struct {
	ID     int64
	OrgID  int64
	Name   string
	CIDR   string // the source addresses, as a canonical prefix ("192.0.2.10/32")
	Secret []byte // sealed; see RadiusSecretAD
	// RequireMessageAuthenticator drops requests without a valid
	// Message-Authenticator (RFC 3579, BlastRADIUS).
	RequireMessageAuthenticator bool
	CreatedAt                   time.Time
}

// RadiusSecretAD is the additional data that binds a sealed shared secret
// to its client's row.
func RadiusSecretAD(c RadiusClient) []byte {
	return fmt.Appendf(nil, "twofold radius_clients.secret org=%d id=%d", c.OrgID, c.ID)
}

// CreateRadiusClient adds a client and records e. The secret is sealed by
// seal once the row has its id, which is part of the additional data. It
// returns ErrExists when the organization has a client of that name or
// any client has that address range.
func (s *Store) CreateRadiusClient(ctx context.Context, c RadiusClient, seal func(RadiusClient) ([]byte, error), e Event) (RadiusClient, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c.ID, err = s.insert(ctx, tx, "create radius client",
			`INSERT INTO radius_clients (org_id, name, cidr, secret, require_message_authenticator, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.OrgID, c.Name, c.CIDR, []byte{}, boolInt(c.RequireMessageAuthenticator), ms(c.CreatedAt))
		if err != nil {
			return err
		}
		if c.Secret, err = seal(c); err != nil {
			return fmt.Errorf("store: seal radius secret: %w", err)
		}
		if err := s.exec(ctx, tx, "store radius secret", `UPDATE radius_clients SET secret = ? WHERE id = ?`, c.Secret, c.ID); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
	return c, err
}

const radiusClientColumns = `id, org_id, name, cidr, secret, require_message_authenticator, created_at`

// RadiusClients lists the clients of an organization, or of every
// organization when orgID is 0 (for the RADIUS server), oldest first.
func (s *Store) RadiusClients(ctx context.Context, orgID int64) ([]RadiusClient, error) {
	query, args := `SELECT `+radiusClientColumns+` FROM radius_clients ORDER BY id`, []any{}
	if orgID != 0 {
		query, args = `SELECT `+radiusClientColumns+` FROM radius_clients WHERE org_id = ? ORDER BY id`, []any{orgID}
	}
	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: radius clients: %w", err)
	}
	defer rows.Close()
	var cs []RadiusClient
	for rows.Next() {
		var c RadiusClient
		var require int
		var created int64
		if err := rows.Scan(&c.ID, &c.OrgID, &c.Name, &c.CIDR, &c.Secret, &require, &created); err != nil {
			return nil, fmt.Errorf("store: radius clients: %w", err)
		}
		c.RequireMessageAuthenticator, c.CreatedAt = require != 0, fromMS(created)
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// DeleteRadiusClient removes an organization's client by name and records
// e; ErrNotFound when there is none.
func (s *Store) DeleteRadiusClient(ctx context.Context, orgID int64, name string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.exec(ctx, tx, "delete radius client",
			`DELETE FROM radius_clients WHERE org_id = ? AND name = ?`, orgID, name); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}

// ResealRadiusSecrets offers every client's sealed secret to reseal, in
// one transaction, and stores what it returns when changed is true. It
// reports how many changed; an error rolls everything back.
func (s *Store) ResealRadiusSecrets(ctx context.Context, reseal func(RadiusClient) (sealed []byte, changed bool, err error), e Event) (int, error) {
	return resealRows(s, ctx, "radius secrets", e,
		func(*sql.Tx) ([]RadiusClient, error) { return s.RadiusClients(ctx, 0) },
		reseal,
		func(tx *sql.Tx, c RadiusClient, sealed []byte) error {
			return s.exec(ctx, tx, "reseal radius secret", `UPDATE radius_clients SET secret = ? WHERE id = ? AND secret = ?`, sealed, c.ID, c.Secret)
		},
		func(c RadiusClient) string { return "radius client " + c.Name })
}
