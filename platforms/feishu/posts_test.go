package feishu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

// modlogCard is a mod-log card as the pipeline will post it.
func modlogCard(targets ...string) *moderation.Card {
	return &moderation.Card{
		Title: "Case 13: kick", Color: "red",
		Fields: []moderation.CardField{
			{Label: "Actor", Value: "ou_manager"},
			{Label: "Action", Value: "kick"},
			{Label: "Targets", Value: strings.Join(targets, ", ")},
			{Label: "Reason", Value: "spam <at id=all></at> **bold** [x](http://e.example)"},
			{Label: "Rule", Value: "flood: 12 messages in 10s"},
			{Label: "Case", Value: "13"},
		},
		Note: "Gavel · case 13",
		Buttons: []moderation.Button{
			{Label: "Undo", Verb: moderation.VerbUndo, CaseID: 13, Targets: targets, Style: "primary"},
			{Label: "Ban", Verb: moderation.VerbBan, CaseID: 13, Targets: targets, Style: "danger"},
			{Label: "Dismiss", Verb: moderation.VerbDismiss, CaseID: 13},
		},
	}
}

// buttonValues decodes the fake's record of a card's button values.
func buttonValues(t *testing.T, srv *feishutest.Server, msgID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range srv.Buttons(msgID) {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestPostText(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	id, err := f.c.Post(context.Background(), chat, moderation.Post{Text: "Case 13: ou_manager kicked ou_m0 (spam). /undo 13"})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := f.srv.Message(id)
	if !ok || !m.FromBot || m.MsgType != "text" || m.ChatID != chatID || m.Text() != "Case 13: ou_manager kicked ou_m0 (spam). /undo 13" {
		t.Fatalf("posted %+v (found %v)", m, ok)
	}
	// A retry after a lost answer carries the same uuid: one message.
	again, err := f.c.Post(context.Background(), chat, moderation.Post{Text: "Case 13: ou_manager kicked ou_m0 (spam). /undo 13"})
	if err != nil || again != id || len(f.srv.Replies()) != 1 {
		t.Fatalf("retry: %q, %v, %d messages", again, err, len(f.srv.Replies()))
	}
}

func TestPostCard(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	id, err := f.c.Post(context.Background(), chat, moderation.Post{Text: "fallback", Card: modlogCard("ou_m0", "ou_m1")})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := f.srv.Message(id)
	if m.MsgType != "interactive" {
		t.Fatalf("msg_type %q", m.MsgType)
	}
	card, _ := f.srv.Card(id)
	header := card["header"].(map[string]any)
	if header["template"] != "red" || header["title"].(map[string]any)["content"] != "Case 13: kick" {
		t.Fatalf("header %v", header)
	}
	if card["config"].(map[string]any)["update_multi"] != true {
		t.Fatalf("config %v: a card must be shared to be patched", card["config"])
	}
	// User text is plain_text: lark_md would turn <at id=all> into a ping.
	if !strings.Contains(m.Content, `{"tag":"plain_text","content":"spam \u003cat id=all\u003e\u003c/at\u003e **bold** [x](http://e.example)"}`) {
		t.Fatalf("reason not rendered as plain text: %s", m.Content)
	}
	if !strings.Contains(m.Content, `{"tag":"lark_md","content":"**Reason**"}`) || !strings.Contains(m.Content, `"tag":"note"`) {
		t.Fatalf("labels or note missing: %s", m.Content)
	}
	got := buttonValues(t, f.srv, id)
	want := []string{
		`{"c":13,"g":1,"t":["ou_m0","ou_m1"],"v":"undo"}`,
		`{"c":13,"g":1,"t":["ou_m0","ou_m1"],"v":"ban"}`,
		`{"c":13,"g":1,"v":"dismiss"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d buttons, want %d", len(got), len(want))
	}
	for i := range want {
		b, _ := json.Marshal(got[i])
		if string(b) != want[i] {
			t.Errorf("button %d value %s, want %s", i, b, want[i])
		}
	}
}

// TestPostCardManyTargets: a button carries at most MaxButtonTargets ids;
// with more, its value names the case and counts them, and the card says
// so; with more and no case, the card is refused with no call.
func TestPostCardManyTargets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	many := members(0, feishu.MaxButtonTargets+20)
	card := &moderation.Card{Title: "Case 7: kick", Buttons: []moderation.Button{{Label: "Undo", Verb: moderation.VerbUndo, CaseID: 7, Targets: many}}}
	id, err := f.c.Post(context.Background(), chat, moderation.Post{Card: card})
	if err != nil {
		t.Fatal(err)
	}
	v := buttonValues(t, f.srv, id)[0]
	if v["n"] != float64(len(many)) || v["t"] != nil || v["c"] != float64(7) {
		t.Fatalf("value %v", v)
	}
	m, _ := f.srv.Message(id)
	if want := fmt.Sprintf("Undo acts on all %d users of case 7.", len(many)); !strings.Contains(m.Content, want) {
		t.Fatalf("card does not say %q: %s", want, m.Content)
	}

	card.Buttons[0].CaseID = 0
	f.srv.Reset()
	if _, err := f.c.Post(context.Background(), chat, moderation.Post{Card: card}); err == nil || !strings.Contains(err.Error(), "no case to name them") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.srv.CallsTo(feishutest.OpMessageCreate)); n != 0 {
		t.Fatalf("%d sends, want none", n)
	}
}

func TestPostRefused(t *testing.T) {
	t.Parallel()
	huge := &moderation.Card{Title: "big", Fields: []moderation.CardField{{Label: "Targets", Value: strings.Repeat("ou_x, ", 6000)}}}
	tests := []struct {
		name string
		post moderation.Post
		want string
	}{
		{"empty", moderation.Post{}, "nothing to post"},
		{"text too long", moderation.Post{Text: strings.Repeat("a", 20_001)}, "at most 20000"},
		{"card too large", moderation.Post{Text: "short", Card: huge}, "at most 30000"},
		{"unknown colour", moderation.Post{Card: &moderation.Card{Title: "t", Color: "pink"}}, `colour "pink"`},
		{"no title", moderation.Post{Card: &moderation.Card{}}, "without a title"},
		{"verb not pressable", moderation.Post{Card: &moderation.Card{Title: "t", Buttons: []moderation.Button{{Label: "x", Verb: moderation.VerbHelp}}}}, "cannot be pressed"},
		{"unknown style", moderation.Post{Card: &moderation.Card{Title: "t", Buttons: []moderation.Button{{Label: "x", Verb: moderation.VerbUndo, Style: "blink"}}}}, `style "blink"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 1)
			_, err := f.c.Post(context.Background(), chat, tt.post)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if tt.name == "card too large" && !errors.Is(err, feishu.ErrCardTooLarge) {
				t.Fatalf("err = %v, want ErrCardTooLarge", err)
			}
			if n := len(f.srv.Calls()); n != 0 {
				t.Fatalf("%d calls, want none", n)
			}
		})
	}
}

