package console

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"gavel/moderation"
)

// Series the recorder writes.
const (
	seriesWebhooks = "webhooks"
	seriesQueue    = "queue"
)

// Recorder counts webhook deliveries by platform and result (it is a
// handlers.Observer) and samples the queue's depth, and writes both into
// the store's hourly figures every minute: the overview charts them for
// the last 24 h and 7 d, the same on every replica (counters add up,
// the queue keeps each hour's largest sample).
type Recorder struct {
	store moderation.Store
	now   func() time.Time
	log   *slog.Logger
	mu    sync.Mutex
	// counts is what arrived since the last flush, by "platform/result".
	counts map[string]int64
}

// NewRecorder returns a recorder writing into st.
func NewRecorder(st moderation.Store, now func() time.Time, log *slog.Logger) *Recorder {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{store: st, now: now, log: log, counts: map[string]int64{}}
}

// Webhook counts one delivery (handlers.Observer).
func (r *Recorder) Webhook(platform, result string, _ time.Duration) {
	r.mu.Lock()
	r.counts[platform+"/"+result]++
	r.mu.Unlock()
}

// Flush writes the counts and a queue sample. On an error the counts
// are kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	now := r.now()
	r.mu.Lock()
	counts := r.counts
	r.counts = map[string]int64{}
	r.mu.Unlock()
	var pts []moderation.StatPoint
	for k, n := range counts {
		pts = append(pts, moderation.StatPoint{Series: seriesWebhooks, Key: k, Hour: now, N: n})
	}
	if err := r.store.AddStats(ctx, false, pts...); err != nil {
		r.mu.Lock()
		for k, n := range counts {
			r.counts[k] += n
		}
		r.mu.Unlock()
		return err
	}
	n, _, err := r.store.Pending(ctx, now)
	if err != nil {
		return err
	}
	return r.store.AddStats(ctx, true, moderation.StatPoint{Series: seriesQueue, Key: "depth", Hour: now, N: int64(n)})
}
