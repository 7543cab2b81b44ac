package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestBackupCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.active()
		codes, err := e.admin.GenerateBackupCodes(e.ctx, e.org, "alice")
		if err != nil || len(codes) != 10 {
			t.Fatalf("GenerateBackupCodes() = %v, %v", codes, err)
		}
		out := e.verify(e.request(codes[0]))
		if !out.Accepted || out.Method != "backup" || out.BackupLeft != 9 {
			t.Fatalf("first backup code: %+v, want accepted with 9 left", out)
		}
		if out := e.verify(e.request(codes[0])); out.Accepted {
			t.Fatal("a backup code worked twice")
		}
		if len(e.mail.backupLeft) != 1 || e.mail.backupLeft[0] != 9 {
			t.Fatalf("notices of backup codes used: %v, want one saying 9 are left", e.mail.backupLeft)
		}
		// Typed in capitals, with spaces for hyphens.
		if out := e.verify(e.request(strings.ToUpper(strings.ReplaceAll(codes[1], "-", " ")))); !out.Accepted {
			t.Fatalf("a backup code typed in capitals: %+v", out)
		}
		fresh, err := e.admin.GenerateBackupCodes(e.ctx, e.org, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if out := e.verify(e.request(codes[2])); out.Accepted {
			t.Fatal("a code of the voided set still works")
		}
		if out := e.verify(e.request(fresh[0])); !out.Accepted {
			t.Fatalf("a code of the new set: %+v", out)
		}
	})
}

func TestConcurrentBackupCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.active()
		codes, err := e.admin.GenerateBackupCodes(e.ctx, e.org, "alice")
		if err != nil {
			t.Fatal(err)
		}
		// The lockout allows five guesses: three at once stay within it.
		var accepted atomic.Int32
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := e.v.Verify(e.ctx, e.request(codes[0]))
				if err != nil {
					t.Error(err)
				}
				if out.Accepted {
					accepted.Add(1)
				}
			}()
		}
		wg.Wait()
		if accepted.Load() != 1 {
			t.Fatalf("one backup code accepted %d times at once, want 1", accepted.Load())
		}
	})
}

func TestServerPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		if err := e.admin.Store.SetPolicy(e.ctx, e.org.ID, e.org.PolicyRev, []byte(`{"pin_mode": "server"}`), store.Event{OrgID: e.org.ID, Action: "policy.set"}); err != nil {
			t.Fatal(err)
		}
		e.org, _ = e.store.OrgBySlug(e.ctx, "acme")
		if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", "4711", true); err != nil {
			t.Fatal(err)
		}
		if out := e.verify(e.request(e.code(tk, 0))); out.Accepted {
			t.Fatal("a code without the PIN was accepted")
		}
		if out := e.verify(e.request("1234" + e.code(tk, 0))); out.Accepted || out.Reason != auth.ErrBadPIN {
			t.Fatalf("a wrong PIN: %+v, want refused as a wrong PIN", out)
		}
		if out := e.verify(e.request("4711" + e.code(tk, 0))); !out.Accepted {
			t.Fatalf("PIN and code: %+v", out)
		}
		codes, _ := e.admin.GenerateBackupCodes(e.ctx, e.org, "alice")
		if out := e.verify(e.request(codes[0])); out.Accepted {
			t.Fatal("a backup code without the PIN was accepted")
		}
		if out := e.verify(e.request("4711" + codes[0])); !out.Accepted {
			t.Fatalf("PIN and backup code: %+v", out)
		}
		// Each wrong PIN is a guess: the lockout counts it.
		for range 5 {
			e.verify(e.request("0000" + e.code(tk, 1)))
		}
		if out := e.verify(e.request("4711" + e.code(tk, 1))); out.Reason != auth.ErrLocked {
			t.Fatalf("after five wrong PINs: %+v, want locked", out)
		}
	})
}

func TestPINRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for _, pin := range []string{"123", "12345678901234567", "12a4"} {
			if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", pin, true); err == nil {
				t.Errorf("PIN %q was accepted by the default policy", pin)
			}
		}
		pin, err := e.admin.SetPIN(e.ctx, e.org, "alice", "", false)
		if err != nil || len(pin) != 6 {
			t.Fatalf("a random PIN: %q, %v", pin, err)
		}
		u, _ := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if !u.PINMustChange {
			t.Fatal("an assigned PIN need not be changed")
		}
	})
}

func TestEmailCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		en, err := e.admin.EnrollToken(e.ctx, e.org, "alice", "email", "")
		if err != nil {
			t.Fatal(err)
		}
		// The first code verifies the address and activates the token.
		tx, err := e.v.StartEmail(e.ctx, e.request(""), true)
		if err != nil {
			t.Fatal(err)
		}
		r := e.request(e.mail.last())
		r.TransactionID = tx
		if out, err := e.v.Activate(e.ctx, r, en.Token.Serial); err != nil || !out.Accepted {
			t.Fatalf("activate with the mailed code: %+v, %v", out, err)
		}

		e.clock.Advance(30 * time.Second) // at most one code per 30 s
		tx, err = e.v.StartEmail(e.ctx, e.request(""), false)
		if err != nil {
			t.Fatal(err)
		}
		first := e.mail.last()
		if _, err := e.v.StartEmail(e.ctx, e.request(""), false); err != auth.ErrTooSoon {
			t.Fatalf("a second code at once: %v, want ErrTooSoon", err)
		}
		e.clock.Advance(30 * time.Second)
		rr := e.request("")
		rr.TransactionID = tx
		if err := e.v.ResendEmail(e.ctx, rr); err != nil {
			t.Fatal(err)
		}
		second := e.mail.last()
		r = e.request(first)
		r.TransactionID = tx
		if out := e.verify(r); out.Accepted && first != second {
			t.Fatal("the code replaced by a resend still works")
		}
		r.Code = second
		if out := e.verify(r); !out.Accepted || out.Method != "email" {
			t.Fatalf("the resent code: %+v", out)
		}
		if out := e.verify(r); out.Accepted {
			t.Fatal("an emailed code worked twice")
		}
		// A code of another attempt's challenge does not fit this one.
		e.clock.Advance(30 * time.Second)
		tx2, err := e.v.StartEmail(e.ctx, e.request(""), false)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(11 * time.Minute)
		r = e.request(e.mail.last())
		r.TransactionID = tx2
		if out := e.verify(r); out.Accepted || out.Reason != auth.ErrNoChallenge {
			t.Fatalf("an expired code: %+v, want refused", out)
		}
	})
}

func TestEmailCodesNeedAnEmailToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.active()
		if _, err := e.v.StartEmail(e.ctx, e.request(""), false); err != auth.ErrNoEmailToken {
			t.Fatalf("StartEmail without an email token: %v, want ErrNoEmailToken", err)
		}
		r := e.request("")
		r.Username = "mallory"
		if _, err := e.v.StartEmail(e.ctx, r, false); err != auth.ErrNoEmailToken {
			t.Fatalf("StartEmail for an unknown user: %v, want ErrNoEmailToken", err)
		}
	})
}

func TestNewEmailCodeDoesNotResetFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		en, _ := e.admin.EnrollToken(e.ctx, e.org, "alice", "email", "")
		tx, _ := e.v.StartEmail(e.ctx, e.request(""), true)
		r := e.request(e.mail.last())
		r.TransactionID = tx
		if out, _ := e.v.Activate(e.ctx, r, en.Token.Serial); !out.Accepted {
			t.Fatal("activation refused")
		}
		// Four more codes make five in 15 minutes; each gets a wrong
		// guess, and the last one two.
		for i := range 4 {
			e.clock.Advance(30 * time.Second)
			tx, err := e.v.StartEmail(e.ctx, e.request(""), false)
			if err != nil {
				t.Fatalf("code %d: %v", i+1, err)
			}
			r := e.request("000000")
			if e.mail.last() == "000000" {
				r.Code = "000001"
			}
			r.TransactionID = tx
			e.verify(r)
			if i == 3 {
				e.verify(r)
			}
		}
		e.clock.Advance(30 * time.Second)
		if _, err := e.v.StartEmail(e.ctx, e.request(""), false); err != auth.ErrTooSoon {
			t.Fatalf("a sixth code within 15 minutes: %v, want ErrTooSoon", err)
		}
		u, _ := e.store.UserByName(e.ctx, e.org.ID, "alice")
		if u.Failures != 5 || u.LockedUntil.IsZero() {
			t.Fatalf("after five wrong codes, each with a new challenge: failures %d, locked until %v; want 5 and locked", u.Failures, u.LockedUntil)
		}
	})
}

