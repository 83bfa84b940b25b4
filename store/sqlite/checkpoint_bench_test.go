package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gavel/moderation"
)

// BenchmarkCommitTail records a mass action's results, 100 per commit as
// TIM's batches come, and reports the slowest commits: with SQLite's
// automatic checkpoint ("auto") the commit that crosses 1,000 WAL pages
// pays for the checkpoint; with the background checkpointer none does.
func BenchmarkCommitTail(b *testing.B) {
	for _, mode := range []string{"auto", "background"} {
		b.Run(mode, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "gavel.db")
			if mode == "auto" {
				dsn += "?_pragma=wal_autocheckpoint(1000)"
			}
			s, err := open(b.Context(), dsn, checkpointEvery)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Unix(1700000000, 0)
			ev := moderation.Event{Kind: moderation.EventMessage, Platform: "tim", DeliveryID: "d",
				Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: "g"}, Text: "/kick"}}
			if _, err := s.Enqueue(b.Context(), ev, now); err != nil {
				b.Fatal(err)
			}
			jobs, err := s.Claim(b.Context(), "w", 1, time.Hour, now)
			if err != nil || len(jobs) != 1 {
				b.Fatalf("Claim: %v, %d jobs", err, len(jobs))
			}
			var lat []time.Duration
			res := make([]moderation.Result, 100)
			n := 0
			for b.Loop() {
				for i := range res {
					res[i] = moderation.Result{UserID: fmt.Sprintf("u%08d", n), Status: moderation.StatusDone}
					n++
				}
				start := time.Now()
				if err := s.RecordResults(b.Context(), jobs[0].ID, moderation.ActionStep(moderation.VerbKick), res); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*999/1000].Microseconds()), "p99.9-µs")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
		})
	}
}
