package automod

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

func TestPatternPrefilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		want    []string // nil: always runs
	}{
		{`fr[e3]{2}\s*m[o0]ney`, []string{"m0ney", "money"}},
		{`(?:buy|cheap|discount)\s+\w+\s+pills?`, []string{"pills", "pill"}},
		{`(?:buy|cheap|discount)\s+\w+`, []string{"buy", "cheap", "discount"}},
		{`\w+@\w+`, []string{"@"}},
		{`.*`, nil},
		{`a|.*`, nil},
		{`x?`, nil},
		{`(a+)+$`, []string{"a"}},
		{`[\x{1F4B0}\x{1F911}]{3,}`, []string{"\U0001F4B0", "\U0001F911"}},
		{`\bFOO\b`, []string{"foo"}},
		{`加\s*[vV微]\s*信`, []string{"加"}},
		{`优惠码\s*\d+`, []string{"优惠码"}},
		{`ＳＰＡＭ`, []string{"ｓｐａｍ"}},
		{`[^a]+`, nil},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern, false)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if !slices.Equal(p.filter, tt.want) {
			t.Errorf("%s: filter %q, want %q", tt.pattern, p.filter, tt.want)
		}
	}
	p, _ := compilePattern(`ＳＰＡＭ`, true)
	if !slices.Equal(p.filter, []string{"spam"}) || !p.re.MatchString("spam") {
		t.Errorf("width-folded literal: filter %q, re %s", p.filter, p.re)
	}
}

// FuzzPattern checks that the fast form of a pattern (folded literals,
// prefilter) matches exactly when (?i) of the pattern as written matches
// the normalised text.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{`fr[e3]{2}\s*m[o0]ney`, `(?:buy|cheap)\s+\w+\s+pills?`, `\w+@\w+`, `(a+)+$`, `\bFOO\b`, `^ab|cd$`, `a{2,3}b?c*`, `(?s).x`, `[[:upper:]]+COIN`, `K`, `ſ`, `(?-i:AB)c`, `(?m)^x$`, `\Aq\z`, `(a|b)(c|d)(e|f)(g|h)(i|j)`} {
		f.Add(s, "Buy CHEAP blue pills at FR33 money, foo@bar, aaa, xyz ABCOIN kelvin ſ q")
	}
	f.Fuzz(func(t *testing.T, pat, text string) {
		if len(pat) > 200 || len(text) > 500 || strings.TrimSpace(pat) == "" {
			return
		}
		// Literals the normaliser would rewrite beyond case (spaces, format
		// characters, special folds) legitimately differ from (?i).
		if ast, err := syntax.Parse(pat, syntax.Perl); err != nil || rewritesLiterals(ast) {
			return
		}
		if _, err := regexp.Compile(pat); err != nil {
			return
		}
		ref := regexp.MustCompile("(?i)" + pat)
		p, err := compilePattern(pat, false)
		if err != nil {
			t.Fatalf("compilePattern(%q): %v, but (?i) compiles", pat, err)
		}
		norm := normalize(nil, text, false)
		want := ref.Match(norm)
		if got := p.re.Match(norm); got != want {
			t.Fatalf("pattern %q (fast %s) on %q: match %v, want %v", pat, p.re, norm, got, want)
		}
		if want && p.filter != nil && !slices.ContainsFunc(p.filter, func(s string) bool { return bytes.Contains(norm, []byte(s)) }) {
			t.Fatalf("pattern %q on %q matches but prefilter %q misses it", pat, norm, p.filter)
		}
	})
}

// rewritesLiterals reports whether normalisation changes a literal of re
// beyond lower-casing it.
func rewritesLiterals(re *syntax.Regexp) bool {
	if re.Op == syntax.OpLiteral {
		if s := string(re.Rune); string(normalize(nil, s, false)) != strings.ToLower(s) {
			return true
		}
	}
	return slices.ContainsFunc(re.Sub, rewritesLiterals)
}
