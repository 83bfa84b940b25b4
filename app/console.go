package app

import (
	"context"
	"time"

	"gavel/console"
	"gavel/handlers"
)

// observers hands each delivery to several observers: Prometheus and
// the console's figures.
type observers []handlers.Observer

func (o observers) Webhook(platform, result string, took time.Duration) {
	for _, x := range o {
		x.Webhook(platform, result, took)
	}
}

// health is the console overview's checks: the store, Redis and each
// platform's credentials as the platform last answered.
func (a *App) health(ctx context.Context) []console.Check {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	checks := []console.Check{{Name: "store", Err: a.Store.Ping(ctx)}}
	if a.Cluster != nil {
		checks = append(checks, console.Check{Name: "redis", Err: a.Cluster.Ping(ctx)})
	}
	checks = append(checks, console.Check{Name: "platform credentials", Err: a.Metrics.CredentialsOK()})
	return checks
}

// runConsole writes the console's figures every minute and deletes
// expired sessions every hour, until ctx ends.
func (a *App) runConsole(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	var lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := a.Figures.Flush(last); err != nil {
				a.log.Warn("console: last flush of figures failed", "err", err)
			}
			cancel()
			return
		case <-tick.C:
		}
		if err := a.Figures.Flush(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("console: flushing figures failed; kept for the next minute", "err", err)
		}
		if _, err := a.Store.RollupCases(ctx, a.now()); err != nil && ctx.Err() == nil {
			a.log.Warn("console: counting cases by the hour failed; the overview counts them from the cases meanwhile", "err", err)
		}
		if now := a.now(); now.Sub(lastPurge) >= time.Hour && a.Console != nil {
			lastPurge = now
			if err := a.Console.PurgeSessions(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("console: purging expired sessions failed", "err", err)
			}
		}
	}
}
