package tim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gavel/moderation"
)

// TestReplyTooLong: a reply over the limit is refused with ErrReplyTooLong,
// never cut; TIM's own 80002 is reported the same way and not retried.
func TestReplyTooLong(t *testing.T) {
	t.Parallel()
	msg := &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: groupPub}}
	tests := []struct {
		name      string
		text      string
		fakeLimit int // 0: the fake's default
		wantErr   bool
		wantCalls int
		wantCode  int // the APIError code wrapped, if any
	}{
		{"at the adapter's limit", strings.Repeat("a", replyLimit), 0, false, 1, 0},
		{"one byte over, refused before the call", strings.Repeat("a", replyLimit+1), 0, true, 0, 0},
		{"multi-byte text counted in bytes", strings.Repeat("禁", replyLimit/3+1), 0, true, 0, 0},
		{"TIM refuses with 80002", strings.Repeat("a", 200), 100, true, 1, 80002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			if tt.fakeLimit > 0 {
				s.SetMaxMsgBytes(tt.fakeLimit)
			}
			c := newTestClient(t, s)
			err := c.Reply(context.Background(), msg, tt.text)
			if tt.wantErr != errors.Is(err, ErrReplyTooLong) || (!tt.wantErr && err != nil) {
				t.Fatalf("Reply error = %v, want ErrReplyTooLong: %v", err, tt.wantErr)
			}
			var apiErr *moderation.APIError
			if tt.wantCode != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode) {
				t.Errorf("error %v does not wrap TIM's %d", err, tt.wantCode)
			}
			if n := len(s.CallsTo("send_group_msg")); n != tt.wantCalls {
				t.Errorf("send_group_msg calls = %d, want %d", n, tt.wantCalls)
			}
			for _, r := range s.Replies() {
				if r.Text != tt.text {
					t.Errorf("reply delivered altered: %d bytes of %d", len(r.Text), len(tt.text))
				}
			}
		})
	}
}
