package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gavel/moderation"
)

func TestRecentSharedIndex(t *testing.T) {
	t.Parallel()
	c := open(t)
	ctx := context.Background()
	a, b := c.Recent(3, time.Hour), c.Recent(3, time.Hour) // two replicas
	chat := moderation.ChatRef{Platform: "tim", ID: "@TGS#1"}
	base := time.UnixMilli(1_700_000_000_000)
	for i := 1; i <= 5; i++ {
		r := a
		if i%2 == 0 {
			r = b
		}
		m := moderation.MessageRef{ID: fmt.Sprint(i), SenderID: "u" + fmt.Sprint(i%2), SentAt: base.Add(time.Duration(i) * time.Second)}
		if err := r.Add(ctx, chat, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Recent(ctx, chat)
	if err != nil {
		t.Fatal(err)
	}
	if ids := refIDs(got); ids != "5,4,3" {
		t.Fatalf("Recent = %s, want the newest 3: 5,4,3", ids)
	}
	if got[0].SenderID != "u1" || !got[0].SentAt.Equal(base.Add(5*time.Second)) {
		t.Errorf("newest = %+v", got[0])
	}
	if err := a.Forget(ctx, chat, got[:2]); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Recent(ctx, chat); refIDs(got) != "3" {
		t.Errorf("after Forget(5,4) = %s, want 3", refIDs(got))
	}
	if got, _ := a.Recent(ctx, moderation.ChatRef{Platform: "tim", ID: "other"}); len(got) != 0 {
		t.Errorf("another chat = %v", got)
	}
	// A TIM topic numbers its messages on its own: its index is apart
	// from the group's and from the other topics'.
	topic := chat
	topic.Thread = "@TGS#_@TGS#1@TOPIC#_a"
	if err := a.Add(ctx, topic, moderation.MessageRef{ID: "3", SenderID: "t", SentAt: base}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Recent(ctx, topic); refIDs(got) != "3" || got[0].SenderID != "t" {
		t.Errorf("topic = %+v, want only its own message", got)
	}
	if got, _ := b.Recent(ctx, chat); refIDs(got) != "3" || got[0].SenderID != "u1" {
		t.Errorf("group after a topic's message = %+v", got)
	}
}

func refIDs(ms []moderation.MessageRef) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += ","
		}
		s += m.ID
	}
	return s
}

func FuzzDecodeRef(f *testing.F) {
	f.Add("1700000000000|user|msg")
	f.Add("|x|")
	f.Add("12|a|b|c")
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := decodeRef(s)
		if !ok {
			return
		}
		if m.ID == "" {
			t.Fatalf("decoded an empty id from %q", s)
		}
		if back, ok := decodeRef(encodeRef(m)); !ok || back != m {
			t.Fatalf("round trip of %q: %+v → %+v", s, m, back)
		}
	})
}
