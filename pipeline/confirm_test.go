package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/policy"
)

var confirmPolicy = policy.Config{ConfirmAbove: 3, MaxTargets: 200, ConfirmVerbs: []moderation.Verb{moderation.VerbBan}}

var confirmCaps = moderation.Capabilities{moderation.VerbKick: moderation.Native, moderation.VerbMute: moderation.Native,
	moderation.VerbUnmute: moderation.Native, moderation.VerbBan: moderation.Native}

// heldID returns the case the last confirmation card asks about.
func (f *fixture) heldID(t *testing.T) int64 {
	t.Helper()
	if len(f.pl.posts) == 0 {
		t.Fatal("no confirmation card posted")
	}
	card := f.pl.posts[len(f.pl.posts)-1].Card
	if card == nil || len(card.Buttons) != 2 || card.Buttons[0].Verb != moderation.VerbConfirm || card.Buttons[1].Verb != moderation.VerbCancel {
		t.Fatalf("confirmation post = %+v, want a card with Confirm and Cancel", f.pl.posts[len(f.pl.posts)-1])
	}
	return card.Buttons[0].CaseID
}

func (f *fixture) actions(verb string) []string {
	var out []string
	for _, c := range f.pl.calls {
		if strings.HasPrefix(c, verb+" ") {
			out = append(out, c)
		}
	}
	return out
}

// pressConfirm delivers a press of a confirmation card's button (the
// card posted in the chat, "post-1").
func (f *fixture) pressConfirm(t *testing.T, actor string, verb moderation.Verb, id int64) {
	t.Helper()
	f.seq++
	deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("press", f.seq),
		Action: &moderation.Action{Actor: actor, Verb: verb, CaseID: id, At: f.now,
			Card: &moderation.PostRef{Chat: moderation.ChatRef{Platform: "fake", ID: "c1"}, MessageID: "post-1"}}})
}

