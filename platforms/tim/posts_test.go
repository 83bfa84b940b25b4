package tim

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

func chatOf(id, kind, thread string) moderation.ChatRef {
	return moderation.ChatRef{Platform: Name, ID: id, Kind: kind, Thread: thread}
}

// TestPost: a post goes out on the admin's own account (not as a reply),
// in the topic when the chat names one, and its id is the MsgSeq the
// other calls take; bad or oversize text is refused before any call.
func TestPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		chat      moderation.ChatRef
		text      string
		setup     func(*timtest.Server)
		wantErr   error // errors.Is; nil: success
		wantCode  int   // the TIM code wrapped, if any
		wantCalls int
	}{
		{name: "public group", chat: chatOf(groupPub, "Public", ""), text: "Case 12: spam_bot_77 removed by ops_lead", wantCalls: 1},
		{name: "kind unknown", chat: chatOf(groupPub, "", ""), text: "case 1", wantCalls: 1},
		{name: "live-stream group", chat: chatOf(groupAV, "AVChatRoom", ""), text: "case 2", wantCalls: 1},
		{name: "topic of a community", chat: chatOf(groupTopics, "Community", topicB), text: "case 3", setup: addCommunity, wantCalls: 1},
		{name: "community with topics needs the topic", chat: chatOf(groupTopics, "Community", ""), text: "case 4", setup: addCommunity,
			wantErr: errAny, wantCode: 10004, wantCalls: 1},
		{name: "at the limit", chat: chatOf(groupPub, "Public", ""), text: strings.Repeat("a", replyLimit), wantCalls: 1},
		{name: "over the limit, refused without a call", chat: chatOf(groupPub, "Public", ""), text: strings.Repeat("a", replyLimit+1),
			wantErr: ErrPostTooLong},
		{name: "multi-byte text counted in bytes", chat: chatOf(groupPub, "Public", ""), text: strings.Repeat("撤", replyLimit/3+1),
			wantErr: ErrPostTooLong},
		{name: "TIM's own 80002", chat: chatOf(groupPub, "Public", ""), text: strings.Repeat("b", 300),
			setup: func(s *timtest.Server) { s.SetMaxMsgBytes(100) }, wantErr: ErrPostTooLong, wantCode: 80002, wantCalls: 1},
		{name: "empty", chat: chatOf(groupPub, "Public", ""), text: " \n", wantErr: moderation.ErrMalformed},
		{name: "invalid UTF-8", chat: chatOf(groupPub, "Public", ""), text: "bad \xff byte", wantErr: moderation.ErrMalformed},
		{name: "no chat", chat: chatOf("", "", ""), text: "x", wantErr: moderation.ErrMalformed},
		{name: "transient error retried", chat: chatOf(groupPub, "Public", ""), text: "retry me",
			setup: func(s *timtest.Server) { s.FailNext("send_group_msg", 1, 10002) }, wantCalls: 2},
		{name: "MsgFreqCtrl drop retried", chat: chatOf(groupPub, "Public", ""), text: "dropped once",
			setup: func(s *timtest.Server) { s.DropNextReplies(1) }, wantCalls: 2},
		{name: "unknown group", chat: chatOf("@TGS#nope", "Public", ""), text: "x", wantErr: errAny, wantCode: 10010, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			c := newTestClient(t, s)
			id, err := c.Post(context.Background(), tt.chat, moderation.Post{Text: tt.text})
			if n := len(s.CallsTo("send_group_msg")); n != tt.wantCalls {
				t.Errorf("send_group_msg calls = %d, want %d", n, tt.wantCalls)
			}
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("Post error = %v, want %v", err, tt.wantErr)
				}
				var apiErr *moderation.APIError
				if tt.wantCode != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode) {
					t.Errorf("error %v does not carry TIM's %d", err, tt.wantCode)
				}
				if len(s.Replies()) != 0 {
					t.Errorf("a refused post was delivered: %+v", s.Replies())
				}
				return
			}
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			reps := s.Replies()
			if len(reps) != 1 {
				t.Fatalf("delivered %d messages, want 1", len(reps))
			}
			r := reps[0]
			if r.Text != tt.text || r.From != timtest.DefaultAdmin || r.TopicID != tt.chat.Thread || r.GroupID != tt.chat.ID {
				t.Errorf("delivered %+v", r)
			}
			if strconv.FormatUint(r.MsgSeq, 10) != id {
				t.Errorf("id = %q, want the MsgSeq %d", id, r.MsgSeq)
			}
			if len(r.ForbidCallbackControl) != 2 {
				t.Errorf("callbacks not suppressed: %v", r.ForbidCallbackControl)
			}
			if text, _, ok := s.MessageText(tt.chat.ID, tt.chat.Thread, r.MsgSeq); !ok || text != tt.text {
				t.Errorf("stored message = %q, %v", text, ok)
			}
		})
	}
}

