package store

import (
	"context"
	"database/sql"
	"fmt"
)

// resealRows is the loop every Reseal… shares, so that a key rotation
// treats each kind of sealed secret alike: in one transaction it reads the
// rows with load, offers each to reseal, writes back with update those
// whose sealed value changed, and records e with how many did, counted as
// noun. It reports that count; any error rolls everything back.
func resealRows[T any](s *Store, ctx context.Context, noun string, e Event,
	load func(tx *sql.Tx) ([]T, error),
	reseal func(T) (sealed []byte, changed bool, err error),
	update func(tx *sql.Tx, row T, sealed []byte) error,
	name func(T) string) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := load(tx)
		if err != nil {
			return fmt.Errorf("store: reseal %s: %w", noun, err)
		}
		for _, row := range rows {
			sealed, changed, err := reseal(row)
			if err != nil {
				return fmt.Errorf("store: reseal %s: %s: %w", noun, name(row), err)
			}
			if !changed {
				continue
			}
			if err := update(tx, row, sealed); err != nil {
				return err
			}
			n++
		}
		e.Detail = fmt.Sprintf("%d %s resealed", n, noun)
		return s.addEvent(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// scanRows reads every row that query, with args, returns from q (a
// connection pool or a transaction) with scan.
func scanRows[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		t, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
