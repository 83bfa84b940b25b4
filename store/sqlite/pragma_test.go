package sqlite

import (
	"path/filepath"
	"testing"
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
		{"path", "gavel.db", "gavel.db?_pragma=busy_timeout%285000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_txlock=immediate", false},
		{"own busy timeout kept", "file:x.db?_pragma=busy_timeout(100)",
			"file:x.db?_pragma=busy_timeout%28100%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_txlock=immediate", false},
		{"memory", ":memory:", ":memory:?_pragma=busy_timeout%285000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_txlock=immediate", true},
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
