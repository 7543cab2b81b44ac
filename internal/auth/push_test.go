package auth_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/push"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// activePush allows push and activates a push token for alice, as the
// app would with its activation string; the token's generator makes the
// offline codes the app shows.
func (e *env) activePush() token {
	e.t.Helper()
	e.setPolicy(map[string]string{"methods": "app,email,push"})
	en, err := e.admin.EnrollToken(e.ctx, e.org, "alice", "push", "")
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := push.ParseActivation(en.Activation)
	if err != nil {
		e.t.Fatal(err)
	}
	dev := store.PushDevice{TokenID: en.Token.ID, PublicKey: make([]byte, 32), Name: "phone", CreatedAt: e.clock.Now()}
	if err := e.store.ActivatePushToken(e.ctx, secret.HashToken(strings.ToLower(a.Code)), dev, e.clock.Now(),
		store.Event{OrgID: e.org.ID, At: e.clock.Now(), Action: "push.activate"}); err != nil {
		e.t.Fatal(err)
	}
	return e.tokenOf(en)
}

// answer answers alice's push request started as p, as her device would.
func (e *env) answer(p auth.PushStart, decision string, number int) {
	e.t.Helper()
	r, err := e.store.PushRequestByTxHash(e.ctx, e.org.ID, secret.HashToken(p.TransactionID))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.v.AnswerPush(e.ctx, auth.PushAnswer{OrgID: e.org.ID, UserID: r.UserID, RequestID: r.ID, Decision: decision, Number: number,
		Event: store.Event{OrgID: e.org.ID, Action: "push.answer"}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) failures() int {
	e.t.Helper()
	u, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	return u.TotalFailures
}

func (e *env) startPush() auth.PushStart {
	e.t.Helper()
	p, err := e.v.StartPush(e.ctx, e.request(""), "VPN")
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestPushOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   func(e *env, p auth.PushStart)
		accepted bool
		reason   error
		failures int
		fraud    bool
	}{
		{"approved", func(e *env, p auth.PushStart) { e.answer(p, store.PushApprove, p.Number) }, true, nil, 0, false},
		{"wrong number", func(e *env, p auth.PushStart) { e.answer(p, store.PushApprove, 10+(p.Number-9)%90) }, false, auth.ErrPushWrongNumber, 1, false},
		{"denied", func(e *env, p auth.PushStart) { e.answer(p, store.PushDeny, 0) }, false, auth.ErrPushDenied, 1, false},
		{"fraud", func(e *env, p auth.PushStart) { e.answer(p, store.PushReport, 0) }, false, auth.ErrPushFraud, 1, true},
		{"expired", func(e *env, p auth.PushStart) { e.clock.Advance(2*time.Minute + time.Second) }, false, auth.ErrPushExpired, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				e.activePush()
				p := e.startPush()
				if p.Number < 10 || p.Number > 99 || !p.ExpiresAt.Equal(e.clock.Now().Add(2*time.Minute)) || p.TransactionID == "" {
					t.Fatalf("StartPush = %+v", p)
				}
				check := e.request("")
				check.TransactionID = p.TransactionID
				for range 2 {
					if out, err := e.v.CheckPush(e.ctx, check); err != nil || !out.Pending || out.Accepted {
						t.Fatalf("before the answer: %+v, %v; want pending", out, err)
					}
				}
				tc.answer(e, p)
				out, err := e.v.CheckPush(e.ctx, check)
				if err != nil || out.Accepted != tc.accepted || out.Pending || !errors.Is(out.Reason, tc.reason) || out.Method != "push" {
					t.Fatalf("collected: %+v, %v; want accepted %v, reason %v", out, err, tc.accepted, tc.reason)
				}
				// Polling on after the collection counts nothing again.
				for range 3 {
					if out, err := e.v.CheckPush(e.ctx, check); err != nil || out.Accepted || !errors.Is(out.Reason, auth.ErrNoChallenge) {
						t.Fatalf("collected again: %+v, %v; want ErrNoChallenge", out, err)
					}
				}
				if got := e.failures(); got != tc.failures {
					t.Errorf("failures = %d, want %d", got, tc.failures)
				}
				e.v.Wait()
				if got := len(e.mail.frauds); (got == 1) != tc.fraud || got > 1 {
					t.Errorf("fraud notices %v, want one: %v", e.mail.frauds, tc.fraud)
				}
				other := check
				other.Username = "bob"
				if out, err := e.v.CheckPush(e.ctx, other); err != nil || !errors.Is(out.Reason, auth.ErrNoChallenge) {
					t.Errorf("another user's check: %+v, %v", out, err)
				}
			})
		})
	}
}

