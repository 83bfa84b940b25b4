package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

func TestPragmas(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "gavel.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	// Hold several connections at once so each pooled one is checked.
	conns := make([]func() error, 0, 3)
	for range 3 {
		c, err := s.db.Conn(t.Context())
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		conns = append(conns, c.Close)
		tests := []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"foreign_keys", "1"},
			{"busy_timeout", "5000"},
			{"synchronous", "1"}, // NORMAL
			{"wal_autocheckpoint", "0"},
		}
		for _, tt := range tests {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
			}
		}
	}
	for _, c := range conns {
		c()
	}
}

func TestBuildDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn  string
		want       string
		wantMemory bool
	}{
		{"path", "gavel.db", "gavel.db?_pragma=busy_timeout%285000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_pragma=wal_autocheckpoint%280%29&_txlock=immediate", false},
		{"own busy timeout kept", "file:x.db?_pragma=busy_timeout(100)",
			"file:x.db?_pragma=busy_timeout%28100%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_pragma=wal_autocheckpoint%280%29&_txlock=immediate", false},
		{"memory", ":memory:", ":memory:?_pragma=busy_timeout%285000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_pragma=wal_autocheckpoint%280%29&_txlock=immediate", true},
		{"memory URI", "file:x?mode=memory&cache=shared", "", true},
	}
	for _, tt := range tests {
		got, memory, err := buildDSN(tt.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("%s: buildDSN(%q) =\n%s\nwant\n%s", tt.name, tt.dsn, got, tt.want)
		}
		if memory != tt.wantMemory {
			t.Errorf("%s: memory = %v, want %v", tt.name, memory, tt.wantMemory)
		}
	}
}

func TestClaimPlanUsesIndexes(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "gavel.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	rows, err := s.db.QueryContext(t.Context(), `EXPLAIN QUERY PLAN
		SELECT j.id FROM jobs AS j
		WHERE j.finished_at IS NULL AND j.not_before <= 1 AND j.lease_until <= 1
		  AND NOT EXISTS (SELECT 1 FROM jobs AS e
			WHERE e.finished_at IS NULL AND e.chat_key = j.chat_key AND e.id < j.id)
		ORDER BY j.id LIMIT 4`)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatalf("scan: %v", err)
		}
		plan = append(plan, detail)
	}
	t.Logf("claim plan: %q", plan)
	for _, d := range plan {
		if d == "SCAN j" || d == "SCAN e" {
			t.Errorf("claim query scans the whole jobs table: %q", plan)
		}
	}
}

// TestCheckpoints: commits never checkpoint (the WAL grows past SQLite's
// automatic threshold of 1,000 pages), and the background checkpointer
// copies what they wrote back into the database.
func TestCheckpoints(t *testing.T) {
	t.Parallel()
	// fill writes more than 1,000 pages of jobs.
	fill := func(t *testing.T, s *Store) {
		t.Helper()
		text := strings.Repeat("x", 64<<10)
		for i := range 80 {
			ev := moderation.Event{Kind: moderation.EventMessage, Platform: "tim", DeliveryID: fmt.Sprintf("d%d", i),
				Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: "g"}, Text: text}}
			if _, err := s.Enqueue(t.Context(), ev, time.Unix(1700000000, 0)); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
		}
	}

	t.Run("commits leave the WAL alone", func(t *testing.T) {
		t.Parallel()
		s, err := open(t.Context(), filepath.Join(t.TempDir(), "gavel.db"), time.Hour)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer s.Close()
		fill(t, s)
		var busy, frames, copied int
		if err := s.db.QueryRowContext(t.Context(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
			t.Fatalf("wal_checkpoint: %v", err)
		}
		if frames <= 1000 {
			t.Errorf("WAL holds %d frames after ~5 MB of commits; a commit checkpointed it", frames)
		}
	})

	t.Run("the checkpointer copies them back", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "gavel.db")
		s, err := open(t.Context(), path, 10*time.Millisecond)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		fill(t, s)
		// A checkpoint that started after the last commit: the
		// counter has moved twice since then.
		after := s.checkpoints.Load() + 2
		deadline := time.Now().Add(30 * time.Second)
		for s.checkpoints.Load() < after && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if s.checkpoints.Load() < after {
			t.Fatalf("no background checkpoint within 30s")
		}
		if frames, copied := s.walFrames.Load(), s.walCopied.Load(); frames == 0 || copied != frames {
			t.Fatalf("last background checkpoint: %d of the WAL's %d frames in the database; want all, and some", copied, frames)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Fatalf("second Close: %v", err)
		}
		// Close folded the WAL into the file: the file alone is complete.
		if err := os.Remove(path + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("removing the WAL: %v", err)
		}
		again, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("reopen without the WAL: %v", err)
		}
		defer again.Close()
		var n int
		if err := again.db.QueryRowContext(t.Context(), `SELECT count(*) FROM jobs`).Scan(&n); err != nil {
			t.Fatalf("count: %v", err)
		}
		if n != 80 {
			t.Errorf("jobs after reopening without the WAL = %d, want 80", n)
		}
	})
}
