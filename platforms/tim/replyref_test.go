package tim

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
	"gavel/platforms/wirejson"
)

func jsonString(s string) wirejson.Value {
	b, _ := json.Marshal(s)
	return b
}

func TestReplyRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  wirejson.Value
		want string // "" = nil
	}{
		{"tuikit", jsonString(timtest.ReplyCustomData("144115-1-2", "Spam Bot", 42)), "42"},
		{"sequence as string", jsonString(`{"messageReply":{"messageID":"m","messageSequence":"7"}}`), "7"},
		{"no sequence (old web clients)", jsonString(`{"messageReply":{"messageID":"m","messageSender":"bob"}}`), ""},
		{"zero sequence", jsonString(`{"messageReply":{"messageSequence":0}}`), ""},
		{"negative sequence", jsonString(`{"messageReply":{"messageSequence":-3}}`), ""},
		{"not a reply", jsonString(`{"orderId":"123"}`), ""},
		{"plain text", jsonString("your cloud custom data"), ""},
		{"empty", jsonString(""), ""},
		{"absent", nil, ""},
		{"object instead of string", wirejson.Value(`{"messageReply":{"messageSequence":5}}`), ""},
		{"malformed inside", jsonString(`{"messageReply":{"messageSequence":5`), ""},
		{"oversized", jsonString(`{"messageReply":{"messageSequence":5},"pad":"` + strings.Repeat("x", maxCloudCustomData) + `"}`), ""},
		{"duplicate keys", jsonString(`{"messageReply":{"messageSequence":5,"messageSequence":6}}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replyRef(tt.raw)
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("got %+v, want nil", got)
			case tt.want != "" && (got == nil || got.ID != tt.want || got.SenderID != ""):
				t.Fatalf("got %+v, want ID %s and no sender", got, tt.want)
			}
		})
	}
}

// TestReplyToThroughReceive: a TUIKit reply's target reaches
// Message.ReplyTo; the display name is not taken as a sender.
func TestReplyToThroughReceive(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := callbackClient(t, nil)
	d := s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub, From: "ops_lead", Text: "/ban 1d",
		CloudCustomData: timtest.ReplyCustomData("144115-1700000000-1", "Spam Bot", 17)})
	ack, err := c.Receive(context.Background(), d)
	if err != nil || len(ack.Events) != 1 {
		t.Fatalf("%v %v", ack, err)
	}
	want := &moderation.MessageRef{ID: "17"}
	if got := ack.Events[0].Message.ReplyTo; got == nil || *got != *want {
		t.Fatalf("ReplyTo %+v, want %+v", got, want)
	}
	d = s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub, From: "ops_lead", Text: "hi"})
	if ack, err := c.Receive(context.Background(), d); err != nil || ack.Events[0].Message.ReplyTo != nil {
		t.Fatalf("no reply: %+v %v", ack.Events[0].Message.ReplyTo, err)
	}
}
