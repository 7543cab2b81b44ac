package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func issueTemp(t *testing.T, f fixture, mac string, uses int, expires time.Time, suspend ...int64) {
	t.Helper()
	err := f.s.IssueTempCode(context.Background(), store.TempCode{OrgID: f.org.ID, UserID: f.user.ID, CodeMAC: []byte(mac),
		Uses: uses, ExpiresAt: expires, CreatedAt: t0}, suspend,
		store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "user.temp-code", Target: "acme/alice", Result: "ok"})
	if err != nil {
		t.Fatalf("IssueTempCode: %v", err)
	}
}

func TestTempCodes(t *testing.T) {
	day := t0.Add(24 * time.Hour)
	tests := []struct {
		name   string
		uses   int
		tries  []string    // MACs tried in turn
		at     []time.Time // when each is tried
		wantOK []bool
	}{
		{"a code of one use works once", 1, []string{"m1", "m1"}, []time.Time{t0, t0}, []bool{true, false}},
		{"a code of three uses works three times", 3, []string{"m1", "m1", "m1", "m1"}, []time.Time{t0, t0, t0, t0}, []bool{true, true, true, false}},
		{"a wrong code takes no use", 2, []string{"zz", "m1", "m1"}, []time.Time{t0, t0, t0}, []bool{false, true, true}},
		{"the code works until just before it expires", 2, []string{"m1"}, []time.Time{day.Add(-time.Millisecond)}, []bool{true}},
		{"an expired code is refused", 2, []string{"m1"}, []time.Time{day}, []bool{false}},
	}
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				// Each case's code replaces the one before.
				issueTemp(t, f, "m1", tt.uses, day)
				left := tt.uses
				for i, mac := range tt.tries {
					got, err := f.s.RedeemTempCode(ctx, f.user.ID, []byte(mac), tt.at[i],
						store.Event{OrgID: f.org.ID, At: tt.at[i], Action: "validate", Result: "accept"})
					if tt.wantOK[i] {
						left--
						if err != nil || got != left {
							t.Fatalf("try %d: %d left, %v; want %d left", i+1, got, err, left)
						}
					} else if !errors.Is(err, store.ErrNotConsumed) {
						t.Fatalf("try %d: %v, want ErrNotConsumed", i+1, err)
					}
				}
			})
		}
	})
}

func TestTempCodeUseResetsFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		lock := store.Lockout{Threshold: 5, LockFor: 10 * time.Minute, HardLimit: 100}
		for range 3 {
			if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, lock); !ok || err != nil {
				t.Fatalf("reserve: %v, %v", ok, err)
			}
		}
		issueTemp(t, f, "m1", 1, t0.Add(time.Hour))
		if _, err := f.s.RedeemTempCode(ctx, f.user.ID, []byte("m1"), t0, store.Event{OrgID: f.org.ID, At: t0, Action: "validate"}); err != nil {
			t.Fatal(err)
		}
		u, err := f.s.UserByName(ctx, f.org.ID, "alice")
		if err != nil || u.Failures != 0 {
			t.Fatalf("after a temporary code: %d failures, %v; want 0", u.Failures, err)
		}
	})
}

func TestANewTempCodeReplacesTheOld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		issueTemp(t, f, "old", 3, t0.Add(time.Hour))
		issueTemp(t, f, "new", 2, t0.Add(2*time.Hour))
		if _, err := f.s.RedeemTempCode(ctx, f.user.ID, []byte("old"), t0, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("the replaced code: %v, want ErrNotConsumed", err)
		}
		c, err := f.s.LiveTempCode(ctx, f.user.ID, t0)
		if err != nil || string(c.CodeMAC) != "new" || c.UsesLeft != 2 || !c.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("LiveTempCode() = %+v, %v; want the new code with 2 uses until %s", c, err, t0.Add(2*time.Hour))
		}
		if _, err := f.s.RedeemTempCode(ctx, f.user.ID, []byte("new"), t0, store.Event{OrgID: f.org.ID, At: t0, Action: "validate"}); err != nil {
			t.Fatalf("the new code: %v", err)
		}
		if _, err := f.s.LiveTempCode(ctx, f.user.ID, t0.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("LiveTempCode() after expiry: %v, want ErrNotFound", err)
		}
	})
}

func TestIssuingATempCodeSuspends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		issueTemp(t, f, "m1", 1, t0.Add(time.Hour), f.tok.ID)
		got, err := f.s.TokenBySerial(ctx, f.org.ID, f.tok.Serial)
		if err != nil || got.State != store.TokenSuspended {
			t.Fatalf("token after issuing: %q, %v; want suspended", got.State, err)
		}
		// Suspending it again fails, and the whole issue with it.
		err = f.s.IssueTempCode(ctx, store.TempCode{OrgID: f.org.ID, UserID: f.user.ID, CodeMAC: []byte("m2"), Uses: 1,
			ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}, []int64{f.tok.ID}, store.Event{OrgID: f.org.ID, Action: "user.temp-code"})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("suspending a suspended token: %v, want ErrNotFound", err)
		}
		if c, err := f.s.LiveTempCode(ctx, f.user.ID, t0); err != nil || string(c.CodeMAC) != "m1" {
			t.Fatalf("a failed issue replaced the code: %+v, %v", c, err)
		}
		if _, err := f.s.ResetMFA(ctx, f.org.ID, f.user.ID, store.Event{OrgID: f.org.ID, Action: "user.reset-mfa"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.LiveTempCode(ctx, f.user.ID, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a reset of MFA left the temporary code: %v", err)
		}
	})
}

func TestConcurrentTempCodeUses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		issueTemp(t, f, "m1", 3, t0.Add(time.Hour))
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		used := hammer(t, 100, stores, func(s *store.Store) (bool, error) {
			_, err := s.RedeemTempCode(ctx, f.user.ID, []byte("m1"), t0, store.Event{OrgID: f.org.ID, At: t0, Action: "validate", Result: "accept"})
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return err == nil, err
		})
		if used != 3 {
			t.Fatalf("a code of 3 uses was used %d times by 100 concurrent tries, want exactly 3", used)
		}
	})
}