func TestUpdatePost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 2)
	id, err := f.c.Post(ctx, chat, moderation.Post{Card: modlogCard("ou_m0")})
	if err != nil {
		t.Fatal(err)
	}
	updated := modlogCard("ou_m0")
	updated.Note, updated.Buttons, updated.Color = "Undone by ou_owner (case 14)", nil, "grey"
	ref := moderation.PostRef{Chat: chat, MessageID: id}
	if err := f.c.UpdatePost(ctx, ref, moderation.Post{Card: updated}); err != nil {
		t.Fatal(err)
	}
	m, _ := f.srv.Message(id)
	if !m.Updated || !strings.Contains(m.Content, "Undone by ou_owner (case 14)") || len(f.srv.Buttons(id)) != 0 {
		t.Fatalf("card not patched: %+v", m)
	}

	textID, err := f.c.Post(ctx, chat, moderation.Post{Text: "a text post"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ref      moderation.PostRef
		post     moderation.Post
		sentinel error
		code     int
	}{
		{"text cannot be edited", ref, moderation.Post{Text: "x"}, moderation.ErrUnsupported, 0},
		{"not a card", moderation.PostRef{Chat: chat, MessageID: textID}, moderation.Post{Card: updated}, nil, 230001},
		{"unknown message", moderation.PostRef{Chat: chat, MessageID: "om_nope"}, moderation.Post{Card: updated}, nil, 230001},
		{"dot id refused before sending", moderation.PostRef{Chat: chat, MessageID: ".."}, moderation.Post{Card: updated}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.c.UpdatePost(ctx, tt.ref, tt.post)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var apiErr *moderation.APIError
			if tt.code != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.code || apiErr.Kind != moderation.Permanent) {
				t.Fatalf("err = %v, want code %d", err, tt.code)
			}
		})
	}

	t.Run("older than 14 days", func(t *testing.T) {
		f.srv.AgeMessage(id, 15*24*time.Hour)
		err := f.c.UpdatePost(ctx, ref, moderation.Post{Card: updated})
		var apiErr *moderation.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 230031 || !strings.Contains(apiErr.Message, "14 days") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*feishutest.Server)
		users []string
		want  map[string]string
		calls int
	}{
		{
			name:  "all added",
			users: []string{"ou_back1", "ou_back2"},
			want:  map[string]string{"ou_back1": "done/", "ou_back2": "done/"},
			calls: 1,
		},
		{
			name: "some unusable",
			setup: func(s *feishutest.Server) {
				s.SetUser("ou_gone", feishutest.UserMissing)
				s.SetUser("ou_left", feishutest.UserResigned)
				s.SetUser("ou_ext", feishutest.UserExternal)
			},
			users: []string{"ou_back1", "ou_gone", "ou_left", "ou_ext"},
			want: map[string]string{"ou_back1": "done/", "ou_gone": "refused/invalid_user_id",
				"ou_left": "refused/feishu:user_unavailable", "ou_ext": "refused/feishu:user_unavailable"},
			calls: 1,
		},
		{
			name:  "already a member",
			users: []string{"ou_m0", "ou_back1"},
			want:  map[string]string{"ou_m0": "done/", "ou_back1": "done/"},
			calls: 1,
		},
		{
			name: "approval required",
			setup: func(s *feishutest.Server) {
				c, _ := s.Chat(chatID)
				c.ApprovalRequired = true
				s.AddChat(c)
			},
			users: []string{"ou_back1"},
			want:  map[string]string{"ou_back1": "refused/feishu:pending_approval"},
			calls: 1,
		},
		{
			name: "only the owner and managers may add",
			setup: func(s *feishutest.Server) {
				c, _ := s.Chat(chatID)
				c.AddMemberPermission, c.BotIsManager = "only_owner", false
				s.AddChat(c)
			},
			users: []string{"ou_back1"},
			want:  map[string]string{"ou_back1": "refused/feishu:232014"},
			calls: 1,
		},
		{
			name:  "rate limited, then added",
			setup: func(s *feishutest.Server) { s.FailNext(feishutest.OpMembersAdd, 1, 429) },
			users: []string{"ou_back1"},
			want:  map[string]string{"ou_back1": "done/"},
			calls: 2,
		},
		{
			name:  "batch too large: no call",
			users: members(100, 100+feishu.MaxButtonTargets+1),
			calls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 2)
			if tt.setup != nil {
				tt.setup(f.srv)
			}
			rs := f.c.Add(context.Background(), chat, tt.users, moderation.ActionOptions{})
			if len(rs) != len(tt.users) {
				t.Fatalf("%d results for %d users", len(rs), len(tt.users))
			}
			if tt.want == nil {
				for _, r := range rs {
					if r.Status != moderation.StatusRefused || r.Reason != moderation.ReasonBatchTooLarge {
						t.Fatalf("result %+v", r)
					}
				}
			} else if got := statuses(rs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("results %v, want %v", got, tt.want)
			}
			if n := len(f.srv.CallsTo(feishutest.OpMembersAdd)); n != tt.calls {
				t.Fatalf("%d add calls, want %d", n, tt.calls)
			}
			members := f.srv.Members(chatID)
			for u, st := range tt.want {
				in := false
				for _, m := range members {
					in = in || m == u
				}
				if in != (st == "done/") {
					t.Errorf("%s in chat = %v, result %s", u, in, st)
				}
			}
		})
	}
}

// TestAddReversesKick: what Remove took out, Add puts back, in one call
// per batch, with the query Feishu documents.
func TestAddReversesKick(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 5)
	kicked := members(0, 3)
	for _, r := range f.c.Remove(ctx, chat, kicked, moderation.ActionOptions{}) {
		if r.Status != moderation.StatusDone {
			t.Fatalf("remove %+v", r)
		}
	}
	for _, r := range f.c.Add(ctx, chat, kicked, moderation.ActionOptions{}) {
		if r.Status != moderation.StatusDone {
			t.Fatalf("add %+v", r)
		}
	}
	if got := f.srv.Members(chatID); len(got) != 7 { // 5 members, the owner and the manager
		t.Fatalf("members %v", got)
	}
	call := f.srv.CallsTo(feishutest.OpMembersAdd)[0]
	if call.Query.Get("member_id_type") != "open_id" || call.Query.Get("succeed_type") != "1" {
		t.Fatalf("query %v", call.Query)
	}
	if fmt.Sprint(f.srv.AddBatches()) != fmt.Sprint([][]string{kicked}) {
		t.Fatalf("batches %v", f.srv.AddBatches())
	}
}
