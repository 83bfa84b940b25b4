package automod

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var chat = moderation.ChatRef{Platform: "tim", ID: "g1"}

func newEngine(tb testing.TB, cfg Config, clk *clock) *Engine {
	tb.Helper()
	if clk == nil {
		clk = newClock()
	}
	e, err := New(cfg, clk.Now)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e
}

func on(a string) Common {
	act, err := ParseAction(a)
	if err != nil {
		panic(err)
	}
	return Common{Enabled: true, Action: act}
}

func msg(sender, text string) *moderation.Message {
	return &moderation.Message{Chat: chat, MessageID: "m-" + sender, SenderID: sender, Text: text}
}

func hitRules(hits []Hit) []string {
	var r []string
	for _, h := range hits {
		r = append(r, h.Rule)
	}
	return r
}

func TestBlocklistWords(t *testing.T) {
	t.Parallel()
	words := []string{"ass", "spam", "广告", "buy now", "qq群", "спам", "λόγος", "cafe", "ｶﾈ", "c++", "$$$"}
	plain := newEngine(t, Config{Enabled: true, Defaults: Rules{Blocklist: &BlocklistRule{Common: on("delete"), Words: words}}}, nil)
	wide := newEngine(t, Config{Enabled: true, Defaults: Rules{Blocklist: &BlocklistRule{Common: on("delete"), Words: words, NormalizeWidth: true}}}, nil)
	tests := []struct {
		name, text string
		wide       bool   // use the engine with normalize_width
		want       string // the matched word, "" for no hit
	}{
		{"substring inside word", "thanks for the assistance", false, ""},
		{"suffix inside word", "world class", false, ""},
		{"inside pass", "you shall not pass", false, ""},
		{"prefix inside word", "assess this", false, ""},
		{"punctuation after", "what an ass!", false, "ass"},
		{"sentence end", "you are an ass.", false, "ass"},
		{"upper case", "ASS", false, "ass"},
		{"apostrophe", "the ass's tail", false, "ass"},
		{"digits glue", "ass123", false, ""},
		{"underscore separates", "ass_hat", false, "ass"},
		{"spammer not spam", "spammer detected", false, ""},
		{"mixed case", "Buy SPAM today", false, "spam"},
		{"cjk substring", "这是广告内容", false, "广告"},
		{"cjk traditional differs", "這是廣告內容", false, ""},
		{"latin next to cjk", "加我spam微信", false, "spam"},
		{"phrase", "buy now!", false, "buy now"},
		{"phrase whitespace collapsed", "BUY \t\n  NOW", false, "buy now"},
		{"phrase needs boundary", "buy nowhere", false, ""},
		{"mixed word cjk edge", "加qq群123456", false, "qq群"},
		{"mixed word latin edge glued", "myqq群", false, ""},
		{"cyrillic whole word", "это СПАМ!", false, "спам"},
		{"cyrillic inside word", "спамер", false, ""},
		{"greek final sigma folds", "ΛΌΓΟΣ", false, "λόγος"},
		{"combining accent is part of the word", "cafe\u0301", false, ""},
		{"precomposed accent differs", "café", false, ""},
		{"zero width space removed", "sp\u200bam", false, "spam"},
		{"soft hyphen removed", "sp\u00adam", false, "spam"},
		{"symbols word", "win $$$ now", false, "$$$"},
		{"symbol edge", "learn c++ today", false, "c++"},
		{"full width without normalisation", "ｓｐａｍ", false, ""},
		{"full width normalised", "ｓｐａｍ", true, "spam"},
		{"full width upper normalised", "ＳＰＡＭ！", true, "spam"},
		{"full width inside word still whole-word", "ｓｐａｍｍｅｒ", true, ""},
		{"ideographic space normalised", "buy\u3000now", true, "buy now"},
		{"half width katakana normalised", "ｶﾈ", true, "ｶﾈ"},
		{"full-width katakana word form", "カネ", true, "ｶﾈ"},
		{"empty", "", false, ""},
		{"invalid utf8 dropped", "sp\xffam", false, "spam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := plain
			if tt.wide {
				e = wide
			}
			hits := e.Message(msg("u1", tt.text))
			if tt.want == "" {
				if len(hits) != 0 {
					t.Fatalf("hit %q, want none", hits[0].Match)
				}
				return
			}
			if len(hits) != 1 {
				t.Fatalf("hits = %v, want one", hits)
			}
			if want := fmt.Sprintf("word %q", tt.want); hits[0].Match != want {
				t.Errorf("Match = %q, want %q", hits[0].Match, want)
			}
			h := hits[0]
			if h.Rule != RuleBlocklist || h.MessageID != "m-u1" || !slices.Equal(h.Users, []string{"u1"}) || h.Action.Kind != ActionDelete || h.Chat != chat {
				t.Errorf("hit = %+v", h)
			}
		})
	}
}

