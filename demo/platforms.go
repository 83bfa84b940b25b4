package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
)

const timAdmin = timtest.DefaultAdmin

func compact(v map[string]any) string {
	if len(v) == 0 {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return " " + string(b)
}

// --- Feishu ---------------------------------------------------------------

type feishuView struct{ s *feishutest.Server }

func (v feishuView) mark() int { return len(v.s.Calls()) }

func (v feishuView) calls(since int) []string {
	var out []string
	for _, c := range v.s.Calls()[since:] {
		if c.Op == feishutest.OpToken || c.Op == feishutest.OpBotInfo {
			continue
		}
		body := c.Body
		if c.Op == feishutest.OpMessageReply || c.Op == feishutest.OpMessageCreate || c.Op == feishutest.OpMessagePatch {
			body = nil // shown as the reply
		}
		path := c.Path
		if len(c.Query) > 0 {
			path += "?" + c.Query.Encode()
		}
		out = append(out, fmt.Sprintf("%s %s%s → %d", c.Method, path, compact(body), c.Code))
	}
	return out
}

func (v feishuView) replies(since int) []string {
	var out []string
	for _, c := range v.s.Calls()[since:] {
		if c.Op != feishutest.OpMessageReply && c.Op != feishutest.OpMessageCreate && c.Op != feishutest.OpMessagePatch {
			continue
		}
		s, _ := c.Body["content"].(string)
		if c.Op == feishutest.OpMessagePatch || c.Body["msg_type"] == "interactive" {
			out = append(out, cardSummary(c.Op, s))
			continue
		}
		var content struct{ Text string }
		_ = json.Unmarshal([]byte(s), &content)
		out = append(out, content.Text)
	}
	return out
}

// cardSummary shows a posted or patched card in the transcript: its
// title and footer note.
func cardSummary(op, content string) string {
	var card struct {
		Header struct {
			Title struct{ Content string }
		}
		Elements []struct {
			Tag      string
			Elements []struct{ Content string }
			Actions  []struct {
				Text struct{ Content string }
			}
		}
	}
	_ = json.Unmarshal([]byte(content), &card)
	kind := "[card]"
	if op == feishutest.OpMessagePatch {
		kind = "[card updated]"
	}
	out := kind + " " + card.Header.Title.Content
	for _, e := range card.Elements {
		switch e.Tag {
		case "note":
			for _, n := range e.Elements {
				out += " — " + n.Content
			}
		case "action":
			var labels []string
			for _, b := range e.Actions {
				labels = append(labels, b.Text.Content)
			}
			out += " [" + strings.Join(labels, "] [") + "]"
		}
	}
	return out
}

func (d *director) feishu(fs *feishutest.Server) {
	const chat = "oc_demo"
	fs.AddChat(feishutest.Chat{
		ID: chat, Name: "Demo group", OwnerID: "ou_owner", Managers: []string{"ou_admin", "ou_admin2"},
		Members: []string{"ou_spammer", "ou_alice", "ou_bob", "ou_ceo"}, BotIsManager: true,
	})
	d.section("Feishu/Lark — group oc_demo: owner ou_owner, managers ou_admin and ou_admin2, Gavel is a manager; encrypted, signed webhooks")
	v := feishuView{fs}
	bot := feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}
	target := d.gavel + "/webhook/feishu"
	send := func(from, text string, mentions ...feishutest.Mention) (*http.Request, feishutest.TextMessage) {
		m := fs.NewMessage(chat, from, text, mentions...)
		req, err := fs.MessageRequest(target, m, now())
		if err != nil {
			panic(err) // building a request from constants cannot fail
		}
		return req, m
	}
	member := func(id string) bool { return slices.Contains(fs.Members(chat), id) }
	deleted := func(id string) bool { m, ok := fs.Message(id); return ok && m.Deleted }

	req, _ := send("ou_admin", "@_user_1 /kick @_user_2 flooding the group", bot, feishutest.Mention{Key: "@_user_2", OpenID: "ou_spammer", Name: "spammer"})
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /kick @spammer flooding the group", req: req,
		wantReply: "Removed 1: spammer", check: func() error { return expect(!member("ou_spammer"), "spammer still in the chat") }})

	req, _ = send("ou_alice", "@_user_1 /kick @_user_2", bot, feishutest.Mention{Key: "@_user_2", OpenID: "ou_admin", Name: "admin"})
	d.run(v, step{who: "ou_alice (member)", text: "@Gavel /kick @admin", req: req,
		wantReply: "Refused: only the chat owner", check: func() error { return expect(member("ou_admin"), "admin was removed") }})

	req, _ = send("ou_admin", "@_user_1 /kick @_user_2 @_user_3", bot,
		feishutest.Mention{Key: "@_user_2", OpenID: "ou_admin2", Name: "admin2"}, feishutest.Mention{Key: "@_user_3", OpenID: "ou_ceo", Name: "ceo"})
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /kick @admin2 @ceo", req: req,
		wantReply: "a manager cannot act on another manager", check: func() error {
			return expect(member("ou_admin2") && member("ou_ceo"), "a refused target was removed")
		}})

	req, _ = send("ou_admin", "@_user_1 /mute @_user_2 10m calm down", bot, feishutest.Mention{Key: "@_user_2", OpenID: "ou_bob", Name: "bob"})
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /mute @bob 10m calm down", req: req, wantReply: "Muted for 10m 1: bob"})

	req, m := send("ou_bob", "BUY CHEAP FOLLOWERS http://spam.example")
	d.run(v, step{who: "ou_bob (muted)", text: m.Text, req: req,
		check: func() error { return expect(deleted(m.MessageID), "muted user's message was not recalled") }})

	req, _ = send("ou_admin", "@_user_1 /unmute @_user_2", bot, feishutest.Mention{Key: "@_user_2", OpenID: "ou_bob", Name: "bob"})
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /unmute @bob", req: req, wantReply: "Unmuted 1: bob"})

	req, m = send("ou_bob", "sorry, everyone")
	d.run(v, step{who: "ou_bob (unmuted)", text: m.Text, req: req,
		check: func() error { return expect(!deleted(m.MessageID), "unmuted user's message was recalled") }})

	req, _ = send("ou_alice", "@_user_1 /kick @_user_2", bot, feishutest.Mention{Key: "@_user_2", OpenID: "ou_bob", Name: "bob"})
	req.Header.Set("X-Lark-Signature", strings.Repeat("0", 64))
	d.run(v, step{who: "attacker (forged signature)", text: "@Gavel /kick @bob", req: req, wantStatus: http.StatusUnauthorized,
		check: func() error { return expect(member("ou_bob"), "forged delivery acted") }})
}

