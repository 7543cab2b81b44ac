package store

import (
	"runtime"
	"sync"
)

// together gathers the calls that arrive while others are being made into
// one batch, made by the first of them: the guesses of a group commit, the
// Subject reads of one statement on PostgreSQL. One batch is made at a
// time; each call returns once the batch that holds it is made.
type together[T member] struct {
	mu      sync.Mutex
	waiting []T
	leading bool
}

// member is a call that a together can hold: it carries its waiter.
type member interface{ seat() *waiter }

// waiter is what a call waits on in a together.
type waiter struct {
	// wake is closed when the call is made, or when it is to lead the
	// next batch (lead).
	wake chan struct{}
	lead bool
}

func (w *waiter) seat() *waiter { return w }

// maxBatch bounds the calls one batch holds, so that the first of them
// does not wait long for the last.
const maxBatch = 64

// do makes m with the calls that arrive while another batch is being
// made, by calling run with the batch, m's leader first. The first call
// to arrive when none is being made makes its own at once, in its own
// goroutine: a lone request waits for nobody. Those that arrive meanwhile
// wait; when the batch is made, the first of them makes the next batch,
// of all that wait by then.
func (q *together[T]) do(m T, run func(batch []T)) {
	w := m.seat()
	w.wake = make(chan struct{})
	q.mu.Lock()
	q.waiting = append(q.waiting, m)
	if q.leading {
		q.mu.Unlock()
		if <-w.wake; !w.lead {
			return // made in another's batch
		}
		q.mu.Lock()
	}
	// m is the first waiting: it leads.
	q.leading = true
	if !w.lead {
		// Found nothing being made: let the requests that are running
		// arrive too and join the batch, for as long as any arrive. On
		// an idle server there are none, and this returns at once.
		for n := 0; n < len(q.waiting) && len(q.waiting) < maxBatch; {
			n = len(q.waiting)
			q.mu.Unlock()
			runtime.Gosched()
			q.mu.Lock()
		}
	}
	n := min(len(q.waiting), maxBatch)
	batch := append([]T(nil), q.waiting[:n]...)
	q.waiting = append(q.waiting[:0], q.waiting[n:]...)
	q.mu.Unlock()

	run(batch)

	q.mu.Lock()
	if len(q.waiting) > 0 {
		next := q.waiting[0].seat()
		next.lead = true
		close(next.wake)
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	for _, o := range batch[1:] {
		close(o.seat().wake)
	}
}
