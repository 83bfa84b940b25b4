package feishu_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

const (
	owner   = "ou_owner"
	manager = "ou_manager"
	chatID  = "oc_chat"
)

var chat = moderation.ChatRef{Platform: "feishu", ID: chatID, Kind: "group"}

// clock is an adjustable Options.Now.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type fixture struct {
	srv   *feishutest.Server
	c     *feishu.Client
	clock *clock
}

// newFixture starts a fake with one chat (owner, one manager, members
// ou_m0…ou_m{n-1}) where the bot is a manager, and an adapter talking to it.
func newFixture(tb testing.TB, members int) *fixture {
	tb.Helper()
	srv := feishutest.NewServer()
	tb.Cleanup(srv.Close)
	ids := make([]string, members)
	for i := range ids {
		ids[i] = fmt.Sprintf("ou_m%d", i)
	}
	srv.AddChat(feishutest.Chat{ID: chatID, OwnerID: owner, Managers: []string{manager}, Members: ids, BotIsManager: true})
	clk := &clock{}
	clk.ns.Store(time.Now().UnixNano())
	c, err := feishu.New(feishu.Config{
		BaseURL: srv.URL, AppID: srv.AppID, AppSecret: srv.AppSecret,
		VerificationToken: srv.VerificationToken, EncryptKey: srv.EncryptKey,
		Rate: egress.Limits{PerSecond: 200, Burst: 10, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}, feishu.Options{Logger: quietLogger(), HTTPClient: srv.Client(), Now: clk.now})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{srv: srv, c: c, clock: clk}
}

func members(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("ou_m%d", i))
	}
	return out
}

func statuses(rs []moderation.Result) map[string]string {
	m := make(map[string]string, len(rs))
	for _, r := range rs {
		m[r.UserID] = string(r.Status) + "/" + string(r.Reason)
	}
	return m
}

func TestRemoveBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 60)
	targets := members(0, feishu.MaxRemoveBatch)
	rs := f.c.Remove(context.Background(), chat, targets, moderation.ActionOptions{})
	if len(rs) != feishu.MaxRemoveBatch {
		t.Fatalf("%d results, want %d", len(rs), feishu.MaxRemoveBatch)
	}
	for i, r := range rs {
		if r.UserID != targets[i] || r.Status != moderation.StatusDone {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	batches := f.srv.RemoveBatches()
	if len(batches) != 1 || len(batches[0]) != 50 || batches[0][49] != "ou_m49" {
		t.Fatalf("batches = %d (%v)", len(batches), batches)
	}
	for _, call := range f.srv.CallsTo(feishutest.OpMembersDelete) {
		if call.Query.Get("member_id_type") != "open_id" || call.Path != "/open-apis/im/v1/chats/"+chatID+"/members" {
			t.Fatalf("call = %s %s?%s", call.Method, call.Path, call.Query.Encode())
		}
	}
	if left := f.srv.Members(chatID); slices.Contains(left, "ou_m0") || !slices.Contains(left, "ou_m55") {
		t.Fatalf("members left = %v", left)
	}
}

func TestRemoveOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(*fixture)
		targets []string
		want    map[string]string
		calls   int    // chat.members.delete calls
		chatID  string // default chatID
	}{
		{
			name:    "non-members in invalid_id_list are noop",
			targets: []string{"ou_m0", "ou_stranger"},
			want:    map[string]string{"ou_m0": "done/", "ou_stranger": "noop/not_member"},
			calls:   1,
		},
		{
			name:    "no valid member at all (232027) is noop",
			targets: []string{"ou_x", "ou_y"},
			want:    map[string]string{"ou_x": "noop/not_member", "ou_y": "noop/not_member"},
			calls:   1,
		},
		{
			name:    "232019 chat throttle retried then done",
			setup:   func(f *fixture) { f.srv.FailNext(feishutest.OpMembersDelete, 2, 232019) },
			targets: []string{"ou_m0"},
			want:    map[string]string{"ou_m0": "done/"},
			calls:   3,
		},
		{
			name:    "bot not owner or manager (232014) refused, not retried",
			setup:   func(f *fixture) { f.srv.SetBotRights(chatID, false, false) },
			targets: []string{"ou_m0", "ou_m1"},
			want:    map[string]string{"ou_m0": "refused/feishu:232014", "ou_m1": "refused/feishu:232014"},
			calls:   1,
		},
		{
			name:    "owner refused (232076), others removed",
			targets: []string{"ou_m0", owner, "ou_m1"},
			want:    map[string]string{"ou_m0": "done/", owner: "refused/feishu:232076", "ou_m1": "done/"},
			calls:   2,
		},
		{
			name:    "owner alone refused",
			targets: []string{owner},
			want:    map[string]string{owner: "refused/feishu:232076"},
			calls:   1,
		},
		{
			name:    "chat of another tenant (232010) refused",
			setup:   func(f *fixture) { f.srv.AddChat(feishutest.Chat{ID: "oc_foreign", Tenant: "another"}) },
			chatID:  "oc_foreign",
			targets: []string{"ou_m0"},
			want:    map[string]string{"ou_m0": "refused/feishu:232010"},
			calls:   1,
		},
		{
			name:    "server errors retried until attempts run out",
			setup:   func(f *fixture) { f.srv.FailNext(feishutest.OpMembersDelete, 10, 503) },
			targets: []string{"ou_m0"},
			want:    map[string]string{"ou_m0": "failed/feishu:http_503"},
			calls:   5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 5)
			if tt.setup != nil {
				tt.setup(f)
			}
			target := chat
			if tt.chatID != "" {
				target.ID = tt.chatID
			}
			rs := f.c.Remove(context.Background(), target, tt.targets, moderation.ActionOptions{})
			for i, r := range rs {
				if r.UserID != tt.targets[i] {
					t.Fatalf("result order: %v", rs)
				}
				if r.Status != moderation.StatusDone && r.Status != moderation.StatusNoop && r.Detail == "" {
					t.Fatalf("result without detail: %+v", r)
				}
			}
			if got := statuses(rs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("results = %v, want %v", got, tt.want)
			}
			if n := len(f.srv.CallsTo(feishutest.OpMembersDelete)); n != tt.calls {
				t.Fatalf("%d delete calls, want %d", n, tt.calls)
			}
		})
	}
}

