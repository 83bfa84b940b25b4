// Package automod is Gavel's auto-moderation rule engine: flood,
// blocklist (words and RE2 patterns), mention spam, link spam and join
// raids, with per-chat overrides, exemptions, dry runs, a per-chat notice
// limiter and a warning ladder.
//
// It is pure and in-memory: no network, no store. Rules are compiled once
// by New; evaluating a message is one pass of an Aho-Corasick automaton
// over its normalised text for all words, plus the RE2 patterns, so cost
// does not grow with the number of words. Windowed state (flood, raid,
// notices) expires by the injected clock, so memory stays bounded.
//
// What the engine cannot know is left to its caller: owner and admin
// exemption (chat roles need an API call), storing warnings and applying
// the ladder, carrying actions out on the platform.
package automod

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"gavel/moderation"
)

// Rule names as they appear in Hit.Rule.
const (
	RuleFlood     = "flood"
	RuleBlocklist = "blocklist"
	RuleMentions  = "mentions"
	RuleLinks     = "links"
	RuleRaid      = "raid"
)

// DefaultNoticesPerMinute is used when notices_per_minute is unset.
const DefaultNoticesPerMinute = 6

// Hit is one action of a rule firing, with what it asks for and why. A
// rule with several actions (`actions: [kick, lock 10m]`) fires one hit
// per action, in the configured order, with the same Match.
type Hit struct {
	// Rule is RuleFlood, RuleBlocklist, RuleMentions, RuleLinks or RuleRaid.
	Rule   string
	Action Action
	// DryRun: report the hit ("would mute …") but do not act.
	DryRun bool
	Chat   moderation.ChatRef
	// Users are the sender, or for a raid the joiners of the burst not hit
	// before; none for a lock, which acts on the chat.
	Users []string
	// MessageID is the offending message (empty for a raid and a lock);
	// the pipeline recalls it when Action is delete.
	MessageID string
	// Match says what matched, at most 64 runes: `word "spam"`,
	// `pattern #3 "fr[e3]{2}"`, "6 messages in 10s", "12 mentions",
	// "link bad.example", "25 joins in 10s".
	Match string
}

// Engine evaluates the rules. It is safe for concurrent use.
type Engine struct {
	now         func() time.Time
	enabled     bool
	noticeLimit int
	exempt      map[userKey]struct{}
	defaults    *ruleSet
	chats       map[chatKey]*ruleSet
	warnings    WarningsConfig

	windows Windows
	notices *shardedMap[chatKey, noticeState]

	scratch sync.Pool // *scratch
}

// Option adjusts an Engine.
type Option func(*Engine)

// WithWindows keeps the flood and raid windows in w (e.g. Redis shared by
// every replica) instead of this process's memory.
func WithWindows(w Windows) Option { return func(e *Engine) { e.windows = w } }

// New validates cfg and compiles every rule set (the defaults and each
// chat's merged set). now is the clock; nil means time.Now.
func New(cfg Config, now func() time.Time, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		now:         now,
		enabled:     cfg.Enabled,
		noticeLimit: cfg.NoticesPerMinute,
		exempt:      userSet(cfg.Exempt),
		chats:       make(map[chatKey]*ruleSet, len(cfg.Chats)),
		warnings:    cfg.Warnings,
	}
	if e.noticeLimit == 0 {
		e.noticeLimit = DefaultNoticesPerMinute
	}
	if e.warnings.ExpireAfter == 0 {
		e.warnings.ExpireAfter = DefaultWarningExpiry
	}
	e.scratch.New = func() any { return &scratch{text: make([]byte, 0, 512)} }

	var err error
	if e.defaults, err = compileRules(&ruleSet{}, cfg.Defaults); err != nil {
		return nil, fmt.Errorf("automod.defaults: %w", err)
	}
	floodTTL, raidTTL := time.Duration(0), time.Duration(0)
	track := func(rs *ruleSet) {
		if rs.flood != nil {
			floodTTL = max(floodTTL, time.Duration(rs.flood.per))
		}
		if rs.raid != nil {
			raidTTL = max(raidTTL, time.Duration(rs.raid.per))
		}
	}
	track(e.defaults)
	for k, r := range cfg.Chats {
		p, id, _ := splitRef(k)
		rs, err := compileRules(e.defaults, r)
		if err != nil {
			return nil, fmt.Errorf("automod.chats[%q]: %w", k, err)
		}
		e.chats[chatKey{p, id}] = rs
		track(rs)
	}
	e.notices = newShardedMap[chatKey, noticeState](time.Minute, hashChat)
	for _, o := range opts {
		o(e)
	}
	if e.windows == nil {
		e.windows = NewMemoryWindows(floodTTL, raidTTL, now)
	}
	return e, nil
}

