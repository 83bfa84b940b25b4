package feishu_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gavel/moderation"
)

// TestDotSegmentIDsSendNothing: the Lark SDK escapes :chat_id and
// :message_id but passes "." and ".." through, so DELETE
// /im/v1/messages/.. would reach a path-normalising hop as
// DELETE /im/v1/messages. Such ids are a permanent error before any call.
func TestDotSegmentIDsSendNothing(t *testing.T) {
	t.Parallel()
	for _, id := range []string{".", ".."} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 2)
			dot := moderation.ChatRef{Platform: "feishu", ID: id, Kind: "group"}
			var apiErr *moderation.APIError
			for _, r := range f.c.Remove(context.Background(), dot, []string{"ou_m0"}, moderation.ActionOptions{}) {
				if r.Status != moderation.StatusRefused {
					t.Errorf("remove in chat %q: %s, want refused", id, r.Status)
				}
			}
			if _, err := f.c.Roles(context.Background(), dot, []string{"ou_m0"}); !errors.As(err, &apiErr) || apiErr.Kind != moderation.Permanent {
				t.Errorf("roles in chat %q: %v, want a permanent APIError", id, err)
			}
			if err := f.c.Recall(context.Background(), chat, id); !errors.As(err, &apiErr) || apiErr.Kind != moderation.Permanent {
				t.Errorf("recall of message %q: %v, want a permanent APIError", id, err)
			}
			if err := f.c.Reply(context.Background(), &moderation.Message{Chat: chat, MessageID: id}, "hi"); !errors.As(err, &apiErr) {
				t.Errorf("reply to message %q: %v, want an APIError", id, err)
			}
			for _, c := range f.srv.Calls() {
				if strings.Contains(c.Path, "/chats/") || strings.Contains(c.Path, "/messages") {
					t.Errorf("%s %s reached the platform", c.Method, c.Path)
				}
			}
		})
	}
}
