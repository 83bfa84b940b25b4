// The verbs of issue #16 inside the shared flows: ban and unban as
// batches with their sanction records, lock and unlock of the chat, and
// purges of recent messages.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// sanctionBatch is executeBatch for ban, unban and purge: one platform
// call, then the records. handled is false for other verbs.
func (p *Pipeline) sanctionBatch(ctx context.Context, r *run, a action, ids []string) (res []moderation.Result, handled bool) {
	plat, chat := r.plat, r.chat
	switch a.verb {
	case moderation.VerbBan:
		res = plat.Ban(ctx, chat, ids, a.d, a.opts)
		until := p.sanctions.until(a.d)
		var gone []string
		for i, x := range res {
			if !x.Status.Succeeded() {
				continue
			}
			gone = append(gone, x.UserID)
			// Without its record an emulated ban keeps nobody out and a
			// timed one never ends: the target is not banned.
			if err := p.sanctions.record(ctx, moderation.Sanction{Verb: moderation.VerbBan, Chat: chat, UserID: x.UserID, Until: until}); err != nil {
				res[i] = moderation.Result{UserID: x.UserID, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
			}
		}
		if err := p.roleCache.Forget(ctx, chat, gone); err != nil {
			r.log.Warn("role cache unavailable", "err", err)
		}
		return res, true
	case moderation.VerbUnban:
		res = plat.Unban(ctx, chat, ids, a.opts)
		for _, x := range res {
			if x.Status.Succeeded() {
				if err := p.sanctions.end(ctx, moderation.VerbBan, chat, x.UserID); err != nil {
					r.log.Error("deleting a ban record failed", "user", x.UserID, "err", err)
				}
			}
		}
		return res, true
	case moderation.VerbPurge:
		msgs := make([]moderation.MessageRef, len(ids))
		for i, id := range ids {
			msgs[i] = a.msgs[id]
		}
		res = plat.RecallMessages(ctx, chat, msgs, a.opts)
		var gone []moderation.MessageRef
		for i, x := range res {
			if x.Status.Succeeded() && i < len(msgs) {
				gone = append(gone, msgs[i])
			}
		}
		if err := p.recent.Forget(ctx, chat, gone); err != nil {
			r.log.Warn("recent-message index unavailable", "err", err)
		}
		return res, true
	}
	return nil, false
}

// sanctionDuration is the length of a /ban or /lock: the command's, else
// until lifted.
func sanctionDuration(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return moderation.Forever
}

// setLock locks (for d: Forever until /unlock) or unlocks the run's chat
// and keeps the lock's record: a timed lock ends through a timer, an
// unlock drops it.
func (p *Pipeline) setLock(ctx context.Context, r *run, verb moderation.Verb, d time.Duration, opts moderation.ActionOptions) moderation.Result {
	p.flush(ctx, r) // nothing staged waits behind the platform call
	var res moderation.Result
	var err error
	if verb == moderation.VerbLock {
		if res = r.plat.Lock(ctx, r.chat, p.lockSpeakers(ctx, r), opts); res.Status.Succeeded() {
			err = p.sanctions.record(ctx, moderation.Sanction{Verb: moderation.VerbLock, Chat: r.chat, Until: p.sanctions.until(d)})
		}
	} else if res = r.plat.Unlock(ctx, r.chat, opts); res.Status.Succeeded() {
		err = p.sanctions.end(ctx, moderation.VerbLock, r.chat, "")
	}
	if err != nil {
		r.log.Error("recording a lock change failed", "verb", verb, "err", err)
		if verb == moderation.VerbLock && d > 0 {
			res.Detail = "locked, but the end of the lock could not be recorded: /unlock ends it"
		}
	}
	return res
}

// lockSpeakers are the policy.admins of the run's platform who are
// members of its chat but not its owner or admins: a lock must leave them
// speaking too. Unknown roles leave a user out (the lock still holds).
func (p *Pipeline) lockSpeakers(ctx context.Context, r *run) []string {
	admins := p.policy.Admins(r.plat.Name())
	if len(admins) == 0 {
		return nil
	}
	for i, a := range admins {
		admins[i] = r.plat.CanonicalUserID(a)
	}
	roles, err := p.roles(ctx, r, admins)
	if err != nil {
		r.log.Warn("roles of policy.admins unknown; the lock exempts none of them", "err", err)
		return nil
	}
	var out []string
	for _, a := range admins {
		if roles[a] == moderation.RoleMember {
			out = append(out, a)
		}
	}
	return out
}

// lockCommand answers /lock and /unlock.
func (p *Pipeline) lockCommand(ctx context.Context, r *run, cmd moderation.Command, c *moderation.Case) {
	if _, ok := p.supported(ctx, r, cmd.Verb, c); !ok {
		return
	}
	d := time.Duration(0)
	if cmd.Verb == moderation.VerbLock {
		d = sanctionDuration(cmd.Duration)
		c.Duration = d
	}
	opts := moderation.ActionOptions{ActionID: c.DeliveryID + "/" + string(cmd.Verb), Reason: cmd.Reason, Silent: cmd.Silent}
	res := p.setLock(ctx, r, cmd.Verb, d, opts)
	if res.Status == moderation.StatusFailed && p.retryLater(r, errors.New(res.Detail)) {
		return
	}
	c.Results = []moderation.Result{res}
	c.Outcome = outcome(c.Results)
	p.record(ctx, r, c)
	p.reply(ctx, r, p.text.lockDone(cmd.Verb, d, cmd.Reason, res))
}

// supported checks that the run's chat supports verb; when not (or the
// platform could not say) it records c and replies, and ok is false.
func (p *Pipeline) supported(ctx context.Context, r *run, verb moderation.Verb, c *moderation.Case) (moderation.Support, bool) {
	caps, err := r.plat.Capabilities(ctx, r.chat)
	if err != nil && p.retryLater(r, err) {
		return "", false
	}
	if err != nil {
		r.log.Error("capabilities lookup failed", "err", err)
		c.Outcome = moderation.OutcomeErrorCapabilities
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.platformError(r.plat.Name(), err))
		return "", false
	}
	support := caps[verb]
	if support == moderation.Unsupported || support == "" {
		c.Outcome = moderation.OutcomeUnsupported
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.unsupported(verb, r.chat.Kind))
		return "", false
	}
	return support, true
}

