// Verification of new joiners, the answers: a message or a button
// press of a pending joiner, passing, failing, and deleting the challenge.

package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gavel/moderation"
)

// verifyAnswer takes a message of a pending joiner (after delivery, or
// as the pre-send hook held it): recalled when the chat holds by recall,
// and checked as an answer. handled is false when the sender is not
// pending here.
func (p *Pipeline) verifyAnswer(ctx context.Context, r *run, recall bool) (handled bool) {
	msg := r.msg
	cfg, ok := p.verifyFor(msg.Chat)
	if !ok {
		return false
	}
	s, ok, err := p.store.ActiveSanction(ctx, moderation.VerbVerify, msg.Chat, msg.SenderID, p.now())
	if err != nil || !ok {
		r.fail(err)
		return err != nil
	}
	if recall && cfg.Hold == "recall" {
		p.flush(ctx, r)
		if err := r.plat.Recall(ctx, msg.Chat, msg.MessageID); err != nil {
			r.log.Error("recalling an unverified joiner's message failed", "user", msg.SenderID, "message_id", msg.MessageID, "err", err)
		}
	}
	if s.CaseID == 0 || cfg.Mode != "text" {
		return true // no challenge yet, or one answered by its button
	}
	_, answer := challengeQuestion(cfg, msg.Chat, s.Until)
	if answers(msg.Text, answer) {
		p.verifyPassed(ctx, r, s)
		return true
	}
	if cfg.OnWrongAnswers == 0 {
		return true
	}
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: msg.Chat.Platform, ChatID: msg.Chat.ID, Rule: verifyRule + "-wrong",
		Verb: moderation.VerbVerify, Targets: []string{msg.SenderID}, Reason: "wrong answer", At: p.now(), Related: s.CaseID,
		Outcome: moderation.OutcomeDone}
	p.record(ctx, r, c)
	// The wrong answers to this challenge: the cases that follow it.
	cases, err := p.store.Cases(ctx, moderation.CaseFilter{Platform: msg.Chat.Platform, ChatID: msg.Chat.ID, UserID: msg.SenderID,
		Related: s.CaseID})
	if err != nil {
		r.fail(err)
		return true
	}
	wrong := 0
	for _, x := range cases {
		if x.Rule == verifyRule+"-wrong" {
			wrong++
		}
	}
	if wrong >= cfg.OnWrongAnswers {
		p.verifyFailed(ctx, r, []string{msg.SenderID}, s.CaseID, fmt.Sprintf("%d wrong answers", wrong))
	}
	return true
}

// verifyButton takes a press of a challenge's button: only the joiner the
// button names (Button.Only, carried as the action's Targets) passes by it.
func (p *Pipeline) verifyButton(ctx context.Context, r *run) {
	a := r.ev.Action
	if !slices.Contains(a.Targets, a.Actor) || (a.Only != "" && a.Only != a.Actor) {
		r.log.Info("verification button pressed by someone it does not name: ignored", "actor", a.Actor, "only", a.Only)
		return
	}
	s, ok, err := p.store.ActiveSanction(ctx, moderation.VerbVerify, r.chat, a.Actor, p.now())
	if err != nil || !ok {
		r.fail(err)
		return
	}
	if s.CaseID == 0 || a.CaseID != s.CaseID { // every challenge button names its case
		r.log.Info("verification button of another challenge: ignored", "actor", a.Actor, "case", a.CaseID)
		return
	}
	p.verifyPassed(ctx, r, s)
}

// verifyPassed lifts the joiner's hold, records it and recalls the
// challenge once nobody it names is pending.
func (p *Pipeline) verifyPassed(ctx context.Context, r *run, s moderation.Sanction) {
	if r.fail(p.sanctions.end(ctx, moderation.VerbVerify, s.Chat, s.UserID)); r.err != nil {
		return
	}
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: s.Chat.Platform, ChatID: s.Chat.ID, Rule: verifyRule,
		Verb: moderation.VerbVerify, Targets: []string{s.UserID}, Reason: "passed", At: p.now(), Related: s.CaseID,
		Outcome: moderation.OutcomeDone, Results: []moderation.Result{{UserID: s.UserID, Status: moderation.StatusDone}}}
	p.record(ctx, r, c)
	r.log.Info("joiner verified", "user", s.UserID)
	p.recallIfDone(ctx, r, s.CaseID)
}

// verifyFailed carries out on_timeout on users (policy decides again: a
// joiner made admin meanwhile is spared) and ends their holds.
func (p *Pipeline) verifyFailed(ctx context.Context, r *run, users []string, caseID int64, why string) {
	cfg, _ := p.verifyFor(r.chat)
	spec, err := parseSanction(cfg.withDefaults(r.chat.Platform).OnTimeout)
	if err != nil { // validated at start; a chat dropped from the config kicks
		spec = sanctionSpec{verb: moderation.VerbKick}
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	roles, err := p.roles(ctx, r, users)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	decisions := p.policy.DecideTargets(r.chat, botID, users, roles)
	var act []string
	for _, d := range decisions {
		if d.Allowed {
			act = append(act, d.Target)
		}
	}
	d := spec.d
	switch {
	case spec.verb == moderation.VerbBan && d == 0:
		d = moderation.Forever
	case spec.verb == moderation.VerbMute:
		d = p.duration(moderation.Command{Verb: moderation.VerbMute, Duration: d})
	}
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: r.chat.Platform, ChatID: r.chat.ID, Rule: verifyRule,
		Verb: spec.verb, Targets: users, Reason: why, Duration: d, Decisions: decisions, At: p.now(), Related: caseID}
	if len(act) > 0 {
		c.Results = p.act(ctx, r, action{verb: spec.verb, d: d, step: moderation.RuleStep(verifyRule, spec.verb)}, act, "")
		if r.err != nil && !r.last {
			return // the job runs again; settled targets are skipped
		}
	}
	for _, u := range users {
		if r.fail(p.sanctions.end(ctx, moderation.VerbVerify, r.chat, u)); r.err != nil {
			return
		}
	}
	c.Outcome = outcome(c.Results)
	p.record(ctx, r, c)
	r.log.Info("joiners failed verification", "users", len(users), "why", why, "action", spec.verb)
	p.recallIfDone(ctx, r, caseID)
}

// recallIfDone recalls the challenge of caseID once none of its joiners
// is pending.
func (p *Pipeline) recallIfDone(ctx context.Context, r *run, caseID int64) {
	if caseID == 0 {
		return
	}
	all, err := p.pendingIn(ctx, r.chat, time.Time{})
	if err != nil {
		r.fail(err)
		return
	}
	var posts []moderation.Sanction
	for _, s := range all {
		switch {
		case s.CaseID != caseID:
		case strings.HasPrefix(s.UserID, moderation.VerifyPostPrefix):
			posts = append(posts, s)
		case s.UserID != "":
			return // someone still to answer it
		}
	}
	for _, s := range posts {
		p.recallChallenge(ctx, r, s)
	}
}

// recallChallenge deletes a posted challenge and its record.
func (p *Pipeline) recallChallenge(ctx context.Context, r *run, post moderation.Sanction) {
	p.flush(ctx, r)
	id := strings.TrimPrefix(post.UserID, moderation.VerifyPostPrefix)
	if err := r.plat.Recall(ctx, r.chat, id); err != nil {
		r.log.Warn("recalling a challenge failed", "message_id", id, "err", err)
	}
	r.fail(p.sanctions.end(ctx, moderation.VerbVerify, r.chat, post.UserID))
}
