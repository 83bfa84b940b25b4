// The action flow: a button pressed on a mod-log card (Feishu
// card.action.trigger) or an action taken in the console
// (moderation.EventAction). Who asks is authorized when the job runs,
// not when the button was drawn: a presser must be the owner or an admin
// of the case's chat, or one of policy.admins; the console checked its
// operator's grants itself. Policy decides on every target either way.
// The card then shows who pressed what.

package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gavel/moderation"
	"gavel/policy"
)

func (p *Pipeline) handleAction(ctx context.Context, r *run) {
	a := r.ev.Action
	r.chat = a.Chat
	if a.Card != nil {
		r.chat = a.Card.Chat
	}
	if r.chat.Platform == "" {
		r.chat.Platform = r.ev.Platform
	}
	r.log = r.log.With("chat", r.chat.ID, "action", a.Verb, "actor", a.Actor, "case", a.CaseID)
	// A press or a console action answers no message: what the flows
	// would reply is collected and goes on the card.
	var answers []string
	r.answers = &answers
	if a.Actor == "" || a.Actor == "console:" {
		r.log.Warn("action without an actor ignored")
		return
	}
	if !isConsole(r, a.Actor) {
		a.Actor = r.plat.CanonicalUserID(a.Actor)
	}
	for i, t := range a.Targets {
		a.Targets[i] = r.plat.CanonicalUserID(t)
	}
	if a.Only != "" {
		a.Only = r.plat.CanonicalUserID(a.Only)
	}
	switch a.Verb {
	case moderation.VerbConfirm, moderation.VerbCancel:
		p.confirmPress(ctx, r, a, &answers) // confirm.go
	case moderation.VerbUndo, moderation.VerbDismiss, moderation.VerbBan, moderation.VerbMute, moderation.VerbKick:
		if isConsole(r, a.Actor) && a.Verb != moderation.VerbUndo {
			r.log.Warn("the console names chats and targets for this verb; a case's card press needs a presser")
			return
		}
		p.pressCase(ctx, r, a, &answers)
	case moderation.VerbUnmute, moderation.VerbUnban, moderation.VerbUnlock:
		if !isConsole(r, a.Actor) {
			r.log.Warn("a lift is the console's action; refused from a card")
			return
		}
		p.consoleLift(ctx, r, a)
		r.log.Info("console action done", "answer", strings.Join(answers, " "))
	case moderation.VerbVerify:
		p.verifyButton(ctx, r) // a joiner's button: only the joiner passes by it
	default:
		r.log.Warn("action of a verb this build does not handle")
	}
}

// pressCase carries out a press of a case's button (or the console's
// undo of a case): Undo, Dismiss, or Ban, Mute, Kick of the case's
// targets, as the presser.
func (p *Pipeline) pressCase(ctx context.Context, r *run, a *moderation.Action, answers *[]string) {
	if reason := p.policy.AllowCommand(r.chat, a.Actor); reason != policy.OK {
		// Rate-limited, or Gavel is off where the card is: silence, as for
		// a typed command (an answer per press would be the flood).
		r.log.Info("press refused", "reason", reason)
		return
	}
	if a.Verb == moderation.VerbUndo {
		text, c, undone := p.undo(ctx, r, a.Actor, a.CaseID, "")
		if text == "" {
			return // the job runs again
		}
		orig, err := p.store.Case(ctx, a.CaseID)
		switch {
		case err != nil || !p.pressedWhereShown(r, a, &orig):
			// No such case, or one of another chat: nothing of it is shown
			// on a card where it does not belong.
			p.answerPress(ctx, r, a, nil, text, false)
		case undone && c != nil:
			p.answerPress(ctx, r, a, &orig, p.text.undoNote(a.Actor, c)+" "+text, false)
		case undone:
			// Undone by another press or command: that undo updates the
			// card, and this press must not overwrite what it says (two
			// presses may run at once).
			r.log.Info("press on a case undone already; the card is the other undo's", "answer", text)
		default:
			p.answerPress(ctx, r, a, &orig, p.text.pressNote(a.Actor, a.Verb, text), true)
		}
		return
	}
	orig, err := p.store.Case(ctx, a.CaseID)
	if err != nil {
		r.log.Warn("press of a case that cannot be read", "err", err)
		p.answerPress(ctx, r, a, nil, p.text.noCase(a.CaseID), false)
		return
	}
	caseChat := moderation.ChatRef{Platform: orig.Platform, ID: orig.ChatID}
	if orig.Platform != r.plat.Name() || r.chat.ID != caseChat.ID && !p.modlog.isModLogOf(r.chat, caseChat) {
		p.answerPress(ctx, r, a, nil, p.text.noCase(a.CaseID), false)
		return
	}
	r.chat = caseChat
	if p.policy.Chat(caseChat).Disabled {
		// Pressed in the mod-log: the case's chat decides, as for /undo.
		p.answerPress(ctx, r, a, &orig, p.text.pressNote(a.Actor, a.Verb, p.text.refused(policy.ChatDisabled, a.Verb)), false)
		return
	}
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: caseChat.Platform, ChatID: caseChat.ID, Actor: a.Actor,
		Verb: a.Verb, Related: orig.ID, At: p.now()}
	ok, _, err := p.mayAct(ctx, r, a.Actor)
	if err != nil && p.retryLater(r, err) {
		return
	}
	if err != nil || !ok {
		c.Outcome = moderation.RefusedOutcome(policy.ActorNotAdmin)
		if err != nil {
			c.Outcome = moderation.OutcomeErrorRoles
		}
		p.record(ctx, r, c)
		r.log.Info("press refused: the presser may not moderate the case's chat", "err", err)
		p.answerPress(ctx, r, a, &orig, p.text.pressNote(a.Actor, a.Verb, p.text.refused(policy.ActorNotAdmin, a.Verb)), true)
		return
	}
	if a.Verb == moderation.VerbDismiss {
		c.Outcome = moderation.OutcomeDone
		p.record(ctx, r, c)
		p.answerPress(ctx, r, a, &orig, fmt.Sprintf(p.text.pick("Dismissed by %s.", "已由 %s 忽略。"), a.Actor), false)
		return
	}
	targets := a.Targets
	if len(targets) == 0 {
		targets = actedOn(&orig)
	}
	if stray := notAmong(targets, orig.Targets); stray != "" {
		// The button value names someone the case does not: a press acts
		// on the case's users only, never on whoever a value names.
		r.log.Warn("press naming a user who is not the case's target refused", "user", stray)
		p.answerPress(ctx, r, a, &orig, p.text.pressNote(a.Actor, a.Verb,
			fmt.Sprintf(p.text.pick("Refused: the button names users case #%d does not.", "已拒绝：按钮指定了案例 #%d 之外的用户。"), orig.ID)), true)
		return
	}
	c.Targets = targets
	if len(targets) == 0 || !p.policy.TargetsAllowed(len(targets)) {
		p.answerPress(ctx, r, a, &orig, p.text.pressNote(a.Actor, a.Verb, p.text.tooMany(len(targets), p.policy.MaxTargets())), true)
		return
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	cmd := moderation.Command{Verb: a.Verb, Targets: targets, Duration: a.Duration,
		Reason: fmt.Sprintf(p.text.pick("from case #%d", "源自案例 #%d"), orig.ID)}
	c.Reason = cmd.Reason
	// The press acts as the presser's command would, in the case's chat.
	r.msg = &moderation.Message{Chat: caseChat, SenderID: a.Actor, SentAt: a.At}
	p.runCommand(ctx, r, cmd, botID, c)
	if r.err != nil && !r.last {
		return // the job runs again; settled targets are skipped
	}
	done := c.Outcome.Kind() == moderation.OutcomeDone || c.Outcome.Kind() == moderation.OutcomePartial
	p.answerPress(ctx, r, a, &orig, p.text.pressNote(a.Actor, a.Verb, strings.Join(*answers, " ")), !done)
}

