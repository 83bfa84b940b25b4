package commands

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gavel/moderation"
)

// splitTokens splits text into whitespace-separated tokens, except that a
// platform mention's token stays whole even when it holds spaces: on TIM
// the text carries the member's name card or nickname ("@John Smith"),
// which only the mention list can tell apart from the words after it.
//
// A mention is matched where a token starts, the expected (next in text
// order) mention first, then any other not yet matched; its token must be
// followed by the end of the text, a space or another '@'. The error wraps
// ErrUnresolvedMention when a mention of a user (UserID set) was not
// found: the adapter could not learn its text, or the text does not hold
// it. The tokens are still returned, split on whitespace there.
func splitTokens(text string, mentions []moderation.Mention) ([]string, error) {
	if len(mentions) == 0 {
		return strings.Fields(text), nil
	}
	toks := make([]string, 0, 8)
	found := make([]bool, len(mentions))
	next := 0
	for rest := text; ; {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		if j := matchMention(rest, mentions, next, found); j >= 0 {
			tok := mentions[j].Token
			toks = append(toks, tok)
			rest = rest[len(tok):]
			found[j] = true
			for next < len(mentions) && found[next] {
				next++
			}
			continue
		}
		end := strings.IndexFunc(rest, unicode.IsSpace)
		if end < 0 {
			end = len(rest)
		}
		toks = append(toks, rest[:end])
		rest = rest[end:]
	}
	for j, m := range mentions {
		if !found[j] && m.UserID != "" {
			who := m.Token
			if who == "" {
				who = "@" + m.UserID
			}
			return toks, fmt.Errorf("%w: %s", ErrUnresolvedMention, truncate(who, 64))
		}
	}
	return toks, nil
}

// matchMention returns the index of the mention whose token starts s,
// trying mentions[next] first; -1 if none.
func matchMention(s string, mentions []moderation.Mention, next int, found []bool) int {
	if next < len(mentions) && !found[next] && mentionAt(s, mentions[next].Token) {
		return next
	}
	best := -1
	for j, m := range mentions {
		if found[j] || j == next || !mentionAt(s, m.Token) {
			continue
		}
		if best < 0 || len(m.Token) > len(mentions[best].Token) {
			best = j // the longest: "@Bob Lee" before "@Bob"
		}
	}
	return best
}

// mentionAt reports whether s starts with the mention token tok followed by
// a boundary.
func mentionAt(s, tok string) bool {
	if tok == "" || !strings.HasPrefix(s, tok) {
		return false
	}
	after := s[len(tok):]
	if after == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(after)
	return unicode.IsSpace(r) || r == '@' || r == '＠'
}

// rawIDsAllowed reports whether "@id" tokens that are no platform mention
// may name targets: only when the platform listed no mention but the
// bot's. Mixing them with picked mentions is refused: on TIM a typed
// "@John" may be a nickname, not the id "John".
func rawIDsAllowed(mentions []moderation.Mention, botID string) bool {
	for _, m := range mentions {
		if m.UserID == "" || m.UserID != botID {
			return false
		}
	}
	return true
}

// mentionResolver pairs @-tokens with the platform's mentions in text order.
// The mentions of each token are chained by position, so resolving every
// token of a message costs time linear in the tokens and mentions together
// (a token with no mention of its own does not rescan the list).
type mentionResolver struct {
	mentions []moderation.Mention
	head     map[string]int    // token → its first unused mention
	same     []int             // mention → the next mention with its token, or -1
	next     int               // mentions before next are used up
	first    map[string]string // token → the user id of its first mention
	// rawIDs allows "@id" tokens that are no platform mention.
	rawIDs bool
}

func newMentionResolver(ms []moderation.Mention, rawIDs bool) mentionResolver {
	m := mentionResolver{mentions: ms, rawIDs: rawIDs}
	if len(ms) == 0 {
		return m
	}
	m.head = make(map[string]int, len(ms))
	m.first = make(map[string]string, len(ms))
	m.same = make([]int, len(ms))
	for j := len(ms) - 1; j >= 0; j-- {
		m.same[j] = -1
		if h, ok := m.head[ms[j].Token]; ok {
			m.same[j] = h
		}
		m.head[ms[j].Token] = j
		m.first[ms[j].Token] = ms[j].UserID
	}
	return m
}

// resolve returns the user id tok stands for: the next platform mention if
// tok is its token, else the raw id typed after '@' when raw ids are
// allowed; "" when tok stands for nobody (or for everyone: @all).
func (m *mentionResolver) resolve(tok string) string {
	if j, ok := m.head[tok]; ok {
		for j >= 0 && j < m.next {
			j = m.same[j]
		}
		if j >= 0 {
			m.head[tok] = m.same[j]
			m.next = j + 1
			return m.mentions[j].UserID
		}
		delete(m.head, tok)
	}
	if id, ok := m.first[tok]; ok { // out of text order, or named again
		return id
	}
	if !m.rawIDs {
		return ""
	}
	id := strings.TrimPrefix(strings.TrimPrefix(tok, "@"), "＠")
	if !validRawID(id) {
		return ""
	}
	return id
}

// safeTarget refuses what can never be a user id in a request: the empty
// id, the dot segments "." and ".." (`/kick @..` once sent DELETE
// …/chatgroups/{id}/users/.., which a normalising proxy reads as "dissolve
// the group") and ids holding a path separator. It applies to platform
// mentions as well as raw ids; the adapters refuse them again (pathseg).
func safeTarget(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\`)
}

// validRawID accepts ids made of letters, digits and ._-:# as every
// platform's user ids are, except the dot segments.
func validRawID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '_' || r == '-' || r == '.' || r == ':' || r == '#':
		default:
			return false
		}
	}
	return true
}