func TestRemoveSerialisedPerChat(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	f.srv.SetDelay(feishutest.OpMembersDelete, 30*time.Millisecond)
	var wg sync.WaitGroup
	results := make([][]moderation.Result, 4)
	for i := range results {
		wg.Go(func() {
			results[i] = f.c.Remove(context.Background(), chat, members(i*2, i*2+2), moderation.ActionOptions{})
		})
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			if r.Status != moderation.StatusDone {
				t.Fatalf("result %+v", r)
			}
		}
	}
	for _, c := range f.srv.CallsTo(feishutest.OpMembersDelete) {
		if c.Code != 0 {
			t.Fatalf("parallel removal reached Feishu: code %d", c.Code)
		}
	}
}

func TestRemoveRateLimitResetHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	f.srv.SetRateLimitReset(1)
	f.srv.FailNext(feishutest.OpMembersDelete, 1, 429)
	rs := f.c.Remove(context.Background(), chat, []string{"ou_m0"}, moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusDone {
		t.Fatalf("result %+v", rs[0])
	}
	calls := f.srv.CallsTo(feishutest.OpMembersDelete)
	if len(calls) != 2 || calls[0].Status != 429 || calls[0].Code != 99991400 {
		t.Fatalf("calls = %+v", calls)
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < 900*time.Millisecond {
		t.Fatalf("retried after %s, want the 1 s x-ogw-ratelimit-reset", gap)
	}
}

// TestRolesNotCached: the adapter asks Feishu on every Roles call; the
// pipeline's role cache is the only one.
func TestRolesNotCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	ctx := context.Background()
	users := []string{owner, manager, "ou_m0", f.srv.BotOpenID}
	want := map[string]moderation.Role{owner: moderation.RoleOwner, manager: moderation.RoleAdmin, "ou_m0": moderation.RoleMember, f.srv.BotOpenID: moderation.RoleAdmin}
	for i := range 2 {
		got, err := f.c.Roles(ctx, chat, users)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("call %d: roles = %v, want %v", i, got, want)
		}
	}
	if n := len(f.srv.CallsTo(feishutest.OpChatGet)); n != 2 {
		t.Fatalf("%d chat.get calls for two Roles, want 2 (the adapter caches no roles)", n)
	}
	if q := f.srv.CallsTo(feishutest.OpChatGet)[0].Query.Get("user_id_type"); q != "open_id" {
		t.Fatalf("user_id_type = %q", q)
	}
	if n := len(f.srv.CallsTo(feishutest.OpBotInfo)); n != 1 {
		t.Fatalf("%d bot.info calls, want 1", n)
	}
}

func TestRolesErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	_, err := f.c.Roles(context.Background(), moderation.ChatRef{Platform: "feishu", ID: "oc_unknown"}, []string{owner})
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 232006 || apiErr.Kind != moderation.Permanent || apiErr.Op != "chat.get" {
		t.Fatalf("err = %v", err)
	}
	f.srv.FailNext(feishutest.OpChatGet, 1, 500)
	if _, err := f.c.Roles(context.Background(), chat, []string{owner}); err != nil {
		t.Fatalf("5xx not retried: %v", err)
	}
}

func TestMuteEmulated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		chat feishutest.Chat // ID, members filled in
		// userMgr lists the bot's open_id among the user managers.
		userMgr bool
		// canRecall: Feishu lets the bot recall others' messages here.
		canRecall bool
		// wantFirst is the mute's status before any recall; wantAfter
		// after one recall of a member's message.
		wantFirst, wantAfter moderation.Status
	}{
		{name: "bot is a bot manager", chat: feishutest.Chat{OwnerID: owner, BotIsManager: true}, canRecall: true,
			wantFirst: moderation.StatusDone, wantAfter: moderation.StatusDone},
		{name: "bot listed as user manager", chat: feishutest.Chat{OwnerID: owner, BotIsManager: true}, userMgr: true, canRecall: true,
			wantFirst: moderation.StatusDone, wantAfter: moderation.StatusDone},
		// owner_id is omitted when a bot owns the chat: the old code refused.
		{name: "bot owns the chat", chat: feishutest.Chat{BotIsOwner: true}, canRecall: true,
			wantFirst: moderation.StatusDone, wantAfter: moderation.StatusDone},
		{name: "bot created the chat", chat: feishutest.Chat{OwnerID: owner, BotIsCreator: true}, canRecall: true,
			wantFirst: moderation.StatusDone, wantAfter: moderation.StatusDone},
		{name: "another bot owns the chat", chat: feishutest.Chat{OwnerIsOtherBot: true},
			wantFirst: moderation.StatusDone, wantAfter: moderation.StatusRefused},
		{name: "bot has no rights", chat: feishutest.Chat{OwnerID: owner},
			wantFirst: moderation.StatusDone, wantAfter: moderation.StatusRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 2)
			ctx := context.Background()
			c := tt.chat
			c.ID, c.Members, c.Managers = chatID, members(0, 2), []string{manager}
			if tt.userMgr {
				c.Managers = append(c.Managers, f.srv.BotOpenID)
			}
			f.srv.AddChat(c)
			mute := func(want moderation.Status) {
				t.Helper()
				rs := f.c.Mute(ctx, chat, []string{"ou_m0", "ou_m1"}, 10*time.Minute, moderation.ActionOptions{})
				for _, r := range rs {
					if r.Status != want {
						t.Fatalf("mute result %+v, want %s", r, want)
					}
					if want == moderation.StatusRefused && (r.Reason != feishu.ReasonBotNotManager || !strings.Contains(r.Detail, "owner, a manager or the creator")) {
						t.Fatalf("refusal %+v", r)
					}
				}
			}
			mute(tt.wantFirst)
			// The muted user's message is recalled, or Feishu refuses.
			id := f.srv.AddMessage(chatID, "ou_m0", "text", `{"text":"spam"}`)
			err := f.c.Recall(ctx, chat, id)
			var apiErr *moderation.APIError
			if tt.canRecall && err != nil || !tt.canRecall && (!errors.As(err, &apiErr) || apiErr.Code != 230026) {
				t.Fatalf("recall: %v", err)
			}
			mute(tt.wantAfter)
			if !tt.canRecall {
				// The refusal is remembered for refusal_cache_ttl (10m)…
				f.clock.advance(feishu.DefaultRefusalCacheTTL - time.Second)
				mute(moderation.StatusRefused)
				f.clock.advance(2 * time.Second)
				mute(moderation.StatusDone)
				// …unless the chat info shows the bot was made a manager.
				id := f.srv.AddMessage(chatID, "ou_m1", "text", `{"text":"spam"}`)
				_ = f.c.Recall(ctx, chat, id)
				mute(moderation.StatusRefused)
				f.srv.SetBotRights(chatID, false, true)
				mute(moderation.StatusDone)
			}
			if n := len(f.srv.CallsTo(feishutest.OpMembersDelete)); n != 0 {
				t.Fatal("mute must not remove anyone")
			}
			un := f.c.Unmute(ctx, chat, []string{"ou_m0"}, moderation.ActionOptions{})
			if len(un) != 1 || un[0].Status != moderation.StatusDone {
				t.Fatalf("unmute %+v", un)
			}
		})
	}
	caps, _ := newFixture(t, 0).c.Capabilities(context.Background(), chat)
	if caps[moderation.VerbKick] != moderation.Native || caps[moderation.VerbMute] != moderation.Emulated || caps[moderation.VerbUnmute] != moderation.Emulated {
		t.Fatalf("capabilities %v", caps)
	}
}

