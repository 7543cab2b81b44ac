package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestBackupCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		ev := store.Event{OrgID: f.org.ID, At: t0, Action: "backup.generate"}
		first := [][]byte{[]byte("a1"), []byte("a2")}
		if err := f.s.ReplaceBackupCodes(ctx, f.org.ID, f.user.ID, first, t0, ev); err != nil {
			t.Fatal(err)
		}
		left, err := f.s.RedeemBackupCode(ctx, f.user.ID, []byte("a1"), t0, store.Event{OrgID: f.org.ID, At: t0, Action: "validate"})
		if err != nil || left != 1 {
			t.Fatalf("redeem a1: %d left, %v; want 1 left", left, err)
		}
		if _, err := f.s.RedeemBackupCode(ctx, f.user.ID, []byte("a1"), t0, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("a1 again: %v, want ErrNotConsumed", err)
		}
		if err := f.s.ReplaceBackupCodes(ctx, f.org.ID, f.user.ID, [][]byte{[]byte("b1")}, t0, ev); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.RedeemBackupCode(ctx, f.user.ID, []byte("a2"), t0, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("a code of the voided set: %v, want ErrNotConsumed", err)
		}
		if n, err := f.s.BackupCodesLeft(ctx, f.user.ID); err != nil || n != 1 {
			t.Fatalf("BackupCodesLeft() = %d, %v; want 1", n, err)
		}
	})
}

func TestConcurrentBackupCodeRedemption(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if err := f.s.ReplaceBackupCodes(ctx, f.org.ID, f.user.ID, [][]byte{[]byte("only")}, t0, store.Event{OrgID: f.org.ID, Action: "backup.generate"}); err != nil {
			t.Fatal(err)
		}
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		redeemed := hammer(t, 100, stores, func(s *store.Store) (bool, error) {
			_, err := s.RedeemBackupCode(ctx, f.user.ID, []byte("only"), t0, store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Result: "accept"})
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return err == nil, err
		})
		if redeemed != 1 {
			t.Fatalf("one backup code redeemed %d times by 100 concurrent tries, want exactly 1", redeemed)
		}
	})
}

func TestChallenges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lim := store.SendLimit{Every: 30 * time.Second, Max: 5, Window: 15 * time.Minute}
		c, err := f.s.CreateChallenge(ctx, store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.tok.ID, TxIDHash: []byte("tx1"),
			Kind: "email", CodeMAC: []byte("mac1"), Status: store.ChallengePending, ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0}, lim, store.Event{OrgID: f.org.ID, Action: "challenge.email"})
		if err != nil {
			t.Fatal(err)
		}
		now := t0.Add(10 * time.Second)
		if err := f.s.ResendChallenge(ctx, c.ID, f.user.ID, []byte("mac2"), now, now.Add(10*time.Minute), lim, store.Event{}); !errors.Is(err, store.ErrRateLimited) {
			t.Fatalf("resend after 10 s: %v, want ErrRateLimited", err)
		}
		for i := range 4 {
			now = now.Add(30 * time.Second)
			if err := f.s.ResendChallenge(ctx, c.ID, f.user.ID, []byte("mac2"), now, now.Add(10*time.Minute), lim, store.Event{OrgID: f.org.ID, Action: "challenge.resend"}); err != nil {
				t.Fatalf("resend %d: %v", i+1, err)
			}
		}
		now = now.Add(30 * time.Second)
		if err := f.s.ResendChallenge(ctx, c.ID, f.user.ID, []byte("mac3"), now, now.Add(10*time.Minute), lim, store.Event{}); !errors.Is(err, store.ErrRateLimited) {
			t.Fatalf("a sixth code within 15 minutes: %v, want ErrRateLimited", err)
		}
		got, err := f.s.ChallengeByTxID(ctx, f.org.ID, []byte("tx1"))
		if err != nil || got.Sends != 5 {
			t.Fatalf("ChallengeByTxID() = %+v, %v; want 5 sends", got, err)
		}
		if err := f.s.AcceptChallenge(ctx, got, []byte("mac1"), now, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("the code replaced by a resend: %v, want ErrNotConsumed", err)
		}
		if err := f.s.AcceptChallenge(ctx, got, []byte("mac2"), now, store.Event{OrgID: f.org.ID, Action: "validate", Result: "accept"}); err != nil {
			t.Fatalf("the current code: %v", err)
		}
		if err := f.s.AcceptChallenge(ctx, got, []byte("mac2"), now, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("the code again: %v, want ErrNotConsumed", err)
		}
		if _, err := f.s.ChallengeByTxID(ctx, f.org.ID+1, []byte("tx1")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("challenge seen from another organization: %v", err)
		}
	})
}

