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

// PutMutes records ms in one transaction (one round trip), each replacing
// the user's earlier mute in its chat. A zero Until is stored as NULL: the
// mute lasts until DeleteMutes.
func (s *Store) PutMutes(ctx context.Context, ms ...moderation.Mute) error {
	if len(ms) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, m := range ms {
		b.Queue(q.PutMute, sqlrow.AppendMuteArgs(nil, m)...) // the batch keeps them
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

// ActiveMute returns the user's mute in chat if it has no end or ends
// after now.
func (s *Store) ActiveMute(ctx context.Context, chat moderation.ChatRef, userID string, now time.Time) (moderation.Mute, bool, error) {
	m, err := sqlrow.ScanMute(s.pool.QueryRow(ctx, q.ActiveMute, chat.Platform, chat.ID, userID, nanos(now)))
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
	out, err := collect(ctx, s.pool, sqlrow.ScanMute, q.ExpiredMutes, nanos(now), dialect.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: expired mutes: %w", err)
	}
	return out, nil
}

// ActiveMutes returns every mute not ended at now, emulated only when
// emulatedOnly.
func (s *Store) ActiveMutes(ctx context.Context, now time.Time, emulatedOnly bool) ([]moderation.Mute, error) {
	out, err := collect(ctx, s.pool, sqlrow.ScanMute, q.ActiveMutes, nanos(now), emulatedOnly)
	if err != nil {
		return nil, fmt.Errorf("postgres: active mutes: %w", err)
	}
	return out, nil
}
