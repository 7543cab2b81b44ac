package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// pushToken adds an assigned push token to the fixture's user with a
// pending enrollment whose code hash is code, valid for an hour.
func pushToken(t *testing.T, f fixture, serial, code string) store.Token {
	t.Helper()
	tok, err := f.s.CreateToken(context.Background(), store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: serial, Type: "push",
		State: store.TokenAssigned, Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0},
		func(tk store.Token) ([]byte, error) { return []byte("sealed"), nil },
		&store.Enrollment{CodeHash: []byte(code), Status: store.EnrollmentPending, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0},
		store.Event{OrgID: f.org.ID, At: t0, Action: "token.enroll"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func pushRequest(f fixture, id string, at time.Time) store.PushRequest {
	return store.PushRequest{ID: id, OrgID: f.org.ID, UserID: f.user.ID, TxIDHash: []byte("tx-" + id), Number: 42,
		Application: "portal", Source: "192.0.2.7", CreatedAt: at, ExpiresAt: at.Add(2 * time.Minute)}
}

func TestActivatePushToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		tok := pushToken(t, f, "PUSH0001", "code1")
		dev := store.PushDevice{TokenID: tok.ID, PublicKey: []byte("0123456789abcdef0123456789abcdef"), Alg: "ES256", Name: "phone", CreatedAt: t0}
		ev := store.Event{OrgID: f.org.ID, At: t0, Action: "push.activate", Result: "ok"}

		if _, err := f.s.PushDeviceBySerial(ctx, "PUSH0001"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("device before activation: %v, want ErrNotFound", err)
		}
		for _, tc := range []struct {
			name string
			hash string
			dev  store.PushDevice
			at   time.Time
		}{
			{"wrong code", "other", dev, t0},
			{"another token's code", "code1", store.PushDevice{TokenID: f.tok.ID}, t0},
			{"expired", "code1", dev, t0.Add(time.Hour)},
		} {
			if err := f.s.ActivatePushToken(ctx, []byte(tc.hash), tc.dev, tc.at, ev); !errors.Is(err, store.ErrNotConsumed) {
				t.Errorf("%s: %v, want ErrNotConsumed", tc.name, err)
			}
		}
		if err := f.s.ActivatePushToken(ctx, []byte("code1"), dev, t0, ev); err != nil {
			t.Fatal(err)
		}
		if err := f.s.ActivatePushToken(ctx, []byte("code1"), dev, t0, ev); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("second activation: %v, want ErrNotConsumed", err)
		}
		v, err := f.s.PushDeviceBySerial(ctx, "PUSH0001")
		if err != nil {
			t.Fatal(err)
		}
		if v.Token.State != store.TokenActive || !v.Token.ActivatedAt.Equal(t0) || string(v.Device.PublicKey) != string(dev.PublicKey) ||
			v.Device.Alg != "ES256" || v.Device.Name != "phone" || v.User.ID != f.user.ID || v.Org.ID != f.org.ID {
			t.Errorf("after activation: %+v", v)
		}
		en, err := f.s.EnrollmentByCodeHash(ctx, []byte("code1"))
		if err != nil || en.Enrollment.Status != store.EnrollmentCompleted {
			t.Errorf("enrollment after activation: %+v, %v", en.Enrollment, err)
		}
		if _, err := f.s.PushDeviceBySerial(ctx, "TOTP0001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a TOTP token's device: %v, want ErrNotFound", err)
		}
		events, err := f.s.Events(ctx, f.org.ID, 1)
		if err != nil || len(events) != 1 || events[0].Action != "push.activate" {
			t.Errorf("newest event %+v, %v", events, err)
		}
	})
}

func TestActivatePushTokenRefusesANonPushToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		tok, err := f.s.CreateToken(ctx, store.Token{OrgID: f.org.ID, UserID: f.user.ID, Serial: "TOTP0002", Type: "totp",
			State: store.TokenAssigned, Algorithm: "SHA1", Digits: 6, Period: 30, CreatedAt: t0},
			func(store.Token) ([]byte, error) { return []byte("sealed"), nil },
			&store.Enrollment{CodeHash: []byte("totp-code"), Status: store.EnrollmentPending, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0},
			store.Event{OrgID: f.org.ID, At: t0, Action: "token.enroll"})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.ActivatePushToken(ctx, []byte("totp-code"), store.PushDevice{TokenID: tok.ID, PublicKey: []byte("k")}, t0,
			store.Event{OrgID: f.org.ID, Action: "push.activate"}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("activating a TOTP token as push: %v, want ErrNotConsumed", err)
		}
	})
}

