package directory

import (
	"context"
	"time"
)

// ScheduleEvery is how often Run looks for syncs that are due.
const ScheduleEvery = time.Minute

// Run syncs each organization whose directory has a sync_interval when
// its interval has passed since its last sync, looking every
// ScheduleEvery until ctx is done. Instances sharing a database each run
// it; the lease lets one of them sync each time.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(ScheduleEvery)
	defer t.Stop()
	for {
		s.SyncDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncDue syncs, one after the other, the organizations whose sync is
// due now and whose lease it wins, and reports how many it synced. A
// failing sync is logged and leaves the others be.
func (s *Service) SyncDue(ctx context.Context) int {
	ds, err := s.Store.Directories(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log().Warn("directory: cannot read the directories to sync; trying again later", "err", err)
		}
		return 0
	}
	n := 0
	for _, d := range ds {
		set, err := decode(d.Settings)
		now := s.Clock.Now()
		if err != nil || set.SyncInterval <= 0 || set.Ready() != nil || now.Before(d.LastSyncAt.Add(set.SyncInterval)) || now.Before(d.LeaseUntil) {
			continue
		}
		ok, err := s.Store.ClaimScheduledSync(ctx, d.OrgID, d.LastSyncAt, now, now.Add(leaseFor))
		if err != nil || !ok {
			continue
		}
		org, err := s.Store.OrgByID(ctx, d.OrgID)
		if err != nil {
			s.Store.FinishDirectorySync(context.WithoutCancel(ctx), d.OrgID, now, "failed: "+err.Error())
			continue
		}
		_, password, err := s.load(ctx, d.OrgID)
		if err != nil {
			s.Store.FinishDirectorySync(context.WithoutCancel(ctx), d.OrgID, now, "failed: "+err.Error())
			s.log().Warn("directory: scheduled sync failed", "org", org.Slug, "err", err)
			continue
		}
		r, err := s.syncHeld(ctx, org, set, password)
		if err != nil {
			s.log().Warn("directory: scheduled sync failed; trying again at the next interval", "org", org.Slug, "err", err)
			continue
		}
		n++
		s.log().Info("directory: synced", "org", org.Slug, "summary", r.Summary())
	}
	return n
}
