package feishu_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

var p2pChat = moderation.ChatRef{Platform: "feishu", ID: "oc_p2p", Kind: "p2p"}

func TestCapabilitiesPerChatKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	tests := []struct {
		chat moderation.ChatRef
		want moderation.Support
	}{
		{chat, ""}, // per verb below
		{p2pChat, moderation.Unsupported},
	}
	groupWant := map[moderation.Verb]moderation.Support{
		moderation.VerbBan: moderation.Emulated, moderation.VerbUnban: moderation.Emulated,
		moderation.VerbLock: moderation.Native, moderation.VerbUnlock: moderation.Native, moderation.VerbPurge: moderation.Native,
	}
	for _, tt := range tests {
		caps, err := f.c.Capabilities(context.Background(), tt.chat)
		if err != nil {
			t.Fatal(err)
		}
		for verb, want := range groupWant {
			if tt.want != "" {
				want = tt.want
			}
			if caps[verb] != want {
				t.Errorf("%s %s = %q, want %q", tt.chat.Kind, verb, caps[verb], want)
			}
		}
		if caps[moderation.VerbKick] != moderation.Native {
			t.Errorf("%s kick = %q", tt.chat.Kind, caps[moderation.VerbKick])
		}
	}
	lim := f.c.Limits()
	if lim.Batch[moderation.VerbBan] != feishu.MaxRemoveBatch || lim.Batch[moderation.VerbPurge] != 1 || lim.Batch[moderation.VerbUnban] <= 0 {
		t.Errorf("batches = %v", lim.Batch)
	}
	if err := lim.Validate(); err != nil {
		t.Error(err)
	}
}

func TestBan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		chat      *feishutest.Chat // nil: the fixture's (bot is a manager)
		fail      func(*feishutest.Server)
		users     []string
		want      map[string]string // user → status/reason
		wantCalls int
		stillIn   []string
		gone      []string
	}{
		{
			name:  "members removed, the absent noted",
			users: []string{"ou_m0", "ou_m1", "ou_stranger"},
			want: map[string]string{"ou_m0": "done/", "ou_m1": "done/",
				"ou_stranger": "noop/" + string(moderation.ReasonNotMember)},
			wantCalls: 1, gone: []string{"ou_m0", "ou_m1"},
		},
		{
			name:      "a full batch is one call",
			users:     members(0, feishu.MaxRemoveBatch),
			want:      nil,
			wantCalls: 1, gone: members(0, feishu.MaxRemoveBatch),
		},
		{
			name:  "the owner is refused, the rest banned",
			users: []string{"ou_m0", owner},
			want:  map[string]string{"ou_m0": "done/", owner: "refused/feishu:232076"},
			// The refused batch, then the rest again.
			wantCalls: 2, gone: []string{"ou_m0"}, stillIn: []string{owner},
		},
		{
			name:      "a throttled removal is retried",
			fail:      func(s *feishutest.Server) { s.FailNext(feishutest.OpMembersDelete, 1, 99991400) },
			users:     []string{"ou_m0"},
			wantCalls: 2, gone: []string{"ou_m0"},
		},
		{
			name:      "a bot without rights is refused",
			chat:      &feishutest.Chat{ID: chatID, OwnerID: owner, Members: members(0, 3)},
			users:     []string{"ou_m0"},
			want:      map[string]string{"ou_m0": "refused/feishu:232014"},
			wantCalls: 1, stillIn: []string{"ou_m0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 60)
			if tt.chat != nil {
				f.srv.AddChat(*tt.chat)
			}
			if tt.fail != nil {
				tt.fail(f.srv)
			}
			rs := f.c.Ban(context.Background(), chat, tt.users, time.Hour, moderation.ActionOptions{})
			if len(rs) != len(tt.users) {
				t.Fatalf("%d results for %d users", len(rs), len(tt.users))
			}
			for i, r := range rs {
				if r.UserID != tt.users[i] {
					t.Fatalf("result %d is for %q, want %q", i, r.UserID, tt.users[i])
				}
				want := "done/"
				if tt.want != nil {
					want = tt.want[r.UserID]
				}
				if got := string(r.Status) + "/" + string(r.Reason); got != want {
					t.Errorf("%s: %s (%s), want %s", r.UserID, got, r.Detail, want)
				}
				if r.Status.Succeeded() && !strings.Contains(r.Detail, "Feishu has no ban") {
					t.Errorf("%s: detail %q does not say the ban is emulated", r.UserID, r.Detail)
				}
			}
			if n := len(f.srv.CallsTo(feishutest.OpMembersDelete)); n != tt.wantCalls {
				t.Errorf("%d removal calls, want %d", n, tt.wantCalls)
			}
			in := f.srv.Members(chatID)
			for _, u := range tt.gone {
				if slices.Contains(in, u) {
					t.Errorf("%s still in the chat", u)
				}
			}
			for _, u := range tt.stillIn {
				if !slices.Contains(in, u) {
					t.Errorf("%s removed", u)
				}
			}
		})
	}
}