// purgeCommand answers /purge N: the chat's last N messages before it.
func (p *Pipeline) purgeCommand(ctx context.Context, r *run, cmd moderation.Command, c *moderation.Case) {
	if _, ok := p.supported(ctx, r, moderation.VerbPurge, c); !ok {
		return
	}
	results, err := p.purge(ctx, r, "", cmd.Count, false)
	if err != nil {
		if p.retryLater(r, err) {
			return
		}
		r.log.Error("listing messages to purge failed", "err", err)
		c.Outcome = moderation.OutcomeErrorCapabilities
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.platformError(r.plat.Name(), err))
		return
	}
	if incomplete(r, results) {
		return
	}
	c.Results = results
	c.Outcome = outcome(results)
	if len(results) == 0 {
		c.Outcome = moderation.OutcomeDone
	}
	p.record(ctx, r, c)
	p.reply(ctx, r, p.text.purged(cmd.Count, results))
}

// incomplete reports (and marks the run for a retry) when results hold a
// transient failure and the job has attempts left.
func incomplete(r *run, results []moderation.Result) bool {
	if r.last {
		return false
	}
	for _, x := range results {
		if x.Status == moderation.StatusFailed {
			r.fail(fmt.Errorf("%w: %s", ErrIncomplete, x.UserID))
			return true
		}
	}
	return false
}

// purge recalls up to n of the chat's latest messages (sent by sender
// when set): from the platform's history when it has one Gavel may read,
// else from the messages Gavel saw. A command's purge takes those before
// the command (which stays); a rule's takes the offender's latest, the
// one that matched included. Results are per message, in the order
// recalled (newest first).
func (p *Pipeline) purge(ctx context.Context, r *run, sender string, n int, byRule bool) ([]moderation.Result, error) {
	q := RecentQuery{N: n, Sender: sender, Now: p.now()}
	if r.msg != nil && !byRule {
		q.Before = moderation.MessageRef{ID: r.msg.MessageID, SenderID: r.msg.SenderID, SentAt: r.msg.SentAt}
	}
	msgs, err := p.purgePlan(ctx, r, q)
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	byID := make(map[string]moderation.MessageRef, len(msgs))
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		byID[m.ID] = m
		ids[i] = m.ID
	}
	step := moderation.ActionStep(moderation.VerbPurge)
	a := action{verb: moderation.VerbPurge, step: step, msgs: byID, opts: moderation.ActionOptions{ActionID: r.ev.DeliveryID + "/" + string(step)}}
	return p.execute(ctx, r, a, ids), nil
}

