package automod

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Blocklist patterns run against normalised text (lower case, whitespace
// collapsed, width-folded when asked), which lets the engine compile them
// in a faster but equivalent form:
//
//   - Case-insensitive literals become their lower-case fold, since the
//     text holds nothing else. Go's regexp then finds literal prefixes with
//     a byte search instead of trying the program at every position, which
//     (?i) prevents.
//   - Each pattern gets a prefilter: a set of strings one of which every
//     match must contain ("buy", "cheap" for `(?:buy|cheap)\s+pills`). All
//     prefilter strings go into one Aho-Corasick automaton; a pattern runs
//     only when the text contains one of its strings. Patterns with no
//     usable set (`\w+@\w+`) always run.

// pattern is one compiled blocklist pattern.
type pattern struct {
	re *regexp.Regexp
	// filter is the prefilter set; nil means the pattern always runs.
	filter []string
}

// maxExact bounds the string sets tracked while analysing a pattern.
const maxExact = 16

// compilePattern validates p (Go RE2 syntax, as written) and compiles it
// for matching normalised text case-insensitively.
func compilePattern(p string, widthFold bool) (*pattern, error) {
	if strings.TrimSpace(p) == "" {
		return nil, errors.New("must not be blank")
	}
	// Parse as written first: errors then quote the user's text.
	if _, err := regexp.Compile(p); err != nil {
		return nil, err
	}
	ast, err := syntax.Parse(p, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil, err
	}
	foldLiterals(ast, widthFold)
	re, err := regexp.Compile(ast.String())
	if err != nil {
		return nil, err
	}
	pat := &pattern{re: re}
	if in := analyze(ast, widthFold); in.exact != nil {
		pat.filter = usable(in.exact)
	} else {
		pat.filter = usable(in.any)
	}
	return pat, nil
}

// foldLiterals rewrites case-insensitive literals to the normalised form
// of their text. Character classes keep the case variants the parser
// added, which include the folded ones.
func foldLiterals(re *syntax.Regexp, widthFold bool) {
	if re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase != 0 {
		re.Rune = []rune(string(normalize(nil, string(re.Rune), widthFold)))
		re.Flags &^= syntax.FoldCase
		if len(re.Rune) == 0 {
			re.Op = syntax.OpEmptyMatch
		}
	}
	for _, sub := range re.Sub {
		foldLiterals(sub, widthFold)
	}
}

// info describes the strings a node's matches contain.
type info struct {
	// exact, when non-nil, lists every string the node can match.
	exact []string
	// any, when non-nil, lists strings one of which every match contains.
	any []string
}

// usable returns set as a prefilter, or nil when it cannot filter (it
// holds the empty string, which every text contains).
func usable(set []string) []string {
	if set == nil || slices.Contains(set, "") {
		return nil
	}
	return set
}

// score ranks prefilter sets: longer shortest string first.
func score(set []string) int {
	if usable(set) == nil {
		return -1
	}
	m := len(set[0])
	for _, s := range set {
		m = min(m, len(s))
	}
	return m
}

// analyze computes the info of re for text normalised with widthFold.
func analyze(re *syntax.Regexp, widthFold bool) info {
	switch re.Op {
	case syntax.OpNoMatch:
		return info{exact: []string{}}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return info{exact: []string{""}}
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return info{}
		}
		return info{exact: []string{string(re.Rune)}}
	case syntax.OpCharClass:
		n := 0
		for i := 0; i < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
			if n > maxExact {
				return info{}
			}
		}
		var set []string
		for i := 0; i < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				// Only runes that survive normalisation occur in the text.
				if c := string(r); utf8.ValidRune(r) && string(normalize(nil, c, widthFold)) == c {
					set = append(set, c)
				}
			}
		}
		if set == nil {
			set = []string{}
		}
		return info{exact: set}
	case syntax.OpCapture:
		return analyze(re.Sub[0], widthFold)
	case syntax.OpStar:
		return info{}
	case syntax.OpQuest:
		if in := analyze(re.Sub[0], widthFold); in.exact != nil && len(in.exact) < maxExact {
			return info{exact: union(in.exact, []string{""})}
		}
		return info{}
	case syntax.OpPlus:
		return info{any: filterOf(analyze(re.Sub[0], widthFold))}
	case syntax.OpRepeat:
		in := analyze(re.Sub[0], widthFold)
		switch {
		case re.Min == 1 && re.Max == 1:
			return in
		case re.Min >= 1:
			return info{any: filterOf(in)}
		case re.Max == 1 && in.exact != nil && len(in.exact) < maxExact:
			return info{exact: union(in.exact, []string{""})}
		}
		return info{}
	case syntax.OpConcat:
		return analyzeConcat(re.Sub, widthFold)
	case syntax.OpAlternate:
		var exact, any []string
		allExact, anyOK := true, true
		for _, sub := range re.Sub {
			in := analyze(sub, widthFold)
			if allExact {
				if in.exact != nil && len(exact)+len(in.exact) <= maxExact {
					exact = union(exact, in.exact)
				} else {
					allExact = false
				}
			}
			if anyOK {
				if f := filterOf(in); f != nil {
					any = union(any, f)
				} else {
					anyOK = false
				}
			}
		}
		switch {
		case allExact:
			return info{exact: union(exact, nil)}
		case anyOK:
			return info{any: any}
		}
		return info{}
	}
	// OpAnyChar, OpAnyCharNotNL and anything unknown: no information.
	return info{}
}

// analyzeConcat joins adjacent exact parts into longer strings while the
// sets stay small, and otherwise keeps the best prefilter of any part.
func analyzeConcat(subs []*syntax.Regexp, widthFold bool) info {
	cur := []string{""} // exact strings of the current run of exact parts
	var best []string
	consider := func(set []string) {
		if score(set) > score(best) {
			best = set
		}
	}
	allExact := true
	for _, sub := range subs {
		in := analyze(sub, widthFold)
		if in.exact != nil && cur != nil && len(cur)*max(len(in.exact), 1) <= maxExact {
			cur = cross(cur, in.exact)
			continue
		}
		allExact = false
		consider(cur)
		if in.exact != nil {
			cur = in.exact
		} else {
			consider(in.any)
			cur = []string{""}
		}
	}
	if allExact {
		return info{exact: cur}
	}
	consider(cur)
	return info{any: best}
}

// filterOf returns the prefilter set of in, or nil.
func filterOf(in info) []string {
	if in.exact != nil {
		return usable(in.exact)
	}
	return in.any
}

func cross(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return dedupe(out)
}

func union(a, b []string) []string {
	return dedupe(append(slices.Clip(a), b...))
}

func dedupe(s []string) []string {
	out := make([]string, 0, len(s))
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
