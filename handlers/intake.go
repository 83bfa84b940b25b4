package handlers

import (
	"context"
	"fmt"
	"log/slog"

	"gavel/moderation"
)

// Intake is the one path from verified events to durable jobs, whichever
// way they arrived (a webhook route, Feishu's long connection): the
// de-duplication front, Submit, then Mark.
type Intake struct {
	queue Submitter
	dedup Deduper
	log   *slog.Logger
}

// NewIntake returns the intake storing events in queue behind dedup (the
// store de-duplicates again, durably).
func NewIntake(queue Submitter, dedup Deduper, log *slog.Logger) *Intake {
	if log == nil {
		log = slog.Default()
	}
	return &Intake{queue: queue, dedup: dedup, log: log}
}

// Intake results: every event stored or judged ordinary (accepted), at
// least one already seen (duplicate), none at all (ignored).
const (
	ResultAccepted  = "accepted"
	ResultDuplicate = "duplicate"
	ResultIgnored   = "ignored"
)

// Accept stores evs in order. It returns nil only once every event is
// stored (or known not to need storing, or already seen); an error means
// some event was not stored and the delivery must not be acknowledged, so
// that the platform delivers it again. Events before the failed one stay
// stored: the re-delivery finds them known.
func (in *Intake) Accept(ctx context.Context, evs []moderation.Event) (result string, err error) {
	result = ResultAccepted
	if len(evs) == 0 {
		result = ResultIgnored
	}
	for _, ev := range evs {
		seen, err := in.dedup.Seen(ctx, ev.DedupKeys)
		if err != nil {
			// The store de-duplicates durably; carry on without the front.
			in.log.Warn("de-duplication front unavailable", "err", err)
		}
		if seen {
			result = ResultDuplicate
			in.log.Info("duplicate delivery ignored", "event_id", ev.DeliveryID)
			continue
		}
		stored, err := in.queue.Submit(ctx, ev)
		if err != nil {
			return result, fmt.Errorf("event %s not stored: %w", ev.DeliveryID, err)
		}
		// Only stored events are remembered: a re-delivered ordinary
		// message changes nothing, and remembering every one would grow
		// memory with all traffic for the whole TTL.
		if stored {
			if err := in.dedup.Mark(ctx, ev.DedupKeys); err != nil {
				in.log.Warn("de-duplication front unavailable", "err", err)
			}
		}
		in.log.Debug("event accepted", "event_id", ev.DeliveryID, "kind", ev.Kind)
	}
	return result, nil
}