// A "no" counts, and a fraud report is mailed, when the user gives it:
// the sign-in that asked may have been abandoned and never collect it.
func TestPushRefusalCountsWithoutTheSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.activePush()
		e.setPolicy(map[string]string{"lockout_threshold": "2"})
		e.answer(e.startPush(), store.PushDeny, 0)
		if got := e.failures(); got != 1 {
			t.Fatalf("failures after a denial nobody collected = %d, want 1", got)
		}
		e.answer(e.startPush(), store.PushReport, 0)
		e.v.Wait()
		if got := e.failures(); got != 2 {
			t.Errorf("failures after a fraud report nobody collected = %d, want 2", got)
		}
		if len(e.mail.frauds) != 1 {
			t.Errorf("fraud notices %v, want one", e.mail.frauds)
		}
		if len(e.mail.locks) != 1 {
			t.Errorf("lock notices %v, want the one of the second refusal", e.mail.locks)
		}
		if _, err := e.v.StartPush(e.ctx, e.request(""), "VPN"); !errors.Is(err, auth.ErrLocked) {
			t.Errorf("a push to a user the refusals locked: %v, want ErrLocked", err)
		}
	})
}

// An approval resets the failures as a right code does; the failures of
// denials add up to a lock, and a locked user gets no push.
func TestPushAndTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.activePush()
		e.setPolicy(map[string]string{"lockout_threshold": "2"})
		collect := func(p auth.PushStart) auth.Outcome {
			r := e.request("")
			r.TransactionID = p.TransactionID
			out, err := e.v.CheckPush(e.ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		p := e.startPush()
		e.answer(p, store.PushDeny, 0)
		collect(p)
		p = e.startPush()
		e.answer(p, store.PushApprove, p.Number)
		if out := collect(p); !out.Accepted || e.failures() != 0 {
			t.Fatalf("approval after a denial: %+v, %d failures", out, e.failures())
		}
		// Approved, but locked by wrong codes before it is collected.
		p = e.startPush()
		e.answer(p, store.PushApprove, p.Number)
		for range 2 {
			if out, err := e.v.Verify(e.ctx, e.request("000000")); err != nil || out.Accepted {
				t.Fatal(out, err)
			}
		}
		if out := collect(p); out.Accepted || !errors.Is(out.Reason, auth.ErrLocked) {
			t.Fatalf("approval collected while locked: %+v, want ErrLocked", out)
		}
		if _, err := e.v.StartPush(e.ctx, e.request(""), "VPN"); !errors.Is(err, auth.ErrLocked) || !auth.Refused(err) {
			t.Fatalf("StartPush while locked: %v, want ErrLocked", err)
		}
		e.v.Wait()
		if len(e.mail.locks) != 1 {
			t.Errorf("lock notices %v, want one", e.mail.locks)
		}
	})
}

func TestStartPushRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.active()
		for _, tc := range []struct {
			name, username string
			want           error
		}{
			{"no push token", "alice", auth.ErrNoToken},
			{"unknown user", "mallory", auth.ErrUnknownUser},
			{"not a username", "a b", auth.ErrUnknownUser},
		} {
			r := e.request("")
			r.Username = tc.username
			if _, err := e.v.StartPush(e.ctx, r, "VPN"); !errors.Is(err, tc.want) || !auth.Refused(err) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		e.activePush()
		e.setPolicy(map[string]string{"methods": "app"})
		if _, err := e.v.StartPush(e.ctx, e.request(""), "VPN"); !errors.Is(err, auth.ErrNoToken) {
			t.Errorf("push not allowed: %v, want ErrNoToken", err)
		}
	})
}

// The fatigue limits: three open at once, and push_rate per window, after
// which a typed code is asked for until the window has passed.
func TestPushWithheld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.activePush()
		e.setPolicy(map[string]string{"push_timeout": "30s", "push_rate": "5/5m"})
		for range 3 {
			e.startPush()
		}
		if _, err := e.v.StartPush(e.ctx, e.request(""), "VPN"); !errors.Is(err, auth.ErrPushWithheld) {
			t.Fatalf("a fourth open push: %v, want ErrPushWithheld", err)
		}
		e.clock.Advance(31 * time.Second) // the three expire
		e.startPush()
		e.startPush()
		if _, err := e.v.StartPush(e.ctx, e.request(""), "VPN"); !errors.Is(err, auth.ErrPushWithheld) {
			t.Fatalf("a sixth push in 5 minutes: %v, want ErrPushWithheld", err)
		}
		e.clock.Advance(5*time.Minute - 31*time.Second) // the first three leave the window
		e.startPush()
	})
}

