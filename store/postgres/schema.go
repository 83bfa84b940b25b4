package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gavel/store/internal/sqlrow"
)

// migrations[i] takes the schema from version i to i+1; the table
// gavel_schema_migrations has a row for each version applied. Append only:
// never edit a migration that has shipped.
//
// Documents (the event, case targets, decisions and results) are json, not
// jsonb: jsonb rejects the escape \u0000 that a chat message may carry, and
// Gavel never queries inside them.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE jobs (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id text   NOT NULL,
	-- platform:chat_id; NULL when the event names no chat, so it never
	-- waits for another job.
	chat_key    text,
	event       json   NOT NULL, -- moderation.Event
	attempts    integer NOT NULL DEFAULT 0,
	lease_owner text   NOT NULL DEFAULT '',
	lease_until bigint NOT NULL DEFAULT 0, -- Unix ns
	not_before  bigint NOT NULL DEFAULT 0, -- Unix ns
	last_error  text   NOT NULL DEFAULT '',
	created_at  bigint NOT NULL,           -- Unix ns
	finished_at bigint                     -- Unix ns; NULL while unfinished
);
-- Claim scans unfinished jobs in id order and looks for an earlier
-- unfinished job of the same chat; Pending reads the oldest.
CREATE INDEX jobs_open ON jobs (id) WHERE finished_at IS NULL;
CREATE INDEX jobs_open_chat ON jobs (chat_key, id) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_delivery ON jobs (delivery_id);

CREATE TABLE dedup_keys (
	key        text   PRIMARY KEY,
	job_id     bigint NOT NULL, -- informational: the job may be purged first
	expires_at bigint NOT NULL  -- Unix ns
);
CREATE INDEX dedup_keys_expires ON dedup_keys (expires_at);

CREATE TABLE job_results (
	job_id  bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	verb    text   NOT NULL,
	user_id text   NOT NULL,
	status  text   NOT NULL,
	reason  text   NOT NULL DEFAULT '',
	detail  text   NOT NULL DEFAULT '',
	PRIMARY KEY (job_id, verb, user_id)
);

CREATE TABLE cases (
	-- An identity never hands out a number twice, even after a purge.
	id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id text    NOT NULL,
	platform    text    NOT NULL,
	chat_id     text    NOT NULL,
	actor       text    NOT NULL DEFAULT '',
	rule        text    NOT NULL DEFAULT '',
	verb        text    NOT NULL,
	targets     json    NOT NULL, -- array of user ids
	reason      text    NOT NULL DEFAULT '',
	duration_ns bigint  NOT NULL DEFAULT 0,
	dry_run     boolean NOT NULL DEFAULT false,
	decisions   json    NOT NULL,
	results     json    NOT NULL,
	outcome     text    NOT NULL,
	at          bigint  NOT NULL  -- Unix ns
);
-- A re-run of a delivery after a crash finds the case it already wrote.
CREATE UNIQUE INDEX cases_delivery ON cases (delivery_id, verb, rule) WHERE delivery_id <> '';
CREATE INDEX cases_chat ON cases (platform, chat_id, id);
CREATE INDEX cases_at ON cases (at);

