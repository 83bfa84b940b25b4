package postgres

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// AddWarning stores w unless its key is stored and counts the user's
// warnings since since.
func (s *Store) AddWarning(ctx context.Context, w moderation.Warning, since time.Time) (int, error) {
	if _, err := s.pool.Exec(ctx, q.AddWarning, dialect.WarningArgs(w)...); err != nil {
		return 0, fmt.Errorf("postgres: add warning %s %s: %w", w.Chat, w.UserID, err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, q.CountWarnings, sqlrow.UserSinceArgs(w.Chat, w.UserID, since)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count warnings %s %s: %w", w.Chat, w.UserID, err)
	}
	return n, nil
}

// Warnings lists the user's warnings since since, oldest first.
func (s *Store) Warnings(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) ([]moderation.Warning, error) {
	out, err := collect(ctx, s.pool, sqlrow.ScanWarning(chat, userID), q.Warnings, sqlrow.UserSinceArgs(chat, userID, since)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: warnings %s %s: %w", chat, userID, err)
	}
	return out, nil
}

// RemoveLastWarning deletes the user's newest warning since since.
func (s *Store) RemoveLastWarning(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, q.RemoveLastWarning, sqlrow.UserSinceArgs(chat, userID, since)...)
	if err != nil {
		return false, fmt.Errorf("postgres: remove warning %s %s: %w", chat, userID, err)
	}
	return tag.RowsAffected() > 0, nil
}
