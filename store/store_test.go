package store_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gavel/store"
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

	if _, err := store.Open(ctx, store.Config{Driver: "postgres", DSN: "postgres://localhost/gavel"}); err == nil ||
		!strings.Contains(err.Error(), "not built yet") {
		t.Errorf("Open(postgres) = %v, want a not-built-yet error", err)
	}
	if _, err := store.Open(ctx, store.Config{}); err == nil || !strings.Contains(err.Error(), "storage.dsn") {
		t.Errorf("Open(empty config) = %v, want storage.dsn error", err)
	}
}
