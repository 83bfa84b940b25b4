package postgres

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
)

// AddWarning stores w unless its key is stored and counts the user's
// warnings since since.
func (s *Store) AddWarning(ctx context.Context, w moderation.Warning, since time.Time) (int, error) {
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO warnings (platform, chat_id, user_id, key, actor, rule, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING`,
		w.Chat.Platform, w.Chat.ID, w.UserID, w.Key, freeText(w.Actor), freeText(w.Rule), freeText(w.Reason), nanos(w.At)); err != nil {
		return 0, fmt.Errorf("postgres: add warning %s %s: %w", w.Chat, w.UserID, err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM warnings WHERE platform = $1 AND chat_id = $2 AND user_id = $3 AND at >= $4`,
		w.Chat.Platform, w.Chat.ID, w.UserID, nanos(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count warnings %s %s: %w", w.Chat, w.UserID, err)
	}
	return n, nil
}

// Warnings lists the user's warnings since since, oldest first.
func (s *Store) Warnings(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) ([]moderation.Warning, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, key, actor, rule, reason, at FROM warnings
		WHERE platform = $1 AND chat_id = $2 AND user_id = $3 AND at >= $4 ORDER BY at, id`,
		chat.Platform, chat.ID, userID, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("postgres: warnings %s %s: %w", chat, userID, err)
	}
	defer rows.Close()
	var out []moderation.Warning
	for rows.Next() {
		w := moderation.Warning{Chat: moderation.ChatRef{Platform: chat.Platform, ID: chat.ID}, UserID: userID}
		var at int64
		if err := rows.Scan(&w.ID, &w.Key, &w.Actor, &w.Rule, &w.Reason, &at); err != nil {
			return nil, fmt.Errorf("postgres: warnings %s %s: %w", chat, userID, err)
		}
		w.At = fromNanos(at)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: warnings %s %s: %w", chat, userID, err)
	}
	return out, nil
}

// RemoveLastWarning deletes the user's newest warning since since.
func (s *Store) RemoveLastWarning(ctx context.Context, chat moderation.ChatRef, userID string, since time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM warnings WHERE id = (
			SELECT id FROM warnings WHERE platform = $1 AND chat_id = $2 AND user_id = $3 AND at >= $4
			ORDER BY at DESC, id DESC LIMIT 1)`,
		chat.Platform, chat.ID, userID, nanos(since))
	if err != nil {
		return false, fmt.Errorf("postgres: remove warning %s %s: %w", chat, userID, err)
	}
	return tag.RowsAffected() > 0, nil
}
