// Member reports (#19): /report (/举报) by any member, as a reply to a
// message or naming a user. Each report is a case; the reporter is never
// named in the chat; reports by one reporter are rate-limited and counted
// once per (reporter, message); enough distinct reporters within a
// window make Gavel act on the reported user, through policy, once.
// Each report case goes to the mod-log (modlog:) like every case, on
// Feishu as a card whose Mute, Kick, Ban and Dismiss act on the reported
// user (modLogButtons; the presses are the action flow's).

package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// reportsRule names the action a report threshold takes in cases.
const reportsRule = "reports"

// marksNewcomers reports whether joins are recorded for reports (their
// newcomers' reports do not count).
func (p *Pipeline) marksNewcomers() bool {
	return p.cfg.Reports.Enabled && p.cfg.Reports.NewcomerAge > 0
}

// markNewcomers records the run's joiners as newcomers until
// reports.newcomer_age has passed.
func (p *Pipeline) markNewcomers(ctx context.Context, r *run) {
	if !p.marksNewcomers() {
		return
	}
	until := p.now().Add(p.cfg.Reports.NewcomerAge)
	for _, u := range r.ev.Join.UserIDs {
		s := moderation.Sanction{Verb: moderation.VerbNewcomer, Chat: r.chat, UserID: u, Until: until}
		if r.fail(p.sanctions.record(ctx, s)); r.err != nil {
			return
		}
	}
}

// report handles /report from anyone. perr is the parse's error.
func (p *Pipeline) report(ctx context.Context, r *run, cmd moderation.Command, perr error, botID string) {
	msg, cfg := r.msg, p.cfg.Reports
	reporter := msg.SenderID
	if perr != nil || len(cmd.Targets) != 1 {
		r.log.Info("bad report", "actor", reporter, "err", perr, "targets", len(cmd.Targets))
		if p.policy.AllowRefusal(r.chat) {
			p.reply(ctx, r, p.text.reportUsage(p.prefixes[0]))
		}
		return
	}
	target := cmd.Targets[0]
	if target == reporter || target == botID {
		r.log.Info("report of oneself or of the bot ignored", "actor", reporter)
		return
	}
	subject := "user:" + target
	if msg.ReplyTo != nil && msg.ReplyTo.SenderID == target && msg.ReplyTo.ID != "" {
		subject = "message:" + msg.ReplyTo.ID
	}
	now := p.now()
	mine, err := p.store.Cases(ctx, moderation.CaseFilter{Platform: r.chat.Platform, ChatID: r.chat.ID, UserID: reporter, Since: now.Add(-max(cfg.Window, time.Hour))})
	if err != nil {
		r.fail(err)
		return
	}
	// One case per (reporter, subject): a repeat within the look-back is
	// found below; the key's window bucket keeps a report made again
	// later from mapping onto the old case (AddCase's idempotency).
	prefix := "report:" + r.chat.String() + ":" + reporter + ":" + subject + "@"
	key := prefix + strconv.FormatInt(now.Truncate(cfg.Window).Unix(), 10)
	recent := 0
	for _, c := range mine {
		if c.Verb != moderation.VerbReport || c.Actor != reporter {
			continue
		}
		if strings.HasPrefix(c.DeliveryID, prefix) && !c.At.Before(now.Add(-cfg.Window)) {
			r.log.Info("repeated report counts once", "actor", reporter, "subject", subject)
			return
		}
		if !c.At.Before(now.Add(-time.Hour)) {
			recent++
		}
	}
	if recent >= cfg.PerHour {
		r.log.Warn("report ignored: the reporter's hourly limit is reached", "actor", reporter, "limit", cfg.PerHour)
		return
	}
	_, newcomer, err := p.store.ActiveSanction(ctx, moderation.VerbNewcomer, r.chat, reporter, now)
	if err != nil {
		r.fail(err)
		return
	}
	res := moderation.Result{UserID: target, Status: moderation.StatusDone}
	if newcomer {
		res = moderation.Result{UserID: target, Status: moderation.StatusSkipped, Reason: moderation.ReasonNewcomer,
			Detail: "the reporter joined recently: the report does not count towards a threshold"}
	}
	reason := cmd.Reason
	if strings.HasPrefix(subject, "message:") {
		reason = strings.TrimSpace(fmt.Sprintf(p.text.pick("message %s. %s", "消息 %s。%s"), strings.TrimPrefix(subject, "message:"), reason))
	}
	c := &moderation.Case{DeliveryID: key, Platform: r.chat.Platform, ChatID: r.chat.ID, Actor: reporter, Verb: moderation.VerbReport,
		Targets: []string{target}, Reason: reason, At: now, Outcome: moderation.OutcomeDone, Results: []moderation.Result{res}}
	p.record(ctx, r, c)
	if r.err != nil {
		return
	}
	// The report itself is recalled (best effort) and the chat told
	// without a name: the reporter is never named in the chat.
	p.flush(ctx, r)
	if err := r.plat.Recall(ctx, r.chat, msg.MessageID); err != nil {
		r.log.Info("could not recall the /report message", "err", err)
	}
	if cfg.Ack == "reply" {
		r.msg = &moderation.Message{Chat: r.chat} // to the chat, not as a reply
		_, modlog := p.modlog.chatFor(r.chat)
		p.reply(ctx, r, p.text.reportAck(modlog))
		r.msg = msg
	}
	if cfg.ActAt > 0 && !newcomer {
		p.reportThreshold(ctx, r, c)
	}
}