func TestChatGetOmitsBotOwner(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.srv.AddChat(feishutest.Chat{ID: chatID, OwnerID: owner, BotIsOwner: true})
	roles, err := f.c.Roles(context.Background(), chat, []string{owner, f.srv.BotOpenID})
	if err != nil {
		t.Fatal(err)
	}
	if roles[owner] != moderation.RoleMember {
		t.Fatalf("roles %v: a bot-owned chat names no user owner", roles)
	}
	get := f.srv.CallsTo(feishutest.OpChatGet)
	if len(get) != 1 || get[0].Code != 0 {
		t.Fatalf("chat.get calls %+v", get)
	}
}

func TestRecall(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	ctx := context.Background()
	id := f.srv.AddMessage(chatID, "ou_m0", "image", `{"image_key":"k"}`)
	if err := f.c.Recall(ctx, chat, id); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.srv.Message(id); !m.Deleted {
		t.Fatal("message not deleted at the fake")
	}
	calls := f.srv.CallsTo(feishutest.OpMessageDelete)
	if len(calls) != 1 || calls[0].Method != "DELETE" || calls[0].Path != "/open-apis/im/v1/messages/"+id {
		t.Fatalf("calls %+v", calls)
	}
	if err := f.c.Recall(ctx, chat, id); err != nil {
		t.Fatalf("second recall of a deleted message: %v", err)
	}
	var apiErr *moderation.APIError
	if err := f.c.Recall(ctx, chat, "om_unknown"); !errors.As(err, &apiErr) || apiErr.Code != 230001 {
		t.Fatalf("unknown message: %v", err)
	}
	f.srv.SetBotRights(chatID, false, false)
	other := f.srv.AddMessage(chatID, "ou_m1", "text", `{"text":"spam"}`)
	if err := f.c.Recall(ctx, chat, other); !errors.As(err, &apiErr) || apiErr.Code != 230026 || apiErr.Kind != moderation.Permanent {
		t.Fatalf("recall without rights: %v", err)
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := context.Background()
	m := f.srv.NewMessage(chatID, manager, "@_user_1 /kick @_user_2", feishutest.Mention{Key: "@_user_1", OpenID: f.srv.BotOpenID})
	msg := &moderation.Message{Chat: chat, MessageID: m.MessageID, SenderID: manager}
	// JSON-special text goes through whole (mention tags are made inert:
	// TestTextCarriesNoMentionTags).
	text := `Removed <b>Spammer</b> & "quoted"` + "\nline 2"
	if err := f.c.Reply(ctx, msg, text); err != nil {
		t.Fatal(err)
	}
	calls := f.srv.CallsTo(feishutest.OpMessageReply)
	if len(calls) != 1 || calls[0].Path != "/open-apis/im/v1/messages/"+m.MessageID+"/reply" {
		t.Fatalf("calls %+v", calls)
	}
	body := calls[0].Body
	if body["msg_type"] != "text" {
		t.Fatalf("msg_type = %v", body["msg_type"])
	}
	if uuid, _ := body["uuid"].(string); uuid == "" || len(uuid) > 50 {
		t.Fatalf("uuid = %q", uuid)
	}
	replies := f.srv.Replies()
	if len(replies) != 1 || replies[0].Text() != text || replies[0].ParentID != m.MessageID {
		t.Fatalf("replies = %+v", replies)
	}
	// A retry of the same reply is de-duplicated by uuid.
	if err := f.c.Reply(ctx, msg, text); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Replies()); n != 1 {
		t.Fatalf("%d replies after an identical retry, want 1", n)
	}
	// Without a message ID the text goes to the chat.
	if err := f.c.Reply(ctx, &moderation.Message{Chat: chat}, "hello chat"); err != nil {
		t.Fatal(err)
	}
	create := f.srv.CallsTo(feishutest.OpMessageCreate)
	if len(create) != 1 || create[0].Query.Get("receive_id_type") != "chat_id" || create[0].Body["receive_id"] != chatID {
		t.Fatalf("create calls %+v", create)
	}
}

func TestTokenRenewedAfterRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := context.Background()
	if _, err := f.c.BotID(ctx); err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeTokens()
	if _, err := f.c.Roles(ctx, chat, []string{owner}); err != nil {
		t.Fatalf("Roles after revocation: %v", err)
	}
	if n := len(f.srv.CallsTo(feishutest.OpToken)); n != 2 {
		t.Fatalf("%d token fetches, want 2", n)
	}
	gets := f.srv.CallsTo(feishutest.OpChatGet)
	if len(gets) != 2 || gets[0].Code != 99991663 || gets[1].Code != 0 {
		t.Fatalf("chat.get calls %+v", gets)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	srv := feishutest.NewServer()
	t.Cleanup(srv.Close)
	c, err := feishu.New(feishu.Config{BaseURL: srv.URL, AppID: srv.AppID, AppSecret: "wrong", VerificationToken: "v"}, feishu.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BotID(context.Background())
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 10014 || apiErr.Kind != moderation.Permanent {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.CallsTo(feishutest.OpToken)); n != 1 {
		t.Fatalf("%d token calls, want 1 (not retried)", n)
	}
}

func TestBotIDFromConfig(t *testing.T) {
	t.Parallel()
	srv := feishutest.NewServer()
	t.Cleanup(srv.Close)
	c, err := feishu.New(feishu.Config{BaseURL: srv.URL, AppID: srv.AppID, AppSecret: srv.AppSecret, VerificationToken: "v", BotOpenID: "ou_configured"}, feishu.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.BotID(context.Background()); err != nil || id != "ou_configured" {
		t.Fatalf("BotID = %q, %v", id, err)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Fatalf("%d API calls, want none", n)
	}
}

// TestReplyAfterRecall: a notice about a message Gavel recalled (a
// "delete" rule) goes to the chat; a reply to it would get 230011.
func TestReplyAfterRecall(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := context.Background()
	id := f.srv.AddMessage(chatID, "ou_m0", "text", `{"text":"spam"}`)
	if err := f.c.Recall(ctx, chat, id); err != nil {
		t.Fatal(err)
	}
	msg := &moderation.Message{Chat: chat, MessageID: id, SenderID: "ou_m0"}
	if err := f.c.Reply(ctx, msg, "Deleted a message from m0 (blocklist)."); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.CallsTo(feishutest.OpMessageReply)); n != 0 {
		t.Fatalf("%d replies to a message Gavel recalled", n)
	}
	replies := f.srv.Replies()
	if len(replies) != 1 || replies[0].ParentID != "" || replies[0].ChatID != chatID || replies[0].Text() != "Deleted a message from m0 (blocklist)." {
		t.Fatalf("bot messages %+v", replies)
	}
	// A retry of the same notice is de-duplicated by uuid.
	if err := f.c.Reply(ctx, msg, "Deleted a message from m0 (blocklist)."); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Replies()); n != 1 {
		t.Fatalf("%d bot messages after a retry, want 1", n)
	}
}