func TestConcurrentActivation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		tok := pushToken(t, f, "PUSH0001", "code1")
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		activated := hammer(t, 40, stores, func(s *store.Store) (bool, error) {
			err := s.ActivatePushToken(context.Background(), []byte("code1"),
				store.PushDevice{TokenID: tok.ID, PublicKey: []byte("k"), CreatedAt: t0}, t0, store.Event{OrgID: f.org.ID, At: t0, Action: "push.activate"})
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return err == nil, err
		})
		if activated != 1 {
			t.Fatalf("one activation code used %d times by 40 concurrent devices, want exactly 1", activated)
		}
	})
}

func TestPushRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		ev := store.Event{OrgID: f.org.ID, At: t0, Action: "push.request"}
		for i, at := range []time.Time{t0, t0.Add(time.Second), t0.Add(-5 * time.Minute)} {
			if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, fmt.Sprintf("r%d", i), at), store.PushLimit{MaxOpen: 3}, ev); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, "r0", t0), store.PushLimit{MaxOpen: 3}, ev); !errors.Is(err, store.ErrExists) {
			t.Errorf("a reused id: %v, want ErrExists", err)
		}
		got, err := f.s.PendingPushRequests(ctx, f.user.ID, t0.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		// r2 expired before now; the others oldest first.
		if len(got) != 2 || got[0].ID != "r0" || got[1].ID != "r1" || got[0].Number != 42 || got[0].Application != "portal" ||
			got[0].Source != "192.0.2.7" || !got[0].ExpiresAt.Equal(t0.Add(2*time.Minute)) || got[0].Status != store.PushPending {
			t.Fatalf("PendingPushRequests = %+v", got)
		}
		// The expired one no longer counts toward the limit.
		if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, "r3", t0.Add(2*time.Second)), store.PushLimit{MaxOpen: 3}, ev); err != nil {
			t.Errorf("a third open request: %v", err)
		}
		if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, "r4", t0.Add(2*time.Second)), store.PushLimit{MaxOpen: 3}, ev); !errors.Is(err, store.ErrTooManyPush) {
			t.Errorf("a fourth open request: %v, want ErrTooManyPush", err)
		}

		r, err := f.s.PushRequestByTxHash(ctx, f.org.ID, []byte("tx-r2"))
		if err != nil || r.ID != "r2" || r.Status != store.PushPending || r.StatusAt(t0) != store.PushExpired {
			t.Errorf("PushRequestByTxHash(tx-r2) = %+v, %v", r, err)
		}
		if _, err := f.s.PushRequestByTxHash(ctx, f.org.ID+1, []byte("tx-r2")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another organization's request: %v, want ErrNotFound", err)
		}
	})
}

func TestAnswerPushRequest(t *testing.T) {
	now := t0.Add(10 * time.Second)
	for _, tc := range []struct {
		decision string
		number   int
		want     string
	}{
		{store.PushApprove, 42, store.PushAccepted},
		{store.PushApprove, 17, store.PushWrongNumber},
		{store.PushDeny, 0, store.PushDenied},
		{store.PushReport, 0, store.PushFraud},
	} {
		t.Run(tc.decision+fmt.Sprint(tc.number), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				ctx := context.Background()
				f := setup(t, b)
				if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, "r", t0), store.PushLimit{MaxOpen: 3}, store.Event{OrgID: f.org.ID, Action: "push.request"}); err != nil {
					t.Fatal(err)
				}
				ev := store.Event{OrgID: f.org.ID, At: now, Action: "push.answer"}
				lock := store.Lockout{Threshold: 1, LockFor: 10 * time.Minute, HardLimit: 100}
				if _, err := f.s.AnswerPushRequest(ctx, "r", f.user.ID+1, tc.decision, tc.number, now, lock, ev); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("another user's answer: %v, want ErrNotFound", err)
				}
				if _, err := f.s.AnswerPushRequest(ctx, "nope", f.user.ID, tc.decision, tc.number, now, lock, ev); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("an unknown id: %v, want ErrNotFound", err)
				}
				a, err := f.s.AnswerPushRequest(ctx, "r", f.user.ID, tc.decision, tc.number, now, lock, ev)
				if err != nil || a.Request.Status != tc.want {
					t.Fatalf("AnswerPushRequest = %+v, %v; want %q", a, err, tc.want)
				}
				// A refusal counts at once, here up to the threshold of 1:
				// the sign-in that asked may never collect it.
				u, err := f.s.UserByName(ctx, f.org.ID, f.user.Username)
				if err != nil {
					t.Fatal(err)
				}
				if refused := tc.want != store.PushAccepted; (u.Failures == 1) != refused || a.LockedUntil.IsZero() == refused || (refused && !u.LockedUntil.Equal(a.LockedUntil)) {
					t.Errorf("after %s: %d failures, locked until %v (answer says %v)", tc.want, u.Failures, u.LockedUntil, a.LockedUntil)
				}
				if _, err := f.s.AnswerPushRequest(ctx, "r", f.user.ID, store.PushApprove, 42, now, lock, ev); !errors.Is(err, store.ErrNotConsumed) {
					t.Errorf("a second answer: %v, want ErrNotConsumed", err)
				}
				r, err := f.s.PushRequestByTxHash(ctx, f.org.ID, []byte("tx-r"))
				if err != nil || r.Status != tc.want || !r.AnsweredAt.Equal(now) {
					t.Errorf("after the answer: %+v, %v", r, err)
				}
				events, err := f.s.Events(ctx, f.org.ID, 1)
				if err != nil || len(events) != 1 || events[0].Action != "push.answer" || events[0].Result != tc.want {
					t.Errorf("newest event %+v, %v", events, err)
				}
			})
		})
	}
}

func TestAnswerAfterExpiryRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		r := pushRequest(f, "r", t0)
		if _, err := f.s.CreatePushRequest(ctx, r, store.PushLimit{MaxOpen: 3}, store.Event{OrgID: f.org.ID, Action: "push.request"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.AnswerPushRequest(ctx, "r", f.user.ID, store.PushApprove, 42, r.ExpiresAt, store.Lockout{Threshold: 5, LockFor: time.Minute, HardLimit: 100}, store.Event{}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("an answer at expiry: %v, want ErrNotConsumed", err)
		}
	})
}

func TestSignOutExpiresPushRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, "r", t0), store.PushLimit{MaxOpen: 3}, store.Event{OrgID: f.org.ID, Action: "push.request"}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetUserStatus(ctx, f.org.ID, f.user.ID, store.UserDisabled, store.Event{OrgID: f.org.ID, Action: "user.disable"}); err != nil {
			t.Fatal(err)
		}
		if got, err := f.s.PendingPushRequests(ctx, f.user.ID, t0); err != nil || len(got) != 0 {
			t.Errorf("pending after the user was disabled: %+v, %v", got, err)
		}
	})
}

func TestConcurrentPushRequestLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		ids := make(chan string, 60)
		for i := range 60 {
			ids <- fmt.Sprintf("r%d", i)
		}
		created := hammer(t, 60, stores, func(s *store.Store) (bool, error) {
			_, err := s.CreatePushRequest(context.Background(), pushRequest(f, <-ids, t0), store.PushLimit{MaxOpen: 3}, store.Event{OrgID: f.org.ID, At: t0, Action: "push.request"})
			if errors.Is(err, store.ErrTooManyPush) {
				return false, nil
			}
			return err == nil, err
		})
		if created != 3 {
			t.Fatalf("%d push requests created by 60 concurrent sign-ins with a limit of 3", created)
		}
		got, err := f.s.PendingPushRequests(context.Background(), f.user.ID, t0)
		if err != nil || len(got) != 3 {
			t.Fatalf("%d pending, %v; want 3", len(got), err)
		}
	})
}

func TestConcurrentAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if _, err := f.s.CreatePushRequest(ctx, pushRequest(f, "r", t0), store.PushLimit{MaxOpen: 3}, store.Event{OrgID: f.org.ID, Action: "push.request"}); err != nil {
			t.Fatal(err)
		}
		stores := [2]*store.Store{f.s, b.Open(t, clock.NewFake(t0))}
		decisions := []string{store.PushApprove, store.PushDeny, store.PushReport}
		next := make(chan string, 60)
		for i := range 60 {
			next <- decisions[i%3]
		}
		won := hammer(t, 60, stores, func(s *store.Store) (bool, error) {
			_, err := s.AnswerPushRequest(ctx, "r", f.user.ID, <-next, 42, t0.Add(time.Second), store.Lockout{Threshold: 5, LockFor: time.Minute, HardLimit: 100}, store.Event{OrgID: f.org.ID, Action: "push.answer"})
			if errors.Is(err, store.ErrNotConsumed) {
				return false, nil
			}
			return err == nil, err
		})
		if won != 1 {
			t.Fatalf("%d of 60 concurrent answers took effect, want exactly 1", won)
		}
	})
}
