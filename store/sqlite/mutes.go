package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gavel/moderation"
)

// PutMutes records ms in one transaction, each replacing the user's
// earlier mute in its chat. A zero Until is stored as NULL: the mute lasts
// until DeleteMutes.
func (s *Store) PutMutes(ctx context.Context, ms ...moderation.Mute) error {
	if len(ms) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx txn) error {
		for _, m := range ms {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO mutes (platform, chat_id, chat_kind, user_id, until, emulated, case_id)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (platform, chat_id, user_id) DO UPDATE SET
					chat_kind = excluded.chat_kind, until = excluded.until,
					emulated = excluded.emulated, case_id = excluded.case_id`,
				m.Chat.Platform, m.Chat.ID, m.Chat.Kind, m.UserID, nullTime(m.Until), m.Emulated, m.CaseID)
			if err != nil {
				return fmt.Errorf("%s %s: %w", m.Chat, m.UserID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: put %d mutes: %w", len(ms), err)
	}
	return nil
}

// DeleteMutes removes the users' mutes in chat in one transaction;
// removing none is not an error.
func (s *Store) DeleteMutes(ctx context.Context, chat moderation.ChatRef, userIDs ...string) error {
	if len(userIDs) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx txn) error {
		for _, u := range userIDs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mutes WHERE platform = ? AND chat_id = ? AND user_id = ?`,
				chat.Platform, chat.ID, u); err != nil {
				return fmt.Errorf("%s: %w", u, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete %d mutes in %s: %w", len(userIDs), chat, err)
	}
	return nil
}

const muteColumns = `platform, chat_id, chat_kind, user_id, until, emulated, case_id`

// ActiveMute returns the user's mute in chat if it has no end or ends
// after now.
func (s *Store) ActiveMute(ctx context.Context, chat moderation.ChatRef, userID string, now time.Time) (moderation.Mute, bool, error) {
	row := s.queryRow(ctx, `
		SELECT `+muteColumns+` FROM mutes
		WHERE platform = ? AND chat_id = ? AND user_id = ? AND (until IS NULL OR until > ?)`,
		chat.Platform, chat.ID, userID, nanos(now))
	m, err := scanMute(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return moderation.Mute{}, false, nil
	case err != nil:
		return moderation.Mute{}, false, fmt.Errorf("sqlite: active mute %s %s: %w", chat, userID, err)
	}
	return m, true, nil
}

// ExpiredMutes returns up to limit mutes (all when limit ≤ 0) whose Until
// is set and not after now, earliest end first.
func (s *Store) ExpiredMutes(ctx context.Context, now time.Time, limit int) ([]moderation.Mute, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.query(ctx, `
		SELECT `+muteColumns+` FROM mutes
		WHERE until IS NOT NULL AND until <= ?
		ORDER BY until, platform, chat_id, user_id
		LIMIT ?`, nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: expired mutes: %w", err)
	}
	defer rows.Close()
	var out []moderation.Mute
	for rows.Next() {
		m, err := scanMute(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: expired mutes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: expired mutes: %w", err)
	}
	return out, nil
}

func scanMute(row interface{ Scan(...any) error }) (moderation.Mute, error) {
	var (
		m     moderation.Mute
		until sql.NullInt64
	)
	if err := row.Scan(&m.Chat.Platform, &m.Chat.ID, &m.Chat.Kind, &m.UserID, &until, &m.Emulated, &m.CaseID); err != nil {
		return moderation.Mute{}, err
	}
	if until.Valid {
		m.Until = fromNanos(until.Int64)
	}
	return m, nil
}

// nullTime is t in Unix nanoseconds, NULL for the zero time.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: nanos(t), Valid: true}
}

// ActiveMutes returns every mute not ended at now, emulated only when
// emulatedOnly.
func (s *Store) ActiveMutes(ctx context.Context, now time.Time, emulatedOnly bool) ([]moderation.Mute, error) {
	rows, err := s.query(ctx, `
		SELECT `+muteColumns+` FROM mutes
		WHERE (until IS NULL OR until > ?) AND (emulated OR NOT ?)
		ORDER BY platform, chat_id, user_id`, nanos(now), emulatedOnly)
	if err != nil {
		return nil, fmt.Errorf("sqlite: active mutes: %w", err)
	}
	defer rows.Close()
	var out []moderation.Mute
	for rows.Next() {
		m, err := scanMute(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: active mutes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: active mutes: %w", err)
	}
	return out, nil
}
