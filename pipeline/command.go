// The command flow: a chat message, a mute to enforce, a command to
// parse, decide on and carry out, and what the chat is told.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

func (p *Pipeline) handleMessage(ctx context.Context, r *run) {
	plat, msg, log := r.plat, r.msg, r.log

	p.flush(ctx, r) // enforcing a mute may recall: nothing staged waits behind it
	if p.verifyAnswer(ctx, r, true) {
		return // an unverified joiner's message: held, and maybe an answer
	}
	handled, err := p.mutes.enforce(ctx, log, plat, msg)
	r.fail(err)
	if handled {
		return
	}
	parser := p.parsers[plat.Name()]
	if !parser.IsCommand(msg.Text) {
		return // ordinary chat, or a /word that is not Gavel's: no reply
	}
	botID, err := plat.BotID(ctx)
	if err != nil {
		log.Error("cannot learn the bot's own id; command ignored", "err", err)
		r.fail(err)
		return
	}
	if msg.SenderID == botID {
		return
	}
	p.resolveReplySender(ctx, r)
	cmd, perr := parser.Parse(msg, botID)
	if errors.Is(perr, commands.ErrNotCommand) {
		return
	}
	c := &moderation.Case{
		DeliveryID: r.ev.DeliveryID, Platform: r.ev.Platform, ChatID: msg.Chat.ID, Actor: msg.SenderID,
		Verb: cmd.Verb, Targets: cmd.Targets, Reason: cmd.Reason, Duration: cmd.Duration, At: p.now(),
	}
	switch reason := p.policy.AllowCommand(msg.Chat, msg.SenderID); reason {
	case policy.OK:
	case policy.ChatDisabled:
		log.Debug("command in a disabled chat ignored", "actor", msg.SenderID)
		return
	default:
		// Replying to a flood of commands would make Gavel the flood.
		log.Warn("command refused", "actor", msg.SenderID, "reason", reason)
		c.Outcome = moderation.RefusedOutcome(reason)
		p.record(ctx, r, c)
		return
	}
	if v, _ := parser.VerbOf(msg.Text); v == moderation.VerbReport && p.cfg.Reports.Enabled {
		p.report(ctx, r, cmd, perr, botID) // any member may report
		return
	}
	// Who asks decides how much Gavel says: to users who may not
	// moderate it gives at most one short reply per chat per
	// policy.refusal_interval, never a usage lesson, so that a few
	// members cannot make Gavel the flood.
	mod, err := p.mayModerate(ctx, r)
	if err != nil {
		if p.retryLater(r, err) {
			return
		}
		log.Error("role lookup failed", "actor", msg.SenderID, "err", err)
		if p.policy.AllowRefusal(msg.Chat) {
			p.reply(ctx, r, p.text.platformError(plat.Name(), err))
		}
		return
	}
	if !mod {
		p.answerMember(ctx, r, cmd, perr, c)
		return
	}
	if perr != nil {
		log.Info("bad command", "actor", msg.SenderID, "err", perr)
		if r.replyToBot && errors.Is(perr, commands.ErrReplySenderUnknown) {
			p.reply(ctx, r, p.text.replyToBot())
			return
		}
		p.reply(ctx, r, p.text.usage(perr))
		return
	}
	// max_targets is the one limit on a command's targets, checked here
	// once for every verb: beyond it, a usage reply and nothing else.
	if !p.policy.TargetsAllowed(len(cmd.Targets)) {
		log.Info("command names too many targets", "actor", msg.SenderID, "targets", len(cmd.Targets))
		c.Outcome = moderation.RefusedOutcome(policy.TooManyTargets)
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.tooMany(len(cmd.Targets), p.policy.MaxTargets()))
		return
	}
	if p.confirmation(ctx, r, cmd, botID, c) { // confirm.go: /confirm, /cancel, held commands
		return
	}
	switch cmd.Verb {
	case moderation.VerbWarn, moderation.VerbUnwarn, moderation.VerbWarnings:
		p.warnCommand(ctx, r, cmd, botID, c)
	case moderation.VerbHelp:
		text := p.text.help(p.prefixes[0])
		if caps, err := plat.Capabilities(ctx, r.chat); err == nil {
			text += "\n" + p.text.capabilities(caps)
		}
		p.reply(ctx, r, text)
	case moderation.VerbCase:
		p.showCase(ctx, r, cmd.CaseID)
	case moderation.VerbUndo:
		p.undoCommand(ctx, r, cmd)
	case moderation.VerbLock, moderation.VerbUnlock:
		p.lockCommand(ctx, r, cmd, c)
	case moderation.VerbPurge:
		if len(cmd.Targets) == 0 {
			p.purgeCommand(ctx, r, cmd, c)
			return
		}
		p.runCommand(ctx, r, cmd, botID, c)
	default:
		p.runCommand(ctx, r, cmd, botID, c)
	}
}

