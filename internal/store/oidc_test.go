package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestOIDCClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		ev := store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "oidc.client.add", Target: "wiki", Result: "ok"}
		c := store.OIDCClient{OrgID: f.org.ID, ClientID: "c1", Name: "wiki", SecretHash: []byte("hash"), FirstParty: true,
			RedirectURIs: []string{"https://wiki.example/cb", "https://wiki.example/cb2"}, LogoutURIs: []string{"https://wiki.example/"},
			Scopes: []string{"openid", "email"}, CreatedAt: t0}
		if _, err := f.s.CreateOIDCClient(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.CreateOIDCClient(ctx, store.OIDCClient{OrgID: f.org.ID, ClientID: "c2", Name: "wiki", CreatedAt: t0}, ev); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second client named wiki: %v, want ErrExists", err)
		}
		if _, err := f.s.CreateOIDCClient(ctx, store.OIDCClient{OrgID: f.org.ID, ClientID: "c3", Name: "spa", Public: true,
			RedirectURIs: []string{"https://spa.example/"}, Scopes: []string{"openid"}, CreatedAt: t0}, ev); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.OIDCClient(ctx, f.org.ID, "c1")
		if err != nil || got.Name != "wiki" || !got.FirstParty || got.Public || string(got.SecretHash) != "hash" ||
			!slices.Equal(got.RedirectURIs, c.RedirectURIs) || !slices.Equal(got.LogoutURIs, c.LogoutURIs) || !slices.Equal(got.Scopes, c.Scopes) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("OIDCClient(c1) = %+v, %v; want the client as created", got, err)
		}
		if _, err := f.s.OIDCClient(ctx, f.org.ID+1000, "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's client: %v, want ErrNotFound", err)
		}
		all, err := f.s.OIDCClients(ctx, f.org.ID)
		if err != nil || len(all) != 2 || all[1].ClientID != "c3" || !all[1].Public || len(all[1].SecretHash) != 0 || all[1].LogoutURIs != nil {
			t.Fatalf("OIDCClients = %+v, %v; want c1 and the public c3", all, err)
		}
		if err := f.s.DeleteOIDCClient(ctx, f.org.ID, "c3", t0, ev); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteOIDCClient(ctx, f.org.ID, "c3", t0, ev); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting it again: %v, want ErrNotFound", err)
		}
	})
}

