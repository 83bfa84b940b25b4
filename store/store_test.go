package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/store"
	"gavel/store/postgres"
	"gavel/store/sqlite"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  store.Config
		want []string // substrings of the error; none → valid
	}{
		{"sqlite default driver", store.Config{DSN: "gavel.db"}, nil},
		{"sqlite", store.Config{Driver: "sqlite", DSN: "gavel.db", Retention: 90 * 24 * time.Hour}, nil},
		{"postgres", store.Config{Driver: "postgres", DSN: "postgres://localhost/gavel"}, nil},
		{"no dsn", store.Config{Driver: "sqlite"}, []string{"storage.dsn: must be set"}},
		{"unknown driver", store.Config{Driver: "mysql", DSN: "x"}, []string{`storage.driver: "mysql"`}},
		{"negative retention", store.Config{DSN: "x", Retention: -time.Hour}, []string{"storage.retention: must not be negative"}},
		{"negative dedup ttl", store.Config{DSN: "x", DedupTTL: -time.Hour}, []string{"server.dedup_ttl: must not be negative"}},
		{"all bad", store.Config{Driver: "x", Retention: -1}, []string{"storage.driver", "storage.dsn", "storage.retention"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := store.Open(ctx, store.Config{DSN: filepath.Join(t.TempDir(), "gavel.db"), DedupTTL: time.Hour})
	if err != nil {
		t.Fatalf("Open(sqlite): %v", err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if got := s.(*sqlite.Store).DedupTTL; got != time.Hour {
		t.Errorf("DedupTTL = %s, want 1h", got)
	}

	if _, err := store.Open(ctx, store.Config{Driver: "postgres", DSN: "postgres://%zz"}); err == nil ||
		!strings.Contains(err.Error(), "postgres") {
		t.Errorf("Open(postgres, bad DSN) = %v, want a postgres DSN error", err)
	}
	if _, err := store.Open(ctx, store.Config{}); err == nil || !strings.Contains(err.Error(), "storage.dsn") {
		t.Errorf("Open(empty config) = %v, want storage.dsn error", err)
	}
}

// TestOpenPostgres opens the postgres driver through Config, in a schema
// of its own; it needs GAVEL_TEST_POSTGRES (a URL DSN).
func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("GAVEL_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("GAVEL_TEST_POSTGRES not set: skipping PostgreSQL store tests")
	}
	ctx := t.Context()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "gavel_test_" + hex.EncodeToString(b[:])
	exec := func(sql string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE SCHEMA ` + schema)
	t.Cleanup(func() { exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("GAVEL_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	s, err := store.Open(ctx, store.Config{Driver: "postgres", DSN: u.String(), DedupTTL: time.Hour})
	if err != nil {
		t.Fatalf("Open(postgres): %v", err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if got := s.(*postgres.Store).DedupTTL; got != time.Hour {
		t.Errorf("DedupTTL = %s, want 1h", got)
	}
}

// TestDefaultDedupTTLAgree: server.dedup_ttl's default and every driver's
// are one value, longer than Feishu's retry schedule (7h05m15s).
func TestDefaultDedupTTLAgree(t *testing.T) {
	t.Parallel()
	if sqlite.DefaultDedupTTL != store.DefaultDedupTTL || postgres.DefaultDedupTTL != store.DefaultDedupTTL {
		t.Fatalf("defaults differ: store %s, sqlite %s, postgres %s", store.DefaultDedupTTL, sqlite.DefaultDedupTTL, postgres.DefaultDedupTTL)
	}
	if retries := 15*time.Second + 5*time.Minute + time.Hour + 6*time.Hour; store.DefaultDedupTTL <= retries {
		t.Fatalf("DefaultDedupTTL %s does not outlast Feishu's retries (%s)", store.DefaultDedupTTL, retries)
	}
}
