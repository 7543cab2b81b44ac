package auth_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/otp"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// stock imports a hardware token into the organization's inventory, as
// a seed file would, and returns a generator of the codes it shows.
func (e *env) stock(serial, typ string, counter int64) *otp.Generator {
	e.t.Helper()
	key := []byte("12345678901234567890" + serial)
	sealed, err := e.admin.Keys.Seal(key, store.InventorySecretAD(e.org.ID, serial))
	if err != nil {
		e.t.Fatal(err)
	}
	inv := store.InventoryToken{OrgID: e.org.ID, Serial: serial, Type: typ, Secret: sealed, Algorithm: "SHA1", Digits: 6, Period: 30,
		LastStep: counter, Manufacturer: "Acme", Model: "K1", CreatedAt: e.clock.Now()}
	if err := e.admin.ImportTokens(e.ctx, e.org, []admin.ImportedToken{{Token: inv}}); err != nil {
		e.t.Fatal(err)
	}
	g, err := otp.NewGenerator(key, otp.SHA1, 6)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

func (e *env) claim(v *auth.Verifier, username, serial, code string) auth.Outcome {
	e.t.Helper()
	r := e.request(code)
	r.Username = username
	out, err := v.Claim(e.ctx, r, serial, admin.HardwareName)
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	return out
}

func (e *env) totpNow(g *otp.Generator) string {
	return g.Code(uint64(otp.Step(e.clock.Now(), 30*time.Second)))
}

// A claim takes the serial and a code the token shows now; everything
// else is refused, counts as a guess and leaves the token in the
// inventory. A claimed token is the user's, active, and the code that
// claimed it is used.
func TestClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		totp := e.stock("HW-T1", "totp", 0)
		hotp := e.stock("HW-H1", "hotp", 7)

		refusals := []struct {
			name, serial, code string
			want               error
		}{
			{"wrong code", "HW-T1", "000000", auth.ErrBadCode},
			{"unknown serial", "HW-NONE", e.totpNow(totp), auth.ErrNoToken},
			{"another token's code", "HW-H1", e.totpNow(totp), auth.ErrBadCode},
			{"an HOTP code already used", "HW-H1", hotp.Code(7), auth.ErrReplay},
			{"not a code", "HW-T1", "one two", auth.ErrMalformed},
		}
		for i, c := range refusals {
			out := e.claim(e.v, "alice", c.serial, c.code)
			if out.Accepted || !errors.Is(out.Reason, c.want) {
				t.Errorf("%s: %+v, want %v", c.name, out, c.want)
			}
			if want := min(i+1, 4); e.failures() != want {
				t.Errorf("%s: failures = %d, want %d", c.name, e.failures(), want)
			}
		}
		if inv, _ := e.store.Inventory(e.ctx, e.org.ID, "", 10); len(inv) != 2 {
			t.Fatalf("after refusals the inventory holds %d tokens, want 2", len(inv))
		}

		code := e.totpNow(totp)
		out := e.claim(e.v, "alice", " HW-T1 ", code)
		if !out.Accepted || out.Serial != "HW-T1" {
			t.Fatalf("claim with the right code: %+v", out)
		}
		if e.failures() != 0 {
			t.Errorf("after the claim failures = %d, want 0", e.failures())
		}
		tk, err := e.store.TokenBySerial(e.ctx, e.org.ID, "HW-T1")
		if err != nil || tk.State != store.TokenActive || tk.Name != "Acme K1" || tk.Type != "totp" {
			t.Errorf("claimed token = %+v, %v", tk, err)
		}
		if out := e.claim(e.v, "alice", "HW-T1", code); out.Accepted {
			t.Error("the token was claimed twice")
		}
		// The code that claimed it signs in nobody; the token's next does.
		if out, _ := e.v.Verify(e.ctx, e.request(code)); out.Accepted || !errors.Is(out.Reason, auth.ErrReplay) {
			t.Errorf("sign-in with the claiming code: %+v, want a replay", out)
		}
		e.clock.Advance(30 * time.Second)
		if out, _ := e.v.Verify(e.ctx, e.request(e.totpNow(totp))); !out.Accepted || out.Serial != "HW-T1" {
			t.Errorf("sign-in with the claimed token's next code: %+v", out)
		}

		// An HOTP token is claimed with a code ahead of its counter.
		if out := e.claim(e.v, "alice", "HW-H1", hotp.Code(9)); !out.Accepted {
			t.Errorf("claim of the HOTP token: %+v", out)
		}
		if tk, _ := e.store.TokenBySerial(e.ctx, e.org.ID, "HW-H1"); tk.LastStep != 9 {
			t.Errorf("HOTP token claimed at counter %d, want 9", tk.LastStep)
		}
		var claims int
		evs, _ := e.store.Events(e.ctx, e.org.ID, 50)
		for _, ev := range evs {
			if ev.Action == "token.claim" && ev.Result == "accept" {
				claims++
			}
		}
		if claims != 2 {
			t.Errorf("%d accepted claims in the audit log, want 2", claims)
		}
	})
}

// Claims are guesses: the lockout stops them, a right code too.
func TestClaimLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.setPolicy(map[string]string{"lockout_threshold": "3"})
		g := e.stock("HW-T1", "totp", 0)
		for range 3 {
			e.claim(e.v, "alice", "HW-GUESS", e.totpNow(g))
		}
		if out := e.claim(e.v, "alice", "HW-T1", e.totpNow(g)); out.Accepted || !errors.Is(out.Reason, auth.ErrLocked) {
			t.Errorf("claim while locked: %+v, want ErrLocked", out)
		}
		if _, err := e.store.InventoryToken(e.ctx, e.org.ID, "HW-T1"); err != nil {
			t.Errorf("a locked user's claim took the token: %v", err)
		}
	})
}

// Many claims of one token at once, by two users through two server
// instances, with its one right code: one of them owns it.
func TestConcurrentClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Password: "battery staple"}); err != nil {
			t.Fatal(err)
		}
		// Enough guesses that every claim is evaluated, not locked out.
		e.setPolicy(map[string]string{"lockout_threshold": "20"})
		g := e.stock("HW-T1", "totp", 0)
		keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		vs := [2]*auth.Verifier{e.v, auth.NewVerifier(auth.Config{Store: b.Open(t, e.clock), Keys: keys, Clock: e.clock, Hasher: cheap})}
		code := e.totpNow(g)
		var accepted atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				r := e.request(code)
				r.Username = []string{"alice", "bob"}[i/2%2]
				out, err := vs[i%2].Claim(e.ctx, r, "HW-T1", admin.HardwareName)
				switch {
				case err != nil:
					t.Error(err)
				case out.Accepted:
					accepted.Add(1)
				case !errors.Is(out.Reason, auth.ErrReplay) && !errors.Is(out.Reason, auth.ErrNoToken):
					t.Errorf("a losing claim: %+v, want a replay or no token", out)
				}
			})
		}
		wg.Wait()
		if accepted.Load() != 1 {
			t.Fatalf("16 parallel claims: %d accepted, want 1", accepted.Load())
		}
		tk, err := e.store.TokenBySerial(e.ctx, e.org.ID, "HW-T1")
		if err != nil || tk.State != store.TokenActive {
			t.Errorf("claimed token = %+v, %v", tk, err)
		}
	})
}