// TestBanRejoin: a banned user rejoins; the join event names them and a
// second ban (what the pipeline's enforcement does) removes them again.
func TestBanRejoin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	ctx := context.Background()
	if rs := f.c.Ban(ctx, chat, []string{"ou_m1"}, moderation.Forever, moderation.ActionOptions{}); rs[0].Status != moderation.StatusDone {
		t.Fatalf("ban = %+v", rs[0])
	}
	body, err := f.srv.AddMembers(chatID, manager, "ou_m1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.srv.Members(chatID), "ou_m1") {
		t.Fatal("rejoin did not add the user")
	}
	ack, err := f.c.Receive(ctx, feishutest.SignedDelivery(f.srv.EncryptKey, ts(f.clock.now()), "n", body))
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Events) != 1 || ack.Events[0].Join == nil || !slices.Equal(ack.Events[0].Join.UserIDs, []string{"ou_m1"}) {
		t.Fatalf("events = %+v", ack.Events)
	}
	if rs := f.c.Ban(ctx, chat, ack.Events[0].Join.UserIDs, moderation.Forever, moderation.ActionOptions{}); rs[0].Status != moderation.StatusDone {
		t.Fatalf("second ban = %+v", rs[0])
	}
	if slices.Contains(f.srv.Members(chatID), "ou_m1") {
		t.Fatal("banned user still in the chat after rejoining")
	}
}

func TestUnbanCallsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	users := []string{"ou_m0", "ou_gone"}
	rs := f.c.Unban(context.Background(), chat, users, moderation.ActionOptions{})
	if len(rs) != 2 {
		t.Fatalf("%d results", len(rs))
	}
	for i, r := range rs {
		if r.UserID != users[i] || r.Status != moderation.StatusDone || !strings.Contains(r.Detail, "nothing to lift") {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if calls := f.srv.Calls(); len(calls) != 0 {
		t.Errorf("%d calls to Feishu, want none", len(calls))
	}
}

func TestSanctionsRefusedInDirectChats(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := context.Background()
	var rs []moderation.Result
	rs = append(rs, f.c.Ban(ctx, p2pChat, []string{"ou_m0"}, time.Hour, moderation.ActionOptions{})...)
	rs = append(rs, f.c.Unban(ctx, p2pChat, []string{"ou_m0"}, moderation.ActionOptions{})...)
	rs = append(rs, f.c.Lock(ctx, p2pChat, nil, moderation.ActionOptions{}), f.c.Unlock(ctx, p2pChat, moderation.ActionOptions{}))
	rs = append(rs, f.c.RecallMessages(ctx, p2pChat, []moderation.MessageRef{{ID: "om_1"}}, moderation.ActionOptions{})...)
	for i, r := range rs {
		if r.Status != moderation.StatusRefused || r.Reason != moderation.ReasonUnsupported {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if _, err := f.c.RecentMessages(ctx, p2pChat, 10); !errors.Is(err, moderation.ErrUnsupported) {
		t.Errorf("RecentMessages err = %v", err)
	}
	if calls := f.srv.Calls(); len(calls) != 0 {
		t.Errorf("%d calls to Feishu, want none", len(calls))
	}
}

func TestLockUnlock(t *testing.T) {
	t.Parallel()
	ownedChat := feishutest.Chat{ID: chatID, Managers: []string{manager}, Members: members(0, 3), BotIsOwner: true}
	tests := []struct {
		name      string
		chat      feishutest.Chat
		unlock    bool
		before    string // the speech mode before; "" all_members
		fail      func(*feishutest.Server)
		want      string // status/reason
		wantMode  string
		wantPuts  int
		detailHas string
	}{
		{name: "owner locks", chat: ownedChat, want: "done/", wantMode: "only_owner", wantPuts: 1, detailHas: "owner and the managers"},
		{name: "owner unlocks", chat: ownedChat, unlock: true, before: "only_owner", want: "done/", wantMode: "all_members", wantPuts: 1},
		{name: "already locked", chat: ownedChat, before: "only_owner", want: "noop/", wantMode: "only_owner", wantPuts: 0, detailHas: "already lets only"},
		{name: "already unlocked", chat: ownedChat, unlock: true, want: "noop/", wantMode: "all_members", wantPuts: 0, detailHas: "may already speak"},
		{name: "lock over a whitelist", chat: ownedChat, before: "moderator_list", want: "done/", wantMode: "only_owner", wantPuts: 1, detailHas: "list of members"},
		{
			name:     "creator bot with operate_as_owner",
			chat:     feishutest.Chat{ID: chatID, OwnerID: owner, Members: members(0, 3), BotIsCreator: true, CreatorOperateAsOwner: true},
			want:     "done/",
			wantMode: "only_owner", wantPuts: 1,
		},
		{
			name:     "manager bot is refused",
			chat:     feishutest.Chat{ID: chatID, OwnerID: owner, Managers: []string{manager}, Members: members(0, 3), BotIsManager: true},
			want:     "refused/feishu:232017",
			wantMode: "all_members", wantPuts: 1, detailHas: "must own this chat",
		},
		{
			name:     "creator bot without the scope is refused",
			chat:     feishutest.Chat{ID: chatID, OwnerID: owner, Members: members(0, 3), BotIsCreator: true},
			want:     "refused/feishu:232017",
			wantMode: "all_members", wantPuts: 1,
		},
		{
			name: "a throttled change is retried", chat: ownedChat,
			fail:     func(s *feishutest.Server) { s.FailNext(feishutest.OpModerationUpdate, 1, 429) },
			want:     "done/",
			wantMode: "only_owner", wantPuts: 2,
		},
		{
			name: "a failed read does not block the change", chat: ownedChat,
			fail:     func(s *feishutest.Server) { s.FailNext(feishutest.OpModerationGet, 1, 99991672) },
			want:     "done/",
			wantMode: "only_owner", wantPuts: 1,
		},
		{
			name: "a meeting in progress is refused", chat: ownedChat,
			fail:     func(s *feishutest.Server) { s.FailNext(feishutest.OpModerationUpdate, 1, 232092) },
			want:     "refused/feishu:232092",
			wantMode: "all_members", wantPuts: 1,
		},
		{
			name:     "the bot is not in the chat",
			chat:     feishutest.Chat{ID: chatID, Members: members(0, 3), BotIsOwner: true, BotOut: true},
			want:     "refused/feishu:232011",
			wantMode: "all_members", wantPuts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 0)
			f.srv.AddChat(tt.chat)
			if tt.before != "" {
				f.srv.SetModeration(chatID, tt.before, "ou_m0")
			}
			if tt.fail != nil {
				tt.fail(f.srv)
			}
			var r moderation.Result
			if tt.unlock {
				r = f.c.Unlock(context.Background(), chat, moderation.ActionOptions{})
			} else {
				r = f.c.Lock(context.Background(), chat, nil, moderation.ActionOptions{})
			}
			if got := string(r.Status) + "/" + string(r.Reason); got != tt.want || r.UserID != "" {
				t.Errorf("result = %+v, want %s", r, tt.want)
			}
			if !strings.Contains(r.Detail, tt.detailHas) {
				t.Errorf("detail %q lacks %q", r.Detail, tt.detailHas)
			}
			if c, _ := f.srv.Chat(chatID); c.Moderation != tt.wantMode {
				t.Errorf("mode = %q, want %q", c.Moderation, tt.wantMode)
			}
			puts := f.srv.CallsTo(feishutest.OpModerationUpdate)
			if len(puts) != tt.wantPuts {
				t.Fatalf("%d PUTs, want %d", len(puts), tt.wantPuts)
			}
			wantSetting := "only_owner"
			if tt.unlock {
				wantSetting = "all_members"
			}
			for _, p := range puts {
				if p.Query.Get("user_id_type") != "open_id" || p.Path != "/open-apis/im/v1/chats/"+chatID+"/moderation" ||
					p.Body["moderation_setting"] != wantSetting || len(p.Body) != 1 {
					t.Errorf("PUT %s?%s %v", p.Path, p.Query.Encode(), p.Body)
				}
			}
		})
	}
}

// TestLockSilencesMembers: a lock lets the owner and managers speak and
// nobody else; the bot (owner) still replies; unlock lets everyone speak.
func TestLockSilencesMembers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	f.srv.AddChat(feishutest.Chat{ID: chatID, Managers: []string{manager}, Members: members(0, 2), BotIsOwner: true})
	ctx := context.Background()
	if r := f.c.Lock(ctx, chat, nil, moderation.ActionOptions{}); r.Status != moderation.StatusDone {
		t.Fatalf("lock = %+v", r)
	}
	if _, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m0", Text: "hi"}); !errors.Is(err, feishutest.ErrMayNotSpeak) {
		t.Errorf("member sent in a locked chat: %v", err)
	}
	id, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: manager, Text: "/unlock"})
	if err != nil {
		t.Fatalf("manager silenced: %v", err)
	}
	if err := f.c.Reply(ctx, &moderation.Message{Chat: chat, MessageID: id}, "locked"); err != nil {
		t.Errorf("owner bot cannot reply in its locked chat: %v", err)
	}
	if r := f.c.Unlock(ctx, chat, moderation.ActionOptions{}); r.Status != moderation.StatusDone {
		t.Fatalf("unlock = %+v", r)
	}
	if _, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m0", Text: "hi"}); err != nil {
		t.Errorf("member silenced after unlock: %v", err)
	}
}

func TestRecallMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(f *fixture, id string) string // returns the id to recall
		want    string
		calls   int
		gone    bool
	}{
		{name: "recalled", want: "done/", calls: 1, gone: true},
		{name: "already recalled", prepare: func(f *fixture, id string) string { f.srv.RecallMessage(id); return id }, want: "noop/feishu:230110", calls: 1, gone: true},
		{name: "too old", prepare: func(f *fixture, id string) string { f.srv.SetRecallLimit(-time.Hour); return id }, want: "refused/feishu:230009", calls: 1},
		{name: "no right to recall", prepare: func(f *fixture, id string) string { f.srv.SetBotRights(chatID, false, false); return id }, want: "refused/feishu:230026", calls: 1},
		{name: "throttled then recalled", prepare: func(f *fixture, id string) string { f.srv.FailNext(feishutest.OpMessageDelete, 2, 429); return id }, want: "done/", calls: 3, gone: true},
		{name: "a server error then recalled", prepare: func(f *fixture, id string) string { f.srv.FailNext(feishutest.OpMessageDelete, 1, 502); return id }, want: "done/", calls: 2, gone: true},
		{name: "an id that is no path segment", prepare: func(*fixture, string) string { return ".." }, want: "refused/feishu:invalid_message_id", calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 2)
			id, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m0", Text: "spam"})
			if err != nil {
				t.Fatal(err)
			}
			target := id
			if tt.prepare != nil {
				target = tt.prepare(f, id)
			}
			rs := f.c.RecallMessages(context.Background(), chat, []moderation.MessageRef{{ID: target, SenderID: "ou_m0"}}, moderation.ActionOptions{})
			if len(rs) != 1 || rs[0].UserID != target {
				t.Fatalf("results = %+v", rs)
			}
			if got := string(rs[0].Status) + "/" + string(rs[0].Reason); got != tt.want {
				t.Errorf("result = %+v, want %s", rs[0], tt.want)
			}
			if n := len(f.srv.CallsTo(feishutest.OpMessageDelete)); n != tt.calls {
				t.Errorf("%d calls, want %d", n, tt.calls)
			}
			if m, _ := f.srv.Message(id); m.Deleted != tt.gone {
				t.Errorf("deleted = %v, want %v", m.Deleted, tt.gone)
			}
		})
	}
}

