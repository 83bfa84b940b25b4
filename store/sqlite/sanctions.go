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

// PutSanction records sn, replacing the same user's (or the chat's lock's)
// earlier sanction of the same verb. A zero Until is stored as NULL.
func (s *Store) PutSanction(ctx context.Context, sn moderation.Sanction) error {
	if err := sqlrow.CheckSanction(sn); err != nil {
		return fmt.Errorf("sqlite: put sanction: %w", err)
	}
	err := s.write(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, q.PutSanction, sqlrow.SanctionArgs(sn)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put %s %s %q: %w", sn.Verb, sn.Chat, sn.UserID, err)
	}
	return nil
}

// DeleteSanction ends the sanction of verb for userID (empty: the lock)
// in chat; deleting none is not an error.
func (s *Store) DeleteSanction(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, userID string) error {
	err := s.write(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, q.DeleteSanction, string(verb), chat.Platform, chat.ID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete %s %s %q: %w", verb, chat, userID, err)
	}
	return nil
}

// ActiveSanction returns the sanction of verb for userID (empty: the
// lock) in chat if it has no end or ends after now.
func (s *Store) ActiveSanction(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, userID string, now time.Time) (moderation.Sanction, bool, error) {
	sn, err := sqlrow.ScanSanction(s.queryRow(ctx, q.ActiveSanction, string(verb), chat.Platform, chat.ID, userID, nanos(now)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return moderation.Sanction{}, false, nil
	case err != nil:
		return moderation.Sanction{}, false, fmt.Errorf("sqlite: active %s %s %q: %w", verb, chat, userID, err)
	}
	return sn, true, nil
}

// ActiveSanctions returns every sanction not ended at now.
func (s *Store) ActiveSanctions(ctx context.Context, now time.Time) ([]moderation.Sanction, error) {
	out, err := collect(ctx, s, sqlrow.ScanSanction, q.ActiveSanctions, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: active sanctions: %w", err)
	}
	return out, nil
}

// ExpiredSanctions returns up to limit sanctions (all when limit ≤ 0)
// whose Until is set and not after now, earliest end first.
func (s *Store) ExpiredSanctions(ctx context.Context, now time.Time, limit int) ([]moderation.Sanction, error) {
	out, err := collect(ctx, s, sqlrow.ScanSanction, q.ExpiredSanctions, nanos(now), dialect.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: expired sanctions: %w", err)
	}
	return out, nil
}