// Warnings returns the warning configuration with defaults applied.
func (e *Engine) Warnings() WarningsConfig { return e.warnings }

// Message evaluates a chat message against blocklist, links, mentions and
// flood, in that order, and returns every hit (nil when none). It records
// the message for flood detection. Nothing hits while the engine is
// disabled, nor for a sender exempt by configuration; such messages are not
// recorded either.
func (e *Engine) Message(msg *moderation.Message) []Hit { return e.message(msg, true) }

// ContentOnly evaluates only the rules that look at the message itself
// (blocklist, links, mentions), not flood, and records nothing. It is for a
// message delivered late (a platform's re-push): a flood is counted by when
// messages were sent, and a re-push of a message already counted would be
// counted twice.
func (e *Engine) ContentOnly(msg *moderation.Message) []Hit { return e.message(msg, false) }

func (e *Engine) message(msg *moderation.Message, rate bool) []Hit {
	if !e.enabled || msg == nil {
		return nil
	}
	rs := e.rules(msg.Chat)
	if !rs.forMessages() || e.exempts(msg.Chat.Platform, msg.SenderID) {
		return nil
	}
	var hits []Hit
	add := func(r *rule, match string) {
		hits = r.appendHits(hits, msg.Chat, []string{msg.SenderID}, msg.MessageID, match)
	}
	if b := rs.blocklist; b != nil && b.applies(msg.Chat.Platform, msg.SenderID) {
		if m, ok := e.matchBlocklist(b, msg.Text); ok {
			add(&b.rule, m)
		}
	}
	if l := rs.links; l != nil && l.applies(msg.Chat.Platform, msg.SenderID) {
		if d, ok := l.match(msg.Text); ok {
			add(&l.rule, "link "+d)
		}
	}
	if m := rs.mentions; m != nil && m.applies(msg.Chat.Platform, msg.SenderID) {
		if n := distinctMentions(msg.Mentions, m.max); n > m.max {
			add(&m.rule, strconv.Itoa(n)+" mentions")
		}
	}
	if f := rs.flood; rate && f != nil && msg.SenderID != "" && f.applies(msg.Chat.Platform, msg.SenderID) {
		now := e.now().UnixNano()
		t := eventTime(msg.SentAt, now)
		// One hit per window and user, except delete, which must remove
		// every message over the limit.
		n, hit := e.windows.Flood(msg.Chat.Platform, msg.Chat.ID, msg.SenderID, t, f.limit, f.per, f.deletes())
		if hit {
			add(&f.rule, fmt.Sprintf("%d messages in %s", n, moderation.FormatDuration(time.Duration(f.per))))
		}
	}
	return hits
}

// PreSend decides, before delivery, whether a message would be blocked by
// the blocklist or links rule. It changes no state and makes no calls, so
// it fits a platform's pre-delivery hook. reject is true when a rule that
// is not in dry run matched; a dry-run match is still returned (with
// reject false) so the caller can log it. Flood, mentions and raid are
// left to Message.
func (e *Engine) PreSend(chat moderation.ChatRef, senderID, text string) (hit Hit, reject bool) {
	if !e.enabled {
		return Hit{}, false
	}
	rs := e.rules(chat)
	if rs.blocklist == nil && rs.links == nil || e.exempts(chat.Platform, senderID) {
		return Hit{}, false
	}
	var dry Hit
	mk := func(r *rule, match string) Hit {
		return Hit{Rule: r.name, Action: r.actions[0], DryRun: r.dryRun, Chat: chat, Users: []string{senderID}, Match: truncate(match, 64)}
	}
	if b := rs.blocklist; b != nil && b.applies(chat.Platform, senderID) {
		if m, ok := e.matchBlocklist(b, text); ok {
			if !b.dryRun {
				return mk(&b.rule, m), true
			}
			dry = mk(&b.rule, m)
		}
	}
	if l := rs.links; l != nil && l.applies(chat.Platform, senderID) {
		if d, ok := l.match(text); ok {
			if !l.dryRun {
				return mk(&l.rule, "link "+d), true
			}
			if dry.Rule == "" {
				dry = mk(&l.rule, "link "+d)
			}
		}
	}
	return dry, false
}

