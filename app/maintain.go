package app

import (
	"context"
	"time"
)

// maintain ends timed mutes, bans and locks, makes scheduled locks and
// purges old cases until ctx ends. Every
// replica runs it; the store makes each deletion happen once.
func (a *App) maintain(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	a.stopMu.Lock()
	a.stopMaint = cancel
	a.stopMu.Unlock()
	// Every second: the pipeline ends expired mutes and reloads its mute
	// index (so a mute another replica imposed is enforced here within a
	// second).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := a.now()
		// Mutes are the pipeline's (one component: records, index,
		// enforcement, expiry).
		if err := a.Pipeline.MaintainMutes(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("mute maintenance failed", "err", err)
		}
		// Bans and locks: the index reloaded, ended ones and scheduled
		// locks submitted as timer jobs (once across replicas).
		if err := a.Pipeline.MaintainSanctions(ctx, a.Jobs.Submit); err != nil && ctx.Err() == nil {
			a.log.Error("sanction maintenance failed", "err", err)
		}
		if ret := a.cfg.Storage.Retention; ret > 0 && now.Sub(lastPurge) >= time.Hour {
			lastPurge = now
			n, err := a.Store.PurgeCases(ctx, now.Add(-ret))
			if err != nil {
				a.log.Error("purging old cases failed", "err", err)
			} else if n > 0 {
				a.log.Info("purged old cases", "cases", n, "older_than", ret)
			}
		}
	}
}

func (a *App) stopMaintenance() {
	a.stopMu.Lock()
	defer a.stopMu.Unlock()
	if a.stopMaint != nil {
		a.stopMaint()
	}
}
