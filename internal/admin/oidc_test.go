package admin_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestAddOIDCClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		e := withAlice(t, b)
		before := len(e.events(t, e.org.ID))
		got, err := e.svc.AddOIDCClient(e.ctx, e.org, admin.NewOIDCClient{Name: "Wiki", RedirectURIs: []string{"https://wiki.example/cb", "https://wiki.example/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Secret) < 40 || len(got.Client.ClientID) < 20 || !bytes.Equal(got.Client.SecretHash, secret.HashToken(got.Secret)) {
			t.Fatalf("got %+v; want a generated secret, stored as its hash", got)
		}
		if len(got.Client.RedirectURIs) != 1 || strings.Join(got.Client.Scopes, " ") != "openid profile email offline_access" {
			t.Fatalf("client = %+v; want one redirect URI and the default scopes", got.Client)
		}
		e.wantEvent(t, e.org.ID, before, "oidc.client.add", "Wiki "+got.Client.ClientID)
		if evs := e.events(t, e.org.ID); strings.Contains(evs[0].Target+evs[0].Detail, got.Secret) {
			t.Fatal("the audit event holds the secret")
		}
		pub, err := e.svc.AddOIDCClient(e.ctx, e.org, admin.NewOIDCClient{Name: "SPA", Public: true, RedirectURIs: []string{"https://spa.example/cb"}, Scopes: []string{"openid"}})
		if err != nil || pub.Secret != "" || len(pub.Client.SecretHash) != 0 || !pub.Client.Public {
			t.Fatalf("a public client: %+v, %v; want no secret", pub, err)
		}
		for _, n := range []admin.NewOIDCClient{
			{Name: "Wiki", RedirectURIs: []string{"https://other.example/cb"}},
			{Name: "", RedirectURIs: []string{"https://a.example/cb"}},
			{Name: "No redirect"},
			{Name: "Bad scope", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid", "admin"}},
			{Name: "No openid", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"email"}},
			{Name: "Bad logout", RedirectURIs: []string{"https://a.example/cb"}, LogoutURIs: []string{"javascript:alert(1)"}},
			{Name: "Public over http", Public: true, RedirectURIs: []string{"http://127.0.0.1:8080/cb"}},
		} {
			if _, err := e.svc.AddOIDCClient(e.ctx, e.org, n); !errors.Is(err, admin.ErrInvalid) {
				t.Errorf("AddOIDCClient(%+v) = %v, want ErrInvalid", n, err)
			}
		}
		list, err := e.svc.OIDCClients(e.ctx, e.org)
		if err != nil || len(list) != 2 {
			t.Fatalf("OIDCClients = %+v, %v; want two", list, err)
		}
		if err := e.svc.RemoveOIDCClient(e.ctx, e.org, pub.Client.ClientID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RemoveOIDCClient(e.ctx, e.org, pub.Client.ClientID); !errors.Is(err, admin.ErrInvalid) {
			t.Fatalf("removing it again: %v, want ErrInvalid", err)
		}
	})
}

func TestParseRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/callback", true},
		{"https://app.example:8443/cb?x=1", true},
		{"http://127.0.0.1:9000/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost:3000/cb", true},
		{"http://app.example/cb", false},
		{"https://app.example/cb#frag", false},
		{"https://user:pw@app.example/cb", false},
		{"/relative/cb", false},
		{"javascript:alert(1)", false},
		{"com.example.app:/cb", false},
		{"https://app.example/a b", false},
		{"https:///cb", false},
		{"HTTPS://app.example/cb", false},
		{"", false},
		{"https://app.example/" + strings.Repeat("a", 2000), false},
	} {
		_, err := admin.ParseRedirectURI(tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRedirectURI(%q) = %v, want ok %v", tc.uri, err, tc.ok)
		}
		if err != nil && !errors.Is(err, admin.ErrInvalid) {
			t.Errorf("ParseRedirectURI(%q) = %v, want ErrInvalid", tc.uri, err)
		}
	}
}

func FuzzParseRedirectURI(f *testing.F) {
	for _, s := range []string{"https://app.example/cb", "http://127.0.0.1:1/x", "https://a/#", "http://[::1", "%zz", "httPs://0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		uri, err := admin.ParseRedirectURI(raw)
		if err != nil {
			return
		}
		if uri != raw || !(strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "http://")) || strings.Contains(uri, "#") {
			t.Fatalf("ParseRedirectURI(%q) accepted %q", raw, uri)
		}
	})
}
