package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func ptr(s string) *string { return &s }

func TestUpdateUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		challenge := func(tx string) {
			t.Helper()
			if _, err := f.s.CreateChallenge(ctx, store.Challenge{OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.tok.ID, TxIDHash: []byte(tx),
				Kind: "email", CodeMAC: []byte("mac"), Status: store.ChallengePending, ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0},
				store.SendLimit{Every: time.Second, Max: 5, Window: time.Minute}, ev(f.org.ID, "challenge.email")); err != nil {
				t.Fatal(err)
			}
		}
		challenge("tx1")

		// A new display name alone leaves the address, the language and
		// the pending code alone.
		if err := f.s.UpdateUser(ctx, f.org.ID, f.user.ID, store.UserChanges{DisplayName: ptr("Alice A.")}, ev(f.org.ID, "user.edit")); err != nil {
			t.Fatal(err)
		}
		u, _ := f.s.UserByName(ctx, f.org.ID, "alice")
		if u.DisplayName != "Alice A." || u.Email != "" || u.Language != "" {
			t.Errorf("after the name: %q %q %q; want only the name changed", u.DisplayName, u.Email, u.Language)
		}
		if c, _ := f.s.ChallengeByTxID(ctx, f.org.ID, []byte("tx1")); c.Status != store.ChallengePending {
			t.Errorf("challenge after a new name: %s, want pending", c.Status)
		}

		// A new address: the code mailed to the old one stops working.
		if err := f.s.UpdateUser(ctx, f.org.ID, f.user.ID, store.UserChanges{Email: ptr("alice@acme.example"), Language: ptr("nl")}, ev(f.org.ID, "user.edit")); err != nil {
			t.Fatal(err)
		}
		u, _ = f.s.UserByName(ctx, f.org.ID, "alice")
		if u.DisplayName != "Alice A." || u.Email != "alice@acme.example" || u.Language != "nl" {
			t.Errorf("after the address: %q %q %q", u.DisplayName, u.Email, u.Language)
		}
		if c, _ := f.s.ChallengeByTxID(ctx, f.org.ID, []byte("tx1")); c.Status == store.ChallengePending {
			t.Errorf("challenge after a new address is still pending")
		}
		if a := lastAction(t, f.s, f.org.ID); a != "user.edit" {
			t.Errorf("last event %q, want user.edit", a)
		}

		other, err := f.s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, ev(0, "org.create"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			orgID int64
			ch    store.UserChanges
		}{
			{"a user of another organization", other.ID, store.UserChanges{Email: ptr("")}},
			{"no field", f.org.ID, store.UserChanges{}},
		} {
			if err := f.s.UpdateUser(ctx, tt.orgID, f.user.ID, tt.ch, ev(tt.orgID, "user.edit.refused")); err == nil {
				t.Errorf("%s: no error", tt.name)
			}
		}
		if u, _ := f.s.UserByName(ctx, f.org.ID, "alice"); u.Email != "alice@acme.example" {
			t.Errorf("address after refusals = %q", u.Email)
		}
		if a := lastAction(t, f.s, other.ID); a != "org.create" {
			t.Errorf("a refused change was audited: %q", a)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		other, err := f.s.CreateOrg(ctx, store.Org{Slug: "other", Name: "Other", Policy: []byte(`{}`), CreatedAt: t0}, ev(0, "org.create"))
		if err != nil {
			t.Fatal(err)
		}
		add := func(orgID int64, name, hash string) {
			t.Helper()
			if _, err := f.s.CreateAPIKey(ctx, store.APIKey{OrgID: orgID, Name: name, Prefix: "tfk_" + hash, Hash: []byte(hash), CreatedAt: t0},
				ev(orgID, "apikey.create")); err != nil {
				t.Fatal(err)
			}
		}
		add(f.org.ID, "intranet", "h1")
		add(f.org.ID, "vpn", "h2")
		add(other.ID, "intranet", "h3")

		later := ev(f.org.ID, "apikey.revoke")
		later.At = t0.Add(time.Hour)
		if err := f.s.RevokeAPIKey(ctx, f.org.ID, "intranet", later); err != nil {
			t.Fatal(err)
		}
		ks, err := f.s.APIKeys(ctx, f.org.ID)
		if err != nil || len(ks) != 2 {
			t.Fatalf("APIKeys = %v, %v; want 2", ks, err)
		}
		if ks[0].Name != "intranet" || !ks[0].RevokedAt.Equal(later.At) || !ks[0].CreatedAt.Equal(t0) || ks[0].Hash != nil {
			t.Errorf("intranet = %+v; want revoked at %v, no hash", ks[0], later.At)
		}
		if ks[1].Name != "vpn" || !ks[1].RevokedAt.IsZero() {
			t.Errorf("vpn = %+v; want in use", ks[1])
		}

		// The REST API's lookup refuses the revoked key, and only it.
		if _, err := f.s.APIKeyByHash(ctx, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APIKeyByHash(revoked) err = %v, want ErrNotFound", err)
		}
		for _, h := range []string{"h2", "h3"} {
			if _, err := f.s.APIKeyByHash(ctx, []byte(h)); err != nil {
				t.Errorf("APIKeyByHash(%s) = %v, want the key", h, err)
			}
		}

		for _, tt := range []struct {
			name, key string
			orgID     int64
			want      error
		}{
			{"revoked twice", "intranet", f.org.ID, store.ErrRevoked},
			{"unknown", "nope", f.org.ID, store.ErrNotFound},
			{"another organization's", "vpn", other.ID, store.ErrNotFound},
		} {
			if err := f.s.RevokeAPIKey(ctx, tt.orgID, tt.key, ev(tt.orgID, "apikey.revoke.again")); !errors.Is(err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			}
		}
		if a := lastAction(t, f.s, f.org.ID); a != "apikey.revoke" {
			t.Errorf("last event %q, want apikey.revoke", a)
		}
		if a := lastAction(t, f.s, other.ID); a != "apikey.create" {
			t.Errorf("other's last event %q, want apikey.create", a)
		}
	})
}
