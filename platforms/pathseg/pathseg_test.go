package pathseg

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "plain id", in: "user_1-a.b~", want: "user_1-a.b~"},
		{name: "dot", in: ".", bad: true},
		{name: "dot dot", in: "..", bad: true},
		{name: "empty", in: "", bad: true},
		{name: "three dots is a name", in: "...", want: "..."},
		{name: "slash", in: "a/b", want: "a%2Fb"},
		{name: "dot dot slash", in: "../x", want: "..%2Fx"},
		{name: "backslash", in: `..\x`, want: "..%5Cx"},
		{name: "escaped dots stay literal", in: "%2e%2e", want: "%252e%252e"},
		{name: "query and fragment", in: "a?b#c", want: "a%3Fb%23c"},
		{name: "semicolon and comma", in: "a;b,c", want: "a%3Bb%2Cc"},
		{name: "space and control", in: "a b\x00", want: "a%20b%00"},
		{name: "utf-8", in: "用户", want: "%E7%94%A8%E6%88%B7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Escape(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrBadSegment) {
					t.Fatalf("Escape(%q) = %q, %v; want ErrBadSegment", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Escape(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestJoinAndList(t *testing.T) {
	t.Parallel()
	if got, err := Join("chatgroups", "g/1", "users"); err != nil || got != "/chatgroups/g%2F1/users" {
		t.Fatalf("Join = %q, %v", got, err)
	}
	if _, err := Join("chatgroups", "g1", "users", ".."); !errors.Is(err, ErrBadSegment) {
		t.Fatalf("Join with .. = %v, want ErrBadSegment", err)
	}
	if got, err := List("%2C", []string{"a", "b,c"}); err != nil || got != "a%2Cb%2Cc" {
		t.Fatalf("List = %q, %v", got, err)
	}
	for _, items := range [][]string{nil, {"a", "."}, {"", "b"}} {
		if _, err := List("%2C", items); !errors.Is(err, ErrBadSegment) {
			t.Errorf("List(%q) = %v, want ErrBadSegment", items, err)
		}
	}
}

// FuzzPathSeg: whatever the id, an escaped segment is one segment that
// decodes back to the id, contains no separator, and survives path
// cleaning unchanged; dot segments and the empty id are refused.
func FuzzPathSeg(f *testing.F) {
	for _, s := range []string{".", "..", "", "a/b", "../..", "%2e%2e", `a\b`, "a?b", "a#b", "用户", "...", "a%2Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		seg, err := Escape(id)
		if id == "" || id == "." || id == ".." {
			if err == nil {
				t.Fatalf("Escape(%q) accepted", id)
			}
			return
		}
		if err != nil {
			t.Fatalf("Escape(%q): %v", id, err)
		}
		if seg == "." || seg == ".." || strings.ContainsAny(seg, `/\?#;`) {
			t.Fatalf("Escape(%q) = %q: a dot segment or a separator", id, seg)
		}
		if back, err := url.PathUnescape(seg); err != nil || back != id {
			t.Fatalf("Escape(%q) = %q decodes to %q, %v", id, seg, back, err)
		}
		p, err := Join("chatgroups", "g1", "users", id)
		if err != nil {
			t.Fatal(err)
		}
		if path.Clean(p) != p || strings.Count(p, "/") != 4 {
			t.Fatalf("Join(…, %q) = %q is not four clean segments", id, p)
		}
		u, err := url.Parse("https://example.com" + p)
		if err != nil || u.RawQuery != "" || u.Fragment != "" || u.EscapedPath() != p {
			t.Fatalf("Join(…, %q) = %q parses as %+v, %v", id, p, u, err)
		}
	})
}