// Many collectors of one answered push, through two instances on one
// database, collect it once: one acceptance, or one failure counted.
func TestConcurrentCheckPush(t *testing.T) {
	for _, decision := range []string{store.PushApprove, store.PushDeny} {
		t.Run(decision, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				e.activePush()
				keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				vs := [2]*auth.Verifier{e.v, auth.NewVerifier(auth.Config{Store: b.Open(t, e.clock), Keys: keys, Clock: e.clock, Hasher: cheap, Sender: e.mail})}
				p := e.startPush()
				e.answer(p, decision, p.Number)
				var accepted, refused atomic.Int32
				var wg sync.WaitGroup
				for i := range 16 {
					wg.Go(func() {
						r := e.request("")
						r.TransactionID = p.TransactionID
						out, err := vs[i%2].CheckPush(e.ctx, r)
						switch {
						case err != nil:
							t.Error(err)
						case out.Accepted:
							accepted.Add(1)
						case errors.Is(out.Reason, auth.ErrPushDenied):
							refused.Add(1)
						case !errors.Is(out.Reason, auth.ErrNoChallenge):
							t.Errorf("CheckPush: %+v", out)
						}
					})
				}
				wg.Wait()
				if accepted.Load()+refused.Load() != 1 {
					t.Fatalf("16 parallel checks: %d accepted, %d denied; want one in all", accepted.Load(), refused.Load())
				}
				if want := int(refused.Load()); e.failures() != want {
					t.Errorf("failures = %d, want %d", e.failures(), want)
				}
			})
		})
	}
}

// Parallel starts through two instances hold the limit of three open.
func TestConcurrentStartPush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.activePush()
		keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		vs := [2]*auth.Verifier{e.v, auth.NewVerifier(auth.Config{Store: b.Open(t, e.clock), Keys: keys, Clock: e.clock, Hasher: cheap})}
		var started atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				_, err := vs[i%2].StartPush(e.ctx, e.request(""), "VPN")
				switch {
				case err == nil:
					started.Add(1)
				case !errors.Is(err, auth.ErrPushWithheld):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if started.Load() != 3 {
			t.Fatalf("12 parallel starts: %d sent, want 3", started.Load())
		}
	})
}

// The Twofold Authenticator's offline codes, made from the push token's
// TOTP secret, are taken wherever a code is, under the same single-use
// and lockout rules.
func TestPushTokenOfflineCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.activePush()
		// With the password, as the REST API and RADIUS ask.
		r := e.request(e.code(tk, 0))
		r.Password, r.CheckPassword = "correct horse", true
		if out := e.verify(r); !out.Accepted || out.Method != "app" || out.Serial != tk.serial {
			t.Fatalf("offline code: %+v, want accepted as an app code of %s", out, tk.serial)
		}
		if out := e.verify(r); out.Reason != auth.ErrReplay {
			t.Fatalf("the offline code again: %+v, want refused as a replay", out)
		}
		e.clock.Advance(30 * time.Second)
		if out := e.verify(e.request(e.code(tk, 0))); !out.Accepted {
			t.Fatalf("the next step's offline code: %+v", out)
		}
		wrong := "000000"
		for wrong == e.code(tk, -1) || wrong == e.code(tk, 0) || wrong == e.code(tk, 1) {
			wrong = fmt.Sprintf("%06d", rand.IntN(1e6))
		}
		for i := range 5 {
			if out := e.verify(e.request(wrong)); out.Reason != auth.ErrBadCode {
				t.Fatalf("guess %d: %+v, want a wrong code", i+1, out)
			}
		}
		e.clock.Advance(30 * time.Second)
		if out := e.verify(e.request(e.code(tk, 0))); out.Reason != auth.ErrLocked {
			t.Fatalf("an offline code while locked: %+v, want refused as locked", out)
		}
	})
}

// Only the device's activation turns a push token on: before it, a code
// from the token's secret (which an operator may have printed) is taken
// neither for a sign-in nor as the token's first code.
func TestPushTokenCodesBeforeActivation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.setPolicy(map[string]string{"methods": "app,push"})
		tk := e.enroll("push")
		if out := e.verify(e.request(e.code(tk, 0))); out.Reason != auth.ErrNoToken {
			t.Fatalf("a code of an assigned push token: %+v, want no token", out)
		}
		if out, err := e.v.Activate(e.ctx, e.request(e.code(tk, 0)), tk.serial); err != nil || out.Reason != auth.ErrNoToken {
			t.Fatalf("activating a push token with a code: %+v, %v; want no token", out, err)
		}
	})
}
