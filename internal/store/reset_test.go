package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// resetLink stores a pending reset link for the fixture's user, named by
// hash, sent at and valid for 30 minutes from t0.
func resetLink(t *testing.T, f fixture, hash string, at time.Time) {
	t.Helper()
	_, err := f.s.CreateChallenge(context.Background(), store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TxIDHash: []byte(hash),
		Kind: store.ChallengeReset, CodeMAC: []byte{}, Status: store.ChallengePending, ExpiresAt: t0.Add(30 * time.Minute), CreatedAt: at},
		store.SendLimit{Every: time.Nanosecond, Max: 100, Window: time.Hour}, store.Event{OrgID: f.org.ID, At: t0, Action: "reset.start", Result: "ok"})
	if err != nil {
		t.Fatal(err)
	}
}

func passwordOf(t *testing.T, f fixture) string {
	t.Helper()
	u, err := f.s.UserByID(context.Background(), f.org.ID, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u.PasswordHash
}

func TestResetPassword(t *testing.T) {
	ev := func(f fixture) store.Event {
		return store.Event{OrgID: f.org.ID, At: t0, Actor: "portal", Action: "user.passwd", Target: "acme/alice", Result: "ok"}
	}
	tests := []struct {
		name   string
		redeem func(t *testing.T, f fixture) error
		want   error
		hash   string // the password hash afterwards
	}{
		{"a pending link sets the password", func(t *testing.T, f fixture) error {
			return f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("link1"), "new", t0.Add(29*time.Minute), ev(f))
		}, nil, "new"},
		{"a link works once", func(t *testing.T, f fixture) error {
			if err := f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("link1"), "first", t0, ev(f)); err != nil {
				t.Fatal(err)
			}
			return f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("link1"), "second", t0, ev(f))
		}, store.ErrNotConsumed, "first"},
		{"an expired link sets nothing", func(t *testing.T, f fixture) error {
			return f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("link1"), "new", t0.Add(30*time.Minute), ev(f))
		}, store.ErrNotConsumed, ""},
		{"another user's link sets nothing", func(t *testing.T, f fixture) error {
			return f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID+1, []byte("link1"), "new", t0, ev(f))
		}, store.ErrNotConsumed, ""},
		{"an emailed code's challenge is no link", func(t *testing.T, f fixture) error {
			_, err := f.s.CreateChallenge(context.Background(), store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.tok.ID, TxIDHash: []byte("code1"),
				Kind: store.ChallengeEmail, CodeMAC: []byte("mac"), Status: store.ChallengePending, ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0.Add(time.Minute)},
				store.SendLimit{Every: time.Nanosecond, Max: 100, Window: time.Hour}, store.Event{OrgID: f.org.ID, At: t0, Action: "challenge.email", Result: "ok"})
			if err != nil {
				t.Fatal(err)
			}
			return f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("code1"), "new", t0, ev(f))
		}, store.ErrNotConsumed, ""},
		{"a password set meanwhile voids the link", func(t *testing.T, f fixture) error {
			if err := f.s.SetPassword(context.Background(), f.org.ID, f.user.ID, "by operator", ev(f)); err != nil {
				t.Fatal(err)
			}
			return f.s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("link1"), "new", t0, ev(f))
		}, store.ErrNotConsumed, "by operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				f := setup(t, b)
				resetLink(t, f, "link1", t0)
				if err := tt.redeem(t, f); !errors.Is(err, tt.want) {
					t.Fatalf("ResetPassword() = %v, want %v", err, tt.want)
				}
				if got := passwordOf(t, f); got != tt.hash {
					t.Fatalf("password hash %q, want %q", got, tt.hash)
				}
			})
		})
	}
}

func TestResetPasswordEndsSessionsAndKeepsTheLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		resetLink(t, f, "link1", t0)
		resetLink(t, f, "link2", t0.Add(time.Second))
		lock := store.Lockout{Threshold: 1, LockFor: time.Hour, HardLimit: 1}
		if _, _, err := f.s.ReserveAttempt(ctx, f.user.ID, t0, lock); err != nil {
			t.Fatal(err)
		}
		ses := store.Session{IDHash: []byte("ses1"), OrgID: f.org.ID, UserID: f.user.ID, Stage: "full", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := f.s.CreateSession(ctx, ses, store.Event{}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.ResetPassword(ctx, f.org.ID, f.user.ID, []byte("link1"), "new", t0, store.Event{OrgID: f.org.ID, At: t0, Action: "user.passwd", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.SessionByHash(ctx, []byte("ses1"), t0, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the session outlived the reset: %v", err)
		}
		if err := f.s.ResetPassword(ctx, f.org.ID, f.user.ID, []byte("link2"), "again", t0, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("a second link outlived the reset: %v", err)
		}
		if _, ok, err := f.s.ReserveAttempt(ctx, f.user.ID, t0.Add(2*time.Hour), lock); err != nil || ok {
			t.Fatalf("after the reset the hard-locked user may guess again (%v, %v): a reset must unlock nobody", ok, err)
		}
	})
}

func TestConcurrentResetPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		resetLink(t, f, "link1", t0)
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		redeemed := hammer(t, 2, stores, func(s *store.Store) (bool, error) {
			err := s.ResetPassword(context.Background(), f.org.ID, f.user.ID, []byte("link1"), "new", t0,
				store.Event{OrgID: f.org.ID, At: t0, Action: "user.passwd", Result: "ok"})
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return err == nil, err
		})
		if redeemed != 1 {
			t.Fatalf("two parallel redemptions of one link: %d set a password, want exactly 1", redeemed)
		}
	})
}

func TestUsersByEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		for _, u := range []store.User{
			{Username: "bob", Email: "Shared@Example.org"},
			{Username: "carol", Email: "shared@example.org"},
			{Username: "dave"},
		} {
			u.OrgID, u.Role, u.Status, u.CreatedAt = f.org.ID, store.RoleUser, store.UserActive, t0
			if _, err := f.s.CreateUser(ctx, u, store.Event{OrgID: f.org.ID, At: t0, Action: "user.add", Result: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			email string
			max   int
			want  []string
		}{
			{"shared@example.org", 10, []string{"bob", "carol"}},
			{"SHARED@example.ORG", 1, []string{"bob"}},
			{"", 10, nil},
			{"nobody@example.org", 10, nil},
		}
		for _, tt := range tests {
			us, err := f.s.UsersByEmail(ctx, f.org.ID, tt.email, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range us {
				got = append(got, u.Username)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("UsersByEmail(%q, %d) = %v, want %v", tt.email, tt.max, got, tt.want)
			}
		}
		if us, err := f.s.UsersByEmail(ctx, f.org.ID+1, "shared@example.org", 10); err != nil || len(us) != 0 {
			t.Fatalf("users seen from another organization: %v, %v", us, err)
		}
	})
}