// errAny marks a case that expects some error (its code checked apart).
var errAny = errors.New("any error")

// TestPostThenRecall: the id Post returns is one Recall takes.
func TestPostThenRecall(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	chat := chatOf(groupPub, "Public", "")
	id, err := c.Post(context.Background(), chat, moderation.Post{Text: "to be recalled"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Recall(context.Background(), chat, id); err != nil {
		t.Fatalf("Recall(%s): %v", id, err)
	}
	if got := s.Recalled(groupPub); len(got) != 1 || strconv.FormatUint(got[0], 10) != id {
		t.Errorf("recalled %v, want [%s]", got, id)
	}
}

// TestUpdatePost: modify_group_msg replaces the text of the message Post
// sent, in its topic; live-stream groups cannot edit (ErrUnsupported, no
// call), and bad ids and texts are refused before any call.
func TestUpdatePost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		chat       moderation.ChatRef
		id         func(posted string) string
		text       string
		setup      func(*timtest.Server)
		wantErr    error
		wantCode   int
		wantModify int
	}{
		{name: "public group", chat: chatOf(groupPub, "Public", ""), text: "Case 12: undone by ops_lead", wantModify: 1},
		{name: "kind unknown", chat: chatOf(groupPub, "", ""), text: "edited", wantModify: 1},
		{name: "topic of a community", chat: chatOf(groupTopics, "Community", topicA), text: "edited in topic", setup: addCommunity, wantModify: 1},
		{name: "transient error retried", chat: chatOf(groupPub, "Public", ""), text: "edited",
			setup: func(s *timtest.Server) { s.FailNext("modify_group_msg", 1, 20005) }, wantModify: 2},
		{name: "live-stream group: unsupported", chat: chatOf(groupAV, "AVChatRoom", ""), text: "edited", wantErr: moderation.ErrUnsupported},
		{name: "live-stream group learned from get_group_info", chat: chatOf(groupAV, "", ""), text: "edited", wantErr: moderation.ErrUnsupported},
		{name: "unknown message", chat: chatOf(groupPub, "Public", ""), id: func(string) string { return "9999" }, text: "edited",
			wantErr: errAny, wantCode: 20001, wantModify: 1},
		{name: "id not a MsgSeq", chat: chatOf(groupPub, "Public", ""), id: func(string) string { return "../1" }, text: "edited",
			wantErr: moderation.ErrMalformed},
		{name: "over the limit", chat: chatOf(groupPub, "Public", ""), text: strings.Repeat("a", replyLimit+1), wantErr: ErrPostTooLong},
		{name: "empty", chat: chatOf(groupPub, "Public", ""), text: "", wantErr: moderation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			c := newTestClient(t, s)
			ctx := context.Background()
			posted, err := c.Post(ctx, chatOf(tt.chat.ID, "", tt.chat.Thread), moderation.Post{Text: "Case 12: spam_bot_77 removed"})
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			id := posted
			if tt.id != nil {
				id = tt.id(posted)
			}
			err = c.UpdatePost(ctx, moderation.PostRef{Chat: tt.chat, MessageID: id}, moderation.Post{Text: tt.text})
			if n := len(s.CallsTo("modify_group_msg")); n != tt.wantModify {
				t.Errorf("modify_group_msg calls = %d, want %d", n, tt.wantModify)
			}
			seq, _ := strconv.ParseUint(posted, 10, 64)
			text, edits, _ := s.MessageText(tt.chat.ID, tt.chat.Thread, seq)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("UpdatePost error = %v, want %v", err, tt.wantErr)
				}
				var apiErr *moderation.APIError
				if tt.wantCode != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode) {
					t.Errorf("error %v does not carry TIM's %d", err, tt.wantCode)
				}
				if edits != 0 {
					t.Errorf("the post was edited %d times", edits)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdatePost: %v", err)
			}
			if text != tt.text || edits != 1 {
				t.Errorf("stored text %q after %d edits, want %q after 1", text, edits, tt.text)
			}
			for _, call := range s.CallsTo("modify_group_msg") {
				if call.Service != "openim" {
					t.Errorf("modify_group_msg called on service %q, want openim", call.Service)
				}
			}
		})
	}
}