// --- Tencent Cloud Chat ---------------------------------------------------

type timView struct{ s *timtest.Server }

func (v timView) mark() int { return len(v.s.Calls()) }

func (v timView) calls(since int) []string {
	var out []string
	for _, c := range v.s.Calls()[since:] {
		body := c.Body
		if c.Op == "send_group_msg" {
			body = nil
		}
		out = append(out, fmt.Sprintf("POST /v4/%s/%s%s → %d", c.Service, c.Op, compact(body), c.Code))
	}
	return out
}

func (v timView) replies(since int) []string {
	var out []string
	for _, c := range v.s.Calls()[since:] {
		if c.Op != "send_group_msg" || c.Code != 0 {
			continue
		}
		if bodies, ok := c.Body["MsgBody"].([]any); ok && len(bodies) > 0 {
			el, _ := bodies[0].(map[string]any)
			content, _ := el["MsgContent"].(map[string]any)
			text, _ := content["Text"].(string)
			out = append(out, text)
		}
	}
	return out
}

// timSender returns a function building the signed after-send callback
// of a message, posted to target.
func timSender(ts *timtest.Server, target, token string) func(timtest.Message) *http.Request {
	return func(m timtest.Message) *http.Request {
		req, err := timtest.CallbackRequest(target, ts.MessageDelivery(token, now(), m))
		if err != nil {
			panic(err) // building a request from constants cannot fail
		}
		return req
	}
}

func (d *director) tim(ts *timtest.Server, token string) {
	const group, live = "@TGS#demo", "@TGS#live"
	ts.AddGroup(timtest.Group{ID: group, Type: "Public", Owner: "owner1", Admins: []string{"mod1"},
		Members:   []string{"alice", "spam1", "spam2", "noisy", "john_s", "bob_l"},
		NameCards: map[string]string{"bob_l": "Bob Lee"}})
	ts.AddGroup(timtest.Group{ID: live, Type: "AVChatRoom", Owner: "owner1", Admins: []string{"mod1"}, Members: []string{"troll"}})
	// Clients insert a member's name card, else nickname, after '@';
	// Gavel learns them with get_specified_group_member_info and
	// portrait_get to tell names with spaces from the words after them.
	for id, nick := range map[string]string{"spam1": "Spam1", "spam2": "Spam2", "noisy": "Noisy", "troll": "Troll", "john_s": "John Smith"} {
		ts.SetNick(id, nick)
	}
	d.section("Tencent Cloud Chat — Public group @TGS#demo (owner owner1, admin mod1) and AVChatRoom @TGS#live; signed callbacks")
	v := timView{ts}
	target := d.gavel + "/webhook/tim"
	send := timSender(ts, target, token)
	member := func(id string) bool { return slices.Contains(ts.Members(group), id) }

	text := "/kick @Spam1 @Spam2 advertising"
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text, AtAccounts: []string{"spam1", "spam2"}}),
		wantReply: "Removed 2: Spam1, Spam2. Reason: advertising",
		check:     func() error { return expect(!member("spam1") && !member("spam2"), "spammers still in the group") }})

	text = "/mute @Noisy 10m"
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text, AtAccounts: []string{"noisy"}}),
		wantReply: "Muted for 10m 1: Noisy", check: func() error {
			st := ts.Mute(group, "noisy")
			return expect(st.Muted && time.Until(st.Until) > 9*time.Minute, "noisy not muted for 10m: %+v", st)
		}})

	text = "/unmute @Noisy"
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text, AtAccounts: []string{"noisy"}}),
		wantReply: "Unmuted 1: Noisy", check: func() error { return expect(!ts.Mute(group, "noisy").Muted, "noisy still muted") }})

	m := ts.Say(group, "mod1", "/mute", timtest.At("john_s"), timtest.At("bob_l"), "10m spam")
	d.run(v, step{who: "mod1 (admin), picking john_s (nickname \"John Smith\") and bob_l (name card \"Bob Lee\")", text: m.Text, req: send(m),
		wantReply: "Muted for 10m 2: John Smith, Bob Lee. Reason: spam", check: func() error {
			for _, u := range []string{"john_s", "bob_l"} {
				st := ts.Mute(group, u)
				if !st.Muted || time.Until(st.Until) < 9*time.Minute {
					return fmt.Errorf("%s not muted for 10m: %+v", u, st)
				}
			}
			return nil
		}})

	text = "/kick @Troll"
	// An AVChatRoom has only its owner and App admins (no group admins);
	// the owner learns that TIM cannot kick there.
	d.run(v, step{who: "owner1 (owner) in the AVChatRoom", text: text, req: send(timtest.Message{GroupID: live, From: "owner1", Text: text, AtAccounts: []string{"troll"}}),
		wantReply: "not supported", check: func() error { return expect(slices.Contains(ts.Members(live), "troll"), "troll removed") }})
}

