package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// PutMutes records ms in one transaction, each replacing the user's
// earlier mute in its chat. A zero Until is stored as NULL: the mute lasts
// until DeleteMutes.
func (s *Store) PutMutes(ctx context.Context, ms ...moderation.Mute) error {
	if len(ms) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx txn) error {
		var args []any
		for _, m := range ms {
			args = sqlrow.AppendMuteArgs(args[:0], m)
			if _, err := tx.ExecContext(ctx, q.PutMute, args...); err != nil {
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

// ActiveMute returns the user's mute in chat if it has no end or ends
// after now.
func (s *Store) ActiveMute(ctx context.Context, chat moderation.ChatRef, userID string, now time.Time) (moderation.Mute, bool, error) {
	m, err := sqlrow.ScanMute(s.queryRow(ctx, q.ActiveMute, chat.Platform, chat.ID, userID, nanos(now)))
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
	out, err := collect(ctx, s, sqlrow.ScanMute, q.ExpiredMutes, nanos(now), dialect.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: expired mutes: %w", err)
	}
	return out, nil
}

// ActiveMutes returns every mute not ended at now, emulated only when
// emulatedOnly.
func (s *Store) ActiveMutes(ctx context.Context, now time.Time, emulatedOnly bool) ([]moderation.Mute, error) {
	out, err := collect(ctx, s, sqlrow.ScanMute, q.ActiveMutes, nanos(now), emulatedOnly)
	if err != nil {
		return nil, fmt.Errorf("sqlite: active mutes: %w", err)
	}
	return out, nil
}
