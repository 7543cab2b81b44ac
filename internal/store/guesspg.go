package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgConsumeSQL is what an accepted code of an active token writes on
// PostgreSQL, in one statement: the step taken as consumeActiveSQL takes
// it, and the acceptance audited where it was. Its arguments are
// consumeActiveSQL's and then insertEventSQL's; its command tag counts
// the events written: none when the step was not taken (another request
// took it first, or the token is no longer active).
const pgConsumeSQL = pgTakeSQL + pgAuditTakenSQL

// pgConsumeResetSQL is pgConsumeSQL that also resets the failures of the
// user, the argument between the two others, where the step was taken.
const pgConsumeResetSQL = pgTakeSQL + `,
	reset AS (
		UPDATE users SET failures = 0, total_failures = 0, locked_until = 0
		WHERE id = ? AND EXISTS (SELECT 1 FROM taken))` + pgAuditTakenSQL

const (
	pgTakeSQL = `WITH taken AS (
		UPDATE tokens SET last_step = ?, drift = ?, last_used_at = ?
		WHERE id = ? AND last_step < ? AND state = 'active' RETURNING id)`
	pgAuditTakenSQL = `
	INSERT INTO audit_events (org_id, at, actor, action, target, result, detail, source)
	SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT)
	FROM taken`
)

// pgGuessSQL is the statements of a group on PostgreSQL, numbered once at
// Open rather than at every group. pgx prepares each on a connection's
// first use of it.
type pgGuessSQL struct{ lock, event, reserve, consume, consumeReset string }

func newPGGuessSQL(d dialect) pgGuessSQL {
	return pgGuessSQL{lock: d.q(guessLockSQL + d.forUpdate), event: d.q(insertEventSQL), reserve: d.q(reserveSQL),
		consume: d.q(pgConsumeSQL), consumeReset: d.q(pgConsumeResetSQL)}
}

// errNotCommitted is a COMMIT that PostgreSQL answered with ROLLBACK: the
// transaction had failed.
var errNotCommitted = errors.New("transaction rolled back")

// commitGroupPG makes the guesses of group in one transaction, or, when
// that fails, each in its own. The group locks its users' rows in
// user-id order, as every group of every instance does, so that two
// groups never wait for each other in a circle. A user's second guess in
// one group must see what the first one wrote: it is made after the
// group, alone.
func (s *Store) commitGroupPG(ctx context.Context, group []*guess) {
	group = slices.Clone(group) // the caller's order names its leader
	slices.SortStableFunc(group, func(a, b *guess) int { return cmp.Compare(a.userID, b.userID) })
	var first, alone []*guess
	for i, g := range group {
		if i > 0 && g.userID == group[i-1].userID {
			alone = append(alone, g)
		} else {
			first = append(first, g)
		}
	}
	if err := s.pgGroup(ctx, first); err != nil {
		if len(group) == 1 {
			group[0].err = err
			return
		}
		alone = group
	}
	for _, g := range alone {
		if g.err = g.ctx.Err(); g.err == nil {
			g.err = s.pgGroup(g.ctx, []*guess{g})
		}
	}
}

// pgGroup makes the guesses of group, of distinct users in user-id order,
// in one transaction of two round trips, each a pgx batch: the
// transaction begun with the users' rows locked and read, one statement
// a row; then, once each guess is judged, all they write, and the commit.
// A statement a row, in user-id order, locks as one statement for all
// would, and PostgreSQL plans it once for good, where it planned one
// over an array of ids anew at every group. A round trip costs
// more than the statements it carries, on both sides of the connection,
// and so does a commit. The transaction holds the rows from the lock read
// to the commit, as guessIn's does, and writes what guessIn writes; a
// verdict of the rarer kinds (a first code that activates a token, a
// token that replaces another, a code another request took first) is
// made again by guessIn, after the commit, in a transaction of its own,
// the group having written nothing of it. pgGroup returns the error of the
// group's transaction; a guess made again has its own.
func (s *Store) pgGroup(ctx context.Context, group []*guess) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: connection: %w", err)
	}
	var again []*guess
	err = c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var err error
		again, err = s.groupOn(ctx, pc, group)
		if pc.PgConn().TxStatus() != 'I' {
			// Left in a transaction by an error: end it, or give up
			// the connection, which database/sql then discards.
			rctx := context.WithoutCancel(ctx)
			if _, rerr := pc.Exec(rctx, "ROLLBACK"); rerr != nil {
				pc.Close(rctx)
			}
		}
		return err
	})
	c.Close()
	if err != nil {
		return err
	}
	for _, g := range again {
		if g.err = g.ctx.Err(); g.err == nil {
			g.err = s.inTx(g.ctx, func(tx *sql.Tx) error { return s.guessIn(g.ctx, sqlTx{tx}, g) })
		}
	}
	return nil
}

// groupOn makes group on c, but for the guesses it returns, which guessIn
// is to make.
func (s *Store) groupOn(ctx context.Context, c *pgx.Conn, group []*guess) (again []*guess, err error) {
	type lock struct {
		found, failed bool
		until         int64
	}
	locks := make([]lock, len(group))
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for i, g := range group {
		b.Queue(s.pg.lock, g.userID).Query(func(rows pgx.Rows) error {
			l := &locks[i]
			for rows.Next() {
				l.found = true
				if err := rows.Scan(&l.until, &l.failed); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: read lock: %w", err)
	}

	b = &pgx.Batch{}
	redo := func(g *guess) { again = append(again, g) }
	for i, g := range group {
		s.queueGuess(b, g, g.judge(locks[i].found, locks[i].until), locks[i].failed, redo)
	}
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return errNotCommitted
		}
		return nil
	})
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: guess: %w", err)
	}
	return again, nil
}

// queueGuess queues what g's verdict v writes, its user's row read with
// failures to reset (failed), or calls redo for a guess guessIn is to
// make: now, for a verdict of a kind queueGuess does not write, or once
// the batch is answered, for a code another request took first, which
// counts as a refusal.
func (s *Store) queueGuess(b *pgx.Batch, g *guess, v Verdict, failed bool, redo func(*guess)) {
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
		q, args := s.pg.consume, []any{k.Step, k.Drift, ms(k.At), k.TokenID, k.Step}
		if failed {
			q, args = s.pg.consumeReset, append(args, g.userID)
		}
		b.Queue(q, append(args, k.Event.args()...)...).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				redo(g)
			}
			return nil
		})
	default:
		redo(g)
	}
}