// mayModerate reports whether the sender of the run's message may
// moderate its chat: one of Gavel's configured admins (no platform call),
// else by the chat role (cached).
func (p *Pipeline) mayModerate(ctx context.Context, r *run) (bool, error) {
	msg := r.msg
	if p.policy.IsConfiguredAdmin(msg.Chat, msg.SenderID) {
		return true, nil
	}
	roles, err := p.roles(ctx, r, []string{msg.SenderID})
	if err != nil {
		return false, err
	}
	return p.policy.MayModerate(msg.Chat, msg.SenderID, roles[msg.SenderID]), nil
}

// answerMember answers a command from a user who may not moderate: /help
// gets the help text, anything else (a malformed command included) a
// short refusal and a case; either only if the chat's refusal interval
// has passed, else nothing.
func (p *Pipeline) answerMember(ctx context.Context, r *run, cmd moderation.Command, perr error, c *moderation.Case) {
	text := p.text.help(p.prefixes[0])
	if perr != nil || cmd.Verb != moderation.VerbHelp {
		c.Outcome = moderation.RefusedOutcome(policy.ActorNotAdmin)
		p.record(ctx, r, c)
		text = p.text.notModerator(cmd.Verb)
	}
	if !p.policy.AllowRefusal(r.chat) {
		r.log.Debug("no reply: the chat had one within policy.refusal_interval", "actor", r.msg.SenderID)
		return
	}
	p.reply(ctx, r, text)
}

