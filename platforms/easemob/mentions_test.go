package easemob_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// TestMentionNicknames: nicknames come from POST /metadata/user/get, at
// most 100 targets a call, cached; a slow lookup does not hold the
// callback past mention_lookup_timeout.
func TestMentionNicknames(t *testing.T) {
	t.Parallel()
	t.Run("batched and cached", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ids := users("u", 150)
		for _, id := range ids {
			e.srv.SetNickname(id, "Nick "+id)
		}
		msg := easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/kick @" + ids[0] + " @" + ids[149], AtList: ids, Render: true}
		for i := range 2 {
			msg.CallID, msg.MsgID = "", ""
			ack, err := e.c.Receive(ctx, e.srv.MessageDelivery(msg))
			if err != nil {
				t.Fatal(err)
			}
			ms := ack.Events[0].Message.Mentions
			want := []moderation.Mention{{Token: "@Nick u000", UserID: "u000", Name: "Nick u000"}, {Token: "@Nick u149", UserID: "u149", Name: "Nick u149"}}
			if len(ms) != 150 || !reflect.DeepEqual(ms[:2], want) {
				t.Fatalf("round %d: %d mentions, first %+v", i, len(ms), ms[:2])
			}
		}
		calls := e.srv.CallsTo("metadata")
		if len(calls) != 2 {
			t.Fatalf("%d metadata calls, want 2 (100 + 50, then cached)", len(calls))
		}
		for _, c := range calls {
			if n := len(c.Body["targets"].([]any)); n > easemobtest.MaxMetadataTargets || c.Status != http.StatusOK || c.Body["properties"].([]any)[0] != "nickname" {
				t.Fatalf("metadata call %d targets, status %d, body %v", n, c.Status, c.Body)
			}
		}
	})
	for _, tc := range []struct {
		name    string
		timeout time.Duration // 0: the default
		want    time.Duration
	}{
		{name: "slow lookup bounded by default", want: easemob.DefaultMentionLookupTimeout},
		{name: "slow lookup bounded by mention_lookup_timeout", timeout: 100 * time.Millisecond, want: 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *easemob.Config) { c.MentionLookupTimeout = tc.timeout })
			e.srv.SetNickname("u_smith", "John Smith")
			e.srv.SetDelay("metadata", 3*time.Second)
			msg := easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/kick @u_smith", AtList: []string{"u_smith"}, Render: true}
			start := time.Now()
			ack, err := e.c.Receive(ctx, e.srv.MessageDelivery(msg))
			if took := time.Since(start); took > tc.want+300*time.Millisecond || took < tc.want {
				t.Fatalf("callback held %s, want about %s", took, tc.want)
			}
			if err != nil {
				t.Fatal(err)
			}
			if ms := ack.Events[0].Message.Mentions; len(ms) != 1 || ms[0].Token != "" || ms[0].UserID != "u_smith" {
				t.Fatalf("mentions %+v, want one unresolved", ms)
			}
		})
	}
}

// TestE2EMentionNicknameWithSpaces: "/mute @John Smith 10m" as a client
// renders it mutes u_smith for 10 minutes.
func TestE2EMentionNicknameWithSpaces(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddGroup(e2eRoom, "owner1", nil, []string{"u_smith", "bob"})
	e.fake.SetNickname("u_smith", "John Smith")
	e.fake.SetNickname("bob", "Bob")
	if st, _ := e.post(t, easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindGroup, From: "owner1", Text: "/mute @u_smith @bob 10m", AtList: []string{"u_smith", "bob"}, Render: true}); st != http.StatusOK {
		t.Fatalf("answered %d", st)
	}
	mutes := e.fake.CallsTo("mute")
	if len(mutes) != 1 || !reflect.DeepEqual(mutes[0].Users, []string{"u_smith", "bob"}) || mutes[0].Body["mute_duration"] != float64(600000) {
		t.Fatalf("mutes %+v; logs:\n%s", mutes, e.gavel.Logs())
	}
}
