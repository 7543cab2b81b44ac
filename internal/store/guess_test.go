package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var guessLockout = store.Lockout{Threshold: 5, LockFor: 10 * time.Minute, HardLimit: 100}

// accepting returns a decide for Guess that accepts step of f's token,
// with a replay refusal should the step be taken.
func accepting(f fixture, step int64) func(bool) store.Verdict {
	ev := store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Target: "alice"}
	return func(ok bool) store.Verdict {
		refusal := ev
		if !ok {
			refusal.Result = "locked"
			return store.Verdict{Event: refusal}
		}
		accept := ev
		accept.Result = "accept"
		refusal.Result = "replay"
		return store.Verdict{Event: refusal, Consume: &store.Consumption{TokenID: f.tok.ID, UserID: f.user.ID, Step: step, At: t0,
			From: store.TokenActive, Event: accept}}
	}
}

func refusing(f fixture) func(bool) store.Verdict {
	return func(ok bool) store.Verdict {
		result := "bad_code"
		if !ok {
			result = "locked"
		}
		return store.Verdict{Event: store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Target: "alice", Result: result}}
	}
}

func results(t *testing.T, s *store.Store, orgID int64) map[string]int {
	t.Helper()
	evs, err := s.Events(context.Background(), orgID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evs {
		if e.Action == "validate" {
			n[e.Result]++
		}
	}
	return n
}

func TestGuessDecidesInOneTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		for i := range 4 {
			if _, ok, err := f.s.Guess(ctx, f.user.ID, t0, guessLockout, refusing(f)); err != nil || !ok {
				t.Fatalf("wrong guess %d: ok %v, err %v", i+1, ok, err)
			}
		}
		if u, _ := f.s.UserByID(ctx, f.org.ID, f.user.ID); u.Failures != 4 {
			t.Fatalf("after 4 wrong guesses failures = %d, want 4", u.Failures)
		}
		if _, ok, err := f.s.Guess(ctx, f.user.ID, t0, guessLockout, accepting(f, 101)); err != nil || !ok {
			t.Fatalf("right guess: ok %v, err %v", ok, err)
		}
		u, _ := f.s.UserByID(ctx, f.org.ID, f.user.ID)
		tok, _ := f.s.TokenBySerial(ctx, f.org.ID, f.tok.Serial)
		if u.Failures != 0 || tok.LastStep != 101 {
			t.Fatalf("after the right guess failures = %d, last step %d; want 0 and 101", u.Failures, tok.LastStep)
		}
		// The step again: refused, the refusal written, and counted.
		if _, ok, err := f.s.Guess(ctx, f.user.ID, t0, guessLockout, accepting(f, 101)); !errors.Is(err, store.ErrNotConsumed) || !ok {
			t.Fatalf("replayed step: ok %v, err %v; want ErrNotConsumed", ok, err)
		}
		if u, _ := f.s.UserByID(ctx, f.org.ID, f.user.ID); u.Failures != 1 {
			t.Fatalf("after a replay failures = %d, want 1: a replay must count, not reset", u.Failures)
		}
		got := results(t, f.s, f.org.ID)
		if got["bad_code"] != 4 || got["accept"] != 1 || got["replay"] != 1 {
			t.Fatalf("audit results %v, want 4 bad_code, 1 accept, 1 replay", got)
		}
	})
}

func TestGuessLocksAfterTheThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		var locks int
		for range guessLockout.Threshold {
			res, ok, err := f.s.Guess(ctx, f.user.ID, t0, guessLockout, refusing(f))
			if err != nil || !ok {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			if !res.LockedUntil.IsZero() {
				locks++
			}
		}
		if locks != 1 {
			t.Fatalf("%d guesses set a lock, want exactly 1 (the last)", locks)
		}
		decided := false
		_, ok, err := f.s.Guess(ctx, f.user.ID, t0, guessLockout, func(ok bool) store.Verdict {
			decided = true
			return accepting(f, 101)(ok)
		})
		if err != nil || ok || !decided {
			t.Fatalf("a guess while locked: ok %v, err %v, decided %v; want refused, decided with ok false", ok, err, decided)
		}
		if tok, _ := f.s.TokenBySerial(ctx, f.org.ID, f.tok.Serial); tok.LastStep != 100 {
			t.Fatalf("a guess while locked consumed step %d", tok.LastStep)
		}
		if got := results(t, f.s, f.org.ID); got["locked"] != 1 {
			t.Fatalf("audit results %v, want 1 locked", got)
		}
	})
}

