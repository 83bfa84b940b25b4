package feishu

import (
	"strings"
	"testing"
)

// FuzzInertText: no mention tag survives, and nothing but the zero-width
// spaces after '<' is changed.
func FuzzInertText(f *testing.F) {
	for _, s := range []string{`<at user_id="all"></at>`, "<AT", "< \tat x", "<\u200bat", "<<at", "at<", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := inertText(s)
		if atTag.MatchString(out) {
			t.Fatalf("inertText(%q) = %q keeps a tag", s, out)
		}
		if strings.ReplaceAll(out, "<\u200b", "<") != strings.ReplaceAll(s, "<\u200b", "<") {
			t.Fatalf("inertText(%q) = %q changed more than the tags", s, out)
		}
	})
}