func TestResendEmailIsForItsOwnUserAndPendingOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Email: "bob@acme.example"}); err != nil {
			t.Fatal(err)
		}
		e.admin.EnrollToken(e.ctx, e.org, "alice", "email", "")
		tx, err := e.v.StartEmail(e.ctx, e.request(""), true)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		r := e.request("")
		r.Username, r.TransactionID = "bob", tx
		if err := e.v.ResendEmail(e.ctx, r); err != auth.ErrNoChallenge {
			t.Fatalf("bob resending alice's code: %v, want ErrNoChallenge", err)
		}
		e.clock.Advance(11 * time.Minute)
		r.Username = "alice"
		if err := e.v.ResendEmail(e.ctx, r); err != auth.ErrNoChallenge {
			t.Fatalf("resending an expired challenge: %v, want ErrNoChallenge", err)
		}
		if len(e.mail.codes) != 1 {
			t.Fatalf("%d codes mailed, want only the first", len(e.mail.codes))
		}
	})
}

func (e *env) checkVerification(tx, code string) auth.Outcome {
	e.t.Helper()
	r := e.request(code)
	r.TransactionID = tx
	out, err := e.v.CheckVerification(e.ctx, r)
	if err != nil {
		e.t.Fatalf("CheckVerification: %v", err)
	}
	return out
}

func TestVerificationCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.active()
		// alice has no email token: the code goes to her address all the same.
		tx, err := e.v.StartVerification(e.ctx, e.request(""))
		if err != nil {
			t.Fatal(err)
		}
		code := e.mail.last()
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		if out := e.checkVerification(tx, wrong); out.Accepted || out.Reason != auth.ErrBadCode {
			t.Fatalf("a wrong code: %+v, want refused as a wrong code", out)
		}
		if u, _ := e.store.UserByName(e.ctx, e.org.ID, "alice"); u.Failures != 1 {
			t.Fatalf("failures after a wrong verification code: %d, want 1", u.Failures)
		}
		r := e.request(code)
		r.TransactionID = tx
		if out := e.verify(r); out.Accepted || out.Reason != auth.ErrNoChallenge {
			t.Fatalf("the verification code used to sign in: %+v, want refused", out)
		}
		if out := e.checkVerification(tx, code); !out.Accepted {
			t.Fatalf("the mailed code: %+v, want accepted", out)
		}
		if out := e.checkVerification(tx, code); out.Accepted {
			t.Fatal("a verification code worked twice")
		}
		if out := e.checkVerification("", e.code(tk, 0)); out.Accepted || out.Reason != auth.ErrNoChallenge {
			t.Fatalf("an app code without a challenge: %+v, want refused", out)
		}

		// A login code does not verify, and a verification code expires.
		e.admin.EnrollToken(e.ctx, e.org, "alice", "email", "")
		e.clock.Advance(30 * time.Second)
		tx, err = e.v.StartEmail(e.ctx, e.request(""), true)
		if err != nil {
			t.Fatal(err)
		}
		if out := e.checkVerification(tx, e.mail.last()); out.Accepted || out.Reason != auth.ErrNoChallenge {
			t.Fatalf("an email login code as a verification: %+v, want refused", out)
		}
		e.clock.Advance(30 * time.Second)
		if tx, err = e.v.StartVerification(e.ctx, e.request("")); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(11 * time.Minute)
		if out := e.checkVerification(tx, e.mail.last()); out.Accepted || out.Reason != auth.ErrNoChallenge {
			t.Fatalf("an expired verification code: %+v, want refused", out)
		}
	})
}

func TestWrongVerificationCodesLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tx, err := e.v.StartVerification(e.ctx, e.request(""))
		if err != nil {
			t.Fatal(err)
		}
		code := e.mail.last()
		for i := range 5 {
			wrong := fmt.Sprintf("%06d", i)
			if wrong == code {
				wrong = "999999"
			}
			e.checkVerification(tx, wrong)
		}
		if out := e.checkVerification(tx, code); out.Accepted || out.Reason != auth.ErrLocked {
			t.Fatalf("the right code after five wrong ones: %+v, want refused as locked", out)
		}
	})
}

func TestVerificationCodeNeedsNoServerPIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		if err := e.admin.Store.SetPolicy(e.ctx, e.org.ID, e.org.PolicyRev, []byte(`{"pin_mode": "server"}`), store.Event{OrgID: e.org.ID, Action: "policy.set"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.SetPIN(e.ctx, e.org, "alice", "4711", false); err != nil {
			t.Fatal(err)
		}
		tx, err := e.v.StartVerification(e.ctx, e.request(""))
		if err != nil {
			t.Fatal(err)
		}
		if out := e.checkVerification(tx, e.mail.last()); !out.Accepted {
			t.Fatalf("the mailed code alone, the user signed in already: %+v, want accepted", out)
		}
	})
}

