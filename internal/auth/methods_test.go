package auth_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
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