// answerPress shows on the pressed card who pressed what (note), with
// the case's buttons when the press left it open; where cards cannot be
// edited, or the case is unknown, the note is posted after it.
func (p *Pipeline) answerPress(ctx context.Context, r *run, a *moderation.Action, orig *moderation.Case, note string, keep bool) {
	r.log.Info("press answered", "note", note)
	if a.Card == nil {
		return // the console: the case and the mod-log say it
	}
	if orig == nil {
		if _, err := r.plat.Post(ctx, a.Card.Chat, moderation.Post{Text: fitText(note, r.plat.Limits().Reply)}); err != nil {
			r.log.Warn("posting the answer to a press failed", "err", err)
		}
		return
	}
	var bs []moderation.Button
	if keep {
		bs = p.modLogButtons(orig)
	}
	p.updateCard(ctx, r, *a.Card, p.text.modLogPost(p.shown(orig), bs, note, r.plat.Limits().Reply), note)
}

// consoleLift carries out the console's unmute, unban or unlock of
// Action.Chat and Action.Targets: the console checked its operator's
// grants; policy decides on every target, as for the chat's owner.
func (p *Pipeline) consoleLift(ctx context.Context, r *run, a *moderation.Action) {
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: r.chat.Platform, ChatID: r.chat.ID, Actor: a.Actor,
		Verb: a.Verb, Targets: a.Targets, Related: a.CaseID, At: p.now()}
	cmd := moderation.Command{Verb: a.Verb, Targets: a.Targets}
	if a.Verb == moderation.VerbUnlock {
		p.lockCommand(ctx, r, cmd, c)
		return
	}
	if len(a.Targets) == 0 || !p.policy.TargetsAllowed(len(a.Targets)) {
		r.log.Warn("console action with no targets or too many", "targets", len(a.Targets))
		return
	}
	support, ok := p.supported(ctx, r, a.Verb, c)
	if !ok {
		return
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	roles, err := p.roles(ctx, r, a.Targets)
	if err != nil {
		if !p.retryLater(r, err) {
			c.Outcome = moderation.OutcomeErrorRoles
			p.record(ctx, r, c)
		}
		return
	}
	roles[a.Actor] = moderation.RoleOwner
	v := p.policy.Decide(policy.Request{Chat: r.chat, ActorID: a.Actor, BotID: botID, Command: cmd, Roles: roles})
	c.Decisions = v.Decisions
	res := p.actOn(ctx, r, action{verb: a.Verb, support: support, step: moderation.ActionStep(a.Verb),
		opts: moderation.ActionOptions{ActionID: r.ev.DeliveryID + "/" + string(a.Verb)}}, v)
	if incomplete(r, res) {
		return
	}
	c.Results = res
	c.Outcome = outcome(res)
	p.record(ctx, r, c)
}

// notAmong returns the first of users that is not in of; "" when all are.
func notAmong(users, of []string) string {
	for _, u := range users {
		if !slices.Contains(of, u) {
			return u
		}
	}
	return ""
}

// pressedWhereShown reports whether press a came from a card in the chat
// of case c or in c's mod-log chat: where c may be shown. The console's
// actions have no card.
func (p *Pipeline) pressedWhereShown(r *run, a *moderation.Action, c *moderation.Case) bool {
	if a.Card == nil {
		return true
	}
	caseChat := moderation.ChatRef{Platform: c.Platform, ID: c.ChatID}
	here := a.Card.Chat
	return c.Platform == r.plat.Name() && (here.ID == c.ChatID || p.modlog.isModLogOf(here, caseChat))
}
