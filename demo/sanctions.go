package demo

// Ban, temporary-ban expiry, lock and purge (issue #16) on each platform:
// scripted deliveries, then waits in real time for the maintenance loop
// (one tick a second) to lift what was imposed for two seconds.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
)

// sanctionTimeout bounds a wait for a sanction of a few seconds to end:
// its expiry, the next maintenance tick and the timer job. The locks last
// a second longer than the bans, so each ends on a later tick than the
// ban before it and every wait step shows one timer.
const sanctionTimeout = 8 * time.Second

// countOps counts the calls from index since on that match.
func countOps[C any](calls []C, since int, match func(C) bool) int {
	n := 0
	for _, c := range calls[since:] {
		if match(c) {
			n++
		}
	}
	return n
}

func (d *director) feishuSanctions(fs *feishutest.Server) {
	const chat = "oc_mod"
	fs.AddChat(feishutest.Chat{
		ID: chat, Name: "Moderated group", BotIsOwner: true, Managers: []string{"ou_admin"},
		Members: []string{"ou_alice", "ou_bob", "ou_carol", "ou_troll"},
	})
	d.section("Feishu/Lark — group oc_mod: Gavel's bot is the owner, ou_admin a manager; ban (emulated), lock, purge")
	v := feishuView{fs}
	bot := feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}
	target := d.gavel + "/webhook/feishu"
	request := func(m feishutest.TextMessage) *http.Request {
		req, err := fs.MessageRequest(target, m, now())
		if err != nil {
			panic(err) // building a request from constants cannot fail
		}
		return req
	}
	say := func(from, text string, mentions ...feishutest.Mention) feishutest.TextMessage {
		return fs.NewMessage(chat, from, text, mentions...)
	}
	member := func(id string) bool { return slices.Contains(fs.Members(chat), id) }
	deleted := func(id string) bool { m, ok := fs.Message(id); return ok && m.Deleted }
	mode := func() string { c, _ := fs.Chat(chat); return c.Moderation }
	deletes := func(since int) int {
		return countOps(fs.Calls(), since, func(c feishutest.Call) bool { return c.Op == feishutest.OpMessageDelete })
	}
	rejoin := func(user string) *http.Request {
		event, err := fs.AddMembers(chat, "ou_alice", user)
		if err != nil {
			panic(err)
		}
		req, err := feishutest.Request(target, fs.Delivery(event, now()))
		if err != nil {
			panic(err)
		}
		return req
	}
	troll := feishutest.Mention{Key: "@_user_2", OpenID: "ou_troll", Name: "troll"}

	var said []feishutest.TextMessage
	for _, x := range [][2]string{{"ou_alice", "good morning"}, {"ou_bob", "WIN A PHONE http://spam.example"}, {"ou_carol", "WIN A PHONE http://spam.example"}} {
		m := say(x[0], x[1])
		said = append(said, m)
		d.run(v, step{who: x[0] + " (member)", text: m.Text, req: request(m)})
	}

	m := say("ou_admin", "@_user_1 /purge 2", bot)
	mark := v.mark()
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /purge 2", req: request(m), wantReply: "Recalled 2 message(s).", check: func() error {
		return errors.Join(
			expect(deleted(said[1].MessageID) && deleted(said[2].MessageID), "the last two messages were not both recalled"),
			expect(!deleted(said[0].MessageID), "an older message was recalled"),
			expect(deletes(mark) == 2, "%d recalls, want 2", deletes(mark)))
	}})

	m = say("ou_admin", "@_user_1 /ban @_user_2 2s spam", bot, troll)
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /ban @troll 2s spam", req: request(m), wantReply: "Banned for 2s",
		check: func() error { return expect(!member("ou_troll"), "troll still in the chat") }})

	d.run(v, step{who: "ou_alice invites ou_troll back (im.chat.member.user.added_v1)", text: "(troll joins while banned)", req: rejoin("ou_troll"),
		check: func() error { return expect(!member("ou_troll"), "banned troll stayed in the chat") }})

	m = say("ou_admin", "@_user_1 /lock 3s", bot)
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /lock 3s", req: request(m), wantReply: "Chat locked for 3s", check: func() error {
		_, _, err := fs.Send(feishutest.TextMessage{ChatID: chat, SenderID: "ou_alice", Text: "can I still talk?"})
		return errors.Join(expect(mode() == "only_owner", "speech mode %q, want only_owner", mode()),
			expect(errors.Is(err, feishutest.ErrMayNotSpeak), "ou_alice could still send: %v", err))
	}})

	m = say("ou_admin", "the chat is locked for a moment")
	d.run(v, step{who: "ou_admin (manager), while locked", text: m.Text, req: request(m),
		check: func() error { return expect(!deleted(m.MessageID), "the manager's message was recalled") }})

	// Feishu has no ban to lift: the emulated ban ends with Gavel's record,
	// which the unban case and the notice show.
	from := d.cases.len()
	d.wait(v, waitStep{who: "(time passes)", text: "the 2s ban of troll ends", wantReply: "The ban of ou_troll ended", timeout: sanctionTimeout,
		until: func() error {
			return expect(d.cases.has(from, moderation.VerbUnban, "ou_troll"), "no unban case for ou_troll")
		}})

	mark = v.mark()
	d.run(v, step{who: "ou_alice invites ou_troll back", text: "(troll joins after the ban)", req: rejoin("ou_troll"), check: func() error {
		removed := countOps(fs.Calls(), mark, func(c feishutest.Call) bool { return c.Op == feishutest.OpMembersDelete })
		return expect(member("ou_troll") && removed == 0, "troll was removed after the ban ended")
	}})

	d.wait(v, waitStep{who: "(time passes)", text: "the 3s lock ends", wantReply: "The lock ended", timeout: sanctionTimeout,
		until: func() error { return expect(mode() == "all_members", "speech mode %q, want all_members", mode()) }})

	// In oc_demo Gavel's bot is only a manager: Feishu answers 232017.
	m = fs.NewMessage("oc_demo", "ou_admin", "@_user_1 /lock 10m", bot)
	d.run(v, step{who: "ou_admin (manager) in oc_demo, where Gavel's bot is a manager, not the owner", text: "@Gavel /lock 10m", req: request(m),
		wantReply: "Gavel's bot must own this chat to lock or unlock it", check: func() error {
			c, _ := fs.Chat("oc_demo")
			return expect(c.Moderation != "only_owner", "oc_demo was locked")
		}})

	spam := say("ou_bob", "cheap followers, DM me")
	d.run(v, step{who: "ou_bob (member)", text: spam.Text, req: request(spam)})
	m = say("ou_admin", "@_user_1 /kick advertising", bot)
	m.ParentID = spam.MessageID
	d.run(v, step{who: "ou_admin (manager), replying to ou_bob's message", text: "@Gavel /kick advertising", req: request(m),
		wantReply: "Removed 1", check: func() error { return expect(!member("ou_bob"), "the replied-to sender is still in the chat") }})
}

