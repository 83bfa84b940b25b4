package automod

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// normalize appends to dst the matching form of s: Unicode lower case
// (simple case folding, so "ſ" and "K" (Kelvin) fold too), runs of
// whitespace collapsed to one ' ', invisible format characters (zero-width
// space and joiners, soft hyphen, bidi marks) and invalid UTF-8 dropped, and,
// when widthFold, full-width forms folded to ASCII and half-width katakana to
// full-width. Blocklist words are normalised the same way, so matching
// compares like with like. Byte offsets into the result do not map back to
// s; only whole matches are reported.
func normalize(dst []byte, s string, widthFold bool) []byte {
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == ' ', c == '\t', c == '\n', c == '\r', c == '\v', c == '\f':
				if !space {
					dst = append(dst, ' ')
					space = true
				}
				continue
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			space = false
			dst = append(dst, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			i++ // invalid byte: drop, so it cannot split a word
			continue
		}
		if r >= 0x4E00 && r <= 0x9FFF { // CJK unified ideographs: nothing to fold
			space = false
			dst = append(dst, s[i:i+size]...)
			i += size
			continue
		}
		if widthFold {
			if p, _ := width.LookupString(s[i:]); p.Folded() != 0 {
				r = p.Folded()
			}
		}
		i += size
		r = foldRune(r)
		switch {
		case unicode.IsSpace(r):
			if !space {
				dst = append(dst, ' ')
				space = true
			}
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		space = false
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// foldRune maps r to its lower-case fold: upper then lower, so that
// characters whose lower case is not their fold's (ς, ſ, K) meet their
// plain forms.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// isWordRune reports whether r is part of a word: a letter, digit or
// combining mark.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// isUnspaced reports whether r belongs to a script written without spaces
// between words (Chinese, Japanese, Korean as blocklisted in practice, Thai,
// Lao, Khmer, Myanmar). Words edged by such runes match as substrings, and
// such runes are word boundaries for Latin-like words ("加我spam").
func isUnspaced(r rune) bool {
	switch {
	case r < 0x0E00:
		return false
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3040 && r <= 0x30FF, r >= 0xAC00 && r <= 0xD7AF:
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
		unicode.Bopomofo, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// needsBoundary reports whether a word edged by r must meet a word
// boundary there.
func needsBoundary(r rune) bool { return isWordRune(r) && !isUnspaced(r) }

// automaton is an Aho-Corasick DFA over bytes of normalised text: one
// table lookup per input byte whatever the number of words. Bytes that
// occur in no word share one class, so the table stays small.
type automaton struct {
	classes [256]uint8
	nclass  int
	trans   []int32 // state*nclass + class → state
	// out is the word ending at a state, or -1; link is the next state on
	// the failure chain with an out, or -1. match marks states where either
	// is set.
	out   []int32
	link  []int32
	match []bool
	words []acWord
}

type acWord struct {
	index       int // index in the rule's Words
	n           int // length in bytes, normalised
	left, right bool
}

// newAutomaton builds the DFA for words (normalised already); index[i] is
// the position of words[i] in the configuration. With boundaries, words
// edged by letters of spaced scripts match whole words only.
func newAutomaton(words []string, index []int, boundaries bool) *automaton {
	a := &automaton{}
	n := 1
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if a.classes[w[i]] == 0 {
				a.classes[w[i]] = uint8(n)
				n++
			}
		}
	}
	if n > 256 { // cannot happen with valid UTF-8 in practice, but stay safe
		n = 256
	}
	a.nclass = n
	newState := func() int32 {
		s := int32(len(a.out))
		for range n {
			a.trans = append(a.trans, -1)
		}
		a.out = append(a.out, -1)
		return s
	}
	newState()
	for wi, w := range words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			t := &a.trans[int(s)*n+int(a.classes[w[i]])]
			if *t < 0 {
				ns := newState() // may grow a.trans: re-take the pointer
				t = &a.trans[int(s)*n+int(a.classes[w[i]])]
				*t = ns
			}
			s = *t
		}
		if a.out[s] >= 0 {
			continue // duplicate after normalisation: keep the first
		}
		first, _ := utf8.DecodeRuneInString(w)
		last, _ := utf8.DecodeLastRuneInString(w)
		a.out[s] = int32(len(a.words))
		a.words = append(a.words, acWord{index: index[wi], n: len(w), left: boundaries && needsBoundary(first), right: boundaries && needsBoundary(last)})
	}
	states := len(a.out)
	a.link = make([]int32, states)
	a.match = make([]bool, states)
	fail := make([]int32, states)
	queue := make([]int32, 0, states)
	for c := range n {
		t := a.trans[c]
		if t < 0 {
			a.trans[c] = 0
			continue
		}
		fail[t] = 0
		queue = append(queue, t)
	}
	a.link[0] = -1
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if a.out[fail[u]] >= 0 {
			a.link[u] = fail[u]
		} else {
			a.link[u] = a.link[fail[u]]
		}
		a.match[u] = a.out[u] >= 0 || a.link[u] >= 0
		for c := range n {
			i := int(u)*n + c
			t := a.trans[i]
			if t < 0 {
				a.trans[i] = a.trans[int(fail[u])*n+c]
				continue
			}
			fail[t] = a.trans[int(fail[u])*n+c]
			queue = append(queue, t)
		}
	}
	return a
}

// find returns the configuration index of the first word (by end position)
// that occurs in text on its required boundaries.
func (a *automaton) find(text []byte) (int, bool) {
	n, s := a.nclass, int32(0)
	for i := 0; i < len(text); i++ {
		s = a.trans[int(s)*n+int(a.classes[text[i]])]
		if !a.match[s] {
			continue
		}
		for t := s; t >= 0; t = a.link[t] {
			if o := a.out[t]; o >= 0 {
				w := &a.words[o]
				if a.bounded(text, i+1-w.n, i+1, w) {
					return w.index, true
				}
			}
		}
	}
	return 0, false
}

// bounded checks the word boundaries of a match of w at text[start:end].
func (a *automaton) bounded(text []byte, start, end int, w *acWord) bool {
	if w.left && start > 0 {
		if r, _ := utf8.DecodeLastRune(text[:start]); needsBoundary(r) {
			return false
		}
	}
	if w.right && end < len(text) {
		if r, _ := utf8.DecodeRune(text[end:]); needsBoundary(r) {
			return false
		}
	}
	return true
}

// each calls f with the index of every word occurring in text, once per
// occurrence, ignoring boundaries.
func (a *automaton) each(text []byte, f func(index int)) {
	n, s := a.nclass, int32(0)
	for i := 0; i < len(text); i++ {
		s = a.trans[int(s)*n+int(a.classes[text[i]])]
		if !a.match[s] {
			continue
		}
		for t := s; t >= 0; t = a.link[t] {
			if o := a.out[t]; o >= 0 {
				f(a.words[o].index)
			}
		}
	}
}