// TestConcurrentGuesses is the single-use and bounded-guessing invariants
// through Guess, from two instances on one database.
func TestConcurrentGuesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		accepted := hammer(t, 200, stores, func(s *store.Store) (bool, error) {
			_, ok, err := s.Guess(context.Background(), f.user.ID, t0, store.Lockout{Threshold: 1000, LockFor: time.Minute, HardLimit: 1000}, accepting(f, 101))
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return ok && err == nil, err
		})
		if accepted != 1 {
			t.Fatalf("accepted %d of 200 concurrent guesses of one step, want exactly 1", accepted)
		}
		// Each guess written once, those made again after their group's
		// commit included: the acceptance, and each replay audited and
		// counted.
		if got := results(t, f.s, f.org.ID); got["accept"] != 1 || got["replay"] != 199 || len(got) != 2 {
			t.Fatalf("audit results %v, want 1 accept and 199 replays", got)
		}
		if u, _ := f.s.UserByID(context.Background(), f.org.ID, f.user.ID); u.Failures != 199 {
			t.Fatalf("failures after 199 replays = %d, want 199", u.Failures)
		}

		// Start the allowance afresh, as an operator's unlock does.
		if err := f.s.Unlock(context.Background(), f.org.ID, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.unlock"}); err != nil {
			t.Fatal(err)
		}
		var evaluated atomic.Int32
		reserved := hammer(t, 500, stores, func(s *store.Store) (bool, error) {
			_, ok, err := s.Guess(context.Background(), f.user.ID, t0, guessLockout, func(ok bool) store.Verdict {
				if ok {
					evaluated.Add(1)
				}
				return refusing(f)(ok)
			})
			return ok, err
		})
		if reserved != guessLockout.Threshold || int(evaluated.Load()) != guessLockout.Threshold {
			t.Fatalf("%d of 500 concurrent wrong guesses reserved, %d evaluated; want exactly %d", reserved, evaluated.Load(), guessLockout.Threshold)
		}
	})
}

// TestAFailingGroupIsMadeOneByOne: when one guess of a shared
// transaction fails, the others are made again, each alone, and only the
// failing one fails: in a group of one user's guesses (which PostgreSQL
// makes one after the other) and in one of several users.
func TestAFailingGroupIsMadeOneByOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		refuseBoom(t, b)
		bob, carol := addUser(t, f, "bob"), addUser(t, f, "carol")
		for _, tc := range []struct {
			name  string
			users []int64
		}{
			{"one user", []int64{f.user.ID, f.user.ID, f.user.ID}},
			{"three users", []int64{carol.ID, bob.ID, f.user.ID}},
		} {
			before := results(t, f.s, f.org.ID)["bad_code"]
			failures := map[int64]int{}
			for _, id := range tc.users {
				u, _ := f.s.UserByID(ctx, f.org.ID, id)
				failures[id] = u.Failures
			}
			errs := f.s.GuessAsOneGroup(ctx, tc.users, t0, guessLockout, func(i int) func(bool) store.Verdict {
				target := "alice"
				if i == 1 {
					target = "boom"
				}
				return func(bool) store.Verdict {
					return store.Verdict{Event: store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Target: target, Result: "bad_code"}}
				}
			})
			if errs[0] != nil || errs[1] == nil || errs[2] != nil {
				t.Fatalf("%s: errors %v; want only the second guess to fail", tc.name, errs)
			}
			if got := results(t, f.s, f.org.ID)["bad_code"] - before; got != 2 {
				t.Fatalf("%s: %d refusals audited, want the 2 guesses that did not fail", tc.name, got)
			}
			for i, id := range tc.users {
				if i != 1 {
					failures[id]++
				}
			}
			for id, want := range failures {
				if u, _ := f.s.UserByID(ctx, f.org.ID, id); u.Failures != want {
					t.Fatalf("%s: user %d has %d failures, want %d: the failed guess's reservation is rolled back with it", tc.name, id, u.Failures, want)
				}
			}
		}
	})
}

// TestAGroupMakesAUsersGuessesInTurn: each of one user's guesses in a
// group sees what the ones before it wrote, as if each had its own
// transaction: the guess after the allowance finds the user locked.
func TestAGroupMakesAUsersGuessesInTurn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		bob := addUser(t, f, "bob")
		users := []int64{f.user.ID, bob.ID}
		for range guessLockout.Threshold {
			users = append(users, f.user.ID)
		}
		locked := make([]bool, len(users))
		errs := f.s.GuessAsOneGroup(context.Background(), users, t0, guessLockout, func(i int) func(bool) store.Verdict {
			return func(ok bool) store.Verdict {
				locked[i] = !ok
				return refusing(f)(ok)
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		want := make([]bool, len(users))
		want[len(want)-1] = true
		if !slices.Equal(locked, want) {
			t.Fatalf("locked as judged %v, want %v: alice's last guess after her %d allowed ones", locked, want, guessLockout.Threshold)
		}
		if got := results(t, f.s, f.org.ID); got["bad_code"] != guessLockout.Threshold+1 || got["locked"] != 1 {
			t.Fatalf("audit results %v, want %d bad codes and 1 locked", got, guessLockout.Threshold+1)
		}
	})
}

