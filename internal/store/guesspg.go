package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgConsumeSQL is what an accepted code of an active token writes on
// PostgreSQL, in one statement: the step taken as consumeActiveSQL takes
// it, the failures reset where the lock read found any, and the acceptance
// audited; or, when another request took the step first, the guess
// counted as reserveSQL counts it and the refusal audited instead. Its
// arguments: consumeActiveSQL's, the user and whether to reset, reserveSQL's,
// and the acceptance's and the refusal's insertEventSQL arguments. It
// returns whether the step was taken, and else reserveSQL's row.
const pgConsumeSQL = `WITH taken AS (
		UPDATE tokens SET last_step = ?, drift = ?, last_used_at = ?
		WHERE id = ? AND last_step < ? AND state = 'active' RETURNING id),
	reset AS (
		UPDATE users SET failures = 0, total_failures = 0, locked_until = 0
		WHERE id = ? AND CAST(? AS BOOLEAN) AND EXISTS (SELECT 1 FROM taken)),
	counted AS (
		UPDATE users SET ` + reserveSet + `
		WHERE id = ? AND locked_until <= ? AND NOT EXISTS (SELECT 1 FROM taken)
		RETURNING total_failures, locked_until),
	audited AS (
		INSERT INTO audit_events (org_id, at, actor, action, target, result, detail, source)
		SELECT org_id, at, actor, action, target, result, detail, source FROM (VALUES
			(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), TRUE),
			(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), FALSE))
			AS e (org_id, at, actor, action, target, result, detail, source, accepted)
		WHERE accepted = EXISTS (SELECT 1 FROM taken))
	SELECT EXISTS (SELECT 1 FROM taken), COALESCE((SELECT total_failures FROM counted), 0), COALESCE((SELECT locked_until FROM counted), 0)`

// pgGuessSQL is guessPipelined's statements, numbered for PostgreSQL once
// at Open rather than at every guess. pgx prepares each on a connection's
// first use of it.
type pgGuessSQL struct{ lock, event, reserve, consume string }

func newPGGuessSQL(d dialect) pgGuessSQL {
	return pgGuessSQL{lock: d.q(guessLockSQL + d.forUpdate), event: d.q(insertEventSQL), reserve: d.q(reserveSQL), consume: d.q(pgConsumeSQL)}
}

// errNotCommitted is a COMMIT that PostgreSQL answered with ROLLBACK: the
// transaction had failed.
var errNotCommitted = errors.New("transaction rolled back")

// guessPipelined is Guess on PostgreSQL in two round trips, each a pgx
// batch: the transaction begun with the user's row locked and read; then,
// once decide has judged the guess, all it writes, and the commit. A
// round trip costs more than the statements it carries, on both sides of
// the connection. The one transaction holds the user's row from the lock
// read to the commit, as guessIn's does, and writes what guessIn writes;
// a verdict of the rarer kinds (a first code that activates a token, a
// token that replaces another) is made again by guessIn.
func (s *Store) guessPipelined(ctx context.Context, g *guess) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: connection: %w", err)
	}
	defer c.Close()
	again := false
	err = c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var err error
		again, err = s.guessOn(ctx, pc, g)
		if pc.PgConn().TxStatus() != 'I' {
			// Left in a transaction, by an error or for guessIn: end it,
			// or give up the connection, which database/sql then
			// discards.
			rctx := context.WithoutCancel(ctx)
			if _, rerr := pc.Exec(rctx, "ROLLBACK"); rerr != nil {
				pc.Close(rctx)
			}
		}
		return err
	})
	if err == nil && again {
		return s.inTx(ctx, func(tx *sql.Tx) error { return s.guessIn(ctx, sqlTx{tx}, g) })
	}
	return err
}

// guessOn makes g on c, or reports that guessIn is to make it.
func (s *Store) guessOn(ctx context.Context, c *pgx.Conn, g *guess) (again bool, err error) {
	var until int64
	var failed bool
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	found := true
	b.Queue(s.pg.lock, g.userID).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&until, &failed)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		return err
	})
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("store: read lock: %w", err)
	}
	v := g.judge(found, until)

	b = &pgx.Batch{}
	switch {
	case !g.ok:
		b.Queue(s.pg.event, v.Event.args()...)
	case v.Consume == nil:
		b.Queue(s.pg.reserve, reserveArgs(g.userID, g.now, g.lockout)...).QueryRow(func(row pgx.Row) error {
			var failures int
			var until int64
			if err := row.Scan(&failures, &until); err != nil {
				return fmt.Errorf("store: reserve attempt: %w", err)
			}
			g.res = reservation(failures, until, g.now)
			return nil
		})
		b.Queue(s.pg.event, v.Event.args()...)
	case v.Consume.From == TokenActive && v.Consume.Retire == 0:
		k := v.Consume
		args := []any{k.Step, k.Drift, ms(k.At), k.TokenID, k.Step, g.userID, failed}
		args = append(args, reserveArgs(g.userID, g.now, g.lockout)...)
		args = append(args, k.Event.args()...)
		args = append(args, v.Event.args()...)
		b.Queue(s.pg.consume, args...).QueryRow(func(row pgx.Row) error {
			var taken bool
			var failures int
			var until int64
			if err := row.Scan(&taken, &failures, &until); err != nil {
				return fmt.Errorf("store: consume: %w", err)
			}
			if !taken {
				g.taken, g.res = true, reservation(failures, until, g.now)
			}
			return nil
		})
	default:
		return true, nil
	}
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return errNotCommitted
		}
		return nil
	})
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("store: guess: %w", err)
	}
	return false, nil
}
