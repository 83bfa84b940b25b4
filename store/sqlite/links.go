package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// LinkCase stores l unless a link of its case and kind is stored, and
// returns the stored link, in one IMMEDIATE transaction.
func (s *Store) LinkCase(ctx context.Context, l moderation.CaseLink) (moderation.CaseLink, error) {
	if l.CaseID <= 0 || l.Kind == "" || l.DeliveryID == "" {
		return moderation.CaseLink{}, fmt.Errorf("sqlite: link case %d %q: case, kind and delivery are required", l.CaseID, l.Kind)
	}
	var got moderation.CaseLink
	err := s.write(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, q.LinkCase, sqlrow.LinkArgs(l)...); err != nil {
			return err
		}
		var err error
		got, err = sqlrow.ScanLink(tx.QueryRowContext(ctx, q.CaseLink, l.CaseID, l.Kind), l.CaseID, l.Kind)
		return err
	})
	if err != nil {
		return moderation.CaseLink{}, fmt.Errorf("sqlite: link case %d %s: %w", l.CaseID, l.Kind, err)
	}
	return got, nil
}

// UnlinkCase drops the link of kind on caseID if deliveryID holds it.
func (s *Store) UnlinkCase(ctx context.Context, caseID int64, kind, deliveryID string) error {
	err := s.write(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, q.UnlinkCase, caseID, kind, deliveryID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: unlink case %d %s: %w", caseID, kind, err)
	}
	return nil
}

// SetCasePost records the message posted for case id.
func (s *Store) SetCasePost(ctx context.Context, id int64, ref moderation.PostRef) error {
	post, err := sqlrow.EncodePost(ref)
	if err != nil {
		return fmt.Errorf("sqlite: case %d: %w", id, err)
	}
	var n int64
	err = s.write(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, q.SetCasePost, post, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: set post of case %d: %w", id, err)
	}
	return nil
}

// CasePost returns the message posted for case id.
func (s *Store) CasePost(ctx context.Context, id int64) (moderation.PostRef, error) {
	var post string
	err := s.queryRow(ctx, q.CasePost, id).Scan(&post)
	if errors.Is(err, sql.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	ref, err := sqlrow.CasePost(post, err)
	if err != nil {
		return moderation.PostRef{}, fmt.Errorf("sqlite: post of case %d: %w", id, err)
	}
	return ref, nil
}

// RemoveWarning deletes the warning stored under key.
func (s *Store) RemoveWarning(ctx context.Context, key string) (bool, error) {
	var removed bool
	err := s.write(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, q.RemoveWarning, key)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		removed = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: remove warning %q: %w", key, err)
	}
	return removed, nil
}
