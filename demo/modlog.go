package demo

// The mod-log and /undo on Feishu (issue #17): a kick's case is posted to
// the mod-log chat as a card with Undo, Ban and Dismiss; a member's press
// of Undo is refused and the card says so; a manager's adds the removed
// users back and the card says who undid it.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"gavel/platforms/feishu/feishutest"
)

const (
	undoChat   = "oc_undo"
	modLogChat = "oc_modlog"
)

func (d *director) feishuModLog(fs *feishutest.Server) {
	fs.AddChat(feishutest.Chat{ID: undoChat, Name: "Undo group", OwnerID: "ou_owner", Managers: []string{"ou_admin"},
		Members: []string{"ou_raider1", "ou_raider2", "ou_alice"}, BotIsManager: true})
	fs.AddChat(feishutest.Chat{ID: modLogChat, Name: "Mod-log", OwnerID: "ou_admin", Members: []string{"ou_alice"}})
	d.section("Feishu/Lark — the mod-log: oc_undo's cases go to chat oc_modlog as cards; Undo pressed on a card")
	v := feishuView{fs}
	bot := feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}
	member := func(id string) bool { return slices.Contains(fs.Members(undoChat), id) }
	card := ""
	findCard := func() error {
		for _, m := range fs.Replies() {
			if m.ChatID == modLogChat && m.MsgType == "interactive" {
				card = m.ID
				return nil
			}
		}
		return errors.New("no card in the mod-log chat")
	}
	pressOf := func(who string, n int) feishutest.CardPress {
		p, _ := fs.PressButton(card, who, n) // no button: an empty press, which Gavel refuses (reported)
		return p
	}
	deliver := func(p feishutest.CardPress) *http.Request {
		p.EventID = "" // each press is a callback of its own
		req, err := feishutest.Request(d.gavel+"/webhook/feishu", fs.PressDelivery(p, now()))
		if err != nil {
			return nil
		}
		return req
	}

	m := fs.NewMessage(undoChat, "ou_admin", "@_user_1 /kick @_user_2 @_user_3 raid", bot,
		feishutest.Mention{Key: "@_user_2", OpenID: "ou_raider1", Name: "raider1"}, feishutest.Mention{Key: "@_user_3", OpenID: "ou_raider2", Name: "raider2"})
	req, err := fs.MessageRequest(d.gavel+"/webhook/feishu", m, now())
	if err != nil {
		panic(err) // building a request from constants cannot fail
	}
	d.run(v, step{who: "ou_admin (manager)", text: "@Gavel /kick @raider1 @raider2 raid", req: req, wantReply: "[card] Case #", check: func() error {
		if err := findCard(); err != nil {
			return err
		}
		if n := len(fs.Buttons(card)); n != 3 {
			return fmt.Errorf("the card has %d buttons, want Undo, Ban, Dismiss", n)
		}
		return expect(!member("ou_raider1") && !member("ou_raider2"), "raiders still in the chat")
	}})

	d.run(v, step{who: "ou_alice (member of the mod-log chat, not an admin of oc_undo)", text: "presses Undo on the card", req: deliver(pressOf("ou_alice", 0)),
		wantReply: "ou_alice pressed Undo: Refused", check: func() error {
			return expect(len(fs.AddBatches()) == 0 && !member("ou_raider1"), "a member's press added users back")
		}})

	undo := pressOf("ou_admin", 0) // kept: a second press from a view of the card before the update
	d.run(v, step{who: "ou_admin (manager of oc_undo)", text: "presses Undo on the card", req: deliver(undo),
		wantReply: "Undone by ou_admin", check: func() error {
			if !member("ou_raider1") || !member("ou_raider2") {
				return errors.New("the raiders were not added back")
			}
			c, _ := fs.Card(card)
			return expect(len(fs.Buttons(card)) == 0 && strings.Contains(fmt.Sprint(c), "Undone by ou_admin"), "the card does not show the undo")
		}})

	d.run(v, step{who: "ou_admin (manager of oc_undo)", text: "presses Undo again (a view of the card from before the update)", req: deliver(undo),
		wantReply: "", check: func() error {
			c, _ := fs.Card(card)
			return expect(len(fs.AddBatches()) == 1 && strings.Contains(fmt.Sprint(c), "Undone by ou_admin"),
				"a second press added again (%v) or overwrote the card", fs.AddBatches())
		}})
}
