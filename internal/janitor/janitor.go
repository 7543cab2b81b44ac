// Package janitor removes rows that have outlived their use: sessions past
// their absolute expiry, and expired challenges that no send limit counts
// any more. Every instance runs one; each purge is a single DELETE, so
// instances sharing a database do not get in each other's way.
package janitor

import (
	"context"
	"log/slog"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/policy"
)

// Store is what the janitor purges.
type Store interface {
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	DeleteExpiredChallenges(ctx context.Context, now time.Time, keep time.Duration) (int64, error)
}

// DefaultEvery is how often a Janitor purges unless told otherwise.
const DefaultEvery = 10 * time.Minute

// keepChallenges is how long past its expiry and last send a challenge
// is kept: the longest send-limit window any policy may set, so every
// organization's limit still counts the codes it mailed.
const keepChallenges = policy.MaxEmailResendWindow

// Config holds a Janitor's parts.
type Config struct {
	Store Store
	Clock clock.Clock
	Log   *slog.Logger
	Every time.Duration // between purges; 0: DefaultEvery
}

// Janitor purges expired rows periodically.
type Janitor struct {
	c Config
}

// New returns a Janitor.
func New(c Config) *Janitor {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	return &Janitor{c: c}
}

// Run purges at once, then every Every, until ctx is done.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.c.Every)
	defer t.Stop()
	j.run(ctx, t.C)
}

// run purges at once and on every tick until ctx is done.
func (j *Janitor) run(ctx context.Context, tick <-chan time.Time) {
	for {
		j.purge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// purge makes both purges once; one failing does not stop the other. It
// says how many rows went only when some did, so a quiet server logs
// nothing.
func (j *Janitor) purge(ctx context.Context) {
	now := j.c.Clock.Now()
	sessions, err := j.c.Store.DeleteExpiredSessions(ctx, now)
	if err != nil && ctx.Err() == nil {
		j.c.Log.Warn("janitor: cannot remove expired sessions; trying again later", "err", err)
	}
	challenges, err := j.c.Store.DeleteExpiredChallenges(ctx, now, keepChallenges)
	if err != nil && ctx.Err() == nil {
		j.c.Log.Warn("janitor: cannot remove expired challenges; trying again later", "err", err)
	}
	if sessions > 0 || challenges > 0 {
		j.c.Log.Info("janitor: removed expired rows", "sessions", sessions, "challenges", challenges)
	}
}