// --- Easemob --------------------------------------------------------------

type easemobView struct{ s *easemobtest.Server }

func (v easemobView) mark() int { return len(v.s.Calls()) }

func (v easemobView) calls(since int) []string {
	var out []string
	for _, c := range v.s.Calls()[since:] {
		if c.Op == "token" {
			continue
		}
		body := c.Body
		if c.Op == "send" {
			body = nil
		}
		out = append(out, fmt.Sprintf("%s %s%s → %d", c.Method, c.RawPath, compact(body), c.Status))
	}
	return out
}

func (v easemobView) replies(since int) []string {
	var out []string
	for _, c := range v.s.Calls()[since:] {
		if c.Op != "send" || c.Status != http.StatusOK {
			continue
		}
		if b, ok := c.Body["body"].(map[string]any); ok {
			msg, _ := b["msg"].(string)
			out = append(out, msg)
		}
	}
	return out
}

func (d *director) easemob(es *easemobtest.Server) {
	const room, grp = "262463528206337", "262463530303489"
	es.AddChatRoom(room, "host", []string{"mod"}, []string{"u1", "u2", "loud"})
	es.AddGroup(grp, "gowner", []string{"gmod"}, []string{"spammer", "carol"})
	in := time.Now().Add(time.Hour).UnixMilli()
	es.Mute(room, "u1", in)
	es.Mute(room, "u2", in)
	d.section("Easemob — chat room " + room + " (owner host, admin mod; u1 and u2 muted) and group " + grp + " (owner gowner, admin gmod); signed post-send callbacks")
	v := easemobView{es}
	target := d.gavel + "/webhook/easemob"
	send := func(m easemobtest.Message) *http.Request { return es.MessageRequest(target, m) }
	muted := func(chat, u string) bool { _, ok := es.MuteExpiry(chat, u); return ok }

	text := "/unmute @u1 @u2"
	d.run(v, step{who: "mod (room admin)", text: text, req: send(easemobtest.Message{ChatID: room, Kind: easemobtest.KindChatRoom, From: "mod", Text: text, AtList: []string{"u1", "u2"}}),
		wantReply: "Unmuted 2: u1, u2", check: func() error {
			return expect(!muted(room, "u1") && !muted(room, "u2"), "u1/u2 still muted")
		}})

	text = "/mute @loud 10m"
	d.run(v, step{who: "mod (room admin)", text: text, req: send(easemobtest.Message{ChatID: room, Kind: easemobtest.KindChatRoom, From: "mod", Text: text, AtList: []string{"loud"}}),
		wantReply: "Muted for 10m 1: loud", check: func() error {
			exp, ok := es.MuteExpiry(room, "loud")
			left := time.Until(time.UnixMilli(exp))
			return expect(ok && left > 9*time.Minute && left <= 10*time.Minute+time.Second, "loud muted %v, want 10m", left)
		}})

	text = "/kick @spammer spam links"
	d.run(v, step{who: "gmod (group admin)", text: text, req: send(easemobtest.Message{ChatID: grp, Kind: easemobtest.KindGroup, From: "gmod", Text: text, AtList: []string{"spammer"}}),
		wantReply: "Removed 1: spammer. Reason: spam links", check: func() error {
			return expect(!es.IsMember(grp, "spammer"), "spammer still in the group")
		}})
}