func (d *director) timSanctions(ts *timtest.Server, token string) {
	const group = "@TGS#mod"
	ts.AddGroup(timtest.Group{ID: group, Type: "Public", Owner: "owner1", Admins: []string{"mod1"},
		Members: []string{"alice", "bob", "carol", "troll", "dave"}})
	ts.SetNick("troll", "Troll")
	ts.SetNick("dave", "Dave")
	d.section("Tencent Cloud Chat — Public group @TGS#mod (owner owner1, admin mod1): ban, lock, purge")
	v := timView{ts}
	target := d.gavel + "/webhook/tim"
	send := timSender(ts, target, token)
	member := func(id string) bool { return slices.Contains(ts.Members(group), id) }
	recalls := func(since int) int {
		return countOps(ts.Calls(), since, func(c timtest.Call) bool { return c.Op == "group_msg_recall" })
	}

	// Member messages with known sequence numbers; commands take the
	// group's next ones.
	for i, x := range [][2]string{{"alice", "hello"}, {"bob", "WIN A PHONE"}, {"carol", "WIN A PHONE"}} {
		d.run(v, step{who: x[0] + " (member)", text: x[1], req: send(timtest.Message{GroupID: group, From: x[0], Text: x[1], MsgSeq: uint64(101 + i)})})
	}

	text := "/purge 2"
	mark := v.mark()
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text}),
		wantReply: "Recalled 2 message(s).", check: func() error {
			got := ts.Recalled(group)
			return errors.Join(expect(slices.Equal(got, []uint64{102, 103}), "recalled %v, want [102 103]", got),
				expect(recalls(mark) == 1, "%d group_msg_recall calls, want 1", recalls(mark)))
		}})

	text = "/ban @Troll 2s spam"
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text, AtAccounts: []string{"troll"}}),
		wantReply: "Banned for 2s", check: func() error {
			_, banned := ts.Banned(group)["troll"]
			return expect(banned && !member("troll"), "troll not banned and out: banned %v, member %v", banned, member("troll"))
		}})

	// dave's two messages are in Gavel's recent-message index: /ban -p
	// bans him and recalls them.
	for _, x := range []string{"join my channel", "join my channel!!"} {
		d.run(v, step{who: "dave (member)", text: x, req: send(timtest.Message{GroupID: group, From: "dave", Text: x})})
	}
	daveFrom := len(ts.Recalled(group))
	text = "/ban -p @Dave advertising"
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text, AtAccounts: []string{"dave"}}),
		wantReply: "Recalled 2 of their recent message(s).", check: func() error {
			_, banned := ts.Banned(group)["dave"]
			recalled := len(ts.Recalled(group)) - daveFrom
			return errors.Join(expect(banned && !member("dave"), "dave not banned and out"),
				expect(recalled == 2, "%d of dave's messages recalled, want 2", recalled))
		}})

	text = "/lock 3s"
	d.run(v, step{who: "mod1 (admin)", text: text, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text}),
		wantReply: "Chat locked for 3s", check: func() error { return expect(ts.MutedAll(group), "MuteAllMember is not On") }})

	d.wait(v, waitStep{who: "(time passes)", text: "the 2s ban of Troll ends", wantReply: "The ban of", timeout: sanctionTimeout,
		until: func() error {
			_, banned := ts.Banned(group)["troll"]
			return expect(!banned, "troll still banned")
		}})

	d.wait(v, waitStep{who: "(time passes)", text: "the 3s lock ends", wantReply: "The lock ended", timeout: sanctionTimeout,
		until: func() error { return expect(!ts.MutedAll(group), "MuteAllMember is still On") }})
}

