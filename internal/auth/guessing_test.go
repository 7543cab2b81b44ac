package auth_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// setPolicy changes the organization's policy as an operator would.
func (e *env) setPolicy(changes map[string]string) {
	e.t.Helper()
	if _, err := e.admin.SetPolicy(e.ctx, e.org, changes); err != nil {
		e.t.Fatal(err)
	}
	org, err := e.admin.Org(e.ctx, e.org.Slug)
	if err != nil {
		e.t.Fatal(err)
	}
	e.org = org
}

func TestMalformedCodeIsOneAnswerForEveryUser(t *testing.T) {
	for _, pinMode := range []string{"none", "server"} {
		t.Run("pin_mode "+pinMode, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				e.setPolicy(map[string]string{"pin_mode": pinMode})
				e.active()
				for _, name := range []string{"bob", "carol"} {
					if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: name, Password: "correct horse"}); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.admin.DisableUser(e.ctx, e.org, "bob"); err != nil {
					t.Fatal(err)
				}
				for range 5 { // carol locks herself out
					r := e.request("000000")
					r.Username = "carol"
					e.verify(r)
				}
				users := []string{"alice", "bob", "carol", "nobody", "no body", "\x00"}
				for _, code := range []string{"abcdefg", "12345", "1234567890123456789012345678901234", "12-34-5x"} {
					for _, u := range users {
						r := e.request(code)
						r.Username, r.Password, r.CheckPassword = u, "correct horse", true
						if out := e.verify(r); !errors.Is(out.Reason, auth.ErrMalformed) {
							t.Errorf("code %q for %q: %+v, want malformed as for everyone", code, u, out)
						}
					}
				}
			})
		})
	}
}

func TestServerPINModeRefusesUsersWithoutPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		codes, err := e.admin.GenerateBackupCodes(e.ctx, e.org, "alice")
		if err != nil {
			t.Fatal(err)
		}
		e.setPolicy(map[string]string{"pin_mode": "server"})

		if out := e.verify(e.request(e.code(tk, 0))); !errors.Is(out.Reason, auth.ErrNoPIN) {
			t.Fatalf("bare code without a PIN set: %+v, want no_pin", out)
		}
		if got := e.lastResult(); got != "no_pin" {
			t.Fatalf("audited %q, want no_pin", got)
		}
		if out := e.verify(e.request(codes[0])); !errors.Is(out.Reason, auth.ErrNoPIN) {
			t.Fatalf("bare backup code without a PIN set: %+v, want no_pin", out)
		}
		// The portal walks such a user to choosing a PIN after both factors.
		r := e.request(e.code(tk, 0))
		r.PINSetup = true
		if out := e.verify(r); !out.Accepted {
			t.Fatalf("portal sign-in of a user who must still choose a PIN: %+v, want accepted", out)
		}
		e.clock.Advance(30 * time.Second)
		if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", "4711", true); err != nil {
			t.Fatal(err)
		}
		if out := e.verify(e.request("4711" + e.code(tk, 0))); !out.Accepted {
			t.Fatalf("PIN and code once a PIN is set: %+v, want accepted", out)
		}
	})
}

func TestCheckPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.setPolicy(map[string]string{"pin_mode": "server"})
		if out, err := e.v.CheckPIN(e.ctx, e.request("4711")); err != nil || !errors.Is(out.Reason, auth.ErrNoPIN) {
			t.Fatalf("CheckPIN without a PIN set: %+v, %v; want no_pin", out, err)
		}
		if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", "4711", true); err != nil {
			t.Fatal(err)
		}
		for i := range 8 {
			if out, err := e.v.CheckPIN(e.ctx, e.request("4711")); err != nil || !out.Accepted {
				t.Fatalf("right PIN %d: %+v, %v; want accepted, and not counted", i+1, out, err)
			}
		}
		for i := range 5 {
			if out, _ := e.v.CheckPIN(e.ctx, e.request("1234")); !errors.Is(out.Reason, auth.ErrBadPIN) {
				t.Fatalf("wrong PIN %d: %+v, want bad PIN", i+1, out)
			}
		}
		if out, _ := e.v.CheckPIN(e.ctx, e.request("4711")); !errors.Is(out.Reason, auth.ErrLocked) {
			t.Fatalf("right PIN after five wrong ones: %+v, want locked", out)
		}
	})
}

