package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// TestKeysHeldInMemoryFollowEveryInstance: API keys are held in memory,
// yet a key created or revoked through one instance is taken or refused
// by another on the same database within AccessCheck, well within a
// second, and without a restart.
func TestKeysHeldInMemoryFollowEveryInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		other := f.newInstance()
		f.addUser("kim", "", true)
		ask := func(srv *httptest.Server, key string) int {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, srv.URL+pathValidate, strings.NewReader(f.body("kim", f.wrongCode("kim"))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			return f.do(req).status
		}
		if got := ask(other.srv, f.key); got != http.StatusOK {
			t.Fatalf("the key on the other instance: %d, want 200", got)
		}
		if err := f.svc.RevokeAPIKey(f.ctx, f.org, "vpn"); err != nil {
			t.Fatal(err)
		}
		// Held in memory: the revocation is seen at the next check.
		f.clk.Advance(AccessCheck)
		if got := ask(other.srv, f.key); got != http.StatusUnauthorized {
			t.Fatalf("the revoked key on the other instance %v after the revocation: %d, want 401", AccessCheck, got)
		}
		if AccessCheck >= time.Second {
			t.Fatalf("AccessCheck is %v: a revoked key must be refused within a second", AccessCheck)
		}
		key, _, err := f.svc.CreateAPIKey(f.ctx, f.org, "portal")
		if err != nil {
			t.Fatal(err)
		}
		if got := ask(other.srv, key); got != http.StatusOK {
			t.Fatalf("a new key on the other instance: %d, want 200", got)
		}
	})
}
