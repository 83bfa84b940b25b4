package pipeline

import (
	"context"
	"fmt"
	"strings"

	"gavel/automod"
	"gavel/moderation"
	"gavel/policy"
)

// ruleHits converts the engine's hits into the domain's, to travel in a
// job.
func ruleHits(hits []automod.Hit) []moderation.RuleHit {
	if len(hits) == 0 {
		return nil
	}
	out := make([]moderation.RuleHit, len(hits))
	for i, h := range hits {
		out[i] = moderation.RuleHit{Rule: h.Rule, Verb: h.Action.Kind.Verb(), Duration: h.Action.Duration,
			DryRun: h.DryRun, Users: h.Users, MessageID: h.MessageID, Match: h.Match}
	}
	return out
}

// NewGate adapts the rule engine and the index of joiners awaiting
// verification to moderation.Gate for the platforms' pre-delivery hooks:
// an unverified joiner's message is held (the pipeline reads it as an
// answer), then the rules screen the rest. Nil when there is neither.
func NewGate(e *automod.Engine, held *SanctionIndex) moderation.Gate {
	if e == nil && held == nil {
		return nil
	}
	return gate{e, held}
}

type gate struct {
	e    *automod.Engine
	held *SanctionIndex
}

func (g gate) Screen(chat moderation.ChatRef, senderID, text string) (moderation.Screening, bool) {
	if g.held != nil && g.held.pending(chat, senderID) {
		return moderation.Screening{Rule: verifyRule, Match: "not verified yet"}, true
	}
	if g.e == nil {
		return moderation.Screening{}, false
	}
	h, reject := g.e.PreSend(chat, senderID, text)
	if h.Rule == "" {
		return moderation.Screening{}, false
	}
	return moderation.Screening{Rule: h.Rule, Match: h.Match, DryRun: !reject}, true
}

// handleHits carries out the auto-moderation hits an event brought: each
// on Gavel's own authority (owner, admins, protected users and the bot
// are never targets), recorded as a case naming the rule and what
// matched, followed by a warning for each target and the ladder's step.
func (p *Pipeline) handleHits(ctx context.Context, r *run) {
	plat, ev, chat := r.plat, r.ev, r.chat
	botID, err := plat.BotID(ctx)
	if err != nil {
		if !p.retryLater(r, err) {
			r.log.Error("cannot learn the bot's own id; rule hits dropped", "err", err)
		}
		return
	}
	for _, h := range ev.Hits {
		if h.Verb == moderation.VerbLock {
			p.lockHit(ctx, r, h)
			if r.err != nil && !r.last {
				return
			}
			continue
		}
		roles, err := p.roles(ctx, r, h.Users)
		if err != nil {
			if !p.retryLater(r, err) {
				r.log.Error("role lookup for a rule hit failed", "rule", h.Rule, "err", err)
			}
			return
		}
		decisions := p.policy.DecideTargets(chat, botID, h.Users, roles)
		var users []string
		for _, d := range decisions {
			if d.Allowed {
				users = append(users, d.Target)
			}
		}
		if len(users) == 0 {
			r.log.Debug("rule hit on exempt users only", "rule", h.Rule, "users", h.Users)
			continue
		}
		verb := h.Verb
		c := &moderation.Case{DeliveryID: ev.DeliveryID, Platform: chat.Platform, ChatID: chat.ID, Rule: h.Rule,
			Verb: verb, Targets: users, Reason: h.Match, DryRun: h.DryRun, Decisions: decisions, At: p.now()}
		p.obs.RuleHit(chat.Platform, h.Rule, string(verb), h.DryRun)
		if h.DryRun {
			for _, u := range users {
				c.Results = append(c.Results, moderation.Result{UserID: u, Status: moderation.StatusSkipped, Reason: moderation.ReasonDryRun})
			}
			c.Outcome = moderation.OutcomeDone
			p.record(ctx, r, c)
			continue
		}
		c.Duration = p.duration(moderation.Command{Verb: verb, Duration: h.Duration})
		c.Results = p.act(ctx, r, action{verb: verb, d: c.Duration, step: moderation.RuleStep(h.Rule, verb)}, users, h.MessageID)
		if r.err != nil && !r.last {
			return // the job runs again; settled targets are skipped
		}
		c.Outcome = outcome(c.Results)
		p.record(ctx, r, c)
		p.notice(ctx, r, p.text.ruleNotice(c))
		for _, u := range users {
			p.warn(ctx, r, moderation.Warning{Chat: chat, UserID: u, Key: ev.DeliveryID + "/" + h.Rule + "/" + u,
				Rule: h.Rule, Reason: h.Match, At: p.now()})
		}
	}
}

