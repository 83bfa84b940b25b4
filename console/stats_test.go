package console

import (
	"log/slog"
	"testing"
	"time"

	"gavel/moderation"
)

// TestRecorder: webhook counts and a queue sample reach the store's
// hourly figures, adding up across flushes.
func TestRecorder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	rec := NewRecorder(e.store, e.clock, slog.New(slog.DiscardHandler))
	for range 3 {
		rec.Webhook("tim", "accepted", time.Millisecond)
	}
	rec.Webhook("tim", "rejected_bad_signature", time.Millisecond)
	ev := moderation.Event{Kind: moderation.EventMessage, Platform: "tim", DeliveryID: "q1", DedupKeys: []string{"q1"},
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: "g"}, MessageID: "m", SenderID: "u", Text: "x"}}
	if _, err := e.store.Enqueue(t.Context(), ev, e.clock()); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec.Webhook("tim", "accepted", time.Millisecond)
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	since := e.clock().Add(-time.Hour)
	hooks, err := e.store.Stats(t.Context(), seriesWebhooks, since)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, p := range hooks {
		got[p.Key] += p.N
	}
	if got["tim/accepted"] != 4 || got["tim/rejected_bad_signature"] != 1 {
		t.Errorf("webhook figures %v, want tim/accepted 4, tim/rejected_bad_signature 1", got)
	}
	queue, err := e.store.Stats(t.Context(), seriesQueue, since)
	if err != nil || len(queue) != 1 || queue[0].N != 1 {
		t.Errorf("queue figures %+v, %v; want one hour at depth 1", queue, err)
	}
	c := gaugeChart(since, 2, queue)
	if len(c.Totals) != 1 || c.Totals[0].N != 1 {
		t.Errorf("queue legend %+v, want its peak 1", c.Totals)
	}
}