func (d *director) easemobSanctions(es *easemobtest.Server) {
	const grp = "262463532400641"
	es.AddGroup(grp, "gowner", []string{"gmod"}, []string{"alice", "bob", "carol", "troll"})
	d.section("Easemob — group " + grp + " (owner gowner, admin gmod): ban, lock, purge")
	v := easemobView{es}
	target := d.gavel + "/webhook/easemob"
	send := func(m easemobtest.Message) *http.Request {
		m.ChatID, m.Kind = grp, easemobtest.KindGroup
		return es.MessageRequest(target, m)
	}

	for i, x := range [][2]string{{"alice", "hello"}, {"bob", "WIN A PHONE"}, {"carol", "WIN A PHONE"}} {
		d.run(v, step{who: x[0] + " (member)", text: x[1], req: send(easemobtest.Message{From: x[0], Text: x[1], MsgID: fmt.Sprintf("demo-msg-%d", i+1)})})
	}

	text := "/purge 2"
	d.run(v, step{who: "gmod (group admin)", text: text, req: send(easemobtest.Message{From: "gmod", Text: text}),
		wantReply: "Recalled 2 message(s).", check: func() error {
			return errors.Join(
				expect(es.Recalled("demo-msg-2") && es.Recalled("demo-msg-3"), "the last two messages were not both recalled"),
				expect(!es.Recalled("demo-msg-1"), "an older message was recalled"))
		}})

	text = "/ban @troll 2s spam"
	d.run(v, step{who: "gmod (group admin)", text: text, req: send(easemobtest.Message{From: "gmod", Text: text, AtList: []string{"troll"}}),
		wantReply: "Banned for 2s", check: func() error {
			err := es.ClientJoin(grp, "troll")
			return errors.Join(expect(es.IsBlocked(grp, "troll") && !es.IsMember(grp, "troll"), "troll not blocked and out"),
				expect(errors.Is(err, easemobtest.ErrBlocked), "troll could rejoin: %v", err))
		}})

	text = "/lock 3s"
	d.run(v, step{who: "gmod (group admin)", text: text, req: send(easemobtest.Message{From: "gmod", Text: text}),
		wantReply: "Chat locked for 3s", check: func() error {
			_, member := es.Send(easemobtest.Message{ChatID: grp, Kind: easemobtest.KindGroup, From: "alice", Text: "hello?"})
			_, admin := es.Send(easemobtest.Message{ChatID: grp, Kind: easemobtest.KindGroup, From: "gmod", Text: "admins may speak"})
			return errors.Join(expect(es.MutedAll(grp), "mute-all is off"),
				expect(errors.Is(member, easemobtest.ErrMutedAll), "alice could send: %v", member),
				expect(admin == nil, "the admin could not send: %v", admin))
		}})

	d.wait(v, waitStep{who: "(time passes)", text: "the 2s ban of troll ends", wantReply: "The ban of troll ended", timeout: sanctionTimeout,
		until: func() error { return expect(!es.IsBlocked(grp, "troll"), "troll still on the block list") }})

	d.wait(v, waitStep{who: "(time passes)", text: "the 3s lock ends", wantReply: "The lock ended", timeout: sanctionTimeout,
		until: func() error { return expect(!es.MutedAll(grp), "mute-all still on") }})
}
