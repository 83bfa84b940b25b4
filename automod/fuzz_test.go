package automod

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gavel/moderation"
)

func FuzzMessage(f *testing.F) {
	for _, s := range benchTexts {
		f.Add(s, "@a @b")
	}
	for _, s := range []string{"", "ass!", "ｓｐａｍ", "https://example.com@evil.com:80/", "www.", "a.b.c.d.e.f/g", "http://[::1", "\xff\xfe", "加qq群", ".....", "://", "e.g.", strings.Repeat("a", 300) + "!"} {
		f.Add(s, "")
	}
	cfg := benchConfig()
	cfg.Defaults.Blocklist.Words = append(cfg.Defaults.Blocklist.Words, "ass", "spam", "广告", "buy now", "qq群")
	cfg.Defaults.Flood.Messages = 2
	clk := newClock()
	e := newEngine(f, cfg, clk)
	f.Fuzz(func(t *testing.T, text, mentions string) {
		m := &moderation.Message{Chat: chat, MessageID: "m", SenderID: "u", Text: text}
		for _, tok := range strings.Fields(mentions) {
			m.Mentions = append(m.Mentions, moderation.Mention{Token: tok, UserID: strings.TrimPrefix(tok, "@")})
		}
		clk.Advance(time.Second)
		for _, h := range e.Message(m) {
			if h.Rule == "" || utf8.RuneCountInString(h.Match) > 65 || len(h.Users) != 1 {
				t.Fatalf("bad hit %+v", h)
			}
		}
		if h, reject := e.PreSend(chat, "u", text); reject && h.Rule != RuleBlocklist && h.Rule != RuleLinks {
			t.Fatalf("PreSend hit %+v", h)
		}
		// Normalisation is idempotent and yields valid UTF-8.
		n := normalize(nil, text, true)
		if !utf8.Valid(n) {
			t.Fatalf("normalize(%q) = %q: invalid UTF-8", text, n)
		}
		if n2 := normalize(nil, string(n), true); string(n2) != string(n) {
			t.Fatalf("normalize not idempotent: %q → %q → %q", text, n, n2)
		}
	})
}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"warn", "delete", "kick", "mute", "mute 10m", "mute 1d", "mute forever", "mute 1h30m", "", "mute 9999999d", "mute -1s", "MUTE 2H",
		"ban", "ban 1d", "ban forever", "Ban 1天", "lock 10m", "lock 30分钟", "lock", "lock forever", "purge", "purge 5", "ban 1d 2h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAction(s)
		if err != nil {
			return
		}
		b, err := ParseAction(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip %q → %+v → %q → %+v, %v", s, a, a.String(), b, err)
		}
		if a.Duration < 0 && a.Duration != moderation.Forever || a.Duration > MaxMuteDuration {
			t.Fatalf("%q: duration %s", s, a.Duration)
		}
		// What parses is valid wherever its kind is allowed.
		all := append(slices.Clone(messageActions), ladderActions...)
		if err := validateAction("x", a, all); err != nil {
			t.Fatalf("%q parses to %+v, which validation refuses: %v", s, a, err)
		}
	})
}