// reportThreshold acts on the reported user once enough distinct
// reporters (newcomers aside) reported them within reports.window, and
// not again within the window.
func (p *Pipeline) reportThreshold(ctx context.Context, r *run, last *moderation.Case) {
	cfg := p.cfg.Reports
	target := last.Targets[0]
	cases, err := p.store.Cases(ctx, moderation.CaseFilter{Platform: r.chat.Platform, ChatID: r.chat.ID, UserID: target, Since: p.now().Add(-cfg.Window)})
	if err != nil {
		r.fail(err)
		return
	}
	reporters := map[string]bool{}
	for _, c := range cases {
		switch {
		case c.Rule == reportsRule && len(c.Targets) == 1 && c.Targets[0] == target && c.ID != last.ID:
			r.log.Debug("report threshold already acted on in this window", "target", target, "case", c.ID)
			return
		case c.Verb == moderation.VerbReport && len(c.Results) == 1 && c.Results[0].Status == moderation.StatusDone &&
			len(c.Targets) == 1 && c.Targets[0] == target:
			// A report of target (the look-up also finds target's own
			// reports of others, by actor).
			reporters[c.Actor] = true
		}
	}
	reporters[last.Actor] = true
	if len(reporters) < cfg.ActAt {
		return
	}
	spec, err := parseSanction(cfg.Action)
	if err != nil {
		r.log.Error("reports.action unreadable", "err", err) // validated at start
		return
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	roles, err := p.roles(ctx, r, []string{target})
	if err != nil {
		if !p.retryLater(r, err) {
			r.log.Error("role lookup for a report threshold failed", "err", err)
		}
		return
	}
	d := spec.d
	switch {
	case spec.verb == moderation.VerbBan && d == 0:
		d = moderation.Forever
	case spec.verb == moderation.VerbMute:
		d = p.duration(moderation.Command{Verb: moderation.VerbMute, Duration: d})
	}
	decisions := p.policy.DecideTargets(r.chat, botID, []string{target}, roles)
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: r.chat.Platform, ChatID: r.chat.ID, Rule: reportsRule, Verb: spec.verb,
		Targets: []string{target}, Reason: fmt.Sprintf("%d reporters", len(reporters)), Duration: d, Decisions: decisions,
		At: p.now(), Related: last.ID}
	if !decisions[0].Allowed {
		c.Outcome = moderation.RefusedOutcome(decisions[0].Reason)
		r.log.Info("report threshold reached on an exempt user: no action", "target", target, "reason", decisions[0].Reason)
		p.record(ctx, r, c)
		return
	}
	c.Results = p.act(ctx, r, action{verb: spec.verb, d: d, step: moderation.RuleStep(reportsRule, spec.verb)}, c.Targets, "")
	if r.err != nil && !r.last {
		return
	}
	c.Outcome = outcome(c.Results)
	p.record(ctx, r, c)
	p.notice(ctx, r, p.text.ruleNotice(c))
}
