package easemob_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

const groupID = "262246968131585"

func newPostEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", []string{"mod1"}, []string{"alice", "bob"})
	e.srv.AddGroup(groupID, "owner2", []string{"mod2"}, []string{"carol", "dave"})
	return e
}

// replyLimit mirrors Limits().Reply.
func replyLimit(e *env) int { return e.c.Limits().Reply }

// TestPost: a post goes out as bot_user to the chat's kind of endpoint and
// its id is the one Easemob answered; bad or oversize text is refused.
func TestPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		chat      moderation.ChatRef
		text      func(limit int) string
		setup     func(*easemobtest.Server)
		wantErr   error
		wantSends int
	}{
		{name: "group", chat: group(groupID), text: fixed("Case 12: alice removed by mod1"), wantSends: 1},
		{name: "chat room", chat: room(roomID), text: fixed("Case 13: bob muted for 10m"), wantSends: 1},
		{name: "kind learned from the details", chat: moderation.ChatRef{Platform: easemob.Name, ID: groupID}, text: fixed("case"), wantSends: 1},
		{name: "at the limit", chat: room(roomID), text: func(n int) string { return strings.Repeat("a", n) }, wantSends: 1},
		{name: "over the limit, refused without a call", chat: room(roomID), text: func(n int) string { return strings.Repeat("a", n+1) },
			wantErr: easemob.ErrPostTooLong},
		{name: "multi-byte text counted in bytes", chat: group(groupID), text: func(n int) string { return strings.Repeat("撤", n/3+1) },
			wantErr: easemob.ErrPostTooLong},
		{name: "Easemob counts the escaped JSON", chat: group(groupID), text: func(n int) string { return strings.Repeat(`"`, n) },
			wantErr: easemob.ErrPostTooLong, wantSends: 1},
		// Escaped as Go escapes HTML ("\u003c", 6 bytes each) these
		// would be 23,400 bytes, over the 5 KB limit; sent as they are
		// they fit.
		{name: "3,900 '<' in one call", chat: group(groupID), text: fixed(strings.Repeat("<", 3900)), wantSends: 1},
		{name: "'<', '>' and '&' sent unescaped", chat: room(roomID), text: fixed(strings.Repeat("<a>&", 975)), wantSends: 1},
		{name: "empty", chat: group(groupID), text: fixed("  "), wantErr: moderation.ErrMalformed},
		{name: "invalid UTF-8", chat: group(groupID), text: fixed("a\xffb"), wantErr: moderation.ErrMalformed},
		{name: "transient error retried", chat: group(groupID), text: fixed("retry"),
			setup: func(s *easemobtest.Server) { s.FailNext("send", 1, http.StatusServiceUnavailable) }, wantSends: 2},
		{name: "rate limit retried", chat: room(roomID), text: fixed("later"),
			setup: func(s *easemobtest.Server) { s.FailNext("send", 1, http.StatusTooManyRequests) }, wantSends: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newPostEnv(t)
			if tt.setup != nil {
				tt.setup(e.srv)
			}
			text := tt.text(replyLimit(e))
			id, err := e.c.Post(ctx, tt.chat, moderation.Post{Text: text})
			if n := len(e.srv.CallsTo("send")); n != tt.wantSends {
				t.Errorf("send calls = %d, want %d", n, tt.wantSends)
			}
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("Post error = %v, want %v", err, tt.wantErr)
				}
				if n := len(e.srv.Messages()); n != 0 {
					t.Errorf("%d messages delivered", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			msgs := e.srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("delivered %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.MsgID != id || m.Text != text || m.From != easemobtest.DefaultBotUser || len(m.To) != 1 || m.To[0] != tt.chat.ID || m.Type != "txt" {
				t.Errorf("delivered %+v, id %q", m, id)
			}
		})
	}
}

func fixed(s string) func(int) string { return func(int) string { return s } }