// expire runs the maintenance that submits due timers, and the jobs.
func (f *fixture) expire(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	jr := f.p.NewJobs()
	if err := f.p.MaintainSanctions(ctx, jr.Submit); err != nil {
		t.Fatalf("MaintainSanctions: %v", err)
	}
	if err := jr.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

func TestConfirmMassKick(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, confirmPolicy, "", confirmCaps)
	f.say("mod", "/kick @a @b @c @d spam")
	if got := f.actions("remove"); len(got) != 0 {
		t.Fatalf("a held kick removed: %v", got)
	}
	id := f.heldID(t)
	if post := f.pl.posts[0].Text; !strings.Contains(post, fmt.Sprintf("/confirm %d", id)) || !strings.Contains(post, "/kick of 4 user(s)") {
		t.Fatalf("request text = %q", post)
	}
	held, err := f.p.store.Case(context.Background(), id)
	if err != nil || held.Outcome.Kind() != moderation.OutcomeAwaiting || len(held.Targets) != 4 || held.Actor != "mod" {
		t.Fatalf("held case = %+v, %v", held, err)
	}

	// A member may not confirm.
	f.say("a", fmt.Sprintf("/confirm %d", id))
	if got := f.actions("remove"); len(got) != 0 {
		t.Fatalf("a member's /confirm removed: %v", got)
	}
	if !strings.Contains(f.lastReply(t), "Refused") {
		t.Fatalf("member's /confirm reply = %q", f.lastReply(t))
	}

	// An admin does: every target, once.
	f.say("mod2", fmt.Sprintf("/confirm %d", id))
	if got := f.actions("remove"); fmt.Sprint(got) != "[remove a,b,c,d reason=spam]" {
		t.Fatalf("removals after /confirm = %v", got)
	}
	if got := f.lastReply(t); !strings.Contains(got, "Removed 4") {
		t.Fatalf("confirm reply = %q", got)
	}
	cases, err := f.p.store.Cases(context.Background(), moderation.CaseFilter{Platform: "fake", ChatID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var kicked *moderation.Case
	for i := range cases {
		if cases[i].Verb == moderation.VerbKick && cases[i].Outcome == moderation.OutcomeDone {
			kicked = &cases[i]
		}
	}
	if kicked == nil || kicked.Actor != "mod2" || kicked.DeliveryID != answerKey(id) {
		t.Fatalf("confirmed kick case = %+v; want one by mod2", kicked)
	}

	// A second confirmation does nothing.
	f.say("owner", fmt.Sprintf("/confirm %d", id))
	if got := f.actions("remove"); len(got) != 1 {
		t.Fatalf("second /confirm removed again: %v", got)
	}
	if got := f.lastReply(t); !strings.Contains(got, "already confirmed by mod2") {
		t.Fatalf("second /confirm reply = %q", got)
	}
}

func TestConfirmCancelExpireAndVerbs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lang      string
		command   string
		answer    func(f *fixture, t *testing.T, id int64)
		wantReply string // of the answer
		wantLate  string // of a /confirm after it
	}{
		{name: "cancel", command: "/kick @a @b @c @d",
			answer:    func(f *fixture, t *testing.T, id int64) { f.say("mod", fmt.Sprintf("/cancel %d", id)) },
			wantReply: "cancelled by mod", wantLate: "already cancelled by mod"},
		{name: "取消", lang: "zh", command: "/踢 @a @b @c @d",
			answer:    func(f *fixture, t *testing.T, id int64) { f.say("mod", fmt.Sprintf("/取消 %d", id)) },
			wantReply: "已被 mod 取消", wantLate: "已被 mod 取消"},
		{name: "expiry by the timer", command: "/kick @a @b @c @d",
			answer: func(f *fixture, t *testing.T, id int64) {
				f.now = f.now.Add(5*time.Minute + time.Second)
				f.expire(t)
				f.expire(t) // a second look offers nothing new
			},
			wantReply: "expired: nobody confirmed it within 5m", wantLate: "expired unconfirmed"},
		{name: "listed verb, one target, confirmed", command: "/ban @a 1h",
			answer:    func(f *fixture, t *testing.T, id int64) { f.say("owner", fmt.Sprintf("/确认 %d", id)) },
			wantReply: "Banned", wantLate: "already confirmed by owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Config{}, confirmPolicy, tt.lang, confirmCaps)
			f.say("mod", tt.command)
			if len(f.actions("remove"))+len(f.actions("ban")) != 0 {
				t.Fatalf("held command acted: %v", f.pl.calls)
			}
			id := f.heldID(t)
			tt.answer(f, t, id)
			if got := f.lastReply(t); !strings.Contains(got, tt.wantReply) {
				t.Fatalf("answer reply = %q, want %q", got, tt.wantReply)
			}
			if n := strings.Count(strings.Join(f.pl.replies, "\n"), tt.wantReply); n != 1 {
				t.Fatalf("answer told %d times: %q", n, f.pl.replies)
			}
			acted := len(f.actions("remove")) + len(f.actions("ban"))
			f.say("mod2", fmt.Sprintf("/confirm %d", id))
			if got := f.lastReply(t); !strings.Contains(got, tt.wantLate) {
				t.Fatalf("late /confirm reply = %q, want %q", got, tt.wantLate)
			}
			if n := len(f.actions("remove")) + len(f.actions("ban")); n != acted {
				t.Fatalf("late /confirm acted: %v", f.pl.calls)
			}
		})
	}
}

