package sqlite

import (
	"context"
	"errors"
	"time"

	"gavel/moderation"
)

// errSanctionsPending: placeholder until issue #16's sanctions table lands.
var errSanctionsPending = errors.New("sanctions are not stored yet")

func (s *Store) PutSanction(ctx context.Context, sn moderation.Sanction) error {
	return errSanctionsPending
}

func (s *Store) DeleteSanction(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, userID string) error {
	return errSanctionsPending
}

func (s *Store) ActiveSanction(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, userID string, now time.Time) (moderation.Sanction, bool, error) {
	return moderation.Sanction{}, false, nil
}

func (s *Store) ActiveSanctions(ctx context.Context, now time.Time) ([]moderation.Sanction, error) {
	return nil, nil
}

func (s *Store) ExpiredSanctions(ctx context.Context, now time.Time, limit int) ([]moderation.Sanction, error) {
	return nil, nil
}