func (p *Pipeline) runCommand(ctx context.Context, r *run, cmd moderation.Command, botID string, c *moderation.Case) {
	plat, msg := r.plat, r.msg
	log := r.log.With("action", cmd.Verb, "actor", msg.SenderID)
	r.log = log
	names := displayNames(msg)

	caps, err := plat.Capabilities(ctx, msg.Chat)
	if err != nil && p.retryLater(r, err) {
		return
	}
	if err != nil {
		log.Error("capabilities lookup failed", "err", err)
		c.Outcome = moderation.OutcomeErrorCapabilities
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.platformError(plat.Name(), err))
		return
	}
	support := caps[cmd.Verb]
	if support == moderation.Unsupported || support == "" {
		c.Outcome = moderation.OutcomeUnsupported
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.unsupported(cmd.Verb, msg.Chat.Kind))
		return
	}
	// Roles are looked up one chunk of targets at a time when the
	// platform takes a bounded number per call, the next chunk's while
	// the current one is acted on: a mass action then starts after one
	// role call instead of all of them.
	chunks := [][]string{cmd.Targets}
	if rb := plat.Limits().RoleBatch; rb > 0 && len(cmd.Targets) > rb {
		chunks = slices.Collect(slices.Chunk(cmd.Targets, rb))
	}
	roles, err := p.roles(ctx, r, append([]string{msg.SenderID}, chunks[0]...))
	if err != nil && p.retryLater(r, err) {
		return
	}
	if err != nil {
		log.Error("role lookup failed", "err", err)
		c.Outcome = moderation.OutcomeErrorRoles
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.platformError(plat.Name(), err))
		return
	}
	decide := func(targets []string, roles map[string]moderation.Role) policy.Verdict {
		return p.policy.Decide(policy.Request{Chat: msg.Chat, ActorID: msg.SenderID, BotID: botID, Command: withTargets(cmd, targets), Roles: roles})
	}
	v := decide(chunks[0], roles)
	if !v.Allowed {
		c.Decisions = v.Decisions
		log.Info("command refused", "reason", v.Reason)
		c.Outcome = moderation.RefusedOutcome(v.Reason)
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.refused(v.Reason, cmd.Verb))
		return
	}
	actorRole := roles[msg.SenderID]

	dur := p.duration(cmd)
	c.Duration = dur
	opts := moderation.ActionOptions{ActionID: c.DeliveryID + "/" + string(cmd.Verb), Reason: cmd.Reason, Silent: cmd.Silent}
	results := make([]moderation.Result, 0, len(cmd.Targets))
	type lookup struct {
		roles map[string]moderation.Role
		err   error
	}
	ahead := make(chan lookup, 1) // at most one look-up in flight
	fetch := func(i int) {
		if i < len(chunks) {
			go func() {
				rs, err := p.roles(ctx, r, chunks[i])
				ahead <- lookup{rs, err}
			}()
		}
	}
	fetch(1)
	for i, chunk := range chunks {
		cv := v
		if i > 0 {
			got := <-ahead
			fetch(i + 1)
			if got.err != nil {
				// Transient or not, these targets were not acted on; a
				// retry of the job looks them up again.
				log.Warn("role lookup failed for a chunk of targets", "targets", len(chunk), "err", got.err)
				for _, t := range chunk {
					c.Decisions = append(c.Decisions, moderation.Decision{Target: t, Reason: moderation.ReasonRolesUnavailable})
					results = append(results, moderation.Result{UserID: t, Status: moderation.StatusFailed, Reason: moderation.ReasonRolesUnavailable, Detail: got.err.Error()})
				}
				continue
			}
			got.roles[msg.SenderID] = actorRole
			cv = decide(chunk, got.roles)
		}
		c.Decisions = append(c.Decisions, cv.Decisions...)
		results = append(results, p.actOn(ctx, r, action{verb: cmd.Verb, support: support, d: dur, opts: opts, step: moderation.ActionStep(cmd.Verb), count: cmd.Count}, cv)...)
	}
	note := ""
	if cmd.Purge && !v.DryRun {
		// -p: the messages of the targets the kick or ban reached.
		var gone []string
		for _, x := range results {
			if x.Status.Succeeded() {
				gone = append(gone, x.UserID)
			}
		}
		note = p.text.purgedNote(p.purgeUsers(ctx, r, gone, cmd.Count, false))
	}
	// An emulated ban says so: in the adapter's words when it gave some
	// (the summary shows them), else in Gavel's.
	if cmd.Verb == moderation.VerbBan && support == moderation.Emulated && !v.DryRun && slices.ContainsFunc(results, func(x moderation.Result) bool {
		return x.Status == moderation.StatusDone
	}) && !slices.ContainsFunc(results, func(x moderation.Result) bool {
		return x.Status == moderation.StatusDone && x.Detail != ""
	}) {
		note = p.text.banEmulated(plat.Name()) + note
	}

	if !r.last {
		var failed int
		for _, res := range results {
			if res.Status == moderation.StatusFailed {
				failed++
			}
		}
		if failed > 0 {
			log.Warn("targets failed transiently; the job will run again for them", "failed", failed)
			r.fail(fmt.Errorf("%w: %d of %d", ErrIncomplete, failed, len(results)))
			return
		}
	}
	c.Results = results
	c.Outcome = outcome(results)
	p.record(ctx, r, c)
	p.reply(ctx, r, p.text.summary(cmd, dur, v.DryRun, results, names, plat.Limits().Reply-len(note))+note)
}