func TestConfirmByPress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, confirmPolicy, "", confirmCaps)
	f.say("mod", "/kick @a @b @c @d")
	id := f.heldID(t)

	f.pressConfirm(t, "a", moderation.VerbConfirm, id) // a member: refused at press time
	if got := f.actions("remove"); len(got) != 0 {
		t.Fatalf("a member's press removed: %v", got)
	}
	if card := f.lastCard(t); !strings.Contains(card.Note, "Refused") || len(card.Buttons) != 2 {
		t.Fatalf("card after a member's press = %+v; want the refusal, buttons kept", card)
	}
	f.pressConfirm(t, "mod2", moderation.VerbConfirm, id)
	if got := f.actions("remove"); fmt.Sprint(got) != "[remove a,b,c,d reason=]" {
		t.Fatalf("removals after the press = %v", got)
	}
	if card := f.lastCard(t); !strings.Contains(card.Note, "Confirmed by mod2") || !strings.Contains(card.Note, "Removed 4") || len(card.Buttons) != 0 {
		t.Fatalf("card after the confirmation = %+v; want who confirmed and what was done, no buttons", card)
	}
	f.pressConfirm(t, "owner", moderation.VerbCancel, id) // too late: confirmed
	if card := f.lastCard(t); !strings.Contains(card.Note, "already confirmed by mod2") || len(card.Buttons) != 0 {
		t.Fatalf("card after a cancel of a confirmed request = %+v", card)
	}
	if got := f.actions("remove"); len(got) != 1 {
		t.Fatalf("removals = %v", got)
	}
}

// lastCard is the card of the last update of a posted message.
func (f *fixture) lastCard(t *testing.T) *moderation.Card {
	t.Helper()
	if len(f.pl.updates) == 0 || f.pl.updates[len(f.pl.updates)-1].Card == nil {
		t.Fatalf("no card updated: calls %v", f.pl.calls)
	}
	return f.pl.updates[len(f.pl.updates)-1].Card
}

// TestConfirmTextWithoutCards: a platform that posts no cards gets the
// request as a reply naming /confirm N.
func TestConfirmTextWithoutCards(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, confirmPolicy, "", confirmCaps)
	f.p.platforms["fake"] = textOnly{f.pl}
	f.say("mod", "/kick @a @b @c @d")
	if len(f.pl.posts) != 0 {
		t.Fatalf("posted %+v", f.pl.posts)
	}
	got := f.lastReply(t)
	var id int64
	if _, err := fmt.Sscanf(got, "Case #%d:", &id); err != nil || !strings.Contains(got, fmt.Sprintf("/confirm %d", id)) || !strings.Contains(got, fmt.Sprintf("/cancel %d", id)) {
		t.Fatalf("request reply = %q", got)
	}
	f.say("mod", fmt.Sprintf("/confirm %d", id))
	if got := f.actions("remove"); len(got) != 1 {
		t.Fatalf("removals = %v", got)
	}
}

// textOnly is the recorder on a platform whose Post takes no cards.
type textOnly struct{ *recorder }

func (textOnly) Post(context.Context, moderation.ChatRef, moderation.Post) (string, error) {
	return "", fmt.Errorf("no cards: %w", moderation.ErrUnsupported)
}

func TestHeldPostText(t *testing.T) {
	t.Parallel()
	c := &moderation.Case{ID: 7, Actor: "mod", Verb: moderation.VerbKick, Targets: []string{"a", "b"}, Reason: "spam"}
	tests := []struct {
		lang, want string
	}{
		{"en", "Case #7: /kick of 2 user(s) by mod awaits an admin's confirmation. Send /confirm 7 to carry it out or /cancel 7 to drop it; it expires in 5m. Targets: a, b. Reason: spam."},
		{"zh", "案例 #7：mod 发起的 /kick 2 人需管理员确认。发送 /确认 7 执行，或 /取消 7 放弃；5m 后失效。 目标：a, b。 原因：spam。"},
	}
	for _, tt := range tests {
		if got := textsFor(tt.lang).heldPost(c, 5*time.Minute, "/").Text; got != tt.want {
			t.Errorf("%s: %q\nwant %q", tt.lang, got, tt.want)
		}
	}
}