func TestBlocklistPatterns(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{Blocklist: &BlocklistRule{
		Common:   on("mute 10m"),
		Patterns: []string{`(a+)+$`, `fr[e3]{2}\s+m[o0]ney`, `[A-Z]+COIN\b`, `\d{11}`},
	}}}, nil)
	tests := []struct {
		name, text, want string
	}{
		{"catastrophic elsewhere, linear here", strings.Repeat("a", 50000) + "!", ""},
		{"catastrophic pattern matching", "baaa", `pattern #0 "(a+)+$"`},
		{"leet", "FR33   M0NEY here", `pattern #1 "fr[e3]{2}\\s+m[o0]ney"`},
		{"case-insensitive against lower-cased text", "buy DOGECOIN", `pattern #2 "[A-Z]+COIN\\b"`},
		{"no match", "a normal message!", ""},
		{"phone number", "call 13800138000", `pattern #3 "\\d{11}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			hits := e.Message(msg("u1", tt.text))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			got := ""
			if len(hits) > 0 {
				got = hits[0].Match
			}
			if got != tt.want {
				t.Errorf("Match = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{Links: &LinksRule{
		Common: on("delete"), Allow: []string{"example.com", "*.gavel.dev"},
	}}}, nil)
	tests := []struct{ name, text, want string }{
		{"https", "see https://evil.com/x", "evil.com"},
		{"allowed", "docs at https://example.com/a", ""},
		{"allowed subdomain", "https://docs.example.com/path?q=1", ""},
		{"wildcard entry allows apex", "https://gavel.dev", ""},
		{"suffix without dot is not a subdomain", "https://notexample.com", "notexample.com"},
		{"allowed name as a subdomain of evil", "https://example.com.evil.com/", "example.com.evil.com"},
		{"upper case scheme and host", "HTTP://EVIL.COM", "evil.com"},
		{"userinfo trick", "https://example.com@evil.com/", "evil.com"},
		{"port", "http://evil.com:8080/x", "evil.com"},
		{"parenthesised", "(https://evil.com)", "evil.com"},
		{"full-width comma ends host", "https://evil.com，好的", "evil.com"},
		{"www bare", "go to www.Bad.net now", "www.bad.net"},
		{"bare with path", "bad.example/x", "bad.example"},
		{"bare common tld", "visit spam.xyz today", "spam.xyz"},
		{"bare next to cjk", "看这个evil.com吧", "evil.com"},
		{"first non-allowed reported", "example.com then evil.io then bad.cn", "evil.io"},
		{"allowed bare with trailing dot", "see example.com.", ""},
		{"path of allowed url not a link", "https://example.com/r/evil.com", ""},
		{"e.g.", "e.g. this one", ""},
		{"i.e.", "i.e., that", ""},
		{"version", "upgrade to v1.2.3", ""},
		{"decimal", "pi is 3.14", ""},
		{"file names", "edit main.go and config.yaml", ""},
		{"missing space after full stop", "Fine.Thanks for asking", ""},
		{"email", "mail bob@evil.com", ""},
		{"scheme glued to word", "xhttps://evil.com", ""},
		{"no dot", "https://localhost", "localhost"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hits := e.Message(msg("u1", tt.text))
			got := ""
			if len(hits) > 0 {
				got = strings.TrimPrefix(hits[0].Match, "link ")
			}
			if got != tt.want {
				t.Errorf("link = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMentions(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{Mentions: &MentionsRule{Common: on("warn"), Max: 3}}}, nil)
	ms := func(ids ...string) []moderation.Mention {
		var r []moderation.Mention
		for _, id := range ids {
			r = append(r, moderation.Mention{Token: "@" + id, UserID: id})
		}
		return r
	}
	tests := []struct {
		name     string
		mentions []moderation.Mention
		want     string
	}{
		{"none", nil, ""},
		{"at limit", ms("a", "b", "c"), ""},
		{"over limit", ms("a", "b", "c", "d"), "4 mentions"},
		{"repeats are not distinct", ms("a", "a", "b", "b", "c", "c"), ""},
		{"token when no user id", []moderation.Mention{{Token: "@x"}, {Token: "@y"}, {Token: "@z"}, {Token: "@w"}}, "4 mentions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := msg("u1", "hi")
			m.Mentions = tt.mentions
			got := ""
			if hits := e.Message(m); len(hits) > 0 {
				got = hits[0].Match
			}
			if got != tt.want {
				t.Errorf("Match = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFlood(t *testing.T) {
	t.Parallel()
	type step struct {
		after  time.Duration // clock advance before the message
		sender string
		hit    bool
	}
	steps := func(n int, every time.Duration, sender string, hitFrom int) []step {
		var s []step
		for i := range n {
			s = append(s, step{every, sender, i >= hitFrom})
		}
		return s
	}
	tests := []struct {
		name   string
		action string
		steps  []step
	}{
		{"at limit", "mute 10m", steps(5, time.Second, "a", 99)},
		{"over limit hits once per window", "mute 10m", append(steps(6, time.Second, "a", 5), step{time.Second, "a", false}, step{time.Second, "a", false})},
		{"window is half-open", "warn", steps(6, 2*time.Second, "a", 99)},
		{"slow sender", "warn", steps(20, 3*time.Second, "a", 99)},
		{"users are separate", "warn", []step{{0, "a", false}, {0, "b", false}, {0, "a", false}, {0, "b", false}, {0, "a", false}, {0, "b", false}, {0, "a", false}, {0, "b", false}, {0, "a", false}, {0, "b", false}}},
		{"delete hits every excess message", "delete", steps(8, 100*time.Millisecond, "a", 5)},
		{"sustained flood hits again after the window", "kick", append(append(steps(6, time.Second, "a", 5), steps(9, time.Second, "a", 99)...), step{time.Second, "a", true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			e := newEngine(t, Config{Enabled: true, Defaults: Rules{Flood: &FloodRule{Common: on(tt.action), Messages: 5, Per: 10 * time.Second}}}, clk)
			for i, s := range tt.steps {
				clk.Advance(s.after)
				hits := e.Message(msg(s.sender, "hello"))
				if got := len(hits) == 1; got != s.hit {
					t.Fatalf("message %d from %s: hit = %v, want %v (%v)", i, s.sender, got, s.hit, hits)
				}
				if s.hit && hits[0].Match != "6 messages in 10s" {
					t.Errorf("Match = %q", hits[0].Match)
				}
			}
		})
	}
}

func TestFloodUsesSentAt(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{Flood: &FloodRule{Common: on("warn"), Messages: 2, Per: 10 * time.Second}}}, clk)
	// A backlog delivered at once, sent a minute apart, is no flood.
	base := clk.Now().Add(-time.Hour)
	for i := range 5 {
		m := msg("a", "x")
		m.SentAt = base.Add(time.Duration(i) * time.Minute)
		if hits := e.Message(m); len(hits) != 0 {
			t.Fatalf("backlog message %d hit: %v", i, hits)
		}
	}
	// Timestamps ahead of the clock count as now.
	var hits []Hit
	for range 3 {
		m := msg("b", "x")
		m.SentAt = clk.Now().Add(time.Hour)
		hits = e.Message(m)
	}
	if len(hits) != 1 || hits[0].Match != "3 messages in 10s" {
		t.Errorf("hits = %v", hits)
	}
}

// TestContentOnly: a late (re-pushed) message meets the content rules but
// is neither counted for nor hit by flood.
func TestContentOnly(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{
		Flood:     &FloodRule{Common: on("warn"), Messages: 2, Per: 10 * time.Second},
		Blocklist: &BlocklistRule{Common: on("delete"), Words: []string{"casino"}},
	}}, nil)
	for i := range 5 {
		if hits := e.ContentOnly(msg("a", "hello")); len(hits) != 0 {
			t.Fatalf("late message %d hit %v", i, hitRules(hits))
		}
	}
	if hits := e.ContentOnly(msg("a", "casino")); !slices.Equal(hitRules(hits), []string{"blocklist"}) {
		t.Fatalf("late blocklisted message hit %v", hitRules(hits))
	}
	// The late messages were not counted: two on-time ones are no flood.
	for i := range 2 {
		if hits := e.Message(msg("a", "hello")); len(hits) != 0 {
			t.Fatalf("on-time message %d hit %v after late ones", i, hitRules(hits))
		}
	}
}

func TestRaid(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEngine(t, Config{
		Enabled: true,
		Exempt:  []string{"tim:friend"},
		Defaults: Rules{Raid: &RaidRule{Common: Common{Enabled: true, Action: Action{Kind: ActionKick}, Exempt: []string{"tim:vip"}},
			Joins: 3, Per: 10 * time.Second}},
	}, clk)
	join := func(users ...string) []string {
		t.Helper()
		clk.Advance(time.Second)
		hits := e.Join(&moderation.Join{Chat: chat, UserIDs: users})
		switch len(hits) {
		case 0:
			return nil
		case 1:
			if hits[0].Rule != RuleRaid || hits[0].Action.Kind != ActionKick || hits[0].MessageID != "" {
				t.Errorf("hit = %+v", hits[0])
			}
			return hits[0].Users
		}
		t.Fatalf("hits = %v", hits)
		return nil
	}
	steps := []struct {
		users []string
		want  []string
	}{
		{[]string{"a"}, nil},
		{[]string{"b", "friend", "vip"}, nil}, // exempt joiners are not counted
		{[]string{"c"}, nil},
		{[]string{"d"}, []string{"a", "b", "c", "d"}}, // the whole burst
		{[]string{"e"}, []string{"e"}},                // later joiner: own hit
		{[]string{"a"}, nil},                          // re-join: not hit twice
		{[]string{"f", "g"}, []string{"f", "g"}},
	}
	for i, s := range steps {
		if got := join(s.users...); !slices.Equal(got, s.want) {
			t.Fatalf("step %d join %v: hit %v, want %v", i, s.users, got, s.want)
		}
	}
	// The burst ends; a quiet trickle later hits nobody.
	clk.Advance(time.Minute)
	for _, u := range []string{"h", "i", "j"} {
		if got := join(u); got != nil {
			t.Fatalf("trickle join %s hit %v", u, got)
		}
		clk.Advance(5 * time.Second)
	}
	// One event with many joiners (a mass invite) is a burst on its own.
	clk.Advance(time.Minute)
	if got := join("p", "q", "r", "s"); !slices.Equal(got, []string{"p", "q", "r", "s"}) {
		t.Errorf("batch join hit %v", got)
	}
}

func TestSwitchesAndExemptions(t *testing.T) {
	t.Parallel()
	rules := func(c Common) Rules {
		return Rules{Blocklist: &BlocklistRule{Common: c, Words: []string{"spam"}}}
	}
	tests := []struct {
		name    string
		cfg     Config
		sender  string
		wantHit bool
		wantDry bool
	}{
		{"hit", Config{Enabled: true, Defaults: rules(on("warn"))}, "u1", true, false},
		{"engine disabled", Config{Enabled: false, Defaults: rules(on("warn"))}, "u1", false, false},
		{"rule disabled", Config{Enabled: true, Defaults: rules(Common{Action: Action{Kind: ActionWarn}})}, "u1", false, false},
		{"dry run", Config{Enabled: true, Defaults: rules(Common{Enabled: true, DryRun: true, Action: Action{Kind: ActionWarn}})}, "u1", true, true},
		{"global exempt", Config{Enabled: true, Exempt: []string{"tim:u1"}, Defaults: rules(on("warn"))}, "u1", false, false},
		{"global exempt other platform", Config{Enabled: true, Exempt: []string{"feishu:u1"}, Defaults: rules(on("warn"))}, "u1", true, false},
		{"rule exempt", Config{Enabled: true, Defaults: rules(Common{Enabled: true, Action: Action{Kind: ActionWarn}, Exempt: []string{"tim:u1"}})}, "u1", false, false},
		{"rule exempt someone else", Config{Enabled: true, Defaults: rules(Common{Enabled: true, Action: Action{Kind: ActionWarn}, Exempt: []string{"tim:u2"}})}, "u1", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, tt.cfg, nil)
			hits := e.Message(msg(tt.sender, "spam"))
			if (len(hits) == 1) != tt.wantHit {
				t.Fatalf("hits = %v, want hit %v", hits, tt.wantHit)
			}
			if tt.wantHit && hits[0].DryRun != tt.wantDry {
				t.Errorf("DryRun = %v", hits[0].DryRun)
			}
			h, reject := e.PreSend(chat, tt.sender, "spam")
			if reject != (tt.wantHit && !tt.wantDry) || (h.Rule != "") != tt.wantHit {
				t.Errorf("PreSend = %+v, %v", h, reject)
			}
		})
	}
}

func TestPerChatOverride(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Enabled: true,
		Defaults: Rules{
			Blocklist: &BlocklistRule{Common: on("delete"), Words: []string{"spam"}},
			Flood:     &FloodRule{Common: on("mute 1m"), Messages: 2, Per: time.Minute},
			Links:     &LinksRule{Common: on("delete")},
		},
		Chats: map[string]Rules{
			"tim:g2": {Blocklist: &BlocklistRule{Common: on("kick"), Words: []string{"eggs"}}}, // replaces the default block
			"tim:g3": {Flood: &FloodRule{}, Links: &LinksRule{Common: Common{Enabled: false}}}, // turns rules off
		},
	}
	e := newEngine(t, cfg, nil)
	g2 := moderation.ChatRef{Platform: "tim", ID: "g2"}
	g3 := moderation.ChatRef{Platform: "tim", ID: "g3"}
	other := moderation.ChatRef{Platform: "feishu", ID: "g2"} // same id, other platform: defaults
	send := func(c moderation.ChatRef, sender, text string) []string {
		return hitRules(e.Message(&moderation.Message{Chat: c, SenderID: sender, Text: text}))
	}
	if got := send(g2, "a", "spam"); got != nil {
		t.Errorf("g2 spam: %v (default words must not apply)", got)
	}
	if h := e.Message(&moderation.Message{Chat: g2, SenderID: "b", Text: "green eggs"}); len(h) != 1 || h[0].Action.Kind != ActionKick {
		t.Errorf("g2 eggs: %v", h)
	}
	if got := send(other, "a", "spam"); !slices.Equal(got, []string{RuleBlocklist}) {
		t.Errorf("feishu:g2 spam: %v", got)
	}
	send(g2, "c", "x")
	send(g2, "c", "x")
	if got := send(g2, "c", "https://x.com"); !slices.Equal(got, []string{RuleLinks, RuleFlood}) {
		t.Errorf("g2 inherits flood and links: %v", got)
	}
	for range 5 {
		if got := send(g3, "d", "see https://x.com spam"); !slices.Equal(got, []string{RuleBlocklist}) {
			t.Fatalf("g3: %v", got)
		}
	}
}

func TestPreSend(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{
		Blocklist: &BlocklistRule{Common: Common{Enabled: true, DryRun: true, Action: Action{Kind: ActionDelete}}, Words: []string{"spam"}},
		Links:     &LinksRule{Common: on("delete"), Allow: []string{"example.com"}},
		Flood:     &FloodRule{Common: on("mute 1m"), Messages: 2, Per: time.Minute},
		Mentions:  &MentionsRule{Common: on("warn"), Max: 1},
	}}, clk)
	tests := []struct {
		name, text string
		rule       string
		reject     bool
	}{
		{"clean", "hello", "", false},
		{"dry-run word reported, not rejected", "spam", RuleBlocklist, false},
		{"link rejected", "https://evil.com", RuleLinks, true},
		{"link wins over a dry-run word", "spam https://evil.com", RuleLinks, true},
		{"allowed link", "https://example.com", "", false},
	}
	for _, tt := range tests {
		h, reject := e.PreSend(chat, "u1", tt.text)
		if h.Rule != tt.rule || reject != tt.reject {
			t.Errorf("%s: PreSend = %+v, %v; want %q, %v", tt.name, h, reject, tt.rule, tt.reject)
		}
		if h.Rule != "" && (h.Chat != chat || !slices.Equal(h.Users, []string{"u1"})) {
			t.Errorf("%s: hit = %+v", tt.name, h)
		}
	}
	// PreSend records nothing: a flood of pre-send checks is no flood.
	for range 10 {
		e.PreSend(chat, "u2", "hi")
	}
	if hits := e.Message(msg("u2", "hi")); len(hits) != 0 {
		t.Errorf("Message after PreSends: %v", hits)
	}
	if e.windows.(*MemoryWindows).flood.size() != 1 {
		t.Errorf("flood entries = %d, want 1", e.windows.(*MemoryWindows).flood.size())
	}
}

func TestAllowNotice(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEngine(t, Config{NoticesPerMinute: 3}, clk)
	other := moderation.ChatRef{Platform: "tim", ID: "g2"}
	for i := range 3 {
		if !e.AllowNotice(chat) {
			t.Fatalf("notice %d refused", i)
		}
		clk.Advance(10 * time.Second)
	}
	if e.AllowNotice(chat) {
		t.Fatal("4th notice within a minute allowed")
	}
	if !e.AllowNotice(other) {
		t.Fatal("other chat refused")
	}
	clk.Advance(30 * time.Second) // the first notice is now 60 s old
	if !e.AllowNotice(chat) {
		t.Fatal("notice refused after the window moved")
	}
	if e.AllowNotice(chat) {
		t.Fatal("second notice after the window moved allowed")
	}

	def := newEngine(t, Config{}, clk)
	n := 0
	for range 20 {
		if def.AllowNotice(chat) {
			n++
		}
	}
	if n != DefaultNoticesPerMinute {
		t.Errorf("default allowed %d, want %d", n, DefaultNoticesPerMinute)
	}
}

func TestEscalation(t *testing.T) {
	t.Parallel()
	w := WarningsConfig{Ladder: []Step{{3, Action{ActionMute, time.Hour}}, {5, Action{Kind: ActionKick}}}}
	tests := []struct {
		count int
		want  string
	}{{0, ""}, {1, ""}, {2, ""}, {3, "mute 1h"}, {4, ""}, {5, "kick"}, {6, ""}}
	for _, tt := range tests {
		a, ok := w.Escalation(tt.count)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("Escalation(%d) = %q, want %q", tt.count, got, tt.want)
		}
	}
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	issued := []time.Time{now.Add(-800 * time.Hour), now.Add(-700 * time.Hour), now.Add(-time.Minute), now, now.Add(time.Hour)}
	if got := w.Active(issued, now); got != 3 {
		t.Errorf("Active (default 720h) = %d, want 3", got)
	}
	w.ExpireAfter = time.Hour
	if got := w.Active(issued, now); got != 2 {
		t.Errorf("Active (1h) = %d, want 2", got)
	}
	e := newEngine(t, Config{}, nil)
	if e.Warnings().ExpireAfter != DefaultWarningExpiry {
		t.Errorf("default expiry = %s", e.Warnings().ExpireAfter)
	}
}

func TestStateIsBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{
		Flood: &FloodRule{Common: on("warn"), Messages: 5, Per: 10 * time.Second},
		Raid:  &RaidRule{Common: on("kick"), Joins: 100, Per: 10 * time.Second},
	}}, clk)
	for i := range 5000 {
		c := moderation.ChatRef{Platform: "tim", ID: fmt.Sprint("g", i%500)}
		e.Message(&moderation.Message{Chat: c, SenderID: fmt.Sprint("u", i), Text: "hi"})
		e.Join(&moderation.Join{Chat: c, UserIDs: []string{fmt.Sprint("u", i)}})
		e.AllowNotice(c)
	}
	if e.windows.(*MemoryWindows).flood.size() != 5000 || e.windows.(*MemoryWindows).raid.size() != 500 || e.notices.size() != 500 {
		t.Fatalf("sizes %d %d %d", e.windows.(*MemoryWindows).flood.size(), e.windows.(*MemoryWindows).raid.size(), e.notices.size())
	}
	clk.Advance(5 * time.Minute)
	for i := range 1000 {
		c := moderation.ChatRef{Platform: "tim", ID: fmt.Sprint("new", i)}
		e.Message(&moderation.Message{Chat: c, SenderID: "x", Text: "hi"})
		e.Join(&moderation.Join{Chat: c, UserIDs: []string{"x"}})
		e.AllowNotice(c)
	}
	if n := e.windows.(*MemoryWindows).flood.size(); n != 1000 {
		t.Errorf("flood entries after sweep = %d, want 1000", n)
	}
	if n := e.windows.(*MemoryWindows).raid.size(); n != 1000 {
		t.Errorf("raid entries after sweep = %d, want 1000", n)
	}
	if n := e.notices.size(); n != 1000 {
		t.Errorf("notice entries after sweep = %d, want 1000", n)
	}
	// Flood and raid state lives as long as their 10 s windows, not the
	// minute notices are kept for.
	clk.Advance(11 * time.Second)
	for i := range 1000 {
		c := moderation.ChatRef{Platform: "tim", ID: fmt.Sprint("later", i)}
		e.Message(&moderation.Message{Chat: c, SenderID: "x", Text: "hi"})
		e.Join(&moderation.Join{Chat: c, UserIDs: []string{"x"}})
		e.AllowNotice(c)
	}
	if n := e.windows.(*MemoryWindows).flood.size(); n != 1000 {
		t.Errorf("flood entries 11 s later = %d, want 1000", n)
	}
	if n := e.windows.(*MemoryWindows).raid.size(); n != 1000 {
		t.Errorf("raid entries 11 s later = %d, want 1000", n)
	}
	if n := e.notices.size(); n != 2000 {
		t.Errorf("notice entries 11 s later = %d, want 2000", n)
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	e := newEngine(t, benchConfig(), nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				c := moderation.ChatRef{Platform: "tim", ID: fmt.Sprint("g", i%7)}
				e.Message(&moderation.Message{Chat: c, SenderID: fmt.Sprint("u", g), Text: benchTexts[i%len(benchTexts)]})
				e.PreSend(c, "u", benchTexts[i%len(benchTexts)])
				e.Join(&moderation.Join{Chat: c, UserIDs: []string{fmt.Sprint("j", g, i)}})
				e.AllowNotice(c)
			}
		})
	}
	wg.Wait()
}
