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
	var done, failed int
	for _, r := range c.Results {
		if r.Status.Succeeded() {
			done++
		} else if r.Status != moderation.StatusSkipped {
			failed++
		}
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "case",
		slog.Int64("case", c.ID), slog.String("platform", c.Platform), slog.String("chat", c.ChatID),
		slog.String("event_id", c.DeliveryID), slog.String("actor", c.Actor), slog.String("action", string(c.Verb)),
		slog.Int("targets", len(c.Targets)), slog.Int("done", done), slog.Int("not_done", failed),
		slog.Bool("dry_run", c.DryRun), slog.String("outcome", c.Outcome))
	return nil
}
