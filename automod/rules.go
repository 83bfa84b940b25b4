package automod

import (
	"fmt"
	"slices"
	"strconv"

	"gavel/moderation"
)

// rule is what every compiled rule has.
type rule struct {
	name    string
	dryRun  bool
	actions []Action
	exempt  map[userKey]struct{}
}

// appendHits appends one hit per action of r to hits. A lock's hit names
// no user and no message: it acts on the chat.
func (r *rule) appendHits(hits []Hit, chat moderation.ChatRef, users []string, messageID, match string) []Hit {
	match = truncate(match, 64)
	for _, a := range r.actions {
		h := Hit{Rule: r.name, Action: a, DryRun: r.dryRun, Chat: chat, Users: users, MessageID: messageID, Match: match}
		if a.Kind == ActionLock {
			h.Users, h.MessageID = nil, ""
		}
		hits = append(hits, h)
	}
	return hits
}

// deletes reports whether one of r's actions recalls the message.
func (r *rule) deletes() bool {
	for _, a := range r.actions {
		if a.Kind == ActionDelete {
			return true
		}
	}
	return false
}

func (r *rule) applies(platform, user string) bool {
	if len(r.exempt) == 0 {
		return true
	}
	_, ok := r.exempt[userKey{platform, user}]
	return !ok
}

type floodRule struct {
	rule
	limit int
	per   int64
}

type blocklistRule struct {
	rule
	ac       *automaton // nil without words
	words    []string
	patterns []string // as configured, for Hit.Match
	pats     []*pattern
	// filter finds the prefilter strings of pats; filterPats[i] lists the
	// patterns whose prefilter holds the filter's i-th string. always
	// lists the patterns without a prefilter.
	filter     *automaton
	filterPats [][]int
	always     []int
	widthFold  bool
}

func (b *blocklistRule) match(sc *scratch) (string, bool) {
	norm := sc.text
	if b.ac != nil {
		if i, ok := b.ac.find(norm); ok {
			return "word " + strconv.Quote(b.words[i]), true
		}
	}
	if len(b.pats) == 0 {
		return "", false
	}
	// Mark the patterns worth running, then run them in configuration
	// order so the reported pattern does not depend on the prefilter.
	run := sc.marks[:0]
	for range (len(b.pats) + 63) / 64 {
		run = append(run, 0)
	}
	sc.marks = run
	for _, i := range b.always {
		run[i/64] |= 1 << (i % 64)
	}
	if b.filter != nil {
		b.filter.each(norm, func(f int) {
			for _, i := range b.filterPats[f] {
				run[i/64] |= 1 << (i % 64)
			}
		})
	}
	for i, p := range b.pats {
		if run[i/64]&(1<<(i%64)) != 0 && p.re.Match(norm) {
			return "pattern #" + strconv.Itoa(i) + " " + strconv.Quote(truncate(b.patterns[i], 40)), true
		}
	}
	return "", false
}

type mentionsRule struct {
	rule
	max int
}

type linksRule struct {
	rule
	allow []string
}

func (l *linksRule) match(text string) (string, bool) {
	return firstLink(text, l.allow)
}

type raidRule struct {
	rule
	limit int
	per   int64
}

// ruleSet is the compiled rules of one chat; nil means absent or disabled.
type ruleSet struct {
	flood     *floodRule
	blocklist *blocklistRule
	mentions  *mentionsRule
	links     *linksRule
	raid      *raidRule
}

func (rs *ruleSet) forMessages() bool {
	return rs.flood != nil || rs.blocklist != nil || rs.mentions != nil || rs.links != nil
}

// compileRules compiles the blocks present in r over base: a present block
// replaces base's rule, an absent one keeps it (shared, not recompiled).
func compileRules(base *ruleSet, r Rules) (*ruleSet, error) {
	rs := *base
	if f := r.Flood; f != nil {
		rs.flood = nil
		if f.Enabled {
			rs.flood = &floodRule{rule: newRule(RuleFlood, f.Common), limit: f.Messages, per: int64(f.Per)}
		}
	}
	if b := r.Blocklist; b != nil {
		rs.blocklist = nil
		if b.Enabled {
			c, err := compileBlocklist(b)
			if err != nil {
				return nil, err
			}
			rs.blocklist = c
		}
	}
	if m := r.Mentions; m != nil {
		rs.mentions = nil
		if m.Enabled {
			rs.mentions = &mentionsRule{rule: newRule(RuleMentions, m.Common), max: m.Max}
		}
	}
	if l := r.Links; l != nil {
		rs.links = nil
		if l.Enabled {
			c := &linksRule{rule: newRule(RuleLinks, l.Common)}
			for _, d := range l.Allow {
				n, _ := normalizeAllowed(d)
				c.allow = append(c.allow, n)
			}
			rs.links = c
		}
	}
	if rd := r.Raid; rd != nil {
		rs.raid = nil
		if rd.Enabled {
			rs.raid = &raidRule{rule: newRule(RuleRaid, rd.Common), limit: rd.Joins, per: int64(rd.Per)}
		}
	}
	return &rs, nil
}

func compileBlocklist(b *BlocklistRule) (*blocklistRule, error) {
	c := &blocklistRule{rule: newRule(RuleBlocklist, b.Common), words: b.Words, patterns: b.Patterns, widthFold: b.NormalizeWidth}
	var norm []string
	var index []int
	for i, w := range b.Words {
		n := string(trimSpace(normalize(nil, w, b.NormalizeWidth)))
		if n == "" {
			return nil, fmt.Errorf("blocklist.words[%d]: nothing left after normalisation", i)
		}
		norm = append(norm, n)
		index = append(index, i)
	}
	if len(norm) > 0 {
		c.ac = newAutomaton(norm, index, true)
	}
	var filters []string
	for i, p := range b.Patterns {
		pat, err := compilePattern(p, b.NormalizeWidth)
		if err != nil {
			return nil, fmt.Errorf("blocklist.patterns[%d]: %w", i, err)
		}
		c.pats = append(c.pats, pat)
		if pat.filter == nil {
			c.always = append(c.always, i)
			continue
		}
		for _, f := range pat.filter {
			j := slices.Index(filters, f)
			if j < 0 {
				j = len(filters)
				filters = append(filters, f)
				c.filterPats = append(c.filterPats, nil)
			}
			c.filterPats[j] = append(c.filterPats[j], i)
		}
	}
	if len(filters) > 0 {
		index := make([]int, len(filters))
		for i := range index {
			index[i] = i
		}
		c.filter = newAutomaton(filters, index, false)
	}
	return c, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

func newRule(name string, c Common) rule {
	return rule{name: name, dryRun: c.DryRun, actions: c.ActionList(), exempt: userSet(c.Exempt)}
}

func userSet(users []string) map[userKey]struct{} {
	if len(users) == 0 {
		return nil
	}
	m := make(map[userKey]struct{}, len(users))
	for _, u := range users {
		p, id, _ := splitRef(u)
		m[userKey{p, id}] = struct{}{}
	}
	return m
}

// splitRef splits "platform:id" at the first colon.
func splitRef(s string) (platform, id string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}
