package pipeline

import (
	"context"
	"log/slog"
	"sync/atomic"

	"gavel/moderation"
)

// Auditor records cases.
type Auditor interface {
	Record(ctx context.Context, c *moderation.Case) error
}

// StoreAuditor stores cases (numbered by the store) and logs each.
type StoreAuditor struct {
	Store moderation.Store
	Log   *slog.Logger
}

// Record stores c, setting c.ID.
func (a *StoreAuditor) Record(ctx context.Context, c *moderation.Case) error {
	if err := a.Store.AddCase(ctx, c); err != nil {
		return err
	}
	logCase(ctx, a.Log, c)
	return nil
}

// LogAuditor numbers cases and writes each as one structured log line.
type LogAuditor struct {
	log  *slog.Logger
	next atomic.Int64
}

// NewLogAuditor returns a LogAuditor writing to log.
func NewLogAuditor(log *slog.Logger) *LogAuditor { return &LogAuditor{log: log} }

// Record assigns c an ID and logs it.
func (a *LogAuditor) Record(ctx context.Context, c *moderation.Case) error {
	c.ID = a.next.Add(1)
	logCase(ctx, a.log, c)
	return nil
}

func logCase(ctx context.Context, log *slog.Logger, c *moderation.Case) {
	var done, failed int
	for _, r := range c.Results {
		if r.Status.Succeeded() {
			done++
		} else if r.Status != moderation.StatusSkipped {
			failed++
		}
	}
	log.LogAttrs(ctx, slog.LevelInfo, "case",
		slog.Int64("case", c.ID), slog.String("platform", c.Platform), slog.String("chat", c.ChatID),
		slog.String("event_id", c.DeliveryID), slog.String("actor", c.Actor), slog.String("action", string(c.Verb)),
		slog.Int("targets", len(c.Targets)), slog.Int("done", done), slog.Int("not_done", failed),
		slog.Bool("dry_run", c.DryRun), slog.String("outcome", string(c.Outcome)))
}
