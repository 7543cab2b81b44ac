package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestRadiusClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := setup(t, b)
		seal := func(c store.RadiusClient) ([]byte, error) {
			return append([]byte("sealed:"), store.RadiusSecretAD(c)...), nil
		}
		ev := store.Event{OrgID: f.org.ID, At: t0, Actor: "test", Action: "radius.client.add", Target: "vpn", Result: "ok"}
		c, err := f.s.CreateRadiusClient(ctx, store.RadiusClient{OrgID: f.org.ID, Name: "vpn", CIDR: "192.0.2.0/24",
			RequireMessageAuthenticator: true, CreatedAt: t0}, seal, ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.CreateRadiusClient(ctx, store.RadiusClient{OrgID: f.org.ID, Name: "vpn", CIDR: "198.51.100.1/32", CreatedAt: t0}, seal, ev); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second client named vpn: %v, want ErrExists", err)
		}
		if _, err := f.s.CreateRadiusClient(ctx, store.RadiusClient{OrgID: f.org.ID, Name: "other", CIDR: "192.0.2.0/24", CreatedAt: t0}, seal, ev); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second client for the same range: %v, want ErrExists", err)
		}
		if _, err := f.s.CreateRadiusClient(ctx, store.RadiusClient{OrgID: f.org.ID, Name: "citrix", CIDR: "198.51.100.1/32", CreatedAt: t0}, seal, ev); err != nil {
			t.Fatal(err)
		}
		all, err := f.s.RadiusClients(ctx, 0)
		if err != nil || len(all) != 2 {
			t.Fatalf("RadiusClients(0) = %d clients, %v; want 2", len(all), err)
		}
		got := all[0]
		if got.Name != "vpn" || got.CIDR != "192.0.2.0/24" || !got.RequireMessageAuthenticator || all[1].RequireMessageAuthenticator ||
			!bytes.Equal(got.Secret, append([]byte("sealed:"), store.RadiusSecretAD(c)...)) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("RadiusClients(0)[0] = %+v, want the client as created", got)
		}
		if n, err := f.s.ResealRadiusSecrets(ctx, func(c store.RadiusClient) ([]byte, bool, error) {
			return []byte("resealed"), c.Name == "vpn", nil
		}, store.Event{At: t0, Action: "keys.rotate"}); err != nil || n != 1 {
			t.Fatalf("ResealRadiusSecrets() = %d, %v; want 1", n, err)
		}
		if err := f.s.DeleteRadiusClient(ctx, f.org.ID, "citrix", ev); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteRadiusClient(ctx, f.org.ID, "citrix", ev); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting it again: %v, want ErrNotFound", err)
		}
		mine, err := f.s.RadiusClients(ctx, f.org.ID)
		if err != nil || len(mine) != 1 || string(mine[0].Secret) != "resealed" {
			t.Fatalf("RadiusClients(org) = %+v, %v; want vpn only, resealed", mine, err)
		}
		if other, err := f.s.RadiusClients(ctx, f.org.ID+1000); err != nil || len(other) != 0 {
			t.Fatalf("another organization's clients: %+v, %v; want none", other, err)
		}
	})
}
