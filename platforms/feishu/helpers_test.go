package feishu_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu/feishutest"
)

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want moderation.Event
	}{
		{
			file: "im.message.receive_v1.json",
			want: moderation.Event{
				Kind: moderation.EventMessage, Platform: "feishu", DeliveryID: "feishu:event:0f4c6a1e9b2d4f7a8c3e5d6b7a8f9e01",
				DedupKeys: []string{"feishu:event:0f4c6a1e9b2d4f7a8c3e5d6b7a8f9e01", "feishu:msg:om_fixture_0001"},
				Message: &moderation.Message{
					Chat:      moderation.ChatRef{Platform: "feishu", ID: "oc_fixture_chat", Kind: "group"},
					MessageID: "om_fixture_0001", SenderID: "ou_fixture_admin",
					Text: "@_user_1 /mute @_user_2 @_user_3 30m 刷屏",
					Mentions: []moderation.Mention{
						{Token: "@_user_1", UserID: "ou_fixture_bot", Name: "Gavel"},
						{Token: "@_user_2", UserID: "ou_fixture_a", Name: "Alice"},
						{Token: "@_user_3", UserID: "ou_fixture_b", Name: "Bob"},
					},
					SentAt: time.UnixMilli(1699999994321),
				},
			},
		},
		{
			file: "im.chat.member.user.added_v1.json",
			want: moderation.Event{
				Kind: moderation.EventJoin, Platform: "feishu", DeliveryID: "feishu:event:5b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e",
				DedupKeys: []string{"feishu:event:5b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e"},
				Join: &moderation.Join{Chat: moderation.ChatRef{Platform: "feishu", ID: "oc_fixture_chat", Kind: "group"},
					UserIDs: []string{"ou_fixture_new1", "ou_fixture_new2"}, Operator: "ou_fixture_inviter", At: time.UnixMilli(1699999996000)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, nil)
			ack, err := c.Receive(context.Background(), feishutest.SignedDelivery(testKey, ts(testNow), "n", readFixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(ack.Events)
			want, _ := json.Marshal([]moderation.Event{tt.want})
			if string(got) != string(want) {
				t.Fatalf("events\n got %s\nwant %s", got, want)
			}
		})
	}
}
