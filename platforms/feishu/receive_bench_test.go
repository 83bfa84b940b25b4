package feishu_test

import (
	"context"
	"testing"

	"gavel/platforms/feishu/feishutest"
)

// BenchmarkReceive is the webhook path of one ordinary chat message:
// signature, replay window, decryption, token and parsing.
func BenchmarkReceive(b *testing.B) {
	c := newReceiver(b, nil)
	event := feishutest.MessageEvent(testToken, feishutest.TextMessage{
		EventID: "ev1", MessageID: "om_1", ChatID: "oc_1", SenderID: "ou_user", CreateTime: testNow,
		Text: "大家好，今天的会议改到下午三点，请大家准时参加 and don't forget the slides for the quarterly review",
	})
	d := feishutest.SignedDelivery(testKey, ts(testNow), "nonce-1", event)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ack, err := c.Receive(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		if len(ack.Events) != 1 {
			b.Fatalf("events = %d, want 1", len(ack.Events))
		}
	}
}
