package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/store/sqlite"
	"gavel/store/storetest"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func openFile(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) moderation.Store {
		return openFile(t, filepath.Join(t.TempDir(), "gavel.db"))
	})
}

func TestConformanceMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) moderation.Store {
		return openFile(t, ":memory:")
	})
}

func event(chat, delivery string) moderation.Event {
	return moderation.Event{
		Kind: moderation.EventMessage, Platform: "test", DeliveryID: delivery, DedupKeys: []string{delivery},
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "test", ID: chat}, Text: "/kick @x"},
	}
}

func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gavel.db")
	storetest.Restart(t, func(t *testing.T) moderation.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func userVersion(t testing.TB, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(t.Context(), `PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatalf("user_version: %v", err)
	}
	return v
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gavel.db")

	s := openFile(t, path)
	if _, err := s.Enqueue(ctx, event("c1", "d1"), t0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	s.Close()
	v := userVersion(t, path)
	if v < 1 {
		t.Fatalf("user_version after Open = %d, want ≥ 1", v)
	}

	// Open again, sequentially and then several at once (processes
	// starting together): no migration runs twice, no data is lost.
	openFile(t, path).Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	if got := userVersion(t, path); got != v {
		t.Fatalf("user_version after re-opening = %d, want %d", got, v)
	}
	s = openFile(t, path)
	if n, _, err := s.Pending(ctx, t0); err != nil || n != 1 {
		t.Fatalf("Pending after re-opening = %d, %v; want 1", n, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gavel.db")
	openFile(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	if _, err := db.ExecContext(t.Context(), `PRAGMA user_version = 999`); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	db.Close()
	s, err := sqlite.Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer build succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open error = %v, want it to say the schema is newer", err)
	}
}

// TestTwoProcesses claims from two Stores on one file, as two Gavel
// processes sharing a database would: the in-process write lock does not
// help, so IMMEDIATE transactions and busy_timeout must.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gavel.db")
	a, b := openFile(t, path), openFile(t, path)
	const jobs = 200
	for i := range jobs {
		if _, err := a.Enqueue(ctx, event(fmt.Sprint("c", i), fmt.Sprint("d", i)), t0); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, 4)
	for i, s := range []*sqlite.Store{a, b, a, b} {
		wg.Go(func() {
			name := fmt.Sprint("w", i)
			for {
				got, err := s.Claim(ctx, name, 3, time.Hour, t0)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, j := range got {
					mu.Lock()
					seen[j.ID]++
					mu.Unlock()
					if err := s.Finish(ctx, j.ID, name); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != jobs {
		t.Fatalf("%d jobs claimed, want %d", len(seen), jobs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
}

func TestDedupTTL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openFile(t, filepath.Join(t.TempDir(), "gavel.db"))
	if s.DedupTTL != sqlite.DefaultDedupTTL {
		t.Fatalf("DedupTTL = %s, want %s", s.DedupTTL, sqlite.DefaultDedupTTL)
	}
	s.DedupTTL = time.Hour
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"first", t0, true},
		{"just before expiry", t0.Add(time.Hour - time.Nanosecond), false},
		{"at expiry", t0.Add(time.Hour), true},
	}
	for _, tt := range tests {
		got, err := s.Enqueue(ctx, event("c1", "d1"), tt.at)
		if err != nil {
			t.Fatalf("%s: Enqueue: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: created = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestOpenDSN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		dsn     string
		wantErr string
	}{
		{"path", filepath.Join(dir, "a.db"), ""},
		{"file URI with params", "file:" + filepath.Join(dir, "b.db") + "?_pragma=busy_timeout(100)", ""},
		{"memory", ":memory:", ""},
		{"empty", "", "empty dsn"},
		{"deferred txlock", filepath.Join(dir, "c.db") + "?_txlock=deferred", "immediate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlite.Open(context.Background(), tt.dsn)
			if tt.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%q) succeeded, want error containing %q", tt.dsn, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%q) = %v, want error containing %q", tt.dsn, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.dsn, err)
			}
			defer s.Close()
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) moderation.Store {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "gavel.db"))
		if err != nil {
			b.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestBadOutcomeOnRead: a case whose stored outcome no Gavel version
// writes is an error on read, not a string passed on.
func TestBadOutcomeOnRead(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gavel.db")
	s := openFile(t, path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()
	for i, outcome := range []string{"done", "bogus"} {
		if _, err := db.ExecContext(t.Context(), `
			INSERT INTO cases (delivery_id, platform, chat_id, verb, targets, decisions, results, outcome, at)
			VALUES (?, 'test', 'c1', 'kick', '[]', '[]', '[]', ?, 1)`, fmt.Sprint("d", i), outcome); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	storetest.WantBadOutcome(t, s, 1, 2)
}