// TestReplyTargetGone: when Feishu answers that the reply target is gone,
// the text is posted to the chat; other refusals are returned.
func TestReplyTargetGone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		prepare  func(f *fixture, id string)
		wantCode int // the reply's answer
		wantChat bool
	}{
		{name: "recalled by someone else (230011)", prepare: func(f *fixture, id string) { f.srv.RecallMessage(id) }, wantCode: 230011, wantChat: true},
		{name: "invisible (230050)", prepare: func(f *fixture, _ string) { f.srv.FailNext(feishutest.OpMessageReply, 1, 230050) }, wantCode: 230050, wantChat: true},
		{name: "self-destructing (230111)", prepare: func(f *fixture, _ string) { f.srv.FailNext(feishutest.OpMessageReply, 1, 230111) }, wantCode: 230111, wantChat: true},
		{name: "deleted (230110)", prepare: func(f *fixture, _ string) { f.srv.FailNext(feishutest.OpMessageReply, 1, 230110) }, wantCode: 230110, wantChat: true},
		{name: "not allowed to speak (230035)", prepare: func(f *fixture, _ string) { f.srv.FailNext(feishutest.OpMessageReply, 1, 230035) }, wantCode: 230035},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 1)
			ctx := context.Background()
			id := f.srv.AddMessage(chatID, manager, "text", `{"text":"/kick"}`)
			tt.prepare(f, id)
			err := f.c.Reply(ctx, &moderation.Message{Chat: chat, MessageID: id, SenderID: manager}, "done")
			if reply := f.srv.CallsTo(feishutest.OpMessageReply); len(reply) != 1 || reply[0].Code != tt.wantCode {
				t.Fatalf("reply calls %+v", reply)
			}
			create := f.srv.CallsTo(feishutest.OpMessageCreate)
			if !tt.wantChat {
				var apiErr *moderation.APIError
				if !errors.As(err, &apiErr) || apiErr.Code != tt.wantCode || len(create) != 0 {
					t.Fatalf("err %v, create calls %d", err, len(create))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(create) != 1 || create[0].Body["receive_id"] != chatID || create[0].Query.Get("receive_id_type") != "chat_id" {
				t.Fatalf("create calls %+v", create)
			}
		})
	}
}

func TestReplyTooLong(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	err := f.c.Reply(context.Background(), &moderation.Message{Chat: chat}, strings.Repeat("a", 150_000))
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 230025 || apiErr.Kind != moderation.Permanent {
		t.Fatalf("err = %v", err)
	}
}

// TestOversizedBatchRefused: the pipeline does the batching; handed one
// user more than Limits says a call takes, each action method refuses
// them all (batch_too_large) without calling Feishu.
func TestOversizedBatchRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, verb := range moderation.ActionVerbs {
		t.Run(string(verb), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 60)
			n := f.c.Limits().Batch[verb] + 1
			targets := members(0, n)
			var rs []moderation.Result
			switch verb {
			case moderation.VerbKick:
				rs = f.c.Remove(ctx, chat, targets, moderation.ActionOptions{})
			case moderation.VerbMute:
				rs = f.c.Mute(ctx, chat, targets, time.Minute, moderation.ActionOptions{})
			case moderation.VerbUnmute:
				rs = f.c.Unmute(ctx, chat, targets, moderation.ActionOptions{})
			case moderation.VerbBan:
				rs = f.c.Ban(ctx, chat, targets, time.Hour, moderation.ActionOptions{})
			case moderation.VerbUnban:
				rs = f.c.Unban(ctx, chat, targets, moderation.ActionOptions{})
			case moderation.VerbPurge:
				refs := make([]moderation.MessageRef, len(targets))
				for i, id := range targets {
					refs[i] = moderation.MessageRef{ID: id}
				}
				rs = f.c.RecallMessages(ctx, chat, refs, moderation.ActionOptions{})
			case moderation.VerbAdd:
				rs = f.c.Add(ctx, chat, targets, moderation.ActionOptions{})
			default:
				t.Fatalf("no case for verb %q", verb)
			}
			if len(rs) != n {
				t.Fatalf("%d results, want %d", len(rs), n)
			}
			for i, r := range rs {
				if r.UserID != targets[i] || r.Status != moderation.StatusRefused || r.Reason != moderation.ReasonBatchTooLarge {
					t.Fatalf("result %d = %+v", i, r)
				}
			}
			if calls := f.srv.Calls(); len(calls) != 0 {
				t.Fatalf("%d calls to Feishu, want none", len(calls))
			}
		})
	}
}