// seedHistory sends n messages from ou_m0…ou_m2 in turn, one second apart
// ending now, and returns their ids oldest first.
func seedHistory(tb testing.TB, f *fixture, n int) []string {
	tb.Helper()
	start := time.Now().Add(-time.Duration(n) * time.Second).Truncate(time.Millisecond)
	ids := make([]string, n)
	for i := range ids {
		id, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: fmt.Sprintf("ou_m%d", i%3),
			Text: fmt.Sprint("message ", i), CreateTime: start.Add(time.Duration(i) * time.Second)})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

func TestRecentMessages(t *testing.T) {
	t.Parallel()
	const seeded = 130
	tests := []struct {
		name     string
		n        int
		recalled []int // indexes (oldest first) recalled before listing
		want     int
		pages    int
	}{
		{name: "fewer than a page", n: 10, want: 10, pages: 1},
		{name: "over two pages", n: 120, want: 120, pages: 3},
		{name: "more than the history", n: 500, want: seeded, pages: 3},
		{name: "recalled ones skipped", n: 50, recalled: []int{129, 128, 100}, want: 50, pages: 2},
		{name: "none asked", n: 0, want: 0, pages: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 3)
			ids := seedHistory(t, f, seeded)
			for _, i := range tt.recalled {
				f.srv.RecallMessage(ids[i])
			}
			got, err := f.c.RecentMessages(context.Background(), chat, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("%d messages, want %d", len(got), tt.want)
			}
			// Newest first, the recalled left out.
			i := seeded - 1
			for _, ref := range got {
				for slices.Contains(tt.recalled, i) {
					i--
				}
				m, _ := f.srv.Message(ids[i])
				if ref.ID != ids[i] || ref.SenderID != m.SenderID || !ref.SentAt.Equal(m.Created) {
					t.Fatalf("got %+v, want %s from %s at %s", ref, ids[i], m.SenderID, m.Created)
				}
				i--
			}
			calls := f.srv.CallsTo(feishutest.OpMessageList)
			if len(calls) != tt.pages {
				t.Errorf("%d pages, want %d", len(calls), tt.pages)
			}
			for _, c := range calls {
				q := c.Query
				if q.Get("container_id_type") != "chat" || q.Get("container_id") != chatID || q.Get("sort_type") != "ByCreateTimeDesc" || c.Status != 200 {
					t.Errorf("list call %s → %d", q.Encode(), c.Status)
				}
			}
		})
	}
}

func TestRecentMessagesBotAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 3)
	ids := seedHistory(t, f, 3)
	if err := f.c.Reply(ctx, &moderation.Message{Chat: chat, MessageID: ids[2]}, "warned"); err != nil {
		t.Fatal(err)
	}
	got, err := f.c.RecentMessages(ctx, chat, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SenderID != f.srv.AppID || got[1].ID != ids[2] {
		t.Fatalf("got %+v: want the bot's reply (sender %s) then %s", got, f.srv.AppID, ids[2])
	}

	// A page that keeps failing fails the whole listing: no partial purge.
	seedHistory(t, f, 60)
	f.srv.SetFailRate(feishutest.OpMessageList, 1, 503)
	if got, err := f.c.RecentMessages(ctx, chat, 60); err == nil {
		t.Fatalf("got %d messages despite failing pages", len(got))
	}
	f.srv.SetFailRate(feishutest.OpMessageList, 0, 0)

	f.srv.AddChat(feishutest.Chat{ID: chatID, OwnerID: owner, BotIsManager: true, BotOut: true})
	_, err = f.c.RecentMessages(ctx, chat, 5)
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 230002 {
		t.Fatalf("bot out of the chat: err = %v", err)
	}
}

