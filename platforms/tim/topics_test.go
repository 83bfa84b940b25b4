package tim

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

const (
	groupTopics = "@TGS#_@TGS#cGAVELCOMM"
	topicA      = groupTopics + "@TOPIC#_general"
	topicB      = groupTopics + "@TOPIC#_offtopic"
)

func addCommunity(s *timtest.Server) {
	s.AddGroup(timtest.Group{ID: groupTopics, Type: "Community", Owner: "owner_3", Admins: []string{"ops_lead"},
		Members: []string{"spam_bot_77"}, Topics: []string{topicA, topicB}})
}

// TestReceiveTopic: a topic's message names the topic as the chat's
// thread, and the same MsgSeq in two topics is two messages.
func TestReceiveTopic(t *testing.T) {
	t.Parallel()
	c, s := fakeCallbackClient(t, nil)
	addCommunity(s)
	var keys [][]string
	for _, topic := range []string{topicA, topicB} {
		ack, err := c.Receive(context.Background(), s.MessageDelivery(testToken, testNow,
			timtest.Message{GroupID: groupTopics, TopicID: topic, From: "spam_bot_77", Text: "hi", MsgSeq: 7}))
		if err != nil {
			t.Fatal(err)
		}
		ev := ack.Events[0]
		if want := (moderation.ChatRef{Platform: "tim", ID: groupTopics, Kind: "Community", Thread: topic}); ev.Message.Chat != want {
			t.Errorf("chat = %+v, want %+v", ev.Message.Chat, want)
		}
		keys = append(keys, ev.DedupKeys)
	}
	if want := []string{"tim:msg:" + groupTopics + ":" + topicA + ":7"}; !reflect.DeepEqual(keys[0], want) {
		t.Errorf("keys = %v, want %v", keys[0], want)
	}
	if reflect.DeepEqual(keys[0], keys[1]) {
		t.Errorf("two topics' message 7 share the dedup keys %v", keys[0])
	}
}

// TestTopicActions: replies, recalls and mutes carry the topic the
// command came from; the fake refuses a reply or recall without it in a
// community with topics.
func TestTopicActions(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	addCommunity(s)
	c := newTestClient(t, s)
	ctx := context.Background()
	chat := moderation.ChatRef{Platform: "tim", ID: groupTopics, Kind: "Community", Thread: topicB}

	if err := c.Reply(ctx, &moderation.Message{Chat: chat}, "Muted for 10m 1: spam_bot_77"); err != nil {
		t.Fatalf("Reply: %v", err)
	}
	if r := s.Replies(); len(r) != 1 || r[0].TopicID != topicB {
		t.Errorf("replies = %+v, want one in %s", r, topicB)
	}

	d := s.MessageDelivery(testToken, time.Now(), timtest.Message{GroupID: groupTopics, TopicID: topicB, From: "spam_bot_77", Text: "buy"})
	msgSeq := messageSeq(t, d)
	if err := c.Recall(ctx, chat, msgSeq); err != nil {
		t.Fatalf("Recall: %v", err)
	}
	if got := s.RecalledIn(groupTopics, topicB); len(got) != 1 || strconv.FormatUint(got[0], 10) != msgSeq {
		t.Errorf("recalled in topic = %v, want [%s]", got, msgSeq)
	}

	res := c.Mute(ctx, chat, []string{"spam_bot_77"}, 10*time.Minute, moderation.ActionOptions{})
	if len(res) != 1 || res[0].Status != moderation.StatusDone {
		t.Fatalf("Mute = %+v", res)
	}
	if st := s.TopicMute(groupTopics, topicB, "spam_bot_77"); !st.Muted {
		t.Errorf("not muted in %s", topicB)
	}
	if st := s.Mute(groupTopics, "spam_bot_77"); st.Muted {
		t.Errorf("a topic mute became group-wide")
	}

	// Without the topic the fake refuses, as a community with topics does.
	if err := c.Reply(ctx, &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: groupTopics}}, "x"); err == nil {
		t.Error("reply without a topic accepted in a community with topics")
	}
}

func messageSeq(t *testing.T, d moderation.Delivery) string {
	t.Helper()
	b, err := decodeCallback("", d.Body)
	if err != nil || !b.MsgSeq.Set {
		t.Fatalf("delivery body: %v", err)
	}
	return strconv.FormatInt(b.MsgSeq.V, 10)
}
