package sqlite

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// AddWarning stores w unless its key is stored and counts the user's
// warnings since since, in one transaction.
func (s *Store) AddWarning(ctx context.Context, w moderation.Warning, since time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, q.AddWarning, dialect.WarningArgs(w)...); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, q.CountWarnings, sqlrow.UserSinceArgs(w.Chat, w.UserID, since)...).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: add warning %s %s: %w", w.Chat, w.UserID, err)
	}
	return n, nil
}

// Warnings lists the user's warnings since since, oldest first.
func (s *Store) Warnings(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) ([]moderation.Warning, error) {
	out, err := collect(ctx, s, sqlrow.ScanWarning(chat, userID), q.Warnings, sqlrow.UserSinceArgs(chat, userID, since)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: warnings %s %s: %w", chat, userID, err)
	}
	return out, nil
}

// RemoveLastWarning deletes the user's newest warning since since.
func (s *Store) RemoveLastWarning(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) (bool, error) {
	var removed bool
	err := s.write(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, q.RemoveLastWarning, sqlrow.UserSinceArgs(chat, userID, since)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		removed = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: remove warning %s %s: %w", chat, userID, err)
	}
	return removed, nil
}
