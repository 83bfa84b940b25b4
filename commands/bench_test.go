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
	for _, mentions := range []bool{false, true} {
		b.Run(fmt.Sprintf("20000 targets, mentions=%v", mentions), func(b *testing.B) {
			msg := massMessage(20000, mentions)
			b.ReportAllocs()
			for b.Loop() {
				cmd, err := p.Parse(msg, bot)
				if err != nil || len(cmd.Targets) != 20000 {
					b.Fatalf("Parse: %d targets, %v", len(cmd.Targets), err)
				}
			}
		})
	}
}
