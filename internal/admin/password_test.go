package admin_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestPasswordRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		if err := e.svc.SetPassword(e.ctx, e.org, "alice", "current one here"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			min      string // password_min_length; empty keeps the default 8
			password string
			rule     string // the rule broken; empty: accepted
		}{
			{name: "8 characters are enough by default", password: "zq8#vlpx"},
			{name: "7 characters are too few by default", password: "zq8#vlp", rule: admin.PasswordShort},
			{name: "characters are counted, not bytes", password: "ééééééé", rule: admin.PasswordShort},
			{name: "8 accented characters are enough", password: "éüéüéüéü"},
			{name: "the policy's minimum holds", min: "12", password: "zq8#vlpxmwr", rule: admin.PasswordShort},
			{name: "the policy's minimum is enough", min: "12", password: "zq8#vlpxmwrt"},
			{name: "64 characters are allowed", min: "64", password: strings.Repeat("tram ", 12) + "bike"},
			{name: "64 characters of another script are allowed", password: strings.Repeat("密码", 32)},
			{name: "over 1024 bytes is refused", password: strings.Repeat("p", 1025), rule: admin.PasswordLong},
			{name: "a common password is refused", password: "password", rule: admin.PasswordCommon},
			{name: "a common password in capitals is refused", password: "BASEBALL", rule: admin.PasswordCommon},
			{name: "a common password with digits after it is refused", password: "Football2026!", rule: admin.PasswordCommon},
			{name: "a common number is refused", password: "123456789", rule: admin.PasswordCommon},
			{name: "the username in capitals is refused", password: "ALICE_2026", rule: admin.PasswordContext},
			{name: "the username with digits is refused", password: "alice2026!", rule: admin.PasswordContext},
			{name: "the organization's name is refused", password: "Acme Corp", rule: admin.PasswordContext},
			{name: "the current password is refused", password: "current one here", rule: admin.PasswordSame},
			{name: "no composition rule: lower-case words are fine", password: "purple tram at midnight"},
		}
		// withMin sets the policy's minimum and returns the organization with it.
		withMin := func(t *testing.T, min string) store.Org {
			t.Helper()
			if _, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"password_min_length": min}); err != nil {
				t.Fatal(err)
			}
			org, err := e.svc.Org(e.ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			return org
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				min := tt.min
				if min == "" {
					min = "8"
				}
				org := withMin(t, min)
				err := e.svc.SetPassword(e.ctx, org, "alice", tt.password)
				if tt.rule == "" {
					if err != nil {
						t.Fatalf("SetPassword(%q) = %v; want it accepted", tt.password, err)
					}
					// Back to the password the "same" case expects.
					if err := e.svc.SetPassword(e.ctx, withMin(t, "8"), "alice", "current one here"); err != nil {
						t.Fatal(err)
					}
					return
				}
				pe, ok := errors.AsType[*admin.PasswordError](err)
				if !ok || pe.Rule != tt.rule || !errors.Is(err, admin.ErrInvalid) {
					t.Fatalf("SetPassword(%q) = %v; want the %q rule (admin.ErrInvalid)", tt.password, err, tt.rule)
				}
				if tt.rule == admin.PasswordShort && (strconv.Itoa(pe.Min) != min || !strings.Contains(err.Error(), "at least "+min+" characters")) {
					t.Errorf("short: %v (min %d); want the policy's %s said", err, pe.Min, min)
				}
				u, _ := e.store.UserByName(e.ctx, org.ID, "alice")
				if ok, _ := cheap.Verify(context.Background(), u.PasswordHash, "current one here"); !ok {
					t.Error("a refused password replaced the current one")
				}
			})
		}
	})
}

func TestPasswordMinLengthPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		for _, tt := range []struct {
			value string
			ok    bool
		}{{"8", true}, {"64", true}, {"7", false}, {"65", false}} {
			_, err := e.svc.SetPolicy(e.ctx, e.org, map[string]string{"password_min_length": tt.value})
			if (err == nil) != tt.ok {
				t.Errorf("password_min_length=%s: %v; want accepted %v", tt.value, err, tt.ok)
			}
		}
	})
}

func TestAddUserChecksThePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		_, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Password: "qwertyuiop"})
		if pe, ok := errors.AsType[*admin.PasswordError](err); !ok || pe.Rule != admin.PasswordCommon {
			t.Fatalf("AddUser with a common password: %v; want refused as common", err)
		}
		_, err = e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Password: "Bob-2026"})
		if pe, ok := errors.AsType[*admin.PasswordError](err); !ok || pe.Rule != admin.PasswordContext {
			t.Fatalf("AddUser with the username as password: %v; want refused as context", err)
		}
	})
}
