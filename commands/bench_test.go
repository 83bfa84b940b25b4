package commands

import (
	"fmt"
	"strings"
	"testing"

	"gavel/moderation"
)

// massMessage is a /kick naming n users, with a platform mention for each
// when mentions is set (Feishu), else as raw ids (TIM, Easemob).
func massMessage(n int, mentions bool) *moderation.Message {
	var b strings.Builder
	b.WriteString("/kick")
	m := &moderation.Message{}
	for i := range n {
		id := fmt.Sprintf("u%05d", i)
		b.WriteString(" @" + id)
		if mentions {
			m.Mentions = append(m.Mentions, moderation.Mention{Token: "@" + id, UserID: "ou_" + id})
		}
	}
	b.WriteString(" raid")
	m.Text = b.String()
	return m
}

func BenchmarkParseMass(b *testing.B) {
	p := New(Config{})
	// Two sizes ten times apart: the time per target must stay flat.
	for _, n := range []int{5000, 50000} {
		for _, mentions := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d targets, mentions=%v", n, mentions), func(b *testing.B) {
				msg := massMessage(n, mentions)
				b.ReportAllocs()
				for b.Loop() {
					cmd, err := p.Parse(msg, bot)
					if err != nil || len(cmd.Targets) != n {
						b.Fatalf("Parse: %d targets, %v", len(cmd.Targets), err)
					}
				}
			})
		}
		// Hostile: as many mentions as tokens, none of them the token
		// typed, so every token is looked up among the mentions and
		// falls back to its raw id.
		b.Run(fmt.Sprintf("%d targets, unmatched mentions", n), func(b *testing.B) {
			msg := massMessage(n, false)
			for i := range n {
				msg.Mentions = append(msg.Mentions, moderation.Mention{Token: fmt.Sprintf("@_user_%d", i), UserID: "x"})
			}
			b.ReportAllocs()
			for b.Loop() {
				cmd, err := p.Parse(msg, bot)
				if err != nil || len(cmd.Targets) != n {
					b.Fatalf("Parse: %d targets, %v", len(cmd.Targets), err)
				}
			}
		})
	}
}
