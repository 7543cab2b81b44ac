package admin_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestAddRadiusClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)

		before := len(e.events(t, e.org.ID))
		got, err := e.svc.AddRadiusClient(e.ctx, e.org, admin.NewRadiusClient{Name: "vpn", Address: "192.0.2.10"})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Generated || len(got.Secret) < 24 || got.Warning != "" {
			t.Fatalf("no secret given: got %+v; want a generated secret of 24 or more characters and no warning", got)
		}
		if got.Client.CIDR != "192.0.2.10/32" || !got.Client.RequireMessageAuthenticator {
			t.Fatalf("client = %+v; want 192.0.2.10/32 requiring Message-Authenticator", got.Client)
		}
		e.wantEvent(t, e.org.ID, before, "radius.client.add", "vpn 192.0.2.10/32")
		if evs := e.events(t, e.org.ID); strings.Contains(evs[0].Target+evs[0].Detail, got.Secret) {
			t.Fatal("the audit event holds the secret")
		}

		stored, err := e.svc.RadiusClients(e.ctx, e.org)
		if err != nil || len(stored) != 1 {
			t.Fatalf("RadiusClients() = %+v, %v; want one", stored, err)
		}
		if bytes.Contains(stored[0].Secret, []byte(got.Secret)) {
			t.Fatal("the secret is stored in clear")
		}
		plain, err := e.svc.Keys.Open(stored[0].Secret, store.RadiusSecretAD(stored[0]))
		if err != nil || string(plain) != got.Secret {
			t.Fatalf("opening the stored secret: %q, %v; want the secret", plain, err)
		}
		moved := stored[0]
		moved.ID++
		if _, err := e.svc.Keys.Open(stored[0].Secret, store.RadiusSecretAD(moved)); err == nil {
			t.Fatal("the secret opens as another client's: the additional data does not bind it to its row")
		}

		short, err := e.svc.AddRadiusClient(e.ctx, e.org, admin.NewRadiusClient{Name: "old-vpn", Address: "2001:db8::/64", Secret: "twelve-chars", AllowMissingMessageAuthenticator: true})
		if err != nil {
			t.Fatal(err)
		}
		if short.Generated || short.Secret != "twelve-chars" || !strings.Contains(short.Warning, "16") || short.Client.RequireMessageAuthenticator {
			t.Fatalf("a 12-character secret: %+v; want it kept, with a warning, Message-Authenticator not required", short)
		}

		for _, tt := range []struct {
			name string
			n    admin.NewRadiusClient
			want string
		}{
			{"a secret of seven characters is refused", admin.NewRadiusClient{Name: "x", Address: "198.51.100.1", Secret: "1234567"}, "at least 8"},
			{"a secret with a space is refused", admin.NewRadiusClient{Name: "x", Address: "198.51.100.1", Secret: "a secret with spaces"}, "printable"},
			{"a client without a name is refused", admin.NewRadiusClient{Address: "198.51.100.1"}, "name"},
			{"a client without an address is refused", admin.NewRadiusClient{Name: "x"}, "--cidr"},
			{"a host name is refused", admin.NewRadiusClient{Name: "x", Address: "vpn.example"}, "not an IP address"},
			{"a second client of the same name is refused", admin.NewRadiusClient{Name: "vpn", Address: "198.51.100.1"}, "already"},
			{"a second client for the same address is refused", admin.NewRadiusClient{Name: "x", Address: "192.0.2.10/32"}, "already"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.AddRadiusClient(e.ctx, e.org, tt.n)
				wantInvalid(t, err, tt.want)
			})
		}

		if err := e.svc.RemoveRadiusClient(e.ctx, e.org, "old-vpn"); err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, e.svc.RemoveRadiusClient(e.ctx, e.org, "old-vpn"), "no RADIUS client")

		// Rotation re-seals the secret under the new key; it still opens.
		rotated, err := secret.NewKeyring([][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.svc.Keys = rotated
		if n, err := e.svc.ResealRadiusSecrets(e.ctx); err != nil || n != 1 {
			t.Fatalf("ResealRadiusSecrets() = %d, %v; want 1", n, err)
		}
		stored, _ = e.svc.RadiusClients(e.ctx, e.org)
		if !rotated.Current(stored[0].Secret) {
			t.Fatal("the secret is not sealed under the newest key after a reseal")
		}
	})
}

func TestParseClientAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10":           "192.0.2.10/32",
		" 192.0.2.77/24 ":      "192.0.2.0/24",
		"2001:db8::1":          "2001:db8::1/128",
		"::ffff:192.0.2.1":     "192.0.2.1/32",
		"::ffff:192.0.2.0/120": "192.0.2.0/24",
	} {
		p, err := admin.ParseClientAddress(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseClientAddress(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
}
