package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// LinkCase stores l unless a link of its case and kind is stored, and
// returns the stored link. A concurrent LinkCase of the same case and
// kind waits on the primary key for the other's transaction; the select
// that follows (a new snapshot, read committed) then sees its link.
func (s *Store) LinkCase(ctx context.Context, l moderation.CaseLink) (moderation.CaseLink, error) {
	if l.CaseID <= 0 || l.Kind == "" || l.DeliveryID == "" {
		return moderation.CaseLink{}, fmt.Errorf("postgres: link case %d %q: case, kind and delivery are required", l.CaseID, l.Kind)
	}
	var got moderation.CaseLink
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q.LinkCase, sqlrow.LinkArgs(l)...); err != nil {
			return err
		}
		var err error
		got, err = sqlrow.ScanLink(tx.QueryRow(ctx, q.CaseLink, l.CaseID, l.Kind), l.CaseID, l.Kind)
		return err
	})
	if err != nil {
		return moderation.CaseLink{}, fmt.Errorf("postgres: link case %d %s: %w", l.CaseID, l.Kind, err)
	}
	return got, nil
}

// UnlinkCase drops the link of kind on caseID if deliveryID holds it.
func (s *Store) UnlinkCase(ctx context.Context, caseID int64, kind, deliveryID string) error {
	if _, err := s.pool.Exec(ctx, q.UnlinkCase, caseID, kind, deliveryID); err != nil {
		return fmt.Errorf("postgres: unlink case %d %s: %w", caseID, kind, err)
	}
	return nil
}

// SetCasePost records the message posted for case id.
func (s *Store) SetCasePost(ctx context.Context, id int64, ref moderation.PostRef) error {
	post, err := sqlrow.EncodePost(ref)
	if err != nil {
		return fmt.Errorf("postgres: case %d: %w", id, err)
	}
	tag, err := s.pool.Exec(ctx, q.SetCasePost, post, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: set post of case %d: %w", id, err)
	}
	return nil
}

// CasePost returns the message posted for case id.
func (s *Store) CasePost(ctx context.Context, id int64) (moderation.PostRef, error) {
	var post string
	err := s.pool.QueryRow(ctx, q.CasePost, id).Scan(&post)
	if errors.Is(err, pgx.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	ref, err := sqlrow.CasePost(post, err)
	if err != nil {
		return moderation.PostRef{}, fmt.Errorf("postgres: post of case %d: %w", id, err)
	}
	return ref, nil
}

// RemoveWarning deletes the warning stored under key.
func (s *Store) RemoveWarning(ctx context.Context, key string) (bool, error) {
	tag, err := s.pool.Exec(ctx, q.RemoveWarning, key)
	if err != nil {
		return false, fmt.Errorf("postgres: remove warning %q: %w", key, err)
	}
	return tag.RowsAffected() > 0, nil
}
