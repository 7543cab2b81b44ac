package api

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twofold-mfa/twofold/internal/admin"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

// A temporary code from the helpdesk is accepted by validate like a
// one-time code, as many times as it was issued for, however many requests
// race for it on however many instances.
func TestValidateAcceptsATempCodeForItsUses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		if _, err := f.svc.SetPolicy(f.ctx, f.org, map[string]string{"temp_code_uses": "3", "lockout_threshold": "100"}); err != nil {
			t.Fatal(err)
		}
		org, err := f.svc.Org(f.ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		tc, err := f.svc.IssueTempCode(f.ctx, org, "alice", admin.TempCodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f.remember(tc.Code)
		second := f.newInstance()
		var accepted atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				srv := f.srv
				if i%2 == 1 {
					srv = second.srv
				}
				got := f.validate(srv, f.body("alice", tc.Code))
				switch {
				case bytes.Equal(got.body, accept.body):
					accepted.Add(1)
				case !bytes.Equal(got.body, reject.body):
					t.Errorf("validate: %d %s", got.status, got.body)
				}
			})
		}
		wg.Wait()
		if n := accepted.Load(); n != 3 {
			t.Fatalf("a temporary code of 3 uses was accepted %d times by 40 concurrent requests on two instances, want exactly 3", n)
		}
		if ev := f.lastEvent(); ev.Result == "accept" && ev.Target != "alice temporary code" {
			t.Errorf("audit target %q", ev.Target)
		}
	})
}
