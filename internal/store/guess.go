package store

import (
	"context"
	"database/sql"
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

// Guess decides one guess in one write transaction: it takes the guess
// from the user's allowance as ReserveAttempt does, then calls decide
// with the reservation (ok false: the user is locked, and decide must
// refuse), then writes what decide returned, and commits. The guess is
// therefore reserved before it is evaluated, and nobody learns the
// outcome before the commit that holds both.
//
// decide evaluates the guess; it must have no effect beyond its verdict,
// since it runs again when the transaction is retried. Guess returns
// the reservation, and ErrNotConsumed when the verdict's consumption
// matched nothing: its refusal event was written instead, and the guess
// stays counted.
func (s *Store) Guess(ctx context.Context, userID int64, now time.Time, l Lockout, decide func(r Reservation, ok bool) Verdict) (Reservation, bool, error) {
	var res Reservation
	var ok, taken bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, ok, err = reserve(ctx, tx.StmtContext(ctx, s.reserve), userID, now, l)
		if err != nil {
			return err
		}
		v := decide(res, ok)
		taken = false
		if v.Consume != nil {
			err := s.consumeIn(ctx, tx, *v.Consume)
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrNotConsumed) {
				return err
			}
			taken = true
		}
		return s.addEvent(ctx, tx, v.Event)
	})
	if err != nil {
		return Reservation{}, false, fmt.Errorf("store: guess: %w", err)
	}
	if taken {
		return res, ok, ErrNotConsumed
	}
	return res, ok, nil
}