// TestUpdatePost: messages/rewrite replaces the post's text; where the
// message cannot be rewritten (feature off, 10 edits used, gone) the
// answer is ErrUnsupported so the pipeline posts a follow-up.
func TestUpdatePost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		chat        moderation.ChatRef
		id          func(posted string) string
		text        func(limit int) string
		setup       func(*testing.T, *env, string)
		wantErr     error
		wantRewrite int
		wantEdits   int
	}{
		{name: "group", chat: group(groupID), text: fixed("Case 12: undone by mod2"), wantRewrite: 1, wantEdits: 1},
		{name: "chat room", chat: room(roomID), text: fixed("Case 13: dismissed"), wantRewrite: 1, wantEdits: 1},
		{name: "transient error retried", chat: group(groupID), text: fixed("edited"),
			setup:       func(_ *testing.T, e *env, _ string) { e.srv.FailNext("rewrite", 1, http.StatusInternalServerError) },
			wantRewrite: 2, wantEdits: 1},
		{name: "feature not open", chat: group(groupID), text: fixed("edited"),
			setup:   func(_ *testing.T, e *env, _ string) { e.srv.SetRewriteService(false) },
			wantErr: moderation.ErrUnsupported, wantRewrite: 1},
		{name: "ten edits used", chat: room(roomID), text: fixed("eleventh"),
			setup: func(t *testing.T, e *env, id string) {
				for i := range easemobtest.MaxEdits {
					if err := e.c.UpdatePost(ctx, moderation.PostRef{Chat: room(roomID), MessageID: id}, moderation.Post{Text: "edit " + string(rune('a'+i))}); err != nil {
						t.Fatalf("edit %d: %v", i, err)
					}
				}
				e.srv.Reset()
			},
			wantErr: moderation.ErrUnsupported, wantRewrite: 1, wantEdits: easemobtest.MaxEdits},
		{name: "unknown message", chat: group(groupID), id: func(string) string { return "1100000000000099999" }, text: fixed("edited"),
			wantErr: moderation.ErrUnsupported, wantRewrite: 1},
		{name: "id not a number", chat: group(groupID), id: func(string) string { return "../token" }, text: fixed("edited"),
			wantErr: moderation.ErrMalformed},
		{name: "over the limit", chat: group(groupID), text: func(n int) string { return strings.Repeat("a", n+1) },
			wantErr: easemob.ErrPostTooLong},
		{name: "empty", chat: group(groupID), text: fixed(""), wantErr: moderation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newPostEnv(t)
			posted, err := e.c.Post(ctx, tt.chat, moderation.Post{Text: "Case 12: alice removed"})
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			if tt.setup != nil {
				tt.setup(t, e, posted)
			}
			id := posted
			if tt.id != nil {
				id = tt.id(posted)
			}
			text := tt.text(replyLimit(e))
			err = e.c.UpdatePost(ctx, moderation.PostRef{Chat: tt.chat, MessageID: id}, moderation.Post{Text: text})
			calls := e.srv.CallsTo("rewrite")
			if len(calls) != tt.wantRewrite {
				t.Errorf("rewrite calls = %d, want %d", len(calls), tt.wantRewrite)
			}
			for _, c := range calls {
				if c.Method != http.MethodPut || c.RawPath != "/"+e.srv.Org+"/"+e.srv.App+"/messages/rewrite/"+id {
					t.Errorf("rewrite call %s %s", c.Method, c.RawPath)
				}
			}
			got, edits, _ := e.srv.MessageText(posted)
			if edits != tt.wantEdits {
				t.Errorf("edits = %d, want %d", edits, tt.wantEdits)
			}
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("UpdatePost error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdatePost: %v", err)
			}
			if got != text {
				t.Errorf("stored text %q, want %q", got, text)
			}
		})
	}
}

// TestUpdatePostRemembersFeatureOff: once Easemob says the rewrite
// feature is off, later updates do not ask again.
func TestUpdatePostRemembersFeatureOff(t *testing.T) {
	t.Parallel()
	e := newPostEnv(t)
	e.srv.SetRewriteService(false)
	id, err := e.c.Post(ctx, group(groupID), moderation.Post{Text: "case 1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := e.c.UpdatePost(ctx, moderation.PostRef{Chat: group(groupID), MessageID: id}, moderation.Post{Text: "edited"})
		if !errors.Is(err, moderation.ErrUnsupported) {
			t.Fatalf("update %d: %v, want ErrUnsupported", i, err)
		}
	}
	if n := len(e.srv.CallsTo("rewrite")); n != 1 {
		t.Errorf("rewrite calls = %d, want 1", n)
	}
}

// TestRecallPost: a message Gavel posted through REST is recalled by
// msg_recall like any other (message_recall_single: client and REST-sent
// messages alike), past the recall window too (Recall forces); once
// recalled it can be neither recalled again nor rewritten.
func TestRecallPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		chat  moderation.ChatRef
		after time.Duration // clock advance between post and recall
	}{
		{name: "group", chat: group(groupID)},
		{name: "chat room", chat: room(roomID)},
		{name: "past the recall window", chat: group(groupID), after: easemobtest.DefaultRecallWindow + time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newPostEnv(t)
			id, err := e.c.Post(ctx, tt.chat, moderation.Post{Text: "Verify: press the button within 5 minutes"})
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			e.clock.Advance(tt.after)
			if err := e.c.Recall(ctx, tt.chat, id); err != nil {
				t.Fatalf("Recall of the posted message: %v", err)
			}
			if !e.srv.Recalled(id) {
				t.Fatalf("the fake says %s was not recalled", id)
			}
			var apiErr *moderation.APIError
			if err := e.c.Recall(ctx, tt.chat, id); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusForbidden {
				t.Errorf("second recall: %v, want Easemob's 403 not_found", err)
			}
			if err := e.c.UpdatePost(ctx, moderation.PostRef{Chat: tt.chat, MessageID: id}, moderation.Post{Text: "edited"}); !errors.Is(err, moderation.ErrUnsupported) {
				t.Errorf("UpdatePost of a recalled post: %v, want ErrUnsupported", err)
			}
		})
	}
}

// TestRecallPostWrongChat: msg_recall names the chat; a posted message
// is not found in another one.
func TestRecallPostWrongChat(t *testing.T) {
	t.Parallel()
	e := newPostEnv(t)
	id, err := e.c.Post(ctx, group(groupID), moderation.Post{Text: "case 7"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.Recall(ctx, room(roomID), id); err == nil {
		t.Fatal("recall in another chat succeeded")
	}
	if e.srv.Recalled(id) {
		t.Error("the message was recalled through another chat")
	}
}