func TestDeleteExpiredChallenges(t *testing.T) {
	// Swept a day and an hour after t0, keeping a day: rows that expired
	// and were last sent an hour after t0 or earlier go.
	now, keep := t0.Add(25*time.Hour), 24*time.Hour
	rows := []struct { // in the order they were sent
		name    string
		sent    time.Time
		expires time.Time
		deleted bool
	}{
		{"a challenge that expired a day ago is deleted", t0, t0.Add(10 * time.Minute), true},
		{"one that expired exactly the retention ago is deleted", t0.Add(50 * time.Minute), t0.Add(time.Hour), true},
		{"an expired one sent within the retention is kept for the send limits", t0.Add(2 * time.Hour), t0.Add(2*time.Hour + 10*time.Minute), false},
		{"one expired a moment ago is kept", t0.Add(24*time.Hour + 40*time.Minute), t0.Add(24*time.Hour + 50*time.Minute), false},
		{"a pending one is kept", t0.Add(24*time.Hour + 55*time.Minute), t0.Add(25*time.Hour + 5*time.Minute), false},
	}
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lim := store.SendLimit{Every: time.Second, Max: 100, Window: 15 * time.Minute}
		want := int64(0)
		for i, r := range rows {
			if _, err := f.s.CreateChallenge(ctx, store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.tok.ID, TxIDHash: []byte{byte(i)},
				Kind: "email", CodeMAC: []byte("mac"), Status: store.ChallengePending, ExpiresAt: r.expires, CreatedAt: r.sent}, lim, store.Event{}); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if r.deleted {
				want++
			}
		}
		n, err := f.s.DeleteExpiredChallenges(ctx, now, keep)
		if err != nil || n != want {
			t.Fatalf("DeleteExpiredChallenges() = %d, %v; want %d", n, err, want)
		}
		for i, r := range rows {
			_, err := f.s.ChallengeByTxID(ctx, f.org.ID, []byte{byte(i)})
			if gone := errors.Is(err, store.ErrNotFound); gone != r.deleted || (err != nil && !gone) {
				t.Errorf("%s: after the sweep ChallengeByTxID() = %v", r.name, err)
			}
		}
		if n, err := f.s.DeleteExpiredChallenges(ctx, now, keep); err != nil || n != 0 {
			t.Fatalf("a second sweep: %d, %v; want 0", n, err)
		}
	})
}

func TestPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if err := f.s.SetPIN(ctx, f.org.ID, f.user.ID, "hash", true, store.Event{OrgID: f.org.ID, Action: "user.pin"}); err != nil {
			t.Fatal(err)
		}
		u, err := f.s.UserByName(ctx, f.org.ID, "alice")
		if err != nil || u.PINHash != "hash" || !u.PINMustChange {
			t.Fatalf("after SetPIN: %+v, %v", u, err)
		}
		sub, err := f.s.Subject(ctx, f.org.ID, "alice")
		if err != nil || sub.PINHash != "hash" {
			t.Fatalf("Subject() = %+v, %v; want the PIN hash", sub, err)
		}
	})
}

func TestConcurrentSendLimits(t *testing.T) {
	lim := store.SendLimit{Every: 30 * time.Second, Max: 3, Window: 3 * time.Minute}
	tests := []struct {
		name string
		// resend sends new codes for the first challenge instead of
		// starting new challenges.
		resend bool
		// want is how many of the parallel sends win at each step of
		// lim.Every from t0: one while the window allows, then none.
		want []int
	}{
		// Each challenge holds one send; the one at t0 leaves the window at step 6.
		{"parallel starts", false, []int{1, 1, 1, 0, 0, 0, 1, 1, 1, 0}},
		// A challenge's sends count while its last one is in the window:
		// the three leave together at step 8.
		{"parallel resends of one challenge", true, []int{1, 1, 1, 0, 0, 0, 0, 0, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				ctx := context.Background()
				f := setup(t, b)
				stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
				var first atomic.Int64 // the challenge resends are for
				var n atomic.Int64     // makes each transaction id unique
				for step, want := range tc.want {
					now := t0.Add(time.Duration(step) * lim.Every)
					sent := hammer(t, 20, stores, func(s *store.Store) (bool, error) {
						var err error
						if tc.resend && step > 0 {
							err = s.ResendChallenge(ctx, first.Load(), f.user.ID, []byte("mac"), now, now.Add(time.Hour), lim,
								store.Event{OrgID: f.org.ID, At: now, Action: "challenge.resend"})
						} else {
							var c store.Challenge
							c, err = s.CreateChallenge(ctx, store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.tok.ID,
								TxIDHash: fmt.Appendf(nil, "tx%d", n.Add(1)), Kind: "email", CodeMAC: []byte("mac"), Status: store.ChallengePending,
								ExpiresAt: now.Add(time.Hour), CreatedAt: now}, lim, store.Event{OrgID: f.org.ID, At: now, Action: "challenge.email"})
							if err == nil {
								first.Store(c.ID)
							}
						}
						if errors.Is(err, store.ErrRateLimited) {
							return false, nil
						}
						return err == nil, err
					})
					if sent != want {
						t.Fatalf("step %d (%s after the first send): %d of 20 parallel sends won, want %d", step, now.Sub(t0), sent, want)
					}
				}
			})
		})
	}
}
