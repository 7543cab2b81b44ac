package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
	"github.com/twofold-mfa/twofold/internal/store/storetest"
)

func TestServePurgesExpiredSessionsAndStopsTheJanitor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		in := newInstallation(t, b)
		in.env["TWOFOLD_LOG_LEVEL"] = "info"
		in.ok("", "org", "create", "acme")
		in.ok("", "user", "add", "acme/alice")
		s := b.Open(t, clock.System{})
		ctx := context.Background()
		org, err := s.OrgBySlug(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByName(ctx, org.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		yesterday := time.Now().Add(-24 * time.Hour)
		if err := s.CreateSession(ctx, store.Session{IDHash: []byte("expired"), OrgID: org.ID, UserID: u.ID, Stage: "done",
			CreatedAt: yesterday, LastSeenAt: yesterday, ExpiresAt: yesterday.Add(time.Hour)}, store.Event{}); err != nil {
			t.Fatal(err)
		}

		serveCtx, stop := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(serveCtx, []string{"serve"}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return in.env[k] })
		}()
		defer stop()
		waitForServer(t, &stdout, &stderr)
		const purged = `msg="janitor: removed expired rows" sessions=1 challenges=0`
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), purged) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(stderr.String(), purged) {
			t.Fatalf("serve did not purge the expired session at start; stderr:\n%s", stderr.String())
		}
		stop()
		select {
		case code := <-done:
			if code != 0 || strings.Contains(stderr.String(), "janitor: cannot") {
				t.Fatalf("serve stopped with %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
		}
	})
}