// purgePlan chooses the messages a purge recalls and stages the choice:
// a re-run of the job (after a crash, or a retry of transient failures)
// reads it back and recalls the same messages, never older ones in
// place of those already gone.
func (p *Pipeline) purgePlan(ctx context.Context, r *run, q RecentQuery) ([]moderation.MessageRef, error) {
	step := moderation.PurgePlanStep(q.Sender)
	if !r.fresh {
		p.flush(ctx, r)
		prior, err := p.store.Results(ctx, r.jobID, step)
		if err != nil {
			r.fail(err)
			return nil, err
		}
		if len(prior) > 0 {
			msgs := make([]moderation.MessageRef, 0, len(prior))
			for _, x := range prior {
				ms, sender, _ := strings.Cut(x.Detail, "|")
				t, _ := strconv.ParseInt(ms, 10, 64)
				msgs = append(msgs, moderation.MessageRef{ID: x.UserID, SenderID: sender, SentAt: time.UnixMilli(t)})
			}
			slices.SortFunc(msgs, func(a, b moderation.MessageRef) int { return b.SentAt.Compare(a.SentAt) })
			return msgs, nil
		}
	}
	// One sender's messages are looked for among the chat's recent ones.
	want := q.N + 1 // and the command itself
	if q.Sender != "" {
		want = p.cfg.Recent.PerChat
	}
	all, err := r.plat.RecentMessages(ctx, r.chat, want)
	// The history is newest first: messages sent after the command take
	// places in it, so a full list may hold fewer than N before the
	// command. Read further past them: exactly as far as needed once
	// the command is in the list, twice as far while it is not (a few
	// times: more may come meanwhile).
	for range 5 {
		if err != nil || q.Sender != "" || q.Before.ID == "" || len(all) < want || len(selectRecent(all, q, p.cfg.Recent.MaxAge)) >= q.N {
			break
		}
		later, reached := 0, false // the command and what came after it
		for _, m := range all {
			if m.ID == q.Before.ID || m.SentAt.After(q.Before.SentAt) {
				later++
			} else {
				reached = true
			}
		}
		next := q.N + later
		if !reached {
			next = max(next, 2*want)
		}
		if next <= want {
			break // the rest are too old (moderation.recent.max_age)
		}
		want = next
		all, err = r.plat.RecentMessages(ctx, r.chat, want)
	}
	if errors.Is(err, moderation.ErrUnsupported) {
		all, err = p.recent.Recent(ctx, r.chat)
	}
	if err != nil {
		return nil, fmt.Errorf("listing recent messages: %w", err)
	}
	msgs := selectRecent(all, q, p.cfg.Recent.MaxAge)
	plan := make([]moderation.Result, len(msgs))
	for i, m := range msgs {
		plan[i] = moderation.Result{UserID: m.ID, Status: moderation.StatusSkipped, Detail: strconv.FormatInt(m.SentAt.UnixMilli(), 10) + "|" + m.SenderID}
	}
	p.stage(r, step, plan)
	return msgs, nil
}

// purgeUsers recalls each user's last n messages (/purge @a, /kick -p,
// /ban -p, a rule's purge) and returns one Result per user: done when
// all were recalled (Detail counts them), no-op when there were none.
func (p *Pipeline) purgeUsers(ctx context.Context, r *run, users []string, n int, byRule bool) []moderation.Result {
	out := make([]moderation.Result, len(users))
	for i, u := range users {
		res, err := p.purge(ctx, r, u, n, byRule)
		if err != nil {
			p.retryLater(r, err)
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonRecallFailed, Detail: err.Error()}
			continue
		}
		out[i] = purgedUser(u, res)
	}
	return out
}