// TestConcurrentGuessesOfManyUsers is TestConcurrentGuesses with the
// guesses of several users at once, from two instances, so that groups
// hold several users' rows and lock them against each other's.
func TestConcurrentGuessesOfManyUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		type account struct {
			f        fixture
			accepted atomic.Int32
		}
		accounts := make([]*account, 6)
		for i := range accounts {
			a := f
			if i > 0 {
				a.user = addUser(t, f, fmt.Sprintf("user%d", i))
				a.tok = addToken(t, a, fmt.Sprintf("TOTP%04d", i+1))
			}
			accounts[i] = &account{f: a}
		}
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		var n atomic.Int32
		hammer(t, 300, stores, func(s *store.Store) (bool, error) {
			a := accounts[int(n.Add(1))*7%len(accounts)]
			_, ok, err := s.Guess(ctx, a.f.user.ID, t0, store.Lockout{Threshold: 1000, LockFor: time.Minute, HardLimit: 1000}, accepting(a.f, 101))
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			if ok && err == nil {
				a.accepted.Add(1)
			}
			return ok, err
		})
		for _, a := range accounts {
			if got := a.accepted.Load(); got != 1 {
				t.Fatalf("%s: %d of 50 concurrent guesses of one step accepted, want exactly 1", a.f.user.Username, got)
			}
			// The replays counted: start the allowance afresh.
			if err := f.s.Unlock(ctx, f.org.ID, a.f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.unlock"}); err != nil {
				t.Fatal(err)
			}
		}

		reserved := make([]atomic.Int32, len(accounts))
		hammer(t, 600, stores, func(s *store.Store) (bool, error) {
			i := int(n.Add(1)) * 5 % len(accounts)
			_, ok, err := s.Guess(ctx, accounts[i].f.user.ID, t0, guessLockout, refusing(accounts[i].f))
			if ok && err == nil {
				reserved[i].Add(1)
			}
			return ok, err
		})
		for i, a := range accounts {
			if got := reserved[i].Load(); int(got) != guessLockout.Threshold {
				t.Fatalf("%s: %d of 100 concurrent wrong guesses reserved, want exactly %d", a.f.user.Username, got, guessLockout.Threshold)
			}
		}
	})
}

// refuseBoom makes b's database refuse an audit event whose target is
// boom, as a failing write would.
func refuseBoom(t *testing.T, b storetest.Backend) {
	t.Helper()
	stmts := map[string][]string{
		"sqlite": {`CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_events WHEN NEW.target = 'boom'
			BEGIN SELECT RAISE(ABORT, 'boom'); END`},
		"postgres": {`CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.target = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_boom()`},
	}
	raw := b.DB(t)
	for _, q := range stmts[b.Driver] {
		if _, err := raw.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAFailedGuessChangesNothing: a guess whose writes fail changes
// nothing — neither the user's failures nor the token's step — and leaves
// no connection behind in the failed transaction.
func TestAFailedGuessChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		refuseBoom(t, b)
		boom := func(decide func(bool) store.Verdict) func(bool) store.Verdict {
			return func(ok bool) store.Verdict {
				v := decide(ok)
				v.Event.Target = "boom"
				if v.Consume != nil {
					v.Consume.Event.Target = "boom"
				}
				return v
			}
		}
		for name, decide := range map[string]func(bool) store.Verdict{"refusal": boom(refusing(f)), "acceptance": boom(accepting(f, 101))} {
			if _, _, err := f.s.Guess(ctx, f.user.ID, t0, guessLockout, decide); err == nil {
				t.Fatalf("%s whose audit fails: no error", name)
			}
		}
		u, _ := f.s.UserByID(ctx, f.org.ID, f.user.ID)
		tok, _ := f.s.TokenBySerial(ctx, f.org.ID, f.tok.Serial)
		if u.Failures != 0 || tok.LastStep != 100 {
			t.Fatalf("after failed guesses failures = %d, last step %d; want 0 and 100", u.Failures, tok.LastStep)
		}
		// More guesses than the store has connections: each works.
		for i := range 40 {
			if _, ok, err := f.s.Guess(ctx, f.user.ID, t0, store.Lockout{Threshold: 1000, LockFor: time.Minute, HardLimit: 1000}, refusing(f)); err != nil || !ok {
				t.Fatalf("guess %d after the failed ones: ok %v, err %v", i+1, ok, err)
			}
		}
	})
}
