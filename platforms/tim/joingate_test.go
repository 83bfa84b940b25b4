package tim

import (
	"context"
	"errors"
	"testing"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

// banGate keeps the listed users out of every chat.
type banGate map[string]bool

func (g banGate) MayJoin(_ moderation.ChatRef, userID string) bool { return !g[userID] }

func joinGateClient(tb testing.TB, gate moderation.JoinGate) *Client {
	tb.Helper()
	c := callbackClient(tb, nil)
	c.join = gate
	return c
}

func TestBeforeJoinCallbacks(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	gate := banGate{"spam_bot_77": true, "raider": true}
	const ok = answerDeliver
	tests := []struct {
		name string
		gate moderation.JoinGate
		d    moderation.Delivery
		want string
	}{
		{"apply allowed", gate, s.ApplyJoinDelivery(testToken, testNow, timtest.ApplyJoin{GroupID: groupPub, Requestor: "newcomer"}), ok},
		{"apply refused", gate, s.ApplyJoinDelivery(testToken, testNow, timtest.ApplyJoin{GroupID: groupPub, Requestor: "spam_bot_77"}),
			answerReject},
		{"apply without gate", nil, s.ApplyJoinDelivery(testToken, testNow, timtest.ApplyJoin{GroupID: groupPub, Requestor: "spam_bot_77"}), ok},
		{"invite allowed", gate, s.InviteJoinDelivery(testToken, testNow, timtest.InviteJoin{GroupID: groupPub, Operator: "ops_lead", Members: []string{"a", "b"}}), ok},
		{"invite some refused", gate, s.InviteJoinDelivery(testToken, testNow, timtest.InviteJoin{GroupID: groupPub, Operator: "ops_lead", Members: []string{"a", "raider", "b", "spam_bot_77"}}),
			`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedMembers_Account":["raider","spam_bot_77"]}`},
		{"invite without gate", nil, s.InviteJoinDelivery(testToken, testNow, timtest.InviteJoin{GroupID: groupPub, Members: []string{"raider"}}), ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := joinGateClient(t, tt.gate)
			ack, err := c.Receive(context.Background(), tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if got := answerJSON(t, ack.Response); got != tt.want {
				t.Errorf("answer %s, want %s", got, tt.want)
			}
			if len(ack.Events) != 0 {
				t.Errorf("events %v, want none", ack.Events)
			}
		})
	}
}

func TestBeforeJoinCallbacksRejected(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := joinGateClient(t, banGate{})
	tests := []struct {
		name string
		d    moderation.Delivery
		want error
	}{
		{"bad signature", s.ApplyJoinDelivery("wrong-token", testNow, timtest.ApplyJoin{GroupID: groupPub, Requestor: "x"}), moderation.ErrBadSignature},
		{"no requestor", s.ApplyJoinDelivery(testToken, testNow, timtest.ApplyJoin{GroupID: groupPub}), moderation.ErrMalformed},
		{"no group", s.InviteJoinDelivery(testToken, testNow, timtest.InviteJoin{Members: []string{"x"}}), moderation.ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := c.Receive(context.Background(), tt.d); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
