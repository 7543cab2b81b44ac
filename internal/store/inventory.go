package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// InventoryToken is a token an organization holds that no user has yet:
// a hardware token imported from its seed file.
type InventoryToken struct {
	ID           int64
	OrgID        int64
	Serial       string
	Type         string // totp, hotp
	Secret       []byte // sealed; see InventorySecretAD
	Algorithm    string
	Digits       int
	Period       int   // seconds, TOTP only
	LastStep     int64 // as Token.LastStep: for HOTP the counter before the next code
	Manufacturer string
	Model        string
	CreatedAt    time.Time
}

// InventorySecretAD is the additional data that binds a sealed
// inventory secret to its organization and serial. The serial, not the
// row id, names the row, so that a secret is sealed the moment it is read
// from a seed file, before any row exists.
func InventorySecretAD(orgID int64, serial string) []byte {
	return fmt.Appendf(nil, "twofold token_inventory.secret org=%d serial=%s", orgID, serial)
}

// TakenSerials returns which of serials a token or an inventory token
// has already, in any organization (serials are unique across them).
func (s *Store) TakenSerials(ctx context.Context, serials []string) (map[string]bool, error) {
	taken := map[string]bool{}
	for len(serials) > 0 {
		batch := serials[:min(len(serials), bulkRows)]
		serials = serials[len(batch):]
		if err := s.takenSerials(ctx, s.r, batch, taken); err != nil {
			return nil, err
		}
	}
	return taken, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) takenSerials(ctx context.Context, q querier, batch []string, taken map[string]bool) error {
	marks := strings.Repeat(", ?", len(batch))[2:]
	args := make([]any, 0, 2*len(batch))
	for range 2 {
		for _, serial := range batch {
			args = append(args, serial)
		}
	}
	rows, err := q.QueryContext(ctx, s.d.q(`SELECT serial FROM tokens WHERE serial IN (`+marks+`)
		UNION ALL SELECT serial FROM token_inventory WHERE serial IN (`+marks+`)`), args...)
	if err != nil {
		return fmt.Errorf("store: taken serials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			return fmt.Errorf("store: taken serials: %w", err)
		}
		taken[serial] = true
	}
	return rows.Err()
}

// ImportTokens writes one batch of imported tokens, all or nothing in
// one transaction: stock, sealed already (see InventorySecretAD), into
// the inventory, and assigned, tokens of existing users, whose secrets
// seal seals once each row has its id (see AddUsers); and events. A
// serial taken in either table returns ErrExists.
func (s *Store) ImportTokens(ctx context.Context, stock []InventoryToken, assigned []*Token, seal func(i int, t Token) ([]byte, error), events []Event) error {
	var serials []string
	for _, t := range stock {
		serials = append(serials, t.Serial)
	}
	for _, t := range assigned {
		serials = append(serials, t.Serial)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for len(serials) > 0 {
			batch := serials[:min(len(serials), bulkRows)]
			serials = serials[len(batch):]
			taken := map[string]bool{}
			if err := s.takenSerials(ctx, tx, batch, taken); err != nil {
				return err
			}
			for serial := range taken {
				return fmt.Errorf("store: import tokens: serial %s: %w", serial, ErrExists)
			}
		}
		rows := make([][]any, len(stock))
		for i, t := range stock {
			rows[i] = []any{t.OrgID, t.Serial, t.Type, t.Secret, t.Algorithm, t.Digits, t.Period, t.LastStep, t.Manufacturer, t.Model, ms(t.CreatedAt)}
		}
		if err := s.insertMany(ctx, tx, "import tokens to the inventory",
			`token_inventory (org_id, serial, type, secret, algorithm, digits, period, last_step, manufacturer, model, created_at)`,
			rows, "", nil); err != nil {
			return err
		}
		if err := s.addTokens(ctx, tx, assigned, seal); err != nil {
			return err
		}
		return s.addEvents(ctx, tx, events)
	})
}

const inventoryColumns = `id, org_id, serial, type, secret, algorithm, digits, period, last_step, manufacturer, model, created_at`

func scanInventory(row scanner) (InventoryToken, error) {
	var t InventoryToken
	var created int64
	err := row.Scan(&t.ID, &t.OrgID, &t.Serial, &t.Type, &t.Secret, &t.Algorithm, &t.Digits, &t.Period, &t.LastStep,
		&t.Manufacturer, &t.Model, &created)
	t.CreatedAt = fromMS(created)
	return t, err
}

// Inventory lists an organization's unassigned tokens by serial, at most
// limit of them after the serial after.
func (s *Store) Inventory(ctx context.Context, orgID int64, after string, limit int) ([]InventoryToken, error) {
	return s.inventory(ctx, s.r, `SELECT `+inventoryColumns+` FROM token_inventory WHERE org_id = ? AND serial `+s.d.bytewise+` > ?
		ORDER BY serial `+s.d.bytewise+` LIMIT ?`, orgID, after, limit)
}