// purgedUser sums up one user's recalls.
func purgedUser(user string, res []moderation.Result) moderation.Result {
	ok, worst := 0, moderation.Result{}
	for _, x := range res {
		if x.Status.Succeeded() {
			ok++
		} else if worst.Status == "" || x.Status == moderation.StatusFailed {
			worst = x
		}
	}
	switch {
	case len(res) == 0:
		return moderation.Result{UserID: user, Status: moderation.StatusNoop, Detail: "0/0"}
	case worst.Status == "":
		return moderation.Result{UserID: user, Status: moderation.StatusDone, Detail: fmt.Sprintf("%d/%d", ok, len(res))}
	default:
		return moderation.Result{UserID: user, Status: worst.Status, Reason: worst.Reason, Detail: fmt.Sprintf("%d/%d: %s", ok, len(res), worst.Detail)}
	}
}

// msgCount reads the "k/n" a purge result's Detail starts with.
func msgCount(r moderation.Result) (recalled, found int) {
	fmt.Sscanf(r.Detail, "%d/%d", &recalled, &found)
	return recalled, found
}

// lockHit carries out a rule's lock (the raid rule's `lock 10m`): once
// per lock — a chat already locked (by an admin, or by this rule for an
// earlier joiner of the same raid) is left as it is, not extended.
func (p *Pipeline) lockHit(ctx context.Context, r *run, h moderation.RuleHit) {
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: r.chat.Platform, ChatID: r.chat.ID, Rule: h.Rule,
		Verb: moderation.VerbLock, Reason: h.Match, DryRun: h.DryRun, Duration: sanctionDuration(h.Duration), At: p.now()}
	p.obs.RuleHit(r.chat.Platform, h.Rule, string(moderation.VerbLock), h.DryRun)
	if h.DryRun {
		c.Results = []moderation.Result{{Status: moderation.StatusSkipped, Reason: moderation.ReasonDryRun}}
		c.Outcome = moderation.OutcomeDone
		p.record(ctx, r, c)
		return
	}
	_, locked, err := p.store.ActiveSanction(ctx, moderation.VerbLock, r.chat, "", p.now())
	if err != nil {
		r.fail(err)
		return
	}
	if locked {
		r.log.Info("rule lock: the chat is locked already", "rule", h.Rule)
		return
	}
	caps, err := r.plat.Capabilities(ctx, r.chat)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	if s := caps[moderation.VerbLock]; s == moderation.Unsupported || s == "" {
		c.Outcome = moderation.OutcomeUnsupported
		p.record(ctx, r, c)
		return
	}
	step := moderation.RuleStep(h.Rule, moderation.VerbLock)
	res := p.setLock(ctx, r, moderation.VerbLock, c.Duration, moderation.ActionOptions{ActionID: r.ev.DeliveryID + "/" + string(step)})
	if incomplete(r, []moderation.Result{res}) {
		return
	}
	c.Results = []moderation.Result{res}
	c.Outcome = outcome(c.Results)
	p.record(ctx, r, c)
	if res.Status.Succeeded() {
		p.notice(ctx, r, p.text.lockNotice(c))
	}
}

// resolveReplySender fills in the sender of the message a command
// replies to when the event did not carry it: from the messages Gavel
// saw (TIM's reply references give the replied-to MsgSeq), else from the
// platform (Feishu's parent_id). Without it a reply-targeted command is
// refused (commands.ErrReplySenderUnknown), never guessed.
func (p *Pipeline) resolveReplySender(ctx context.Context, r *run) {
	rt := r.msg.ReplyTo
	if rt == nil || rt.SenderID != "" || rt.ID == "" {
		return
	}
	sender := ""
	if known, err := p.recent.Recent(ctx, r.chat); err == nil {
		for _, m := range known {
			if m.ID == rt.ID {
				sender = m.SenderID
				break
			}
		}
	}
	if sender == "" {
		s, err := r.plat.MessageSender(ctx, r.chat, rt.ID)
		r.replyToBot = errors.Is(err, moderation.ErrBotSender)
		if err != nil && !errors.Is(err, moderation.ErrUnsupported) && !r.replyToBot {
			r.log.Warn("cannot learn who sent the replied-to message", "message_id", rt.ID, "err", err)
		}
		sender = s
	}
	if sender != "" {
		cp := *rt
		cp.SenderID = r.plat.CanonicalUserID(sender)
		r.msg.ReplyTo = &cp
	}
}
