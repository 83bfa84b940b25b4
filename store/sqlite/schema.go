package sqlite

import (
	"context"
	"fmt"

	"gavel/store/internal/sqlrow"
)

// migrations[i] takes the schema from version i to i+1; PRAGMA
// user_version holds the version applied. Append only: never edit a
// migration that has shipped.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id TEXT    NOT NULL,
	-- platform:chat_id; NULL when the event names no chat, so it never
	-- waits for another job.
	chat_key    TEXT,
	event       TEXT    NOT NULL, -- moderation.Event as JSON
	attempts    INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT    NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	not_before  INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	finished_at INTEGER           -- NULL while unfinished
) STRICT;
-- Claim scans unfinished jobs in id order and looks for an earlier
-- unfinished job of the same chat; Pending reads the oldest.
CREATE INDEX jobs_open ON jobs (id, not_before, lease_until) WHERE finished_at IS NULL;
CREATE INDEX jobs_open_chat ON jobs (chat_key, id) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_delivery ON jobs (delivery_id);

CREATE TABLE dedup_keys (
	key        TEXT    PRIMARY KEY,
	job_id     INTEGER NOT NULL, -- informational: the job may be purged first
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX dedup_keys_expires ON dedup_keys (expires_at);

CREATE TABLE job_results (
	job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	verb    TEXT    NOT NULL,
	user_id TEXT    NOT NULL,
	status  TEXT    NOT NULL,
	reason  TEXT    NOT NULL DEFAULT '',
	detail  TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (job_id, verb, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE cases (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id TEXT    NOT NULL,
	platform    TEXT    NOT NULL,
	chat_id     TEXT    NOT NULL,
	actor       TEXT    NOT NULL DEFAULT '',
	rule        TEXT    NOT NULL DEFAULT '',
	verb        TEXT    NOT NULL,
	targets     TEXT    NOT NULL, -- JSON array
	reason      TEXT    NOT NULL DEFAULT '',
	duration_ns INTEGER NOT NULL DEFAULT 0,
	dry_run     INTEGER NOT NULL DEFAULT 0,
	decisions   TEXT    NOT NULL, -- JSON array
	results     TEXT    NOT NULL, -- JSON array
	outcome     TEXT    NOT NULL,
	at          INTEGER NOT NULL
) STRICT;
-- A re-run of a delivery after a crash finds the case it already wrote.
CREATE UNIQUE INDEX cases_delivery ON cases (delivery_id, verb, rule) WHERE delivery_id <> '';
CREATE INDEX cases_chat ON cases (platform, chat_id, id);
CREATE INDEX cases_at ON cases (at);

-- case_users indexes every case by its actor and each target.
CREATE TABLE case_users (
	case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	user_id TEXT    NOT NULL,
	PRIMARY KEY (case_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_users_user ON case_users (user_id, case_id);

CREATE TABLE mutes (
	platform  TEXT    NOT NULL,
	chat_id   TEXT    NOT NULL,
	chat_kind TEXT    NOT NULL DEFAULT '',
	user_id   TEXT    NOT NULL,
	until     INTEGER,          -- NULL: until /unmute
	emulated  INTEGER NOT NULL DEFAULT 0,
	case_id   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (platform, chat_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX mutes_until ON mutes (until) WHERE until IS NOT NULL;
`,
	// 2: warnings.
	`
CREATE TABLE warnings (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	platform TEXT    NOT NULL,
	chat_id  TEXT    NOT NULL,
	user_id  TEXT    NOT NULL,
	key      TEXT    NOT NULL UNIQUE,
	actor    TEXT    NOT NULL DEFAULT '',
	rule     TEXT    NOT NULL DEFAULT '',
	reason   TEXT    NOT NULL DEFAULT '',
	at       INTEGER NOT NULL
) STRICT;
CREATE INDEX warnings_user ON warnings (platform, chat_id, user_id, at);
`,
	// 3: bans and locks (issue #16).
	`
CREATE TABLE sanctions (
	verb      TEXT    NOT NULL, -- ban or lock
	platform  TEXT    NOT NULL,
	chat_id   TEXT    NOT NULL,
	chat_kind TEXT    NOT NULL DEFAULT '',
	user_id   TEXT    NOT NULL, -- '' for a lock
	until     INTEGER,          -- NULL: until /unban or /unlock
	case_id   INTEGER NOT NULL DEFAULT 0, -- no foreign key: PurgeCases leaves sanctions alone
	PRIMARY KEY (verb, platform, chat_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX sanctions_until ON sanctions (until) WHERE until IS NOT NULL;
`,
	// 4: the mod-log and /undo (issue #17): the case a case follows from,
	// the mod-log message posted for a case, and the links that make an
	// undo happen once.
	`
ALTER TABLE cases ADD COLUMN related INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN post TEXT NOT NULL DEFAULT ''; -- moderation.PostRef as JSON
CREATE INDEX cases_related ON cases (related) WHERE related <> 0;

-- case_links: at most one delivery answers a case in each kind ("undo"):
-- the primary key makes a second undo of a case, from another chat or
-- another replica, do nothing.
CREATE TABLE case_links (
	case_id     INTEGER NOT NULL, -- no foreign key: the link outlives nothing it needs
	kind        TEXT    NOT NULL,
	delivery_id TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (case_id, kind)
) STRICT, WITHOUT ROWID;
`,
	// 5: the console (issue #18): accounts, sessions, hourly figures and
	// the indexes its pages query by.
	`
CREATE TABLE console_users (
	name       TEXT    PRIMARY KEY,
	hash       TEXT    NOT NULL, -- argon2id, PHC form
	grants     TEXT    NOT NULL, -- JSON array
	created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE console_sessions (
	id         TEXT    PRIMARY KEY, -- SHA-256 of the cookie's token
	user_name  TEXT    NOT NULL REFERENCES console_users (name) ON DELETE CASCADE,
	csrf       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	seen_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX console_sessions_user ON console_sessions (user_name);
-- Expiry deletes sessions idle or old.
CREATE INDEX console_sessions_seen ON console_sessions (seen_at);
CREATE INDEX console_sessions_created ON console_sessions (created_at);
CREATE TABLE console_stats (
	series TEXT    NOT NULL,
	key    TEXT    NOT NULL,
	hour   INTEGER NOT NULL, -- start of the hour, Unix ns
	n      INTEGER NOT NULL,
	PRIMARY KEY (series, hour, key)
) STRICT, WITHOUT ROWID;
-- The overview's hourly counts (sqlrow.RollupInsert).
CREATE TABLE case_hours (
	platform TEXT    NOT NULL, -- '*': every platform
	chat_id  TEXT    NOT NULL, -- '*': every chat of the platform
	hour     INTEGER NOT NULL, -- Unix ns / 1h
	verb     TEXT    NOT NULL,
	rule     TEXT    NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (platform, chat_id, hour, verb, rule)
) STRICT, WITHOUT ROWID;
CREATE TABLE console_marks (
	name  TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
` + sqlrow.ConsoleIndexes,
}

// migrate applies the migrations the database lacks, all in one IMMEDIATE
// transaction, so concurrent Opens of one file apply each exactly once.
func (s *Store) migrate(ctx context.Context) error {
	err := s.write(ctx, func(tx txn) error {
		var v int
		if err := tx.Tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return fmt.Errorf("read user_version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this build's %d", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.Tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if v < len(migrations) {
			// PRAGMA takes no bound parameters; the value is our own int.
			if _, err := tx.Tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
				return fmt.Errorf("set user_version: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}
