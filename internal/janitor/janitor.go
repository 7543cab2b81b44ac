// Package janitor removes rows that have outlived their use: sessions past
// their absolute expiry, expired challenges that no send limit counts any
// more, and audit events older than their organization's audit_retention.
// Every instance runs one; each purge is a single DELETE, so instances
// sharing a database do not get in each other's way.
package janitor

import (
	"context"
	"log/slog"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/policy"
	"github.com/twofold-mfa/twofold/internal/store"
)

// Store is what the janitor purges.
type Store interface {
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	DeleteExpiredChallenges(ctx context.Context, now time.Time, keep time.Duration) (int64, error)
	DeleteSpentLeftovers(ctx context.Context, now time.Time, keepReplaced time.Duration) (tempCodes, replaced int64, err error)
	OrgPolicies(ctx context.Context) ([]store.Org, error)
	PurgeEvents(ctx context.Context, orgID int64, before time.Time, e store.Event) (int64, error)
	PurgeOIDC(ctx context.Context, now time.Time) (int64, error)
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
	tempCodes, replaced, err := j.c.Store.DeleteSpentLeftovers(ctx, now, policy.MaxEnrollmentLifetime)
	if err != nil && ctx.Err() == nil {
		j.c.Log.Warn("janitor: cannot remove spent temporary codes and old replaced links; trying again later", "err", err)
	}
	if tempCodes > 0 || replaced > 0 {
		j.c.Log.Info("janitor: removed spent rows", "temp_codes", tempCodes, "replaced_links", replaced)
	}
	oidc, err := j.c.Store.PurgeOIDC(ctx, now)
	if err != nil && ctx.Err() == nil {
		j.c.Log.Warn("janitor: cannot remove expired single sign-on requests and tokens; trying again later", "err", err)
	}
	if oidc > 0 {
		j.c.Log.Info("janitor: removed expired single sign-on rows", "oidc", oidc)
	}
	j.purgeAudit(ctx, now)
}

// purgeAudit removes each organization's audit events older than its
// audit_retention; an organization that keeps them forever (0) is left
// alone. Each removal is itself an audit event of that organization.
func (j *Janitor) purgeAudit(ctx context.Context, now time.Time) {
	orgs, err := j.c.Store.OrgPolicies(ctx)
	if err != nil {
		if ctx.Err() == nil {
			j.c.Log.Warn("janitor: cannot read the organizations to purge old audit events; trying again later", "err", err)
		}
		return
	}
	for _, org := range orgs {
		// Decode, not Parse: another setting out of range does not make
		// the retention wrong. A retention out of range is, and is skipped.
		p, err := policy.Decode(org.Policy)
		if err != nil {
			j.c.Log.Warn("janitor: cannot read an organization's policy; its audit events are kept", "org", org.Slug, "err", err)
			continue
		}
		keep, retention := p.AuditRetention.D(), setting(p, "audit_retention")
		if keep == 0 {
			continue
		}
		if keep < policy.MinAuditRetention || keep > policy.MaxAuditRetention {
			j.c.Log.Warn("janitor: audit_retention is out of range (24h to 87600h); the organization's audit events are kept",
				"org", org.Slug, "audit_retention", retention)
			continue
		}
		e := store.Event{At: now, Actor: "janitor", Action: "audit.purge", Target: org.Slug, Result: "ok",
			Detail: "(audit_retention=" + retention + ")"}
		n, err := j.c.Store.PurgeEvents(ctx, org.ID, now.Add(-keep), e)
		if err != nil {
			if ctx.Err() == nil {
				j.c.Log.Warn("janitor: cannot remove old audit events; trying again later", "org", org.Slug, "err", err)
			}
			continue
		}
		if n > 0 {
			j.c.Log.Info("janitor: removed old audit events", "org", org.Slug, "events", n, "audit_retention", retention)
		}
	}
}

// setting returns the value of p's setting key as operators write it (72h, not 72h0m0s).
func setting(p policy.Policy, key string) string {
	for _, s := range p.Settings() {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
