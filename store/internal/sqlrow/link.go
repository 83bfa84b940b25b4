package sqlrow

import (
	"encoding/json"
	"fmt"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
)

// LinkArgs are the arguments of Queries.LinkCase.
func LinkArgs(l moderation.CaseLink) []any {
	return []any{l.CaseID, l.Kind, l.DeliveryID, nanotime.From(l.At)}
}

// ScanLink reads one row of Queries.CaseLink, the link of kind for caseID.
func ScanLink(row Scanner, caseID int64, kind string) (moderation.CaseLink, error) {
	l := moderation.CaseLink{CaseID: caseID, Kind: kind}
	var at int64
	if err := row.Scan(&l.DeliveryID, &at); err != nil {
		return moderation.CaseLink{}, err
	}
	l.At = nanotime.To(at)
	return l, nil
}

// EncodePost is ref as the cases.post column stores it.
func EncodePost(ref moderation.PostRef) (string, error) {
	if ref.MessageID == "" {
		return "", fmt.Errorf("post of case: empty message id")
	}
	b, err := json.Marshal(ref)
	if err != nil {
		return "", fmt.Errorf("encode post: %w", err)
	}
	return string(b), nil
}

// DecodePost reads the cases.post column; ok is false when the case has
// no post recorded.
func DecodePost(s string) (ref moderation.PostRef, ok bool, err error) {
	if s == "" {
		return moderation.PostRef{}, false, nil
	}
	if err := json.Unmarshal([]byte(s), &ref); err != nil {
		return moderation.PostRef{}, false, fmt.Errorf("decode post: %w", err)
	}
	return ref, true, nil
}

// CasePost is a store's CasePost answer from the scanned cases.post
// column and the scan's error (a missing row already
// moderation.ErrNotFound): ErrNotFound too for a case with no post.
func CasePost(post string, scanErr error) (moderation.PostRef, error) {
	if scanErr != nil {
		return moderation.PostRef{}, scanErr
	}
	ref, ok, err := DecodePost(post)
	if err == nil && !ok {
		err = moderation.ErrNotFound
	}
	return ref, err
}
