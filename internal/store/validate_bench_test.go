package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// The validate path's two store calls, Subject and Guess, in a directory
// of validateUsers users, on each store, with 16 goroutines as a server
// has requests in flight:
//
//	TWOFOLD_TEST_POSTGRES_URL=… go test ./internal/store -run '^$' -bench 'Subject|Guess$'
const validateUsers = 20_000

// validateBackends calls op in parallel on a directory of validateUsers
// seeded in each store (see storetest.SeedDirectory), with the users that
// have an active token in turn: round counts the turns.
func validateBackends(b *testing.B, op func(ctx context.Context, s *store.Store, orgID int64, u activeUser, round int64) error) {
	storetest.EachB(b, func(b *testing.B, backend storetest.Backend) {
		s := backend.Open(b, clock.NewFake(t0))
		ctx := context.Background()
		org, err := s.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0},
			store.Event{At: t0, Action: "org.create"})
		if err != nil {
			b.Fatal(err)
		}
		storetest.SeedDirectory(b, backend, org.ID, validateUsers, t0)
		var users []activeUser
		for i := range validateUsers {
			name := fmt.Sprintf("user%06d", i)
			sub, err := s.Subject(ctx, org.ID, name)
			if err != nil {
				b.Fatal(err)
			}
			if len(sub.Tokens) == 1 && sub.Tokens[0].State == store.TokenActive && !sub.LockedUntil.After(t0) {
				users = append(users, activeUser{name, sub.UserID, sub.Tokens[0].ID})
			}
		}
		b.SetParallelism(8) // 16 goroutines on 2 CPUs
		b.ReportAllocs()
		b.ResetTimer()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := next.Add(1)
				if err := op(ctx, s, org.ID, users[n%int64(len(users))], n/int64(len(users))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

type activeUser struct {
	name          string
	userID, token int64
}

func BenchmarkSubject(b *testing.B) {
	validateBackends(b, func(ctx context.Context, s *store.Store, orgID int64, u activeUser, _ int64) error {
		if sub, err := s.Subject(ctx, orgID, u.name); err != nil || sub.UserID != u.userID || len(sub.Tokens) != 1 {
			return fmt.Errorf("Subject(%s) = %+v, %v", u.name, sub, err)
		}
		return nil
	})
}

// BenchmarkGuess makes accepted guesses, each a step above the user's
// last: a token update and an audit event, shared commits on SQLite.
func BenchmarkGuess(b *testing.B) {
	validateBackends(b, func(ctx context.Context, s *store.Store, orgID int64, u activeUser, round int64) error {
		step := 1 + round
		ev := store.Event{OrgID: orgID, At: t0, Actor: "radius:vpn", Action: "validate", Target: u.name, Result: "replay"}
		accept := ev
		accept.Result = "accept"
		_, ok, err := s.Guess(ctx, u.userID, t0, guessLockout, func(bool) store.Verdict {
			return store.Verdict{Event: ev, Consume: &store.Consumption{TokenID: u.token, UserID: u.userID, Step: step, At: t0,
				From: store.TokenActive, Event: accept}}
		})
		if err != nil || !ok {
			return fmt.Errorf("Guess(%s, step %d) = %v, %v", u.name, step, ok, err)
		}
		return nil
	})
}