// TestConfirmReRunKeepsItsClaim: a confirmation whose job must run again
// (a target failed transiently) keeps its claim on the re-run and acts
// only on what is left; another admin's Confirm in between does nothing.
func TestConfirmReRunKeepsItsClaim(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, confirmPolicy, "", confirmCaps)
	f.say("mod", "/kick @a @b @c @d")
	id := f.heldID(t)
	f.pl.fail = map[string]bool{"b": true}
	job := claimOne(t, f.p.store, message("dc1", "mod", fmt.Sprintf("/confirm %d", id)))
	if err := handleJob(f.p, job); err == nil || !strings.Contains(err.Error(), ErrIncomplete.Error()) {
		t.Fatalf("first run: %v, want ErrIncomplete", err)
	}
	// The chat's next message waits for this job; a press does not.
	f.pressConfirm(t, "mod2", moderation.VerbConfirm, id)
	if card := f.lastCard(t); !strings.Contains(card.Note, "already confirmed by mod") {
		t.Fatalf("card after the other admin's press = %+v", card)
	}
	f.pl.fail = nil
	job.Attempts++
	if err := handleJob(f.p, job); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := f.actions("remove"); fmt.Sprint(got) != "[remove a,b,c,d reason= remove b reason=]" {
		t.Fatalf("removals = %v", got)
	}
	if got := f.lastReply(t); !strings.Contains(got, "Removed 4") {
		t.Fatalf("re-run reply = %q", got)
	}
}

// TestConfirmFromTheModLog: a held command goes to the mod-log too, with
// Confirm and Cancel (not Undo or Ban: nothing was done); a press there
// answers it, and the confirmed run and the answer are logged.
func TestConfirmFromTheModLog(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, Config{}, confirmPolicy)
	f.say("mod", "/kick @a @b @c @d")
	if len(f.pl.posts) != 2 || !slices.Equal(f.actions("post"), []string{"post c1", "post ml"}) || f.pl.posts[1].Card == nil {
		t.Fatalf("posts %v = %+v; want the request in the chat, then in the mod-log", f.actions("post"), f.pl.posts)
	}
	logged := f.pl.posts[1].Card
	var verbs []moderation.Verb
	for _, b := range logged.Buttons {
		verbs = append(verbs, b.Verb)
	}
	if fmt.Sprint(verbs) != "[confirm cancel]" {
		t.Fatalf("mod-log buttons = %v, want [confirm cancel]", verbs)
	}
	f.press("mod2", moderation.VerbConfirm, 1, "post-2")
	if got := f.actions("remove"); fmt.Sprint(got) != "[remove a,b,c,d reason=]" {
		t.Fatalf("removals after a mod-log press = %v", got)
	}
	if card := f.lastCard(t); !strings.Contains(card.Note, "Confirmed by mod2") {
		t.Fatalf("mod-log card after the press = %+v", card)
	}
}

// An expired request's card says so, without its buttons: the card in
// the chat, or, when the request went to the mod-log, its mod-log card.
func TestConfirmExpiryUpdatesTheCard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		modlog     bool
		noUpdate   bool
		wantUpdate string // the "update <id>" call; "" for none
	}{
		{name: "card in the chat", wantUpdate: "update post-1"},
		{name: "mod-log card", modlog: true, wantUpdate: "update post-2"},
		{name: "platform cannot edit: the reply tells", noUpdate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f *fixture
			if tt.modlog {
				f = newModLogFixture(t, Config{}, confirmPolicy)
			} else {
				f = newFixture(t, Config{}, confirmPolicy, "", confirmCaps)
			}
			f.pl.noUpdate = tt.noUpdate
			f.say("mod", "/kick @a @b @c @d")
			f.now = f.now.Add(5*time.Minute + time.Second)
			f.expire(t)
			updates := f.actions("update")
			if tt.wantUpdate == "" {
				if len(updates) != 0 {
					t.Fatalf("updates %v, want none", updates)
				}
			} else {
				if fmt.Sprint(updates) != "["+tt.wantUpdate+"]" {
					t.Fatalf("updates %v, want [%s]", updates, tt.wantUpdate)
				}
				card := f.pl.updates[0].Card
				if card == nil || len(card.Buttons) != 0 || !strings.Contains(card.Note, "Expired (case #2)") {
					t.Fatalf("updated card %+v, want no buttons and the expiry", card)
				}
			}
			if got := f.lastReply(t); !strings.Contains(got, "expired: nobody confirmed it") {
				t.Fatalf("expiry reply = %q", got)
			}
		})
	}
}
