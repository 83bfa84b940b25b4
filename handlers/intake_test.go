package handlers

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"gavel/moderation"
)

// TestIntake: the one path from events to the queue answers nil only once
// every event is stored or known, and remembers only stored events.
func TestIntake(t *testing.T) {
	t.Parallel()
	ev := func(id string) moderation.Event {
		return moderation.Event{DeliveryID: id, DedupKeys: []string{"k:" + id}}
	}
	tests := []struct {
		name       string
		seen       []string // keys the front already knows
		fail       bool
		evs        []moderation.Event
		wantResult string
		wantErr    bool
		wantQueued []string
		wantMarked []string
	}{
		{name: "none", wantResult: ResultIgnored},
		{name: "stored and marked", evs: []moderation.Event{ev("a"), ev("b")}, wantResult: ResultAccepted,
			wantQueued: []string{"a", "b"}, wantMarked: []string{"k:a", "k:b"}},
		{name: "ordinary event not remembered", evs: []moderation.Event{ev("chat1")}, wantResult: ResultAccepted, wantQueued: []string{"chat1"}},
		{name: "duplicate skipped", seen: []string{"k:a"}, evs: []moderation.Event{ev("a"), ev("b")}, wantResult: ResultDuplicate,
			wantQueued: []string{"b"}, wantMarked: []string{"k:a", "k:b"}},
		{name: "store failure is an error", fail: true, evs: []moderation.Event{ev("a")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := &recordingQueue{fail: tt.fail}
			d := NewLocalDedup(time.Hour)
			_ = d.Mark(context.Background(), tt.seen)
			in := NewIntake(q, d, slog.New(slog.DiscardHandler))
			result, err := in.Accept(context.Background(), tt.evs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && result != tt.wantResult {
				t.Errorf("result = %q, want %q", result, tt.wantResult)
			}
			if !slices.Equal(q.got, tt.wantQueued) {
				t.Errorf("queued %v, want %v", q.got, tt.wantQueued)
			}
			for _, k := range []string{"k:a", "k:b", "k:chat1"} {
				seen, _ := d.Seen(context.Background(), []string{k})
				if seen != slices.Contains(tt.wantMarked, k) {
					t.Errorf("key %s remembered = %v", k, seen)
				}
			}
		})
	}
}
