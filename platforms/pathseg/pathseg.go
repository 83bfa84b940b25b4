// Package pathseg builds REST path segments from ids that came from
// outside (chat events, commands, config). Every adapter builds the
// segments of its request paths here, so that no id can change which
// resource a request names:
//
//   - "." and ".." are refused. A path-normalising proxy or client turns
//     DELETE …/chatgroups/{id}/users/.. into DELETE …/chatgroups/{id},
//     which dissolves the group on Easemob.
//   - The empty segment is refused ("…/users/" names the collection).
//   - Everything outside RFC 3986's unreserved set is percent-escaped,
//     '/', '\', '?', '#', '%' and ';' included, so an id is always exactly
//     one segment and never a query, fragment or escape of its own.
//
// It knows no platform.
package pathseg

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadSegment is returned for an id that cannot be a path segment.
var ErrBadSegment = errors.New("not a valid path segment")

// Check reports whether seg may be a path segment as given: not empty and
// not a dot segment. Use it where a library escapes the segment itself
// (the Feishu SDK's PathParams); use Escape otherwise.
func Check(seg string) error {
	switch seg {
	case "":
		return fmt.Errorf("%w: empty", ErrBadSegment)
	case ".", "..":
		return fmt.Errorf("%w: %q is a dot segment", ErrBadSegment, seg)
	}
	return nil
}

// Escape checks seg and returns it percent-escaped: every byte outside
// A-Z a-z 0-9 - . _ ~ becomes %XX.
func Escape(seg string) (string, error) {
	if err := Check(seg); err != nil {
		return "", err
	}
	n := 0
	for i := 0; i < len(seg); i++ {
		if !unreserved(seg[i]) {
			n++
		}
	}
	if n == 0 {
		return seg, nil
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(seg) + 2*n)
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String(), nil
}

// Join escapes each segment and returns them as a path: "/" + segs joined
// by "/". One bad segment fails the whole path.
func Join(segs ...string) (string, error) {
	var b strings.Builder
	for i, s := range segs {
		e, err := Escape(s)
		if err != nil {
			return "", fmt.Errorf("path segment %d: %w", i+1, err)
		}
		b.WriteByte('/')
		b.WriteString(e)
	}
	return b.String(), nil
}

// List escapes each item and joins them with sep, which must already be
// escaped ("%2C" for Easemob's comma-separated user lists): one segment
// naming several ids. One bad item fails the whole list.
func List(sep string, items []string) (string, error) {
	if len(items) == 0 {
		return "", fmt.Errorf("%w: empty list", ErrBadSegment)
	}
	var b strings.Builder
	for i, s := range items {
		e, err := Escape(s)
		if err != nil {
			return "", fmt.Errorf("list item %d: %w", i+1, err)
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(e)
	}
	return b.String(), nil
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
