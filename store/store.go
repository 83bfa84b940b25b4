// Package store configures and opens Gavel's durable store
// (moderation.Store): the job queue, per-target results, audit cases and
// mutes. The embedded SQLite store is the default; PostgreSQL serves
// several processes sharing one database.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/store/postgres"
	"gavel/store/sqlite"
)

// Drivers Config.Driver accepts.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config is the `storage:` block of config.yaml.
type Config struct {
	// Driver is "sqlite" (the default) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is, for sqlite, a file path or a "file:" URI; Gavel adds the
	// pragmas it needs (WAL, busy_timeout, foreign_keys, synchronous).
	// For postgres it is a libpq connection string, URL or key=value
	// ("postgres://gavel:${PGPASSWORD}@db:5432/gavel?sslmode=verify-full");
	// search_path=<schema> puts Gavel's tables in an existing schema other
	// than the default, and pgxpool's pool_max_conns sizes the pool.
	DSN string `yaml:"dsn"`
	// Retention is how long audit cases and finished jobs are kept; zero
	// keeps them forever. The caller purges with
	// Store.PurgeCases(now - Retention).
	Retention time.Duration `yaml:"retention"`
	// DedupTTL is how long a delivery's dedup keys block re-deliveries;
	// zero means the driver's default (DefaultDedupTTL). It is not a key of
	// its own: config composes it from server.dedup_ttl.
	DedupTTL time.Duration `yaml:"-"`
}

// DefaultDedupTTL is server.dedup_ttl's default and every driver's: it
// outlasts Feishu's retry schedule (re-pushes up to 7h05m after a failed
// delivery), so a late re-push is still recognised.
const DefaultDedupTTL = 8 * time.Hour

// Validate reports every bad key, naming it: `storage.dsn: must be set`.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("storage.%s: "+format, append([]any{key}, args...)...))
	}
	switch c.Driver {
	case "", DriverSQLite, DriverPostgres:
	default:
		bad("driver", "%q is not sqlite or postgres", c.Driver)
	}
	if c.DSN == "" {
		bad("dsn", "must be set")
	}
	if c.Retention < 0 {
		bad("retention", "must not be negative, got %s", c.Retention)
	}
	if c.DedupTTL < 0 {
		errs = append(errs, fmt.Errorf("server.dedup_ttl: must not be negative, got %s", c.DedupTTL))
	}
	return errors.Join(errs...)
}

// Open validates cfg and opens the store it names, applying any schema
// migrations. The caller closes it.
func Open(ctx context.Context, cfg Config) (moderation.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Driver {
	case "", DriverSQLite:
		s, err := sqlite.Open(ctx, cfg.DSN)
		if err != nil {
			return nil, err
		}
		if cfg.DedupTTL > 0 {
			s.DedupTTL = cfg.DedupTTL
		}
		return s, nil
	case DriverPostgres:
		s, err := postgres.Open(ctx, cfg.DSN)
		if err != nil {
			return nil, err
		}
		if cfg.DedupTTL > 0 {
			s.DedupTTL = cfg.DedupTTL
		}
		return s, nil
	default:
		return nil, fmt.Errorf("storage.driver: unknown driver %q", cfg.Driver)
	}
}
