package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Verdict is what one guess decided, for Guess to write in the guess's
// own transaction.
type Verdict struct {
	// Consume, when not nil, is the accepted code, recorded as Consume
	// records it (its Event included).
	Consume *Consumption
	// Event is the refusal: written when there is nothing to consume, or
	// when Consume matched nothing because another request took the step
	// first.
	Event Event
}

// Guess decides one guess in one write transaction, which holds the
// user's row from its first statement to the commit: it reads whether the
// user is locked, calls decide (ok false: the user is locked, and decide
// must refuse), writes what decide returned — a refusal takes the guess
// from the user's allowance as ReserveAttempt does, an accepted code
// resets the failures — and commits. No other guess of the user is
// evaluated between the check and the commit, so the guess is counted in
// the one atomic unit that evaluates it (DESIGN.md invariant 2), and
// nobody learns the outcome before the commit that holds both.
//
// Guesses made at the same time share one transaction and one commit
// (group commit): each returns only once the commit that holds its writes
// is done, and when a shared transaction fails, each of its guesses is
// made again in a transaction of its own, so that one guess's error is no
// other's.
//
// decide evaluates the guess; it must have no effect beyond its verdict,
// since it runs again when the transaction is retried. Guess returns the
// reservation of a guess that counted (a refusal: its LockedUntil is the
// lock it set), whether the user was not locked, and ErrNotConsumed when
// the verdict's consumption matched nothing: its refusal event was written
// instead, and the guess counted.
func (s *Store) Guess(ctx context.Context, userID int64, now time.Time, l Lockout, decide func(ok bool) Verdict) (Reservation, bool, error) {
	g := &guess{ctx: ctx, userID: userID, now: now, lockout: l, decide: decide}
	s.group.do(g, s.commitGroup)
	if g.err != nil {
		return Reservation{}, false, fmt.Errorf("store: guess: %w", g.err)
	}
	if g.taken {
		return g.res, g.ok, ErrNotConsumed
	}
	return g.res, g.ok, nil
}

// guess is one call of Guess: what it asks, and what came of it.
type guess struct {
	ctx     context.Context
	userID  int64
	now     time.Time
	lockout Lockout
	decide  func(ok bool) Verdict

	res       Reservation
	ok, taken bool
	err       error
	waiter
}

// judge decides g, the user's row read (found) with its lock until, and
// forgets what an earlier try of the guess found.
func (g *guess) judge(found bool, until int64) Verdict {
	// A user deleted meanwhile is refused as a locked one is.
	g.ok = found && until <= ms(g.now)
	g.res, g.taken = Reservation{}, false
	return g.decide(g.ok)
}

// guessIn makes g's writes in tx.
func (s *Store) guessIn(ctx context.Context, tx guessTx, g *guess) error {
	var until int64
	var failed bool
	found, err := tx.queryRow(ctx, s.d.q(guessLockSQL+s.d.forUpdate), []any{g.userID}, &until, &failed)
	if err != nil {
		return fmt.Errorf("store: read lock: %w", err)
	}
	v := g.judge(found, until)
	if !g.ok {
		return s.addEvent(ctx, tx, v.Event)
	}
	if v.Consume != nil {
		err := s.consumeIn(ctx, tx, *v.Consume)
		if err == nil {
			// After the step is taken: a step taken already leaves
			// the failures as they are.
			if failed {
				if _, err := tx.ExecContext(ctx, s.d.q(resetFailuresSQL), g.userID); err != nil {
					return fmt.Errorf("store: reset failures: %w", err)
				}
			}
			return nil
		}
		if !errors.Is(err, ErrNotConsumed) {
			return err
		}
		g.taken = true
	}
	// A refusal, or a code another request took first: the guess counts.
	var failures int64
	if g.ok, err = tx.queryRow(ctx, s.d.q(reserveSQL), reserveArgs(g.userID, g.now, g.lockout), &failures, &until); err != nil {
		return fmt.Errorf("store: reserve attempt: %w", err)
	}
	if g.ok {
		g.res = reservation(int(failures), until, g.now)
	}
	return s.addEvent(ctx, tx, v.Event)
}

// commitGroup makes the guesses of group in one transaction, or, when
// that fails, each in its own: on SQLite, on lite's writer while holding
// database/sql's; on PostgreSQL, as commitGroupPG makes them.
func (s *Store) commitGroup(group []*guess) {
	// The transaction is no single caller's: one that gives up
	// waiting does not roll back the others.
	ctx := context.WithoutCancel(group[0].ctx)
	if s.lite == nil {
		s.commitGroupPG(ctx, group)
		return
	}
	held, err := s.w.Conn(ctx)
	if err != nil {
		for _, g := range group {
			g.err = fmt.Errorf("store: writer: %w", err)
		}
		return
	}
	defer held.Close()
	if len(group) > 1 {
		err := s.lite.inTx(func(tx liteTx) error {
			for _, g := range group {
				if err := s.guessIn(ctx, tx, g); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return
		}
	}
	for _, g := range group {
		if g.err = g.ctx.Err(); g.err == nil {
			g.err = s.lite.inTx(func(tx liteTx) error { return s.guessIn(g.ctx, tx, g) })
		}
	}
}
