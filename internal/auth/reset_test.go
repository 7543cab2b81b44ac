package auth_test

import (
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/auth"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestStartReset(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		typed string
		links int
	}{
		{"a username gets a link", func(*env) {}, "Alice ", 1},
		{"an address gets a link", func(*env) {}, "ALICE@acme.example", 1},
		{"an address shared by two gets one link each", func(e *env) {
			if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "alice2", Email: "alice@acme.example"}); err != nil {
				e.t.Fatal(err)
			}
		}, "alice@acme.example", 2},
		{"an unknown name gets none", func(*env) {}, "mallory", 0},
		{"an unknown address gets none", func(*env) {}, "mallory@acme.example", 0},
		{"a disabled user gets none", func(e *env) {
			if err := e.admin.DisableUser(e.ctx, e.org, "alice"); err != nil {
				e.t.Fatal(err)
			}
		}, "alice", 0},
		{"a user without an address gets none", func(e *env) {
			if _, err := e.admin.AddUser(e.ctx, e.org, admin.NewUser{Username: "bob", Password: "correct horse"}); err != nil {
				e.t.Fatal(err)
			}
		}, "bob", 0},
		{"a user just sent a code gets none", func(e *env) {
			if _, err := e.admin.EnrollToken(e.ctx, e.org, "alice", "email", ""); err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.v.StartEmail(e.ctx, e.request(""), true); err != nil {
				e.t.Fatal(err)
			}
		}, "alice", 0},
		{"none where the policy offers no reset", func(e *env) {
			if _, err := e.admin.SetPolicy(e.ctx, e.org, map[string]string{"password_reset": "false"}); err != nil {
				e.t.Fatal(err)
			}
		}, "alice", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, b storetest.Backend) {
				e := newEnv(t, b)
				tt.setup(e)
				links, err := e.v.StartReset(e.ctx, auth.Request{OrgID: e.org.ID, Username: tt.typed, Actor: "portal", Client: "192.0.2.1"})
				if err != nil {
					t.Fatal(err)
				}
				if len(links) != tt.links {
					t.Fatalf("StartReset(%q) made %d links, want %d", tt.typed, len(links), tt.links)
				}
				for _, l := range links {
					c, err := e.store.ChallengeByTxID(e.ctx, e.org.ID, secret.HashToken(l.Token))
					if err != nil || c.Kind != store.ChallengeReset || c.UserID != l.UserID || !c.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
						t.Fatalf("link stored as %+v, %v; want a reset challenge of the user, valid 30 minutes", c, err)
					}
				}
			})
		})
	}
}

func TestStartResetTakesFromTheSendAllowance(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ask := func() int {
		links, err := e.v.StartReset(e.ctx, auth.Request{OrgID: e.org.ID, Username: "alice", Actor: "portal", Client: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return len(links)
	}
	if n := ask(); n != 1 {
		t.Fatalf("first ask: %d links, want 1", n)
	}
	e.clock.Advance(10 * time.Second)
	if n := ask(); n != 0 {
		t.Fatalf("asked again after 10 s: %d links, want none (one mail per 30 s)", n)
	}
	e.clock.Advance(30 * time.Second)
	if n := ask(); n != 1 {
		t.Fatalf("asked again after 40 s: %d links, want 1", n)
	}
}