// activeEmail enrolls and activates an email token for alice, with the
// one code sent at t0.
func (e *env) activeEmail() {
	e.t.Helper()
	en, err := e.admin.EnrollToken(e.ctx, e.org, "alice", "email", "")
	if err != nil {
		e.t.Fatal(err)
	}
	tx, err := e.v.StartEmail(e.ctx, e.request(""), true)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.request(e.mail.last())
	r.TransactionID = tx
	if out, err := e.v.Activate(e.ctx, r, en.Token.Serial); err != nil || !out.Accepted {
		e.t.Fatalf("activate the email token: %+v, %v", out, err)
	}
}

// Login codes and verification codes take from one allowance: whichever
// comes second within 30 s is refused.
func TestVerificationSharesTheSendLimit(t *testing.T) {
	// Each way of sending a code; tx is the challenge sent for first.
	send := map[string]func(e *env, tx string) (string, error){
		"login code":        func(e *env, _ string) (string, error) { return e.v.StartEmail(e.ctx, e.request(""), false) },
		"verification code": func(e *env, _ string) (string, error) { return e.v.StartVerification(e.ctx, e.request("")) },
		"resent code": func(e *env, tx string) (string, error) {
			r := e.request("")
			r.TransactionID = tx
			return tx, e.v.ResendEmail(e.ctx, r)
		},
	}
	tests := []struct{ first, second string }{
		{"login code", "verification code"},
		{"verification code", "login code"},
		{"verification code", "resent code"},
		{"login code", "resent code"},
	}
	for _, tc := range tests {
		t.Run(tc.first+" then "+tc.second, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				e.activeEmail()
				e.clock.Advance(30 * time.Second)
				tx, err := send[tc.first](e, "")
				if err != nil {
					t.Fatalf("%s: %v", tc.first, err)
				}
				mailed := len(e.mail.codes)
				e.clock.Advance(29 * time.Second)
				if _, err := send[tc.second](e, tx); err != auth.ErrTooSoon {
					t.Fatalf("%s 29 s later: %v, want ErrTooSoon", tc.second, err)
				}
				e.clock.Advance(time.Second)
				if _, err := send[tc.second](e, tx); err != nil {
					t.Fatalf("%s 30 s later: %v", tc.second, err)
				}
				if got := len(e.mail.codes) - mailed; got != 1 {
					t.Fatalf("%d codes mailed after the first, want 1", got)
				}
			})
		})
	}
}

// countingSender counts the codes mailed, from any goroutine.
type countingSender struct{ codes atomic.Int32 }

func (c *countingSender) SendCode(context.Context, int64, int64, string, time.Duration) error {
	c.codes.Add(1)
	return nil
}

func (c *countingSender) BackupCodeUsed(context.Context, int64, int64, int, time.Time) error {
	return nil
}

func (c *countingSender) AccountLocked(context.Context, int64, int64, time.Time, time.Time) error {
	return nil
}

func (c *countingSender) PushFraud(context.Context, int64, int64, string, string, time.Time) error {
	return nil
}

// Parallel starts of both kinds, through two instances on one database,
// mail one code.
func TestConcurrentStartsMailOneCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.activeEmail()
		e.clock.Advance(30 * time.Second)
		keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		mail := &countingSender{}
		var vs [2]*auth.Verifier
		for i, s := range []*store.Store{e.store, b.Open(t, e.clock)} {
			vs[i] = auth.NewVerifier(auth.Config{Store: s, Keys: keys, Clock: e.clock, Hasher: cheap, Sender: mail})
		}
		var started atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := vs[i%2]
				var err error
				if i%4 < 2 {
					_, err = v.StartVerification(e.ctx, e.request(""))
				} else {
					_, err = v.StartEmail(e.ctx, e.request(""), false)
				}
				switch {
				case err == nil:
					started.Add(1)
				case err != auth.ErrTooSoon:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if started.Load() != 1 || mail.codes.Load() != 1 {
			t.Fatalf("20 parallel starts: %d succeeded and %d codes mailed, want 1 and 1", started.Load(), mail.codes.Load())
		}
	})
}