// Join records joiners for raid detection. When more than raid.joins users
// have joined the chat within raid.per, it returns one hit naming every
// joiner in the window not hit before; later joiners of the same burst get
// hits of their own, and nobody is hit twice for one burst. Joiners exempt
// by configuration are neither counted nor hit.
func (e *Engine) Join(j *moderation.Join) []Hit {
	if !e.enabled || j == nil || len(j.UserIDs) == 0 {
		return nil
	}
	r := e.rules(j.Chat).raid
	if r == nil {
		return nil
	}
	now := e.now().UnixNano()
	t := eventTime(j.At, now)
	var joiners []string
	for _, u := range j.UserIDs {
		if u != "" && !e.exempts(j.Chat.Platform, u) && r.applies(j.Chat.Platform, u) {
			joiners = append(joiners, u)
		}
	}
	if len(joiners) == 0 {
		return nil
	}
	n, users := e.windows.Raid(j.Chat.Platform, j.Chat.ID, t, joiners, r.limit, r.per)
	if len(users) == 0 {
		return nil
	}
	return r.appendHits(nil, j.Chat, users, "", fmt.Sprintf("%d joins in %s", n, moderation.FormatDuration(time.Duration(r.per))))
}

// AllowNotice reports whether the bot may post one more notice in chat
// now, and counts it if so: at most notices_per_minute in any 60 seconds.
// The pipeline asks before every automatic notice and drops (or logs) the
// rest, so the bot neither floods a chat nor gets throttled.
func (e *Engine) AllowNotice(chat moderation.ChatRef) bool {
	return e.allow(chat, e.noticeLimit)
}

// NoticeLimit is notices_per_minute with its default applied: the
// mod-log's budget when modlog.per_minute is unset.
func (e *Engine) NoticeLimit() int { return e.noticeLimit }

// AllowPosts is AllowNotice with another limit: the same per-chat window
// (a chat's notices and Gavel's other posts there count together), at
// most perMinute in any 60 seconds. The mod-log's budget.
func (e *Engine) AllowPosts(chat moderation.ChatRef, perMinute int) bool {
	return e.allow(chat, perMinute)
}

func (e *Engine) allow(chat moderation.ChatRef, limit int) bool {
	now := e.now().UnixNano()
	ok := false
	e.notices.with(chatKey{chat.Platform, chat.ID}, now, func(s *noticeState) {
		i := 0
		for i < len(s.times) && now-s.times[i] >= int64(time.Minute) {
			i++
		}
		s.times = append(s.times[:0], s.times[i:]...)
		if len(s.times) < limit {
			s.times = append(s.times, now)
			ok = true
		}
	})
	return ok
}

func (e *Engine) rules(chat moderation.ChatRef) *ruleSet {
	if rs, ok := e.chats[chatKey{chat.Platform, chat.ID}]; ok {
		return rs
	}
	return e.defaults
}

func (e *Engine) exempts(platform, user string) bool {
	if len(e.exempt) == 0 {
		return false
	}
	_, ok := e.exempt[userKey{platform, user}]
	return ok
}

func (e *Engine) matchBlocklist(b *blocklistRule, text string) (string, bool) {
	sc := e.scratch.Get().(*scratch)
	defer func() {
		if cap(sc.text) <= 64<<10 {
			e.scratch.Put(sc)
		}
	}()
	sc.text = normalize(sc.text[:0], text, b.widthFold)
	return b.match(sc)
}

// scratch is per-call working memory, pooled.
type scratch struct {
	text  []byte   // normalised text
	marks []uint64 // patterns to run
}

// eventTime is the platform's timestamp when it has one no later than now,
// else now: windows follow when messages were sent (a backlog replayed
// after downtime is not a flood), and a platform clock running ahead
// cannot push events into the future.
func eventTime(at time.Time, now int64) int64 {
	if at.IsZero() {
		return now
	}
	return min(at.UnixNano(), now)
}

func distinctMentions(ms []moderation.Mention, limit int) int {
	if len(ms) <= limit {
		return len(ms) // cannot exceed the limit; an upper bound suffices
	}
	seen := make(map[string]struct{}, len(ms))
	for _, m := range ms {
		k := m.UserID
		if k == "" {
			k = "\x00" + m.Token
		}
		seen[k] = struct{}{}
	}
	return len(seen)
}
