package app

import (
	"context"
	"time"
)

// maintain ends timed mutes and purges old cases until ctx ends. Every
// replica runs it; the store makes each deletion happen once.
func (a *App) maintain(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	a.stopMu.Lock()
	a.stopMaint = cancel
	a.stopMu.Unlock()
	// Every second: end expired mutes and reload the mute index (so a mute
	// another replica imposed is enforced here within a second).
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
		a.endMutes(ctx, now)
		if err := a.Pipeline.RefreshMutes(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("refreshing the mute index failed", "err", err)
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

// endMutes drops the records of mutes that have run out. Emulated mutes
// end with their record (Gavel stops recalling); native ones were ended by
// the platform itself and the record only served /unmute and the audit.
func (a *App) endMutes(ctx context.Context, now time.Time) {
	for {
		mutes, err := a.Store.ExpiredMutes(ctx, now, 100)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("listing expired mutes failed", "err", err)
			}
			return
		}
		for _, m := range mutes {
			if err := a.Store.DeleteMutes(ctx, m.Chat, m.UserID); err != nil {
				a.log.Error("ending mute failed", "platform", m.Chat.Platform, "chat", m.Chat.ID, "user", m.UserID, "err", err)
				return
			}
			a.log.Info("mute ended", "platform", m.Chat.Platform, "chat", m.Chat.ID, "user", m.UserID, "emulated", m.Emulated, "until", m.Until)
		}
		if len(mutes) < 100 {
			return
		}
	}
}
