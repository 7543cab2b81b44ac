package api

import (
	"bytes"
	"testing"

	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestDisabledOrganizationIsRejectedWithTheOneAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		if err := f.svc.DisableOrg(f.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ name, body string }{
			{"a right code", f.body("alice", f.code("alice", 0))},
			{"a right code and password", f.body("alice", f.code("alice", 0), alicePassword)},
			{"an unknown user", f.body("mallory", f.code("alice", 0))},
		} {
			got := f.validate(f.srv, tt.body)
			if got.status != reject.status || !bytes.Equal(got.body, reject.body) {
				t.Errorf("%s in a disabled organization: %d %s, want %d %s", tt.name, got.status, got.body, reject.status, reject.body)
			}
			if ev := f.lastEvent(); ev.Result != "org_disabled" {
				t.Errorf("%s: audit result %q, want org_disabled", tt.name, ev.Result)
			}
		}
		if err := f.svc.EnableOrg(f.ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if got := f.validate(f.srv, f.body("alice", f.code("alice", 0))); !bytes.Equal(got.body, accept.body) {
			t.Errorf("after enable: %d %s, want accept", got.status, got.body)
		}
	})
}