// act carries out one verb on users with Gavel's authority (a.support
// and a.opts are act's to fill: the chat's capabilities, the step as the
// action id).
func (p *Pipeline) act(ctx context.Context, r *run, a action, users []string, messageID string) []moderation.Result {
	plat, chat, verb := r.plat, r.chat, a.verb
	switch verb {
	case moderation.VerbWarn:
		res := make([]moderation.Result, len(users))
		for i, u := range users {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		}
		return res
	case moderation.VerbDelete:
		st, reason, detail := moderation.StatusDone, moderation.Reason(""), ""
		p.flush(ctx, r)
		if err := plat.Recall(ctx, chat, messageID); err != nil {
			st, reason, detail = moderation.StatusFailed, moderation.ReasonRecallFailed, err.Error()
		}
		res := make([]moderation.Result, len(users))
		for i, u := range users {
			res[i] = moderation.Result{UserID: u, Status: st, Reason: reason, Detail: detail}
		}
		return res
	}
	caps, err := plat.Capabilities(ctx, chat)
	if err != nil {
		p.retryLater(r, err) // the job runs again if it may pass
		return moderation.FailAll(users, err)
	}
	a.support = caps[verb]
	if a.support == moderation.Unsupported || a.support == "" {
		res := make([]moderation.Result, len(users))
		for i, u := range users {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonUnsupported, Detail: fmt.Sprintf("%s is not supported in this chat", verb)}
		}
		return res
	}
	a.opts = moderation.ActionOptions{ActionID: string(a.step)}
	var res []moderation.Result
	if verb == moderation.VerbPurge {
		res = p.purgeUsers(ctx, r, users, p.parsers[plat.Name()].PurgeUserCount(), true)
	} else {
		res = p.execute(ctx, r, a, users)
	}
	if !r.last {
		for _, x := range res {
			if x.Status == moderation.StatusFailed {
				r.fail(fmt.Errorf("%w: %s", ErrIncomplete, x.UserID))
				break
			}
		}
	}
	return res
}

// warn stores a warning and applies the ladder step its count reaches.
func (p *Pipeline) warn(ctx context.Context, r *run, w moderation.Warning) int {
	chat := r.chat
	cfg := p.warnings()
	n, err := p.store.AddWarning(ctx, w, p.now().Add(-cfg.Expiry()))
	if err != nil {
		r.fail(err)
		r.log.Error("storing a warning failed", "user", w.UserID, "err", err)
		return 0
	}
	step, ok := cfg.Escalation(n)
	if !ok {
		return n
	}
	verb := step.Kind.Verb()
	d := p.duration(moderation.Command{Verb: verb, Duration: step.Duration})
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID + "/ladder/" + w.UserID, Platform: chat.Platform, ChatID: chat.ID, Rule: "warnings",
		Verb: verb, Targets: []string{w.UserID}, Reason: fmt.Sprintf("%d warnings", n), Duration: d, At: p.now()}
	c.Results = p.act(ctx, r, action{verb: verb, d: d, step: moderation.LadderStep(verb)}, c.Targets, "")
	c.Outcome = outcome(c.Results)
	p.record(ctx, r, c)
	p.notice(ctx, r, p.text.ruleNotice(c))
	return n
}

func (p *Pipeline) warnings() automod.WarningsConfig {
	if p.rules != nil {
		return p.rules.Warnings()
	}
	return automod.WarningsConfig{}
}

