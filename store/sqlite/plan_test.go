package sqlite

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gavel/moderation"
	"gavel/store/storetest"
)

// fullScan matches a query-plan step that reads a whole table without an
// index; json_each and other virtual tables are fine.
var fullScan = regexp.MustCompile(`^SCAN (\w+)$`)

// TestQueriesUseIndexes runs the conformance suite, which exercises every
// store method, then asks SQLite how it executes each statement the store
// ran: none may scan a whole table, whose cost would grow with history
// (a case lookup once scanned every case ever recorded).
func TestQueriesUseIndexes(t *testing.T) {
	seen := &seenQueries{m: map[string]bool{}}
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) moderation.Store {
			s, err := Open(t.Context(), filepath.Join(t.TempDir(), "gavel.db"))
			if err != nil {
				t.Fatal(err)
			}
			return recordingStore{s, seen}
		})
	})
	queries := seen.m
	if len(queries) < 20 {
		t.Fatalf("only %d distinct statements seen; is the statement cache in use?", len(queries))
	}
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range slices.Sorted(func(yield func(string) bool) {
		for q := range queries {
			if !yield(q) {
				return
			}
		}
	}) {
		rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, placeholders(q)...)
		if err != nil {
			t.Errorf("EXPLAIN %s: %v", q, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if m := fullScan.FindStringSubmatch(step); m != nil && !strings.HasPrefix(m[1], "json_each") && !scanAllowed(q) {
				t.Errorf("statement scans table %s:\n%s\nplan: %s", m[1], strings.TrimSpace(q), strings.Join(plan, " | "))
			}
		}
	}
}

// scanAllowed tells the statements that read a table in full by design:
// the operator's case listing (newest first, stopped by its limit) and the
// lists of active mutes and sanctions (expired rows are deleted, so the
// tables hold only what the lists return) and the console's list of its
// accounts (a handful of admins). The console's rollup scans only its
// own subqueries over an id range of cases.
func scanAllowed(q string) bool {
	q = strings.Join(strings.Fields(q), " ")
	return strings.Contains(q, "FROM cases") && strings.HasSuffix(strings.TrimSuffix(q, " LIMIT ?"), "ORDER BY id DESC") ||
		strings.Contains(q, "FROM mutes WHERE (until IS NULL OR until > ?) AND (emulated OR NOT ?)") ||
		strings.Contains(q, "FROM sanctions WHERE until IS NULL OR until > ? ORDER BY") ||
		strings.Contains(q, "FROM console_users ORDER BY name") ||
		strings.Contains(q, "INSERT INTO case_hours") || strings.Contains(q, "ORDER BY id LIMIT ?3) chunk")
}

// placeholders returns a NULL argument for each parameter of q, which
// uses either ? or ?N throughout.
func placeholders(q string) []any {
	n := strings.Count(q, "?")
	if ms := numbered.FindAllStringSubmatch(q, -1); ms != nil {
		n = 0
		for _, m := range ms {
			i, _ := strconv.Atoi(m[1])
			n = max(n, i)
		}
	}
	return make([]any, n)
}

var numbered = regexp.MustCompile(`\?(\d+)`)

type seenQueries struct {
	mu sync.Mutex
	m  map[string]bool
}

// recordingStore notes the statements its Store ran before closing it.
type recordingStore struct {
	*Store
	seen *seenQueries
}

func (r recordingStore) Close() error {
	r.seen.mu.Lock()
	r.stmts.mu.Lock()
	for q := range r.stmts.m {
		r.seen.m[q] = true
	}
	for q := range r.stmts.missed {
		r.seen.m[q] = true
	}
	r.stmts.mu.Unlock()
	r.seen.mu.Unlock()
	return r.Store.Close()
}