-- case_users indexes every case by its actor and each target.
CREATE TABLE case_users (
	case_id bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	user_id text   NOT NULL,
	PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_users_user ON case_users (user_id, case_id);

CREATE TABLE mutes (
	platform  text    NOT NULL,
	chat_id   text    NOT NULL,
	chat_kind text    NOT NULL DEFAULT '',
	user_id   text    NOT NULL,
	until     bigint,           -- Unix ns; NULL: until /unmute
	emulated  boolean NOT NULL DEFAULT false,
	case_id   bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (platform, chat_id, user_id)
);
CREATE INDEX mutes_until ON mutes (until) WHERE until IS NOT NULL;
`,
	// 2: warnings.
	`
CREATE TABLE warnings (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	platform text   NOT NULL,
	chat_id  text   NOT NULL,
	user_id  text   NOT NULL,
	key      text   NOT NULL UNIQUE,
	actor    text   NOT NULL DEFAULT '',
	rule     text   NOT NULL DEFAULT '',
	reason   text   NOT NULL DEFAULT '',
	at       bigint NOT NULL
);
CREATE INDEX warnings_user ON warnings (platform, chat_id, user_id, at);
`,
	// 3: bans and locks (issue #16).
	`
CREATE TABLE sanctions (
	verb      text   NOT NULL, -- ban or lock
	platform  text   NOT NULL,
	chat_id   text   NOT NULL,
	chat_kind text   NOT NULL DEFAULT '',
	user_id   text   NOT NULL, -- '' for a lock
	until     bigint,          -- Unix ns; NULL: until /unban or /unlock
	case_id   bigint NOT NULL DEFAULT 0, -- no foreign key: PurgeCases leaves sanctions alone
	PRIMARY KEY (verb, platform, chat_id, user_id)
);
CREATE INDEX sanctions_until ON sanctions (until) WHERE until IS NOT NULL;
`,
	// 4: the mod-log and /undo (issue #17): the case a case follows from,
	// the mod-log message posted for a case, and the links that make an
	// undo happen once.
	`
ALTER TABLE cases ADD COLUMN related bigint NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN post text NOT NULL DEFAULT ''; -- moderation.PostRef as JSON
CREATE INDEX cases_related ON cases (related) WHERE related <> 0;

-- case_links: at most one delivery answers a case in each kind ("undo"):
-- the primary key makes a second undo of a case, from another chat or
-- another replica, do nothing.
CREATE TABLE case_links (
	case_id     bigint NOT NULL,
	kind        text   NOT NULL,
	delivery_id text   NOT NULL,
	at          bigint NOT NULL, -- Unix ns
	PRIMARY KEY (case_id, kind)
);
`,
	// 5: the console (issue #18): accounts, sessions, hourly figures and
	// the indexes its pages query by.
	`
CREATE TABLE console_users (
	name       text   PRIMARY KEY,
	hash       text   NOT NULL, -- argon2id, PHC form
	grants     json   NOT NULL, -- array
	created_at bigint NOT NULL  -- Unix ns
);
CREATE TABLE console_sessions (
	id         text   PRIMARY KEY, -- SHA-256 of the cookie's token
	user_name  text   NOT NULL REFERENCES console_users (name) ON DELETE CASCADE,
	csrf       text   NOT NULL,
	created_at bigint NOT NULL,
	seen_at    bigint NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_name);
-- Expiry deletes sessions idle or old.
CREATE INDEX console_sessions_seen ON console_sessions (seen_at);
CREATE INDEX console_sessions_created ON console_sessions (created_at);
CREATE TABLE console_stats (
	series text   NOT NULL,
	key    text   NOT NULL,
	hour   bigint NOT NULL, -- start of the hour, Unix ns
	n      bigint NOT NULL,
	PRIMARY KEY (series, hour, key)
);
-- The overview's hourly counts (sqlrow.RollupInsert).
CREATE TABLE case_hours (
	platform text   NOT NULL, -- '*': every platform
	chat_id  text   NOT NULL, -- '*': every chat of the platform
	hour     bigint NOT NULL, -- Unix ns / 1h
	verb     text   NOT NULL,
	rule     text   NOT NULL,
	n        bigint NOT NULL,
	PRIMARY KEY (platform, chat_id, hour, verb, rule)
);
CREATE TABLE console_marks (
	name  text   PRIMARY KEY,
	value bigint NOT NULL
);
` + sqlrow.ConsoleIndexes,
}

// migrate applies the migrations the schema lacks, all in one transaction
// holding an advisory lock scoped to the schema, so processes starting at
// once apply each migration exactly once and a failed one leaves nothing
// behind. It records the schema name for later advisory locks.
func (s *Store) migrate(ctx context.Context) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("read current schema: %w", err)
		}
		if schema == nil {
			return fmt.Errorf("the search_path names no existing schema; create it or set search_path in the DSN")
		}
		s.schema = *schema
		// Before anything else: CREATE TABLE IF NOT EXISTS is not safe
		// against a concurrent CREATE of the same table.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockMigrate, lockKey(s.schema)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		_, err := tx.Exec(ctx, `
			CREATE TABLE IF NOT EXISTS gavel_schema_migrations (
				version    integer     PRIMARY KEY,
				applied_at timestamptz NOT NULL DEFAULT now() -- informational
			)`)
		if err != nil {
			return fmt.Errorf("create gavel_schema_migrations: %w", err)
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM gavel_schema_migrations`).Scan(&v); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("schema %q is at version %d, newer than this build's %d", s.schema, v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			// No arguments: pgx sends it with the simple protocol, which
			// runs several statements.
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO gavel_schema_migrations (version) VALUES ($1)`, i+1); err != nil {
				return fmt.Errorf("record migration %d: %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}
