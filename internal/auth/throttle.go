package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttle limits password attempts per client address, whatever the
// usernames tried: the lockout bounds guesses per account, this bounds one
// client spraying guesses across many accounts.
type Throttle struct {
	// PerMinute is how many attempts one address may make per minute on
	// average, and Burst how many at once; PerMinute below 0 turns the
	// throttle off.
	PerMinute float64
	Burst     int
	// MaxClients bounds how many addresses are remembered at once.
	MaxClients int
}

// DefaultThrottle allows a burst of 30 password attempts per address and
// then one every two seconds: plenty for an office behind one address
// signing in at nine, far too few to spray guesses.
var DefaultThrottle = Throttle{PerMinute: 30, Burst: 30, MaxClients: 100_000}

// throttle holds a token bucket per client address. Its memory is bounded:
// past MaxClients it forgets the addresses whose bucket has refilled (which
// loses nothing), and if that is not enough, arbitrary ones.
type throttle struct {
	every rate.Limit
	burst int
	max   int
	// full is how long an emptied bucket takes to refill.
	full time.Duration

	mu      sync.Mutex
	clients map[string]*client
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

func newThrottle(c Throttle) *throttle {
	if c == (Throttle{}) {
		c = DefaultThrottle
	}
	if c.PerMinute < 0 {
		return nil
	}
	if c.Burst < 1 {
		c.Burst = 1
	}
	if c.MaxClients < 1 {
		c.MaxClients = DefaultThrottle.MaxClients
	}
	every := rate.Limit(c.PerMinute / 60)
	return &throttle{
		every: every, burst: c.Burst, max: c.MaxClients,
		full:    time.Duration(float64(c.Burst) / float64(every) * float64(time.Second)),
		clients: make(map[string]*client),
	}
}

// allow takes one attempt from addr's bucket at now, reporting false when
// it is empty. A nil throttle allows everything.
func (t *throttle) allow(addr string, now time.Time) bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.clients[addr]
	if !ok {
		if len(t.clients) >= t.max {
			t.forget(now)
		}
		c = &client{lim: rate.NewLimiter(t.every, t.burst)}
		t.clients[addr] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}

// forget makes room for a new address. t.mu is held.
func (t *throttle) forget(now time.Time) {
	for addr, c := range t.clients {
		if now.Sub(c.seen) >= t.full {
			delete(t.clients, addr)
		}
	}
	// Every bucket is still refilling: the table is flooded with
	// addresses. Drop a tenth at random (map order) rather than grow, so
	// that the next new addresses do not each pay for a sweep.
	for addr := range t.clients {
		if len(t.clients) < t.max-t.max/10 {
			break
		}
		delete(t.clients, addr)
	}
}