func (s *Store) inventory(ctx context.Context, q querier, query string, args ...any) ([]InventoryToken, error) {
	out, err := scanRows(ctx, q, scanInventory, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: inventory: %w", err)
	}
	return out, nil
}

// InventoryToken finds one of an organization's unassigned tokens.
func (s *Store) InventoryToken(ctx context.Context, orgID int64, serial string) (InventoryToken, error) {
	t, err := scanInventory(s.r.QueryRowContext(ctx, s.d.q(`SELECT `+inventoryColumns+` FROM token_inventory WHERE org_id = ? AND serial = ?`), orgID, serial))
	return t, one("inventory token "+serial, err)
}

// AssignInventory gives the organization's unassigned token serial to the
// user userID, active at once, in one transaction: the inventory row
// goes, the token row comes with t's name and times, its secret as reseal
// re-seals it for the new row (open with InventorySecretAD, seal with
// SecretAD), and e is recorded. It returns ErrNotFound when the
// organization has no such unassigned token (assigned meanwhile, say).
func (s *Store) AssignInventory(ctx context.Context, orgID int64, serial string, t Token, reseal func(inv InventoryToken, t Token) ([]byte, error), e Event) (Token, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.takeInventory(ctx, tx, orgID, serial, &t, reseal); err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
	return t, err
}

// ClaimInventory is AssignInventory for a user who has shown that they
// hold the token: c is the consumption of the code it showed (its TokenID
// and From are filled in here), made in the same transaction as Consume
// makes it, so that the code works once, the user's failures reset and
// c.Event is recorded. It returns ErrNotFound when the token is no longer
// in the inventory (claimed meanwhile) and ErrNotConsumed when c's step
// is not after the token's last one; either way nothing changed. Like a
// new setup, a claim ends the user's self-enrolled setups still waiting
// for their first code.
func (s *Store) ClaimInventory(ctx context.Context, orgID int64, serial string, t Token, reseal func(inv InventoryToken, t Token) ([]byte, error), c Consumption) (Token, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The user's row first, in the order Guess and Consume take the
		// rows.
		if _, err := tx.StmtContext(ctx, s.resetFailures).ExecContext(ctx, c.UserID); err != nil {
			return fmt.Errorf("store: reset failures: %w", err)
		}
		if err := s.takeInventory(ctx, tx, orgID, serial, &t, reseal); err != nil {
			return err
		}
		c.TokenID, c.From = t.ID, TokenActive
		if err := s.consumeIn(ctx, tx, c); err != nil {
			return err
		}
		return s.retireAbandonedSetups(ctx, tx, c.UserID)
	})
	return t, err
}

// takeInventory moves the inventory token serial to the tokens, as t, in
// the transaction tx.
func (s *Store) takeInventory(ctx context.Context, tx *sql.Tx, orgID int64, serial string, t *Token, reseal func(inv InventoryToken, t Token) ([]byte, error)) error {
	invs, err := s.inventory(ctx, tx, `SELECT `+inventoryColumns+` FROM token_inventory WHERE org_id = ? AND serial = ?`+s.d.forUpdate, orgID, serial)
	if err != nil {
		return err
	}
	if len(invs) == 0 {
		return fmt.Errorf("store: take inventory token %s: %w", serial, ErrNotFound)
	}
	inv := invs[0]
	if err := s.exec(ctx, tx, "take inventory token", `DELETE FROM token_inventory WHERE id = ?`, inv.ID); err != nil {
		return err
	}
	t.OrgID, t.Serial, t.Type, t.Algorithm, t.Digits, t.Period, t.LastStep = orgID, inv.Serial, inv.Type, inv.Algorithm, inv.Digits, inv.Period, inv.LastStep
	return s.addTokens(ctx, tx, []*Token{t}, func(_ int, t Token) ([]byte, error) { return reseal(inv, t) })
}

// ResealInventory offers every inventory secret to reseal, in one
// transaction, and stores what it returns when changed is true; it
// reports how many changed. An error rolls everything back.
func (s *Store) ResealInventory(ctx context.Context, reseal func(InventoryToken) (sealed []byte, changed bool, err error), e Event) (int, error) {
	return resealRows(s, ctx, "inventory secrets", e,
		func(tx *sql.Tx) ([]InventoryToken, error) {
			return s.inventory(ctx, tx, `SELECT `+inventoryColumns+` FROM token_inventory ORDER BY id`)
		},
		reseal,
		func(tx *sql.Tx, t InventoryToken, sealed []byte) error {
			return s.exec(ctx, tx, "reseal inventory", `UPDATE token_inventory SET secret = ? WHERE id = ?`, sealed, t.ID)
		},
		func(t InventoryToken) string { return "inventory token " + t.Serial })
}
