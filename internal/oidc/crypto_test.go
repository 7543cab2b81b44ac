package oidc

import (
	"testing"

	"github.com/twofold-mfa/twofold/internal/secret"
	"github.com/twofold-mfa/twofold/internal/store"
)

func testCrypto(t testing.TB, orgID int64) *tokenCrypto {
	keys, err := secret.NewKeyring([][]byte{make([]byte, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &tokenCrypto{keys: keys, org: store.Org{ID: orgID}}
}

func TestTokenCrypto(t *testing.T) {
	acme, beta := testCrypto(t, 1), testCrypto(t, 2)
	tok, err := acme.Encrypt("token-id:42")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := acme.Decrypt(tok); err != nil || got != "token-id:42" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if _, err := beta.Decrypt(tok); err == nil {
		t.Fatal("another organization opened the access token")
	}
	if _, err := acme.Decrypt(tok[:len(tok)-2] + "AA"); err == nil {
		t.Fatal("a changed access token opened")
	}
}

// FuzzTokenCrypto: an access token presented at the userinfo or
// revocation endpoint opens only when Twofold sealed it.
func FuzzTokenCrypto(f *testing.F) {
	c := testCrypto(f, 1)
	good, err := c.Encrypt("id:1")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "", "AAAA", "not base64!", good + "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		got, err := c.Decrypt(token)
		if err == nil && token != good && got != "id:1" {
			t.Fatalf("Decrypt(%q) = %q: a token Twofold did not seal opened", token, got)
		}
	})
}