// oidcGranted makes a completed request with a used code and its grant.
func oidcGranted(t *testing.T, f fixture, id string, code []byte, refresh []byte) store.OIDCGrant {
	t.Helper()
	ctx := context.Background()
	if err := f.s.CreateOIDCAuthRequest(ctx, store.OIDCAuthRequest{ID: id, OrgID: f.org.ID, ClientID: "c1", Request: `{}`, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CompleteOIDCAuthRequest(ctx, f.org.ID, id, f.user.ID, `{"amr":["pwd"]}`, t0, store.Event{OrgID: f.org.ID, Action: "oidc.authorize"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetOIDCCode(ctx, f.org.ID, id, code); err != nil {
		t.Fatal(err)
	}
	a, err := f.s.ConsumeOIDCCode(ctx, f.org.ID, code, t0, store.Event{})
	if err != nil || a.ID != id || a.UserID != f.user.ID || a.SignIn != `{"amr":["pwd"]}` {
		t.Fatalf("ConsumeOIDCCode = %+v, %v; want the request", a, err)
	}
	g := store.OIDCGrant{ID: "g-" + id, OrgID: f.org.ID, ClientID: "c1", UserID: f.user.ID, AuthRequestID: id, Scopes: []string{"openid"},
		SignIn: a.SignIn, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	if err := f.s.CreateOIDCGrant(ctx, g, store.OIDCTokens{AccessID: "at-" + id, AccessExpires: t0.Add(time.Hour), RefreshHash: refresh, RefreshExpires: t0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestOIDCCodeSingleUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if _, err := f.s.OIDCAuthRequestByID(ctx, f.org.ID, "none", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown request: %v, want ErrNotFound", err)
		}
		g := oidcGranted(t, f, "r1", []byte("code1"), []byte("rt1"))
		if _, err := f.s.OIDCGrantByAccessToken(ctx, f.org.ID, "at-r1", t0); err != nil {
			t.Fatalf("the access token before the code's reuse: %v", err)
		}
		if _, err := f.s.OIDCGrantByAccessToken(ctx, f.org.ID+1000, "at-r1", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the access token in another organization: %v, want ErrNotFound", err)
		}
		if _, err := f.s.OIDCAuthRequestByID(ctx, f.org.ID, "r1", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a request whose code is used: %v, want ErrNotFound", err)
		}
		if err := f.s.DeleteOIDCAuthRequest(ctx, f.org.ID, "r1"); err != nil {
			t.Fatal(err)
		}
		reused := store.Event{OrgID: f.org.ID, At: t0, Actor: "c1", Action: "oidc.code_reused", Result: "revoked"}
		if _, err := f.s.ConsumeOIDCCode(ctx, f.org.ID, []byte("code1"), t0, reused); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("the code's second use: %v, want ErrNotConsumed", err)
		}
		if _, err := f.s.OIDCGrantByAccessToken(ctx, f.org.ID, "at-r1", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the access token after the code's reuse: %v, want ErrNotFound (revoked)", err)
		}
		if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte("rt1"), t0, store.Event{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refresh token after the code's reuse: %v, want ErrNotFound (revoked)", err)
		}
		// A grant still to come of a reused code is refused.
		if err := f.s.CreateOIDCGrant(ctx, store.OIDCGrant{ID: "late", OrgID: f.org.ID, ClientID: "c1", UserID: f.user.ID, AuthRequestID: g.AuthRequestID,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, store.OIDCTokens{AccessID: "late", AccessExpires: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("a grant of a reused code: %v, want ErrNotConsumed", err)
		}
		evs, err := f.s.Events(ctx, f.org.ID, 10)
		if err != nil || !slices.ContainsFunc(evs, func(e store.Event) bool { return e.Action == "oidc.code_reused" }) {
			t.Fatalf("events = %+v, %v; want the reuse recorded", evs, err)
		}
		// An expired code is unknown.
		if err := f.s.CreateOIDCAuthRequest(ctx, store.OIDCAuthRequest{ID: "r2", OrgID: f.org.ID, ClientID: "c1", Request: `{}`, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetOIDCCode(ctx, f.org.ID, "r2", []byte("code2")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a code for a request not completed: %v, want ErrNotFound", err)
		}
		if err := f.s.CompleteOIDCAuthRequest(ctx, f.org.ID, "r2", f.user.ID, `{}`, t0, store.Event{OrgID: f.org.ID, Action: "oidc.authorize"}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.CompleteOIDCAuthRequest(ctx, f.org.ID, "r2", f.user.ID, `{}`, t0, store.Event{OrgID: f.org.ID, Action: "oidc.authorize"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("completing a request twice: %v, want ErrNotFound", err)
		}
		if err := f.s.SetOIDCCode(ctx, f.org.ID, "r2", []byte("code2")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.ConsumeOIDCCode(ctx, f.org.ID, []byte("code2"), t0.Add(2*time.Minute), store.Event{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired code: %v, want ErrNotFound", err)
		}
		if n, err := f.s.PurgeOIDC(ctx, t0.Add(48*time.Hour)); err != nil || n == 0 {
			t.Fatalf("PurgeOIDC = %d, %v; want rows purged", n, err)
		}
	})
}

func TestOIDCCodeRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		if err := f.s.CreateOIDCAuthRequest(ctx, store.OIDCAuthRequest{ID: "r", OrgID: f.org.ID, ClientID: "c1", Request: `{}`, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.CompleteOIDCAuthRequest(ctx, f.org.ID, "r", f.user.ID, `{}`, t0, store.Event{OrgID: f.org.ID, Action: "oidc.authorize"}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetOIDCCode(ctx, f.org.ID, "r", []byte("code")); err != nil {
			t.Fatal(err)
		}
		other := b.Open(t, nil)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := f.s
				if i%2 == 1 {
					s = other
				}
				_, err := s.ConsumeOIDCCode(ctx, f.org.ID, []byte("code"), t0, store.Event{OrgID: f.org.ID, Action: "oidc.code_reused"})
				if err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrNotConsumed) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d of 16 exchanges of one code got its request, want 1", won)
		}
	})
}

func TestOIDCRefreshRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		g := oidcGranted(t, f, "r1", []byte("code1"), []byte("rt1"))
		got, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte("rt1"), t0, store.Event{})
		if err != nil || got.ID != g.ID || got.UserID != f.user.ID || !slices.Equal(got.Scopes, []string{"openid"}) {
			t.Fatalf("OIDCGrantByRefreshToken = %+v, %v; want the grant", got, err)
		}
		if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID+1000, []byte("rt1"), t0, store.Event{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refresh token in another organization: %v, want ErrNotFound", err)
		}
		if err := f.s.RotateOIDCRefreshToken(ctx, f.org.ID, []byte("rt1"), store.OIDCTokens{AccessID: "at2", AccessExpires: t0.Add(time.Hour),
			RefreshHash: []byte("rt2"), RefreshExpires: t0.Add(12 * time.Hour)}, t0, store.Event{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte("rt2"), t0, store.Event{}); err != nil {
			t.Fatalf("the new refresh token: %v", err)
		}
		reused := store.Event{OrgID: f.org.ID, At: t0, Actor: "c1", Action: "oidc.refresh_reused", Result: "revoked"}
		if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte("rt1"), t0, reused); !errors.Is(err, store.ErrNotConsumed) {
			t.Fatalf("the old refresh token again: %v, want ErrNotConsumed", err)
		}
		for _, rt := range []string{"rt1", "rt2"} {
			if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte(rt), t0, store.Event{}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s after the reuse: %v, want ErrNotFound (the family is revoked)", rt, err)
			}
		}
		if _, err := f.s.OIDCGrantByAccessToken(ctx, f.org.ID, "at2", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the access token after the reuse: %v, want ErrNotFound", err)
		}
		// Two rotations of one token at once: one wins, the other revokes.
		g2 := oidcGranted(t, f, "r2", []byte("code2"), []byte("rt3"))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f.s.RotateOIDCRefreshToken(ctx, f.org.ID, []byte("rt3"), store.OIDCTokens{AccessID: "race" + string(rune('a'+i)), AccessExpires: t0.Add(time.Hour),
					RefreshHash: []byte{byte(i)}, RefreshExpires: t0.Add(time.Hour)}, t0, reused)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("two rotations of one token: %v, %v; want one success and one refusal", errs[0], errs[1])
		}
		if _, err := f.s.OIDCGrantByAccessToken(ctx, f.org.ID, "at-"+g2.AuthRequestID, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the grant after a raced rotation: %v, want revoked", err)
		}
		// Revocation by the client (RFC 7009).
		oidcGranted(t, f, "r3", []byte("code3"), []byte("rt4"))
		if err := f.s.RevokeOIDCAccessToken(ctx, f.org.ID, "c1", "at-r3", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.OIDCGrantByAccessToken(ctx, f.org.ID, "at-r3", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a revoked access token: %v, want ErrNotFound", err)
		}
		if err := f.s.RevokeOIDCRefreshToken(ctx, f.org.ID, "other-client", []byte("rt4"), t0, store.Event{OrgID: f.org.ID, Action: "oidc.revoke"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte("rt4"), t0, store.Event{}); err != nil {
			t.Fatalf("a refresh token another client tried to revoke: %v, want it live", err)
		}
		if err := f.s.RevokeOIDCRefreshToken(ctx, f.org.ID, "c1", []byte("rt4"), t0, store.Event{OrgID: f.org.ID, Action: "oidc.revoke"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.OIDCGrantByRefreshToken(ctx, f.org.ID, []byte("rt4"), t0, store.Event{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a revoked refresh token: %v, want ErrNotFound", err)
		}
	})
}

func TestOIDCKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		ev := store.Event{OrgID: f.org.ID, At: t0, Actor: "twofold", Action: "oidc.key.add", Result: "ok"}
		forever := t0.Add(100 * 365 * 24 * time.Hour)
		k1 := store.OIDCKey{ID: "k1", OrgID: f.org.ID, Algorithm: "RS256", PrivateKey: []byte("sealed1"), CreatedAt: t0, ActiveFrom: t0, RetireAt: forever}
		if err := f.s.AddOIDCKey(ctx, k1, 0, ev); err != nil {
			t.Fatal(err)
		}
		if err := f.s.AddOIDCKey(ctx, store.OIDCKey{ID: "k1b", OrgID: f.org.ID, Algorithm: "RS256", PrivateKey: []byte("x"), CreatedAt: t0, ActiveFrom: t0, RetireAt: t0}, 0, ev); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second key from the same time: %v, want ErrExists", err)
		}
		// k2 signs from day 30; k1 is kept for ten days more.
		k2 := store.OIDCKey{ID: "k2", OrgID: f.org.ID, Algorithm: "RS256", PrivateKey: []byte("sealed2"), CreatedAt: t0, ActiveFrom: t0.Add(30 * 24 * time.Hour), RetireAt: forever}
		if err := f.s.AddOIDCKey(ctx, k2, 10*24*time.Hour, ev); err != nil {
			t.Fatal(err)
		}
		ks, err := f.s.OIDCKeys(ctx, f.org.ID, t0)
		if err != nil || len(ks) != 2 || ks[0].ID != "k1" || ks[1].ID != "k2" || string(ks[0].PrivateKey) != "sealed1" || !ks[1].ActiveFrom.Equal(k2.ActiveFrom) {
			t.Fatalf("OIDCKeys = %+v, %v; want k1 then k2", ks, err)
		}
		if ks, err := f.s.OIDCKeys(ctx, f.org.ID, t0.Add(39*24*time.Hour)); err != nil || len(ks) != 2 {
			t.Fatalf("OIDCKeys on day 39 = %+v, %v; want k1 still published", ks, err)
		}
		if ks, err := f.s.OIDCKeys(ctx, f.org.ID, t0.Add(40*24*time.Hour)); err != nil || len(ks) != 1 || ks[0].ID != "k2" {
			t.Fatalf("OIDCKeys after k1 retired = %+v, %v; want k2", ks, err)
		}
		if ks, err := f.s.OIDCKeys(ctx, f.org.ID+1000, t0); err != nil || len(ks) != 0 {
			t.Fatalf("another organization's keys = %+v, %v; want none", ks, err)
		}
		n, err := f.s.ResealOIDCKeys(ctx, func(k store.OIDCKey) ([]byte, bool, error) {
			return []byte("resealed " + k.ID), k.ID == "k2", nil
		}, store.Event{At: t0, Action: "keys.rotate"})
		if err != nil || n != 1 {
			t.Fatalf("ResealOIDCKeys = %d, %v; want 1", n, err)
		}
		if ks, err := f.s.OIDCKeys(ctx, f.org.ID, t0); err != nil || string(ks[0].PrivateKey) != "sealed1" || string(ks[1].PrivateKey) != "resealed k2" {
			t.Fatalf("after reseal: %+v, %v", ks, err)
		}
		if _, err := f.s.PurgeOIDC(ctx, t0.Add(45*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ks, err := f.s.OIDCKeys(ctx, f.org.ID, t0); err != nil || len(ks) != 1 || ks[0].ID != "k2" {
			t.Fatalf("after the purge of retired keys: %+v, %v; want k2 alone", ks, err)
		}
	})
}

// TestMigrationBelowTheNewest: a database that ran a higher-numbered
// migration first (0028, landed before 0026) still gets 0026.
func TestMigrationBelowTheNewest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := setup(t, b)
		db := b.DB(t)
		for _, q := range []string{`DROP TABLE oidc_keys`, `DROP TABLE oidc_refresh_tokens`, `DROP TABLE oidc_access_tokens`,
			`DROP TABLE oidc_grants`, `DROP TABLE oidc_auth_requests`, `DROP TABLE oidc_clients`, `DELETE FROM schema_migrations WHERE version = 26`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s := b.Open(t, clock.NewFake(t0))
		if _, err := s.OIDCClients(context.Background(), f.org.ID); err != nil {
			t.Fatalf("after reopening, migration 0026 is not applied: %v", err)
		}
	})
}