// actOn carries out one verdict: refused targets keep their reason,
// allowed ones are skipped in a dry run and acted on otherwise. Results
// are in the order of v.Decisions.
func (p *Pipeline) actOn(ctx context.Context, r *run, a action, v policy.Verdict) []moderation.Result {
	results := make([]moderation.Result, len(v.Decisions))
	var allowed []string
	idx := map[string]int{}
	for i, d := range v.Decisions {
		results[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusRefused, Reason: d.Reason}
		if d.Allowed {
			idx[d.Target] = i
			allowed = append(allowed, d.Target)
		}
	}
	switch {
	case v.DryRun:
		for _, u := range allowed {
			results[idx[u]] = moderation.Result{UserID: u, Status: moderation.StatusSkipped, Reason: moderation.ReasonDryRun}
		}
	case len(allowed) > 0:
		act := p.execute
		if a.verb == moderation.VerbPurge { // /purge @a: their messages, not them
			act = func(ctx context.Context, r *run, a action, users []string) []moderation.Result {
				return p.purgeUsers(ctx, r, users, a.count, false)
			}
		}
		for _, res := range act(ctx, r, a, allowed) {
			if i, ok := idx[res.UserID]; ok {
				results[i] = res
			}
		}
	}
	return results
}

// withTargets returns cmd naming only targets.
func withTargets(cmd moderation.Command, targets []string) moderation.Command {
	cmd.Targets = targets
	return cmd
}

// retryLater reports whether err may pass and the job has attempts left;
// if so it marks the run for a retry.
func (p *Pipeline) retryLater(r *run, err error) bool {
	if r.last || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Kind == moderation.Permanent {
		return false
	}
	r.log.Warn("lookup failed transiently; the job will run again", "err", err)
	r.fail(fmt.Errorf("%w: %w", ErrIncomplete, err))
	return true
}

// duration is the length of a /mute or /ban: a ban's is the command's or
// until /unban; a mute's is the command's, else the mute defaults, which
// live only under moderation: (default_mute, allow_permanent_mute) for
// every platform.
func (p *Pipeline) duration(cmd moderation.Command) time.Duration {
	switch {
	case cmd.Verb == moderation.VerbBan:
		return sanctionDuration(cmd.Duration)
	case cmd.Verb != moderation.VerbMute:
		return 0
	case cmd.Duration > 0:
		return cmd.Duration
	case p.cfg.AllowPermanentMute:
		return moderation.MuteForever
	default:
		return p.cfg.DefaultMute
	}
}

func displayNames(msg *moderation.Message) map[string]string {
	names := map[string]string{}
	for _, m := range msg.Mentions {
		if m.Name != "" {
			names[m.UserID] = m.Name
		}
	}
	return names
}

// showCase answers /case N: the audit record of case N of this chat, to
// the chat's owner, managers and Gavel admins.
func (p *Pipeline) showCase(ctx context.Context, r *run, id int64) {
	plat, msg := r.plat, r.msg
	roles, err := p.roles(ctx, r, []string{msg.SenderID})
	if err != nil {
		p.reply(ctx, r, p.text.platformError(plat.Name(), err))
		return
	}
	if !p.policy.MayModerate(msg.Chat, msg.SenderID, roles[msg.SenderID]) {
		p.reply(ctx, r, p.text.refused(policy.ActorNotAdmin, moderation.VerbCase))
		return
	}
	c, err := p.store.Case(ctx, id)
	switch {
	case errors.Is(err, moderation.ErrNotFound), err == nil && (c.Platform != msg.Chat.Platform || c.ChatID != msg.Chat.ID):
		p.reply(ctx, r, p.text.noCase(id))
	case err != nil:
		r.fail(err)
		r.log.Error("reading case failed", "case", id, "err", err)
	default:
		p.reply(ctx, r, p.text.caseText(c))
	}
}
