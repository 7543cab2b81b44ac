package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Installation-wide settings (see migration 0018).
const (
	// SettingDefaultPolicy is the policy new organizations start with,
	// as JSON.
	SettingDefaultPolicy = "default_policy"
)

// Setting reads an installation-wide setting. It returns ErrNotFound for
// a name no migration made.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&v)
	return v, one("setting "+name, err)
}

// SetSetting replaces the value of an installation-wide setting, read as
// from, with value and records e. When someone else changed it since, it
// changes nothing and returns ErrChanged, so that no change is silently
// lost; ErrNotFound for a name no migration made.
func (s *Store) SetSetting(ctx context.Context, name, from, value string, e Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.exec(ctx, tx, "set setting "+name, `UPDATE settings SET value = ? WHERE name = ? AND value = ?`, value, name, from)
		if errors.Is(err, ErrNotFound) {
			var exists int
			if err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM settings WHERE name = ?`), name).Scan(&exists); err != nil {
				return one("setting "+name, err)
			}
			return fmt.Errorf("store: set setting %s: %w", name, ErrChanged)
		}
		if err != nil {
			return err
		}
		return s.addEvent(ctx, tx, e)
	})
}
