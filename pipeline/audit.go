package pipeline

import (
	"context"
	"log/slog"

	"gavel/moderation"
)

// Auditor receives cases instead of the store (Deps.Audit).
type Auditor interface {
	Record(ctx context.Context, c *moderation.Case) error
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
