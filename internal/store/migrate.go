package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationSteps are what a migration does after its SQL that SQL alone
// cannot do the same in both dialects, by version: filling a table with
// what the store computes in Go, exactly as its writes do.
var migrationSteps = map[int]func(s *Store, ctx context.Context, tx *sql.Tx) error{
	22: (*Store).indexAllUsers,
}

// migrations returns the embedded migrations in order. Files are named
// NNNN_description.sql; {{id}} and {{bytes}} stand for the dialect's types,
// {{bytewise}} for its byte-order collation.
func (d dialect) migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must start with a positive number and _", name)
		}
		body, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		text := strings.NewReplacer("{{id}}", d.identity, "{{bytes}}", d.bytes, "{{bytewise}}", d.bytewise).Replace(string(body))
		ms = append(ms, migration{version: v, name: name, sql: text})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("store: migrations %s and %s share a number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the pending migrations in one transaction, so that a
// failure leaves the schema as it was and concurrent starters wait for the
// first one instead of racing it.
func (s *Store) migrate(ctx context.Context) error {
	all, err := s.d.migrations()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.lockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		// Every migration not applied yet is applied, in order, also one
		// numbered below the newest applied: branches merged later may
		// bring lower numbers.
		applied, current, err := appliedMigrations(ctx, tx)
		if err != nil {
			return err
		}
		if n := len(all); n > 0 && current > all[n-1].version {
			return fmt.Errorf("the database is at schema version %d, newer than this twofold binary knows (%d): run the newer binary", current, all[n-1].version)
		}
		for _, m := range all {
			if applied[m.version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if step := migrationSteps[m.version]; step != nil {
				if err := step(s, ctx, tx); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
				m.version, ms(s.clock.Now())); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// appliedMigrations returns the versions applied, and the newest.
func appliedMigrations(ctx context.Context, tx *sql.Tx) (map[int]bool, int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	applied, newest := map[int]bool{}, 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, 0, err
		}
		applied[v], newest = true, max(newest, v)
	}
	return applied, newest, rows.Err()
}

// SchemaVersion reports the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}
