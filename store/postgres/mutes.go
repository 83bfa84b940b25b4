package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
)

// PutMutes records ms in one transaction (one round trip), each replacing
// the user's earlier mute in its chat. A zero Until is stored as NULL: the
// mute lasts until DeleteMutes.
func (s *Store) PutMutes(ctx context.Context, ms ...moderation.Mute) error {
	if len(ms) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, m := range ms {
		b.Queue(`
			INSERT INTO mutes (platform, chat_id, chat_kind, user_id, until, emulated, case_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (platform, chat_id, user_id) DO UPDATE SET
				chat_kind = excluded.chat_kind, until = excluded.until,
				emulated = excluded.emulated, case_id = excluded.case_id`,
			m.Chat.Platform, m.Chat.ID, m.Chat.Kind, m.UserID, nullTime(m.Until), m.Emulated, m.CaseID)
	}
	if err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() }); err != nil {
		return fmt.Errorf("postgres: put %d mutes: %w", len(ms), err)
	}
	return nil
}

// DeleteMutes removes the users' mutes in chat; removing none is not an
// error.
func (s *Store) DeleteMutes(ctx context.Context, chat moderation.ChatRef, userIDs ...string) error {
	if len(userIDs) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM mutes WHERE platform = $1 AND chat_id = $2 AND user_id = ANY($3)`,
		chat.Platform, chat.ID, userIDs)
	if err != nil {
		return fmt.Errorf("postgres: delete %d mutes in %s: %w", len(userIDs), chat, err)
	}
	return nil
}

const muteColumns = `platform, chat_id, chat_kind, user_id, until, emulated, case_id`

// ActiveMute returns the user's mute in chat if it has no end or ends
// after now.
func (s *Store) ActiveMute(ctx context.Context, chat moderation.ChatRef, userID string, now time.Time) (moderation.Mute, bool, error) {
	row := s.pool.QueryRow(ctx, `
		SELECT `+muteColumns+` FROM mutes
		WHERE platform = $1 AND chat_id = $2 AND user_id = $3 AND (until IS NULL OR until > $4)`,
		chat.Platform, chat.ID, userID, nanos(now))
	m, err := scanMute(row)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return moderation.Mute{}, false, nil
	case err != nil:
		return moderation.Mute{}, false, fmt.Errorf("postgres: active mute %s %s: %w", chat, userID, err)
	}
	return m, true, nil
}

// ExpiredMutes returns up to limit mutes (all when limit ≤ 0) whose Until
// is set and not after now, earliest end first.
func (s *Store) ExpiredMutes(ctx context.Context, now time.Time, limit int) ([]moderation.Mute, error) {
	var lim *int // LIMIT NULL: no limit
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+muteColumns+` FROM mutes
		WHERE until IS NOT NULL AND until <= $1
		ORDER BY until, platform, chat_id, user_id
		LIMIT $2`, nanos(now), lim)
	if err != nil {
		return nil, fmt.Errorf("postgres: expired mutes: %w", err)
	}
	defer rows.Close()
	var out []moderation.Mute
	for rows.Next() {
		m, err := scanMute(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: expired mutes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: expired mutes: %w", err)
	}
	return out, nil
}

func scanMute(row pgx.Row) (moderation.Mute, error) {
	var (
		m     moderation.Mute
		until *int64
	)
	if err := row.Scan(&m.Chat.Platform, &m.Chat.ID, &m.Chat.Kind, &m.UserID, &until, &m.Emulated, &m.CaseID); err != nil {
		return moderation.Mute{}, err
	}
	if until != nil {
		m.Until = fromNanos(*until)
	}
	return m, nil
}

// nullTime is t in Unix nanoseconds, nil (NULL) for the zero time.
func nullTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := nanos(t)
	return &n
}

// ActiveMutes returns every mute not ended at now, emulated only when
// emulatedOnly.
func (s *Store) ActiveMutes(ctx context.Context, now time.Time, emulatedOnly bool) ([]moderation.Mute, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+muteColumns+` FROM mutes
		WHERE (until IS NULL OR until > $1) AND (emulated OR NOT $2)
		ORDER BY platform, chat_id, user_id`, nanos(now), emulatedOnly)
	if err != nil {
		return nil, fmt.Errorf("postgres: active mutes: %w", err)
	}
	defer rows.Close()
	var out []moderation.Mute
	for rows.Next() {
		m, err := scanMute(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: active mutes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: active mutes: %w", err)
	}
	return out, nil
}