func TestMessageSender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 2)
	userMsg, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m1", Text: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.Reply(ctx, &moderation.Message{Chat: chat, MessageID: userMsg}, "warned"); err != nil {
		t.Fatal(err)
	}
	botMsg := f.srv.Replies()[0].ID
	recalled, _, _ := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m0", Text: "gone"})
	f.srv.RecallMessage(recalled)
	f.srv.AddChat(feishutest.Chat{ID: "oc_other", OwnerID: owner, Members: []string{"ou_x"}, BotIsManager: true})
	elsewhere, _, _ := f.srv.Send(feishutest.TextMessage{ChatID: "oc_other", SenderID: "ou_x", Text: "hi"})

	tests := []struct {
		name     string
		id       string
		want     string
		wantCode int // an APIError's code; -1 any error
		wantBot  bool
		calls    int
	}{
		{name: "a user's message", id: userMsg, want: "ou_m1", calls: 1},
		{name: "a bot's message: no target", id: botMsg, wantCode: -1, wantBot: true, calls: 1},
		{name: "a recalled message still names its sender", id: recalled, want: "ou_m0", calls: 1},
		{name: "unknown message", id: "om_unknown", wantCode: 230001, calls: 1},
		{name: "another chat's message", id: elsewhere, wantCode: -1, calls: 1},
		{name: "no path segment", id: "..", wantCode: -1, calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.srv.CallsTo(feishutest.OpMessageGet))
			got, err := f.c.MessageSender(ctx, chat, tt.id)
			if n := len(f.srv.CallsTo(feishutest.OpMessageGet)) - before; n != tt.calls {
				t.Errorf("%d calls, want %d", n, tt.calls)
			}
			if tt.wantCode != 0 {
				var apiErr *moderation.APIError
				if err == nil || (tt.wantCode > 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode)) {
					t.Fatalf("sender %q, err %v; want code %d", got, err, tt.wantCode)
				}
				if errors.Is(err, moderation.ErrBotSender) != tt.wantBot {
					t.Fatalf("err %v: ErrBotSender %v, want %v", err, !tt.wantBot, tt.wantBot)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("sender %q, err %v; want %q", got, err, tt.want)
			}
		})
	}
	calls := f.srv.CallsTo(feishutest.OpMessageGet)
	if q := calls[0].Query; q.Get("user_id_type") != "open_id" {
		t.Errorf("query %s", q.Encode())
	}
}

// TestReplyToParsed: a reply's parent_id becomes Message.ReplyTo (with no
// sender: the event does not carry it); a plain message has none.
func TestReplyToParsed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	parent, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m1", Text: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		parent string
		want   *moderation.MessageRef
	}{
		{name: "reply", parent: parent, want: &moderation.MessageRef{ID: parent}},
		{name: "plain", parent: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: manager, Text: "/ban", ParentID: tt.parent})
			if err != nil {
				t.Fatal(err)
			}
			ack, err := f.c.Receive(context.Background(), feishutest.SignedDelivery(f.srv.EncryptKey, ts(f.clock.now()), "n", body))
			if err != nil {
				t.Fatal(err)
			}
			if len(ack.Events) != 1 || ack.Events[0].Message == nil {
				t.Fatalf("events = %+v", ack.Events)
			}
			got := ack.Events[0].Message.ReplyTo
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("ReplyTo = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLockKeepsSpeakers: with Gavel's admins to keep speaking, the lock
// is moderator_list naming the managers and them; members stay silent,
// the admins and managers speak.
func TestLockKeepsSpeakers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	f.srv.AddChat(feishutest.Chat{ID: chatID, Managers: []string{manager}, Members: members(0, 3), BotIsOwner: true})
	ctx := context.Background()
	if r := f.c.Lock(ctx, chat, []string{"ou_m2"}, moderation.ActionOptions{}); r.Status != moderation.StatusDone {
		t.Fatalf("lock = %+v", r)
	}
	c, _ := f.srv.Chat(chatID)
	if c.Moderation != "moderator_list" {
		t.Fatalf("speech mode %q, want moderator_list", c.Moderation)
	}
	for _, tc := range []struct {
		user string
		want error
	}{{"ou_m0", feishutest.ErrMayNotSpeak}, {"ou_m2", nil}, {manager, nil}} {
		if _, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: tc.user, Text: "hi"}); !errors.Is(err, tc.want) {
			t.Errorf("%s sends under lock: %v, want %v", tc.user, err, tc.want)
		}
	}
	if r := f.c.Unlock(ctx, chat, moderation.ActionOptions{}); r.Status != moderation.StatusDone {
		t.Fatalf("unlock = %+v", r)
	}
	if _, _, err := f.srv.Send(feishutest.TextMessage{ChatID: chatID, SenderID: "ou_m0", Text: "hi"}); err != nil {
		t.Errorf("member silenced after unlock: %v", err)
	}
}