func TestGuessingIsBoundedInTotal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		evaluated := 0
		// A guesser who waits out every lock, for ten days.
		for range 1000 {
			out := e.verify(e.request("000000"))
			if errors.Is(out.Reason, auth.ErrBadCode) {
				evaluated++
			}
			e.clock.Advance(15 * time.Minute)
		}
		if evaluated != 100 {
			t.Fatalf("%d guesses evaluated in ten days, want the hard limit of 100", evaluated)
		}
		if out := e.verify(e.request(e.code(tk, 0))); !errors.Is(out.Reason, auth.ErrLocked) {
			t.Fatalf("right code past the hard limit: %+v, want locked", out)
		}
		if err := e.admin.Unlock(e.ctx, e.org, "alice"); err != nil {
			t.Fatal(err)
		}
		if out := e.verify(e.request(e.code(tk, 0))); !out.Accepted {
			t.Fatalf("right code after the helpdesk unlocked: %+v, want accepted", out)
		}
	})
}

func TestLocksGrowWithFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		for lock := 1; lock <= 3; lock++ {
			for range 5 {
				e.verify(e.request("000000"))
			}
			// Lock n lasts n times the policy's ten minutes.
			e.clock.Advance(time.Duration(lock)*10*time.Minute - time.Second)
			if out := e.verify(e.request(e.code(tk, 0))); !errors.Is(out.Reason, auth.ErrLocked) {
				t.Fatalf("right code a second before lock %d ends: %+v, want locked", lock, out)
			}
			e.clock.Advance(time.Second)
		}
		if out := e.verify(e.request(e.code(tk, 0))); !out.Accepted {
			t.Fatalf("right code once the third lock ran out: %+v, want accepted", out)
		}
		u, err := e.admin.User(e.ctx, e.org, "alice")
		if err != nil || u.TotalFailures != 0 {
			t.Fatalf("after a success: total failures %d, %v; want 0", u.TotalFailures, err)
		}
	})
}

func TestThrottleLimitsOneClientAcrossUsernames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.v = auth.NewVerifier(auth.Config{Store: e.store, Keys: e.admin.Keys, Clock: e.clock, Hasher: cheap,
			Throttle: auth.Throttle{PerMinute: 6, Burst: 3}})
		try := func(client, user string) auth.Outcome {
			r := e.request("")
			r.Username, r.Password, r.Client = user, "guess", client
			out, err := e.v.CheckPassword(e.ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		for i := range 3 {
			if out := try("192.0.2.1", fmt.Sprintf("user%d", i)); errors.Is(out.Reason, auth.ErrThrottled) {
				t.Fatalf("attempt %d within the burst was throttled", i+1)
			}
		}
		if out := try("192.0.2.1", "user9"); !errors.Is(out.Reason, auth.ErrThrottled) {
			t.Fatalf("fourth attempt at once from one address: %+v, want throttled", out)
		}
		if got := e.lastResult(); got != "throttled" {
			t.Fatalf("audited %q, want throttled", got)
		}
		if out := try("192.0.2.2", "user9"); errors.Is(out.Reason, auth.ErrThrottled) {
			t.Fatal("another address was throttled too")
		}
		// Integrators' servers speak for many users and are not throttled.
		if out := try("", "user9"); errors.Is(out.Reason, auth.ErrThrottled) {
			t.Fatal("a request without a client address was throttled")
		}
		e.clock.Advance(10 * time.Second)
		if out := try("192.0.2.1", "user9"); errors.Is(out.Reason, auth.ErrThrottled) {
			t.Fatal("the address was still throttled after its bucket refilled one attempt")
		}
	})
}

func TestUnknownUsernamesAreAuditedOnlyWhenPlausible(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for _, tt := range []struct{ typed, want string }{
			{"Mallory", "mallory"},
			{"my secret password", "(not a username)"},
			{"a/b", "(not a username)"},
			{"\xff\xfe", "(not a username)"},
		} {
			r := e.request("123456")
			r.Username = tt.typed
			e.verify(r)
			evs, err := e.store.Events(e.ctx, e.org.ID, 1)
			if err != nil || len(evs) == 0 {
				t.Fatal(evs, err)
			}
			if evs[0].Target != tt.want {
				t.Errorf("unknown user typed %q audited as %q, want %q", tt.typed, evs[0].Target, tt.want)
			}
		}
	})
}
