package oidc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestKeyRotation follows an organization's signing keys over months:
// the next key is published a week before it signs, the old one stays
// published a week after, and each signs only in its own time.
func TestKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		st := b.Open(t, clk)
		org, err := st.CreateOrg(ctx, store.Org{Slug: "acme", Name: "Acme", Policy: []byte(`{}`), CreatedAt: t0}, store.Event{Action: "org.create"})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := New(Config{Store: st, Keys: keys, Clock: clk})
		state := func() (signing string, published []string) {
			t.Helper()
			k, err := p.signingKey(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := p.publishedKeys(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			for _, pk := range ks {
				published = append(published, pk.ID())
			}
			return k.ID(), published
		}
		first, pub := state()
		if len(pub) != 1 || pub[0] != first {
			t.Fatalf("day 0: signing %s, published %v; want the one key", first, pub)
		}
		clk.Advance(22 * 24 * time.Hour)
		if k, pub := state(); k != first || len(pub) != 1 {
			t.Fatalf("day 22: signing %s, published %v; want the first key alone", k, pub)
		}
		clk.Advance(24 * time.Hour) // day 23: a week before day 30
		k, pub := state()
		if k != first || len(pub) != 2 || pub[0] != first {
			t.Fatalf("day 23: signing %s, published %v; want the first key signing and the next published", k, pub)
		}
		next := pub[1]
		clk.Advance(7*24*time.Hour - time.Minute)
		if k, _ := state(); k != first {
			t.Fatalf("just before day 30: signing %s, want still the first", k)
		}
		clk.Advance(2 * time.Minute) // day 30
		if k, pub := state(); k != next || !slices.Equal(pub, []string{first, next}) {
			t.Fatalf("day 30: signing %s, published %v; want the next key signing, the first still published", k, pub)
		}
		clk.Advance(7 * 24 * time.Hour) // day 37
		if k, pub := state(); k != next || !slices.Equal(pub, []string{next}) {
			t.Fatalf("day 37: signing %s, published %v; want the first key gone", k, pub)
		}
		// A long silence: the next key is still published a week ahead.
		clk.Advance(200 * 24 * time.Hour)
		k, pub = state()
		if k != next || len(pub) != 2 {
			t.Fatalf("after a long silence: signing %s, published %v; want the old key signing until its successor's week is over", k, pub)
		}
		clk.Advance(7 * 24 * time.Hour)
		if k, _ := state(); k != pub[1] {
			t.Fatalf("a week later: signing %s, want %s", k, pub[1])
		}
		// Sealed at rest, bound to the row.
		ks, err := st.OIDCKeys(ctx, org.ID, clk.Now())
		if err != nil || len(ks) == 0 {
			t.Fatal(err)
		}
		if _, err := keys.Open(ks[0].PrivateKey, store.OIDCKeyAD(store.OIDCKey{OrgID: org.ID + 1, ID: ks[0].ID})); err == nil {
			t.Fatal("a signing key opens with another row's additional data")
		}
	})
}
