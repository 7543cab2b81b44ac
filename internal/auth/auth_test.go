package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 10, 0, time.UTC)

var cheap = &secret.Hasher{Params: secret.Params{Time: 1, Memory: 64, Threads: 1}}

// env is one organization with one user, alice, on a real store.
type env struct {
	t     testing.TB
	ctx   context.Context
	clock *clock.Fake
	store *store.Store
	admin *admin.Service
	v     *auth.Verifier
	org   store.Org
	mail  *recorder
}

// recorder keeps the codes the core mails.
type recorder struct {
	codes      []string
	backupLeft []int // the notices of backup codes used
	// locks are the ends of the locks mailed about, from the core's
	// background sender: read them after Verifier.Wait.
	mu    sync.Mutex
	locks []time.Time
	// frauds are the applications of the pushes reported as fraud.
	frauds []string
}

func (r *recorder) SendCode(_ context.Context, _, _ int64, code string, _ time.Duration) error {
	r.codes = append(r.codes, code)
	return nil
}

func (r *recorder) last() string { return r.codes[len(r.codes)-1] }

func (r *recorder) BackupCodeUsed(_ context.Context, _, _ int64, left int, _ time.Time) error {
	r.backupLeft = append(r.backupLeft, left)
	return nil
}

func (r *recorder) AccountLocked(_ context.Context, _, _ int64, _, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.locks = append(r.locks, until)
	return nil
}

func (r *recorder) PushFraud(_ context.Context, _, _ int64, application, _ string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frauds = append(r.frauds, application)
	return nil
}

func newEnv(t testing.TB, b storetest.Backend) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	s := b.Open(t, clk)
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), clock: clk, store: s}
	e.admin = &admin.Service{Store: s, Keys: keys, Hasher: cheap, Clock: clk, PublicURL: "https://mfa.example", Actor: "test"}
	e.mail = &recorder{}
	e.v = auth.NewVerifier(auth.Config{Store: s, Keys: keys, Clock: clk, Hasher: cheap, Sender: e.mail})
	if e.org, err = e.admin.CreateOrg(e.ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "alice", Password: "correct horse", Email: "alice@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// token is an enrolled token and a generator for its codes.
type token struct {
	serial string
	gen    *otp.Generator
	period time.Duration
}

func (e *env) enroll(typ string) token {
	e.t.Helper()
	en, err := e.admin.EnrollToken(e.ctx, e.org, "alice", typ, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return e.tokenOf(en)
}

// tokenOf is the token en assigned, with a generator of the codes its
// app shows.
func (e *env) tokenOf(en admin.Enrolled) token {
	e.t.Helper()
	k, err := otp.ParseURI(en.URI)
	if err != nil {
		e.t.Fatal(err)
	}
	g, err := otp.NewGenerator(k.Secret, k.Algorithm, k.Digits)
	if err != nil {
		e.t.Fatal(err)
	}
	return token{serial: en.Token.Serial, gen: g, period: k.Period}
}

// code returns the TOTP code offset steps from now.
func (e *env) code(tk token, offset int64) string {
	return tk.gen.Code(uint64(otp.Step(e.clock.Now(), tk.period) + offset))
}

func (e *env) request(code string) auth.Request {
	return auth.Request{OrgID: e.org.ID, Username: "alice", Code: code, Actor: "test"}
}

// active enrolls and activates a TOTP token, then moves two steps on, so
// that the step the activation used is outside the window.
func (e *env) active() token {
	e.t.Helper()
	tk := e.enroll("totp")
	out, err := e.v.Activate(e.ctx, e.request(e.code(tk, 0)), tk.serial)
	if err != nil || !out.Accepted {
		e.t.Fatalf("activate: %+v, %v", out, err)
	}
	e.clock.Advance(60 * time.Second)
	return tk
}

func (e *env) verify(r auth.Request) auth.Outcome {
	e.t.Helper()
	out, err := e.v.Verify(e.ctx, r)
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return out
}

func (e *env) lastResult() string {
	e.t.Helper()
	evs, err := e.store.Events(e.ctx, e.org.ID, 1)
	if err != nil || len(evs) == 0 {
		e.t.Fatalf("events: %v, %v", evs, err)
	}
	return evs[0].Result
}

func TestVerifyTOTP(t *testing.T) {
	tests := []struct {
		name   string
		code   func(e *env, tk token) string
		want   error // nil means accepted
		result string
	}{
		{"the current code is accepted", func(e *env, tk token) string { return e.code(tk, 0) }, nil, "accept"},
		{"the previous step's code is accepted", func(e *env, tk token) string { return e.code(tk, -1) }, nil, "accept"},
		{"the next step's code is accepted", func(e *env, tk token) string { return e.code(tk, 1) }, nil, "accept"},
		{"a code two steps old is refused", func(e *env, tk token) string { return e.code(tk, -2) }, auth.ErrBadCode, "bad_code"},
		{"a code two steps ahead is refused", func(e *env, tk token) string { return e.code(tk, 2) }, auth.ErrBadCode, "bad_code"},
		{"a code typed with spaces is accepted", func(e *env, tk token) string { c := e.code(tk, 0); return c[:3] + " " + c[3:] }, nil, "accept"},
		{"a code with a letter is malformed", func(e *env, tk token) string { return "12a456" }, auth.ErrMalformed, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				tk := e.active()
				out := e.verify(e.request(tt.code(e, tk)))
				if out.Accepted != (tt.want == nil) || !errors.Is(out.Reason, tt.want) {
					t.Fatalf("Verify() = %+v, want accepted=%v reason=%v", out, tt.want == nil, tt.want)
				}
				if got := e.lastResult(); got != tt.result {
					t.Fatalf("audit result = %q, want %q", got, tt.result)
				}
			})
		})
	}
}

func TestSingleUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		code := e.code(tk, 0)
		if out := e.verify(e.request(code)); !out.Accepted {
			t.Fatalf("first use refused: %+v", out)
		}
		if out := e.verify(e.request(code)); out.Accepted || out.Reason != auth.ErrReplay {
			t.Fatalf("replayed code in the same step: %+v, want refused as replay", out)
		}
		if out := e.verify(e.request(e.code(tk, -1))); out.Accepted || out.Reason != auth.ErrReplay {
			t.Fatalf("code of an earlier step after a later one was accepted: %+v, want refused as replay", out)
		}
		e.clock.Advance(30 * time.Second)
		if out := e.verify(e.request(e.code(tk, 0))); !out.Accepted {
			t.Fatalf("the next step's code was refused: %+v", out)
		}
	})
}

func TestDriftIsRemembered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		// The phone runs one step ahead: its code is at the window's edge.
		if out := e.verify(e.request(e.code(tk, 1))); !out.Accepted {
			t.Fatalf("code one step ahead refused: %+v", out)
		}
		tokens, err := e.store.Tokens(e.ctx, e.org.ID, 1)
		if err != nil || tokens[0].Drift != 1 {
			t.Fatalf("drift = %+v, %v; want 1", tokens, err)
		}
		// With the drift remembered, a code two steps ahead is within the window.
		e.clock.Advance(60 * time.Second)
		if out := e.verify(e.request(e.code(tk, 2))); !out.Accepted {
			t.Fatalf("code two steps ahead after drift 1 refused: %+v", out)
		}
	})
}

func TestLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		wrong := "000000"
		if wrong == e.code(tk, 0) {
			wrong = "000001"
		}
		for i := range 5 {
			if out := e.verify(e.request(wrong)); out.Reason != auth.ErrBadCode {
				t.Fatalf("guess %d: %+v, want bad code", i+1, out)
			}
		}
		out := e.verify(e.request(e.code(tk, 0)))
		if out.Accepted || out.Reason != auth.ErrLocked {
			t.Fatalf("a correct code while locked: %+v, want refused as locked", out)
		}
		e.clock.Advance(10 * time.Minute)
		if out := e.verify(e.request(e.code(tk, 0))); !out.Accepted {
			t.Fatalf("a correct code after the lock ran out was refused: %+v", out)
		}
		u, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if err != nil || u.Failures != 0 {
			t.Fatalf("after success: failures = %d, %v; want reset to 0", u.Failures, err)
		}
	})
}

func TestMalformedCodeChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.active()
		for _, code := range []string{"", "12345", "123456789", "１２３４５６", "12345x"} {
			if out := e.verify(e.request(code)); out.Reason != auth.ErrMalformed {
				t.Errorf("code %q: %+v, want malformed", code, out)
			}
		}
		u, err := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if err != nil || u.Failures != 0 {
			t.Fatalf("failures = %d, %v; want 0 after malformed codes", u.Failures, err)
		}
	})
}

func TestOneAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob"}); err != nil {
			t.Fatal(err)
		}
		with := func(r auth.Request, f func(*auth.Request)) auth.Request { f(&r); return r }
		good := e.request(e.code(tk, 0))
		tests := []struct {
			name   string
			req    auth.Request
			reason error
		}{
			{"an unknown user", with(good, func(r *auth.Request) { r.Username = "mallory" }), auth.ErrUnknownUser},
			{"a user without tokens", with(good, func(r *auth.Request) { r.Username = "bob" }), auth.ErrNoToken},
			{"a wrong password", with(good, func(r *auth.Request) { r.CheckPassword, r.Password = true, "wrong" }), auth.ErrBadPassword},
			{"a user without a password", with(good, func(r *auth.Request) { r.Username, r.CheckPassword, r.Password = "bob", true, "x" }), auth.ErrBadPassword},
			{"a username with a NUL byte", with(good, func(r *auth.Request) { r.Username = "alice\x00" }), auth.ErrUnknownUser},
			{"a username that is not UTF-8", with(good, func(r *auth.Request) { r.Username = "al\xffice" }), auth.ErrUnknownUser},
			{"an unknown user with a password", with(good, func(r *auth.Request) { r.Username, r.CheckPassword, r.Password = "mallory", true, "x" }), auth.ErrUnknownUser},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := e.verify(tt.req)
				if out != (auth.Outcome{Reason: tt.reason}) {
					t.Fatalf("Verify() = %+v, want only the reason %v", out, tt.reason)
				}
			})
		}
		ok := with(good, func(r *auth.Request) { r.CheckPassword, r.Password, r.Username = true, "correct horse", " ALICE " })
		if out := e.verify(ok); !out.Accepted || out.Serial != tk.serial {
			t.Fatalf("right password and code for \" ALICE \": %+v, want accepted by %s", out, tk.serial)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		r := e.request("")
		r.Password = "correct horse"
		if out, err := e.v.CheckPassword(e.ctx, r); err != nil || !out.Accepted {
			t.Fatalf("right password: %+v, %v", out, err)
		}
		r.Password = "wrong"
		for i := range 4 {
			if out, _ := e.v.CheckPassword(e.ctx, r); out.Reason != auth.ErrBadPassword {
				t.Fatalf("wrong password %d: %+v, want bad password", i+1, out)
			}
		}
		// A right password is no failure, and resets nothing either.
		r.Password = "correct horse"
		for i := range 10 {
			if out, err := e.v.CheckPassword(e.ctx, r); err != nil || !out.Accepted {
				t.Fatalf("right password %d after four wrong ones: %+v, %v; want accepted", i+1, out, err)
			}
		}
		r.Password = "wrong"
		if out, _ := e.v.CheckPassword(e.ctx, r); out.Reason != auth.ErrBadPassword {
			t.Fatalf("fifth wrong password: %+v, want bad password", out)
		}
		r.Password = "correct horse"
		if out, _ := e.v.CheckPassword(e.ctx, r); out.Reason != auth.ErrLocked {
			t.Fatalf("right password after five wrong ones: %+v, want locked", out)
		}
	})
}

func TestSuspendedTokenIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		if err := e.admin.ChangeToken(e.ctx, e.org, "alice", tk.serial, "suspend"); err != nil {
			t.Fatal(err)
		}
		if out := e.verify(e.request(e.code(tk, 0))); out.Reason != auth.ErrNoToken {
			t.Fatalf("suspended token: %+v, want no usable token", out)
		}
		if err := e.admin.ChangeToken(e.ctx, e.org, "alice", tk.serial, "resume"); err != nil {
			t.Fatal(err)
		}
		if out := e.verify(e.request(e.code(tk, 0))); !out.Accepted {
			t.Fatalf("resumed token: %+v, want accepted", out)
		}
	})
}

func TestActivation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.enroll("totp")
		if out := e.verify(e.request(e.code(tk, 0))); out.Accepted {
			t.Fatal("an assigned token accepted a login before activation")
		}
		out, err := e.v.Activate(e.ctx, e.request(e.code(tk, 0)), tk.serial)
		if err != nil || !out.Accepted {
			t.Fatalf("Activate() = %+v, %v", out, err)
		}
		got, err := e.store.TokenBySerial(e.ctx, e.org.ID, tk.serial)
		if err != nil || got.State != store.TokenActive || !got.ActivatedAt.Equal(t0) {
			t.Fatalf("after activation: %+v, %v; want active since %v", got, err, t0)
		}
		if out, _ := e.v.Activate(e.ctx, e.request(e.code(tk, 1)), tk.serial); out.Accepted {
			t.Fatal("an active token was activated again")
		}
	})
}

func TestHOTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.enroll("hotp")
		if out, err := e.v.Activate(e.ctx, e.request(tk.gen.Code(0)), tk.serial); err != nil || !out.Accepted {
			t.Fatalf("activate with counter 0: %+v, %v", out, err)
		}
		if out := e.verify(e.request(tk.gen.Code(0))); out.Reason != auth.ErrReplay {
			t.Fatalf("counter 0 again: %+v, want replay", out)
		}
		if out := e.verify(e.request(tk.gen.Code(5))); !out.Accepted {
			t.Fatalf("counter 5 within the look-ahead: %+v", out)
		}
		if out := e.verify(e.request(tk.gen.Code(3))); out.Reason != auth.ErrReplay {
			t.Fatalf("counter 3 after 5: %+v, want replay", out)
		}
		if out := e.verify(e.request(tk.gen.Code(5 + 11))); out.Accepted {
			t.Fatalf("counter 16, beyond the look-ahead of 10, was accepted")
		}
	})
}

func TestResync(t *testing.T) {
	t.Run("a drifted totp token comes back into step", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, b storetest.Backend) {
			e := newEnv(t, b)
			tk := e.active()
			// The phone's clock is 20 steps (10 minutes) ahead.
			if out := e.verify(e.request(e.code(tk, 20))); out.Accepted {
				t.Fatal("a code 20 steps ahead was accepted without resync")
			}
			out, err := e.v.Resync(e.ctx, e.request(e.code(tk, 20)), tk.serial, e.code(tk, 21))
			if err != nil || !out.Accepted {
				t.Fatalf("Resync() = %+v, %v", out, err)
			}
			e.clock.Advance(30 * time.Second)
			if out := e.verify(e.request(e.code(tk, 20))); out.Reason != auth.ErrReplay {
				t.Fatalf("the step resync consumed: %+v, want refused as replay", out)
			}
			e.clock.Advance(30 * time.Second)
			if out := e.verify(e.request(e.code(tk, 20))); !out.Accepted {
				t.Fatalf("after resync the drifted phone's code was refused: %+v", out)
			}
		})
	})
	t.Run("two codes that are not consecutive are refused", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, b storetest.Backend) {
			e := newEnv(t, b)
			tk := e.active()
			if out, _ := e.v.Resync(e.ctx, e.request(e.code(tk, 20)), tk.serial, e.code(tk, 22)); out.Accepted {
				t.Fatal("resync accepted codes two steps apart")
			}
		})
	})
	t.Run("an hotp token whose counter ran ahead comes back into step", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, b storetest.Backend) {
			e := newEnv(t, b)
			tk := e.enroll("hotp")
			if out, _ := e.v.Activate(e.ctx, e.request(tk.gen.Code(0)), tk.serial); !out.Accepted {
				t.Fatal("activation refused")
			}
			if out, err := e.v.Resync(e.ctx, e.request(tk.gen.Code(30)), tk.serial, tk.gen.Code(31)); err != nil || !out.Accepted {
				t.Fatalf("Resync() = %+v, %v", out, err)
			}
			if out := e.verify(e.request(tk.gen.Code(32))); !out.Accepted {
				t.Fatalf("counter 32 after resync to 31 refused: %+v", out)
			}
		})
	})
}

func TestSecretSealedForAnotherRowIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		// A different keyring cannot open the secret: the check fails closed.
		other, err := secret.NewKeyring([][]byte{append(make([]byte, 31), 1)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		v := auth.NewVerifier(auth.Config{Store: e.store, Keys: other, Clock: e.clock, Hasher: cheap})
		out, err := v.Verify(e.ctx, e.request(e.code(tk, 0)))
		if err != nil || out.Accepted || out.Reason != auth.ErrUnsealable {
			t.Fatalf("Verify with the wrong key = %+v, %v; want refused as unsealable", out, err)
		}
	})
}

func TestDatabaseDownFailsClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		e.store.Close()
		out, err := e.v.Verify(e.ctx, e.request(e.code(tk, 0)))
		if err == nil || out.Accepted {
			t.Fatalf("Verify on a closed database = %+v, %v; want an error and no accept", out, err)
		}
	})
}

func TestCanonicalUsername(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", " alice ": "alice", "ＡＬＩＣＥ": "alice", "Ǆ": "dž"} {
		if got := auth.CanonicalUsername(in); got != want {
			t.Errorf("CanonicalUsername(%q) = %q, want %q", in, got, want)
		}
	}
}
