package push

import (
	"context"
	"log/slog"
	"sync"

	"github.com/twofold-mfa/twofold/internal/auth"
)

// Notifiers tells each of its notifiers of every push request, as the
// webhook and Web Push both are.
type Notifiers []auth.PushNotifier

// PushWaiting tells each notifier of n; none blocks.
func (ns Notifiers) PushWaiting(ctx context.Context, n auth.PushNotice) {
	for _, x := range ns {
		x.PushWaiting(ctx, n)
	}
}

// background runs a bounded number of deliveries beside the requests that
// start them: a sign-in never waits for a notification, and a delivery
// beyond the bound is dropped with a warning rather than queued without end.
type background struct {
	once  sync.Once
	slots chan struct{}
	jobs  sync.WaitGroup
}

// backgroundSlots bounds the deliveries under way.
const backgroundSlots = 64

// start runs fn in the background with ctx stripped of its cancellation,
// logging its error under what; or drops it when too many are under way.
func (b *background) start(ctx context.Context, log *slog.Logger, what, request string, fn func(context.Context) error) {
	b.once.Do(func() { b.slots = make(chan struct{}, backgroundSlots) })
	select {
	case b.slots <- struct{}{}:
	default:
		log.Warn(what+": too many deliveries under way; notice dropped", "request", request)
		return
	}
	b.jobs.Add(1)
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer func() { <-b.slots; b.jobs.Done() }()
		if err := fn(ctx); err != nil {
			log.Warn(what+": notice not delivered", "request", request, "err", err)
		}
	}()
}

// Wait blocks until the deliveries under way are done, so that a server
// shutting down delivers what it began.
func (b *background) Wait() { b.jobs.Wait() }
