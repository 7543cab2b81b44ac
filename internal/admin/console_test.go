package admin_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func ptr(s string) *string { return &s }

func TestEditUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		alice := func(t *testing.T) store.User {
			t.Helper()
			u, err := e.svc.User(e.ctx, e.org, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}

		t.Run("the fields given change, with one event naming them", func(t *testing.T) {
			before := len(e.events(t, e.org.ID))
			u, err := e.svc.EditUser(e.ctx, e.org, "Alice", admin.UserEdit{Email: ptr("alice@acme.example"), DisplayName: ptr("  de Vries, Alice ")})
			if err != nil {
				t.Fatal(err)
			}
			if got := alice(t); got != u || u.Email != "alice@acme.example" || u.DisplayName != "de Vries, Alice" || u.Language != "" {
				t.Errorf("EditUser returned %+v, stored %+v", u, got)
			}
			e.wantEvent(t, e.org.ID, before, "user.edit", "acme/alice")
			if d := e.events(t, e.org.ID)[0].Detail; d != `email=alice@acme.example (was ""), display_name="de Vries, Alice" (was "")` {
				t.Errorf("detail %q", d)
			}
		})

		t.Run("values as they are change nothing and write nothing", func(t *testing.T) {
			before := len(e.events(t, e.org.ID))
			if _, err := e.svc.EditUser(e.ctx, e.org, "alice", admin.UserEdit{Email: ptr("alice@acme.example")}); err != nil {
				t.Fatal(err)
			}
			if n := len(e.events(t, e.org.ID)); n != before {
				t.Errorf("%d events written, want none", n-before)
			}
		})

		t.Run("refusals change nothing", func(t *testing.T) {
			want := alice(t)
			before := len(e.events(t, e.org.ID))
			for _, tt := range []struct {
				name, user string
				edit       admin.UserEdit
				msg        string
			}{
				{"nothing named", "alice", admin.UserEdit{}, "at least one field"},
				{"a bad address", "alice", admin.UserEdit{Email: ptr("not an address"), Language: ptr("nl")}, "is not an address"},
				{"a named address", "alice", admin.UserEdit{Email: ptr("Alice <alice@acme.example>")}, "is not an address"},
				{"a bad language", "alice", admin.UserEdit{Language: ptr("fr"), DisplayName: ptr("Alice")}, "language must be one of en, nl, de"},
				{"a line break in the name", "alice", admin.UserEdit{DisplayName: ptr("Alice\nBcc: x")}, "control characters"},
				{"an unknown user", "bob", admin.UserEdit{Language: ptr("nl")}, `no user "bob"`},
			} {
				_, err := e.svc.EditUser(e.ctx, e.org, tt.user, tt.edit)
				wantInvalid(t, err, tt.msg)
			}
			if got := alice(t); got != want {
				t.Errorf("alice after refusals = %+v, want %+v", got, want)
			}
			if n := len(e.events(t, e.org.ID)); n != before {
				t.Errorf("%d events written by refusals", n-before)
			}
		})

		t.Run("an empty address clears it, unless an email token needs it", func(t *testing.T) {
			en, err := e.svc.EnrollToken(e.ctx, e.org, "alice", "email", "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.EditUser(e.ctx, e.org, "alice", admin.UserEdit{Email: ptr(""), Language: ptr("de")})
			wantInvalid(t, err, "has email token "+en.Token.Serial)
			if u := alice(t); u.Email == "" || u.Language != "" {
				t.Errorf("after the refusal: %+v", u)
			}
			if err := e.svc.ChangeToken(e.ctx, e.org, "alice", en.Token.Serial, "revoke"); err != nil {
				t.Fatal(err)
			}
			u, err := e.svc.EditUser(e.ctx, e.org, "alice", admin.UserEdit{Email: ptr(""), Language: ptr("de")})
			if err != nil || u.Email != "" || u.Language != "de" {
				t.Errorf("EditUser = %+v, %v; want the address gone, language de", u, err)
			}
		})
	})
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		key, _, err := e.svc.CreateAPIKey(e.ctx, e.org, "intranet")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.CreateAPIKey(e.ctx, e.org, "vpn"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.APIKeyByHash(e.ctx, secret.HashToken(key)); err != nil {
			t.Fatalf("the new key is refused: %v", err)
		}
		e.clock.Advance(time.Hour)
		before := len(e.events(t, e.org.ID))
		if err := e.svc.RevokeAPIKey(e.ctx, e.org, " intranet "); err != nil {
			t.Fatal(err)
		}
		if evs := e.events(t, e.org.ID); len(evs) != before+1 || evs[0].Action != "apikey.revoke" || evs[0].Target != "intranet" {
			t.Errorf("events after the revocation: %+v", evs[:len(evs)-before])
		}
		// The REST API looks keys up with APIKeyByHash.
		if _, err := e.store.APIKeyByHash(e.ctx, secret.HashToken(key)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the revoked key: err = %v, want it refused", err)
		}
		ks, err := e.svc.APIKeys(e.ctx, e.org)
		if err != nil || len(ks) != 2 {
			t.Fatalf("APIKeys = %+v, %v", ks, err)
		}
		if ks[0].Name != "intranet" || !ks[0].RevokedAt.Equal(t0.Add(time.Hour)) || ks[1].Name != "vpn" || !ks[1].RevokedAt.IsZero() {
			t.Errorf("APIKeys = %+v", ks)
		}
		for _, k := range ks {
			if k.Hash != nil {
				t.Errorf("key %s listed with its hash", k.Name)
			}
		}
		wantInvalid(t, e.svc.RevokeAPIKey(e.ctx, e.org, "intranet"), "revoked already")
		wantInvalid(t, e.svc.RevokeAPIKey(e.ctx, e.org, "nope"), `no API key named "nope"`)
		other, err := e.svc.CreateOrg(e.ctx, "other", "")
		if err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, e.svc.RevokeAPIKey(e.ctx, other, "vpn"), `no API key named "vpn"`)
	})
}

func TestDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		if _, err := e.svc.EnrollToken(e.ctx, e.org, "alice", "totp", ""); err != nil {
			t.Fatal(err)
		}
		for _, ev := range []struct {
			at     time.Time
			result string
		}{{t0.Add(-25 * time.Hour), "accept"}, {t0.Add(-23 * time.Hour), "accept"}, {t0, "bad_code"}} {
			if err := e.store.Audit(e.ctx, store.Event{OrgID: e.org.ID, At: ev.at, Actor: "api:x", Action: "validate", Target: "alice", Result: ev.result}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := e.svc.Dashboard(e.ctx, e.org)
		if want := (store.OrgStats{Users: 1, PendingEnrollments: 1, SignIns: 1, Failures: 1}); err != nil || got != want {
			t.Errorf("Dashboard = %+v, %v; want %+v", got, err, want)
		}
	})
}

func TestPolicyHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		for i, ch := range []map[string]string{{"lockout_threshold": "3"}, {"lockout_threshold": "4", "login_form": "combined"}, {"lockout_threshold": "4"}} {
			e.clock.Set(t0.Add(time.Duration(i) * time.Minute))
			if _, err := e.svc.SetPolicy(e.ctx, e.org, ch); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob"}); err != nil {
			t.Fatal(err)
		}
		hs, err := e.svc.PolicyHistory(e.ctx, e.org, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hs {
			got = append(got, h.At.Sub(t0).String()+" "+h.Actor+" "+h.Detail)
		}
		want := []string{
			"1m0s test login_form=combined (was two-step), lockout_threshold=4 (was 3)",
			"0s test lockout_threshold=3 (was 5)",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PolicyHistory =\n%q\nwant\n%q", got, want)
		}
		if hs, err := e.svc.PolicyHistory(e.ctx, e.org, 1); err != nil || len(hs) != 1 {
			t.Errorf("PolicyHistory(limit 1) = %d events, %v", len(hs), err)
		}
		_, err = e.svc.PolicyHistory(e.ctx, e.org, -1)
		wantInvalid(t, err, "limit")
	})
}

func TestDefaultPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b) // acme is made before the default changes
		if p, err := e.svc.DefaultPolicy(e.ctx); err != nil || !reflect.DeepEqual(p, policy.Default()) {
			t.Fatalf("DefaultPolicy at first = %+v, %v; want the built-in defaults", p, err)
		}
		before := len(e.events(t, 0))
		p, err := e.svc.SetDefaultPolicy(e.ctx, map[string]string{"lockout_threshold": "3", "login_form": "combined"})
		if err != nil {
			t.Fatal(err)
		}
		want := policy.Default()
		want.LockoutThreshold, want.LoginForm = 3, "combined"
		if !reflect.DeepEqual(p, want) {
			t.Errorf("SetDefaultPolicy = %+v, want %+v", p, want)
		}
		e.wantEvent(t, 0, before, "policy.default.set", "default policy")
		if d := e.events(t, 0)[0].Detail; d != "login_form=combined (was two-step), lockout_threshold=3 (was 5)" {
			t.Errorf("detail %q", d)
		}

		t.Run("refused like SetPolicy, changing nothing", func(t *testing.T) {
			before := len(e.events(t, 0))
			for _, ch := range []map[string]string{{}, {"lockout_threshold": "0"}, {"nope": "1", "login_form": "combined"}} {
				_, err := e.svc.SetDefaultPolicy(e.ctx, ch)
				if !errors.Is(err, admin.ErrInvalid) {
					t.Errorf("SetDefaultPolicy(%v) err = %v, want ErrInvalid", ch, err)
				}
			}
			if p, _ := e.svc.DefaultPolicy(e.ctx); !reflect.DeepEqual(p, want) {
				t.Errorf("default after refusals = %+v", p)
			}
			if n := len(e.events(t, 0)); n != before {
				t.Errorf("%d events written by refusals", n-before)
			}
		})

		t.Run("a new organization starts with it; an older one keeps its own", func(t *testing.T) {
			neu, err := e.svc.CreateOrg(e.ctx, "newco", "")
			if err != nil {
				t.Fatal(err)
			}
			if p, err := e.svc.Policy(e.ctx, neu); err != nil || !reflect.DeepEqual(p, want) {
				t.Errorf("newco's policy = %+v, %v; want the default %+v", p, err, want)
			}
			if p, err := e.svc.Policy(e.ctx, e.org); err != nil || !reflect.DeepEqual(p, policy.Default()) {
				t.Errorf("acme's policy = %+v, %v; want the built-in one it was made with", p, err)
			}
			// Changing the default later leaves newco as it was made.
			if _, err := e.svc.SetDefaultPolicy(e.ctx, map[string]string{"lockout_threshold": "7"}); err != nil {
				t.Fatal(err)
			}
			if p, _ := e.svc.Policy(e.ctx, neu); p.LockoutThreshold != 3 {
				t.Errorf("newco's threshold after the default changed = %d, want 3", p.LockoutThreshold)
			}
		})
	})
}
