package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

func ids(ms []moderation.MessageRef) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.ID
	}
	return strings.Join(s, ",")
}

func TestMemoryRecentBounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := NewMemoryRecent(RecentConfig{PerChat: 4, MaxChats: 2})
	chat := func(id string) moderation.ChatRef { return moderation.ChatRef{Platform: "tim", ID: id} }
	for i := 1; i <= 6; i++ {
		if err := x.Add(ctx, chat("a"), moderation.MessageRef{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := x.Recent(ctx, chat("a")); ids(got) != "6,5,4,3" {
		t.Errorf("ring = %s, want the newest 4: 6,5,4,3", ids(got))
	}
	if err := x.Forget(ctx, chat("a"), []moderation.MessageRef{{ID: "5"}, {ID: "3"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Recent(ctx, chat("a")); ids(got) != "6,4" {
		t.Errorf("after Forget(5,3) = %s, want 6,4", ids(got))
	}
	for _, id := range []string{"7", "8", "9"} {
		x.Add(ctx, chat("a"), moderation.MessageRef{ID: id})
	}
	if got, _ := x.Recent(ctx, chat("a")); ids(got) != "9,8,7,6" {
		t.Errorf("ring after Forget and refill = %s, want 9,8,7,6", ids(got))
	}
	// A third chat evicts the one written least recently.
	x.Add(ctx, chat("b"), moderation.MessageRef{ID: "b1"})
	x.Add(ctx, chat("a"), moderation.MessageRef{ID: "10"})
	x.Add(ctx, chat("c"), moderation.MessageRef{ID: "c1"})
	if got, _ := x.Recent(ctx, chat("b")); len(got) != 0 {
		t.Errorf("chat b kept %s after eviction", ids(got))
	}
	if got, _ := x.Recent(ctx, chat("a")); ids(got) != "10,9,8,7" {
		t.Errorf("chat a = %s", ids(got))
	}
}

// TestMemoryRecentTopicsApart: each TIM topic has its own MsgSeq
// sequence, so its messages are indexed apart from the group's and the
// other topics'; a purge in one never names another's sequence numbers.
func TestMemoryRecentTopicsApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := NewMemoryRecent(RecentConfig{PerChat: 10})
	group := moderation.ChatRef{Platform: "tim", ID: "@TGS#c"}
	a, b := group, group
	a.Thread, b.Thread = "@TGS#_@TGS#c@TOPIC#_a", "@TGS#_@TGS#c@TOPIC#_b"
	for i := 1; i <= 3; i++ {
		for _, c := range []moderation.ChatRef{a, b} {
			x.Add(ctx, c, moderation.MessageRef{ID: fmt.Sprint(i), SenderID: c.Thread})
		}
	}
	x.Forget(ctx, b, []moderation.MessageRef{{ID: "3"}})
	for _, tt := range []struct {
		chat moderation.ChatRef
		want string
	}{{a, "3,2,1"}, {b, "2,1"}, {group, ""}} {
		got, _ := x.Recent(ctx, tt.chat)
		if ids(got) != tt.want {
			t.Errorf("Recent(%q) = %s, want %s", tt.chat.Thread, ids(got), tt.want)
		}
		for _, m := range got {
			if m.SenderID != tt.chat.Thread {
				t.Errorf("Recent(%q) holds %+v of another topic", tt.chat.Thread, m)
			}
		}
	}
}

func TestSelectRecent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return now.Add(-time.Duration(min) * time.Minute) }
	// Newest first; "cmd" is the /purge itself, "late" arrived after it.
	all := []moderation.MessageRef{
		{ID: "late", SenderID: "a", SentAt: at(0)},
		{ID: "cmd", SenderID: "admin", SentAt: at(1)},
		{ID: "m4", SenderID: "a", SentAt: at(2)},
		{ID: "m3", SenderID: "b", SentAt: at(3)},
		{ID: "m2", SenderID: "a", SentAt: at(4)},
		{ID: "m1", SenderID: "a", SentAt: at(90)},
	}
	tests := []struct {
		name string
		q    RecentQuery
		age  time.Duration
		want string
	}{
		{"last n before the command", RecentQuery{N: 2, Before: all[1], Now: now}, time.Hour, "m4,m3"},
		{"more than there are", RecentQuery{N: 10, Before: all[1], Now: now}, 0, "m4,m3,m2,m1"},
		{"age bound", RecentQuery{N: 10, Before: all[1], Now: now}, time.Hour, "m4,m3,m2"},
		{"one sender", RecentQuery{N: 10, Sender: "a", Before: all[1], Now: now}, 0, "m4,m2,m1"},
		{"command not indexed: by time", RecentQuery{N: 3, Before: moderation.MessageRef{ID: "gone", SentAt: at(3)}, Now: now}, 0, "m3,m2,m1"},
		{"no command", RecentQuery{N: 2, Now: now}, 0, "late,cmd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(selectRecent(all, tt.q, tt.age)); got != tt.want {
				t.Errorf("selectRecent = %s, want %s", got, tt.want)
			}
		})
	}
}
