package app_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"gavel/config"
	"gavel/pipeline"
	"gavel/platforms/tim/timtest"
)

// Issue #17 on TIM, end to end: a kick posted to the mod-log group, then
// /undo re-adds exactly the removed users with add_group_member and the
// case's mod-log message is edited with modify_group_msg; a second /undo
// does nothing.
func TestTIMUndoKickEndToEnd(t *testing.T) {
	t.Parallel()
	const modlog = "@TGS#modlog"
	e := newTIMSanc(t, timtest.Group{Members: []string{"a", "b", "c"}}, func(c *config.Config) {
		c.ModLog = pipeline.ModLogConfig{TIM: modlog}
	})
	e.ts.AddGroup(timtest.Group{ID: modlog, Owner: "owner", Admins: []string{"mod"}})
	logPosts := func() []timtest.Reply {
		var out []timtest.Reply
		for _, r := range e.ts.Replies() {
			if r.GroupID == modlog {
				out = append(out, r)
			}
		}
		return out
	}

	e.command("/kick @a @b", "a", "b")
	if got := e.ts.Members(sancGroup); slices.Contains(got, "a") || slices.Contains(got, "b") {
		t.Fatalf("members after the kick: %v", got)
	}
	posts := logPosts()
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "#1") {
		t.Fatalf("mod-log posts after the kick: %+v", posts)
	}
	kickPost := posts[0]

	e.command("/undo 1")
	adds := e.ts.CallsTo("add_group_member")
	if len(adds) != 1 {
		t.Fatalf("add_group_member calls = %d, want 1", len(adds))
	}
	var added []string
	list, _ := adds[0].Body["MemberList"].([]any)
	for _, m := range list {
		mm, _ := m.(map[string]any)
		s, _ := mm["Member_Account"].(string)
		added = append(added, s)
	}
	slices.Sort(added)
	if !slices.Equal(added, []string{"a", "b"}) {
		t.Errorf("re-added %v, want exactly [a b]", added)
	}
	if !e.ts.Joined(sancGroup, "a", "b", "c") {
		t.Errorf("members after the undo: %v", e.ts.Members(sancGroup))
	}
	text, edits, ok := e.ts.MessageText(modlog, "", kickPost.MsgSeq)
	if !ok || edits != 1 || text == kickPost.Text {
		t.Errorf("case 1's mod-log message (MsgSeq %d): edited %d times, text %q", kickPost.MsgSeq, edits, text)
	}
	if n := len(e.ts.CallsTo("modify_group_msg")); n != 1 {
		t.Errorf("modify_group_msg calls = %d, want 1", n)
	}
	if posts := logPosts(); len(posts) != 2 || !strings.Contains(posts[1].Text, "#2") {
		t.Errorf("mod-log posts after the undo: %d, last %q", len(posts), posts[len(posts)-1].Text)
	}

	e.command("/undo 1")
	if n := len(e.ts.CallsTo("add_group_member")); n != 1 {
		t.Errorf("a second /undo made %d add_group_member calls in all, want still 1", n)
	}
	t.Logf("mod-log post of case 1 is MsgSeq %s: %q", strconv.FormatUint(kickPost.MsgSeq, 10), text)
}
