package auth_test

import (
	"errors"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestWhoseFindsTheTokenShowingACode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		alice := e.active()
		if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		code := e.code(alice, 0)

		found, err := e.v.Whose(e.ctx, e.org.ID, code, "helpdesk")
		if err != nil || len(found) != 1 || found[0].Username != "alice" || found[0].Serial != alice.serial {
			t.Fatalf("Whose(alice's code) = %+v, %v; want alice's %s", found, err, alice.serial)
		}
		if got := e.lastResult(); got != "ok" {
			t.Fatalf("the lookup was audited %q, want ok", got)
		}
		// Looking counts nothing and consumes nothing: alice signs in with the code.
		if out := e.verify(e.request(code)); !out.Accepted {
			t.Fatalf("alice's code after the lookup: %+v, want accepted", out)
		}
		// A code already used is still hers.
		if found, err := e.v.Whose(e.ctx, e.org.ID, code, "helpdesk"); err != nil || len(found) != 1 {
			t.Fatalf("Whose(a used code) = %+v, %v; want alice's token", found, err)
		}
		other := "000000"
		if code == other {
			other = "111111"
		}
		if found, err := e.v.Whose(e.ctx, e.org.ID, other, "helpdesk"); err != nil || len(found) != 0 {
			t.Fatalf("Whose(a code no one shows) = %+v, %v; want none", found, err)
		}
		if _, err := e.v.Whose(e.ctx, e.org.ID, "12ab", "helpdesk"); !errors.Is(err, auth.ErrMalformed) {
			t.Fatalf("Whose(12ab) error %v, want ErrMalformed", err)
		}
	})
}

// A push token's app shows codes too, once it is activated: the helpdesk
// can find it by one.
func TestWhoseFindsAPushTokenByItsOfflineCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		tk := e.activePush()
		found, err := e.v.Whose(e.ctx, e.org.ID, e.code(tk, 0), "helpdesk")
		if err != nil || len(found) != 1 || found[0].Serial != tk.serial {
			t.Fatalf("Whose(the push app's code) = %+v, %v; want alice's %s", found, err, tk.serial)
		}
	})
}
