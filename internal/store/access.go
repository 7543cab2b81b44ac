package store

import (
	"context"
	"database/sql"
	"fmt"
)

const (
	accessRevisionSQL = `SELECT rev FROM access_revision WHERE id = 1`
	bumpAccessSQL     = `UPDATE access_revision SET rev = rev + 1 WHERE id = 1`
)

// AccessRevision is a number that changes, in the same transaction,
// whenever an API key is created or revoked or a RADIUS client is added
// or removed. Whoever holds keys or clients in memory reads it, one row
// by its primary key, to know when to read them again.
func (s *Store) AccessRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.accessRevision.QueryRowContext(ctx).Scan(&rev); err != nil {
		return 0, fmt.Errorf("store: access revision: %w", err)
	}
	return rev, nil
}

// accessChanged moves the access revision in the transaction of a change
// to the API keys or the RADIUS clients.
func (s *Store) accessChanged(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, bumpAccessSQL); err != nil {
		return fmt.Errorf("store: access revision: %w", err)
	}
	return nil
}
