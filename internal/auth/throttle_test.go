package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottleTableStaysBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	th := newThrottle(Throttle{PerMinute: 60, Burst: 2, MaxClients: 100})
	// A flood of new addresses, each spending its burst at once.
	for i := range 10_000 {
		addr := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		th.allow(addr, t0)
		th.allow(addr, t0)
		if n := len(th.clients); n > 100 {
			t.Fatalf("%d addresses remembered after %d new ones, want at most 100", n, i+1)
		}
	}
	// The newest address is remembered: its empty bucket still holds.
	if th.allow("198.51.39.15", t0) {
		t.Fatal("the newest address was forgotten while its bucket was empty")
	}
	// Once buckets have refilled, forgetting them loses nothing.
	th = newThrottle(Throttle{PerMinute: 60, Burst: 2, MaxClients: 100})
	for i := range 100 {
		th.allow(fmt.Sprintf("192.0.2.%d", i), t0)
	}
	later := t0.Add(time.Minute)
	if !th.allow("203.0.113.1", later) {
		t.Fatal("a new address was refused")
	}
	if n := len(th.clients); n != 1 {
		t.Fatalf("%d addresses remembered after every other bucket refilled, want 1", n)
	}
}

func TestThrottleOff(t *testing.T) {
	th := newThrottle(Throttle{PerMinute: -1})
	for range 1000 {
		if !th.allow("192.0.2.1", time.Now()) {
			t.Fatal("a throttle that is off refused an attempt")
		}
	}
}
