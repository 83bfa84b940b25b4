package sqlite

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
)

// AddWarning stores w unless its key is stored and counts the user's
// warnings since since, in one transaction.
func (s *Store) AddWarning(ctx context.Context, w moderation.Warning, since time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO warnings (platform, chat_id, user_id, key, actor, rule, reason, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			w.Chat.Platform, w.Chat.ID, w.UserID, w.Key, w.Actor, w.Rule, w.Reason, nanos(w.At)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `
			SELECT count(*) FROM warnings WHERE platform = ? AND chat_id = ? AND user_id = ? AND at >= ?`,
			w.Chat.Platform, w.Chat.ID, w.UserID, nanos(since)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: add warning %s %s: %w", w.Chat, w.UserID, err)
	}
	return n, nil
}

// Warnings lists the user's warnings since since, oldest first.
func (s *Store) Warnings(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) ([]moderation.Warning, error) {
	rows, err := s.query(ctx, `
		SELECT id, key, actor, rule, reason, at FROM warnings
		WHERE platform = ? AND chat_id = ? AND user_id = ? AND at >= ? ORDER BY at, id`,
		chat.Platform, chat.ID, userID, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite: warnings %s %s: %w", chat, userID, err)
	}
	defer rows.Close()
	var out []moderation.Warning
	for rows.Next() {
		w := moderation.Warning{Chat: moderation.ChatRef{Platform: chat.Platform, ID: chat.ID}, UserID: userID}
		var at int64
		if err := rows.Scan(&w.ID, &w.Key, &w.Actor, &w.Rule, &w.Reason, &at); err != nil {
			return nil, fmt.Errorf("sqlite: warnings %s %s: %w", chat, userID, err)
		}
		w.At = fromNanos(at)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: warnings %s %s: %w", chat, userID, err)
	}
	return out, nil
}

// RemoveLastWarning deletes the user's newest warning since since.
func (s *Store) RemoveLastWarning(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) (bool, error) {
	var removed bool
	err := s.write(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, `
			DELETE FROM warnings WHERE id = (
				SELECT id FROM warnings WHERE platform = ? AND chat_id = ? AND user_id = ? AND at >= ?
				ORDER BY at DESC, id DESC LIMIT 1)`,
			chat.Platform, chat.ID, userID, nanos(since))
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
