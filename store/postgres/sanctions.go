package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// PutSanction records sn, replacing the same user's (or the chat's lock's)
// earlier sanction of the same verb. A zero Until is stored as NULL.
func (s *Store) PutSanction(ctx context.Context, sn moderation.Sanction) error {
	if err := sqlrow.CheckSanction(sn); err != nil {
		return fmt.Errorf("postgres: put sanction: %w", err)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sanctions (`+sqlrow.SanctionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (verb, platform, chat_id, user_id) DO UPDATE SET
			chat_kind = excluded.chat_kind, until = excluded.until, case_id = excluded.case_id`,
		sqlrow.SanctionArgs(sn)...)
	if err != nil {
		return fmt.Errorf("postgres: put %s %s %q: %w", sn.Verb, sn.Chat, sn.UserID, err)
	}
	return nil
}

// DeleteSanction ends the sanction of verb for userID (empty: the lock)
// in chat; deleting none is not an error.
func (s *Store) DeleteSanction(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, userID string) error {
	_, err := s.pool.Exec(ctx, `
		DELETE FROM sanctions WHERE verb = $1 AND platform = $2 AND chat_id = $3 AND user_id = $4`,
		string(verb), chat.Platform, chat.ID, userID)
	if err != nil {
		return fmt.Errorf("postgres: delete %s %s %q: %w", verb, chat, userID, err)
	}
	return nil
}

// ActiveSanction returns the sanction of verb for userID (empty: the
// lock) in chat if it has no end or ends after now.
func (s *Store) ActiveSanction(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, userID string, now time.Time) (moderation.Sanction, bool, error) {
	sn, err := sqlrow.ScanSanction(s.pool.QueryRow(ctx, `
		SELECT `+sqlrow.SanctionColumns+` FROM sanctions
		WHERE verb = $1 AND platform = $2 AND chat_id = $3 AND user_id = $4 AND (until IS NULL OR until > $5)`,
		string(verb), chat.Platform, chat.ID, userID, nanos(now)))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return moderation.Sanction{}, false, nil
	case err != nil:
		return moderation.Sanction{}, false, fmt.Errorf("postgres: active %s %s %q: %w", verb, chat, userID, err)
	}
	return sn, true, nil
}

// ActiveSanctions returns every sanction not ended at now.
func (s *Store) ActiveSanctions(ctx context.Context, now time.Time) ([]moderation.Sanction, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+sqlrow.SanctionColumns+` FROM sanctions
		WHERE until IS NULL OR until > $1
		ORDER BY verb, platform, chat_id, user_id`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: active sanctions: %w", err)
	}
	out, err := scanSanctions(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: active sanctions: %w", err)
	}
	return out, nil
}

// ExpiredSanctions returns up to limit sanctions (all when limit ≤ 0)
// whose Until is set and not after now, earliest end first.
func (s *Store) ExpiredSanctions(ctx context.Context, now time.Time, limit int) ([]moderation.Sanction, error) {
	var lim *int // LIMIT NULL: no limit
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+sqlrow.SanctionColumns+` FROM sanctions
		WHERE until IS NOT NULL AND until <= $1
		ORDER BY until, verb, platform, chat_id, user_id
		LIMIT $2`, nanos(now), lim)
	if err != nil {
		return nil, fmt.Errorf("postgres: expired sanctions: %w", err)
	}
	out, err := scanSanctions(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: expired sanctions: %w", err)
	}
	return out, nil
}

func scanSanctions(rows pgx.Rows) ([]moderation.Sanction, error) {
	defer rows.Close()
	var out []moderation.Sanction
	for rows.Next() {
		sn, err := sqlrow.ScanSanction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	return out, rows.Err()
}