// notice posts an automatic notice, at most automod.notices_per_minute per
// chat: Gavel never floods a chat or gets itself throttled.
func (p *Pipeline) notice(ctx context.Context, r *run, text string) {
	if text == "" {
		return
	}
	if p.rules != nil && !p.rules.AllowNotice(r.chat) {
		r.log.Debug("notice suppressed by the per-chat notice limit")
		return
	}
	p.reply(ctx, r, text)
}

// recordScreened records a message a platform's pre-delivery hook
// stopped (or, in dry run, let through).
func (p *Pipeline) recordScreened(ctx context.Context, r *run) {
	ev, msg, s := r.ev, r.msg, r.ev.Screening
	c := &moderation.Case{DeliveryID: ev.DeliveryID, Platform: msg.Chat.Platform, ChatID: msg.Chat.ID, Rule: s.Rule,
		Verb: moderation.VerbBlock, Targets: []string{msg.SenderID}, Reason: s.Match, DryRun: s.DryRun, At: p.now(), Outcome: moderation.OutcomeDone}
	st := moderation.StatusDone
	if s.DryRun {
		st = moderation.StatusSkipped
	}
	c.Results = []moderation.Result{{UserID: msg.SenderID, Status: st, Reason: moderation.ReasonBeforeDelivery}}
	p.obs.RuleHit(msg.Chat.Platform, s.Rule, string(moderation.VerbBlock), s.DryRun)
	p.record(ctx, r, c)
}

// warnCommand handles /warn, /unwarn and /warnings from an admin.
func (p *Pipeline) warnCommand(ctx context.Context, r *run, cmd moderation.Command, botID string, c *moderation.Case) {
	plat, msg := r.plat, r.msg
	names := displayNames(msg)
	roles, err := p.roles(ctx, r, append([]string{msg.SenderID}, cmd.Targets...))
	if err != nil {
		if !p.retryLater(r, err) {
			p.reply(ctx, r, p.text.platformError(plat.Name(), err))
		}
		return
	}
	v := p.policy.Decide(policy.Request{Chat: msg.Chat, ActorID: msg.SenderID, BotID: botID, Command: cmd, Roles: roles})
	if !v.Allowed {
		c.Outcome = moderation.RefusedOutcome(v.Reason)
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.refused(v.Reason, cmd.Verb))
		return
	}
	since := p.now().Add(-p.warnings().Expiry())
	var lines []string
	for _, d := range v.Decisions {
		name := names[d.Target]
		if name == "" {
			name = d.Target
		}
		if !d.Allowed && cmd.Verb != moderation.VerbWarnings {
			lines = append(lines, fmt.Sprintf("%s (%s)", name, p.text.reasonText(moderation.Result{Reason: d.Reason})))
			continue
		}
		switch cmd.Verb {
		case moderation.VerbWarn:
			n := p.warn(ctx, r, moderation.Warning{Chat: msg.Chat, UserID: d.Target, Key: c.DeliveryID + "/warn/" + d.Target,
				Actor: msg.SenderID, Reason: cmd.Reason, At: p.now()})
			lines = append(lines, p.text.warned(name, n))
		case moderation.VerbUnwarn:
			removed, err := p.store.RemoveLastWarning(ctx, msg.Chat, d.Target, since)
			if err != nil {
				r.fail(err)
				return
			}
			lines = append(lines, p.text.unwarned(name, removed))
		case moderation.VerbWarnings:
			ws, err := p.store.Warnings(ctx, msg.Chat, d.Target, since)
			if err != nil {
				r.fail(err)
				return
			}
			lines = append(lines, p.text.warningList(name, ws))
		}
	}
	if cmd.Verb != moderation.VerbWarnings {
		for _, d := range v.Decisions {
			st := moderation.StatusDone
			if !d.Allowed {
				st = moderation.StatusRefused
			}
			c.Results = append(c.Results, moderation.Result{UserID: d.Target, Status: st, Reason: d.Reason})
		}
		c.Decisions = v.Decisions
		c.Outcome = outcome(c.Results)
		p.record(ctx, r, c)
	}
	p.reply(ctx, r, strings.Join(lines, "\n"))
}
