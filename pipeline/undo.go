// The undo flow: /undo N and a mod-log card's Undo. Case N is reversed
// exactly — the users a kick removed are added back, a mute is lifted, a
// ban lifted, a lock ended, the very warning removed — on whoever may
// moderate its chat now, with policy deciding on every target now, and
// recorded as a new case following it (Related = N). A case is undone
// once: the undo links itself to it (Store.LinkCase) before acting.

package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"

	"gavel/moderation"
	"gavel/policy"
)

// Why a case cannot be undone (undoable).
const (
	undoOfUndo     = "undo"
	undoDryRun     = "dry_run"
	undoIrreversed = "irreversible"
	undoNoReverse  = "no_reverse"
	undoNotDone    = "not_done"
)

// reverses maps each verb /undo reverses to the verb that does it.
var reverses = map[moderation.Verb]moderation.Verb{
	moderation.VerbKick: moderation.VerbAdd,
	moderation.VerbMute: moderation.VerbUnmute,
	moderation.VerbBan:  moderation.VerbUnban,
	moderation.VerbLock: moderation.VerbUnlock,
	moderation.VerbWarn: moderation.VerbUnwarn,
}

// undoable says why c cannot be undone; "" when it can.
func undoable(c *moderation.Case) string {
	switch {
	case c.Verb == moderation.VerbUndo:
		return undoOfUndo
	case c.Verb == moderation.VerbPurge || c.Verb == moderation.VerbDelete || c.Verb == moderation.VerbBlock:
		return undoIrreversed
	case reverses[c.Verb] == "":
		return undoNoReverse
	case c.DryRun:
		return undoDryRun
	case len(undoTargets(c)) == 0:
		return undoNotDone
	}
	return ""
}

// undoTargets are the users case c's action was done to (StatusDone:
// not those it was refused for, failed for, or found already so); for a
// lock, the one chat-wide result ("").
func undoTargets(c *moderation.Case) []string {
	var out []string
	for _, x := range c.Results {
		if x.Status == moderation.StatusDone && (x.UserID != "" || c.Verb == moderation.VerbLock) {
			out = append(out, x.UserID)
		}
	}
	return out
}

// isConsole reports whether actor is the console ("console:NAME"), which
// checked the operator's grants itself: an action the console submitted
// (no card), never a chat message or a card press, whatever its sender's
// platform id looks like.
func isConsole(r *run, actor string) bool {
	a := r.ev.Action
	return r.ev.Kind == moderation.EventAction && a != nil && a.Card == nil && r.msg == nil &&
		a.Actor == actor && strings.HasPrefix(actor, "console:")
}

// mayAct reports whether actor may moderate the run's chat, decided now:
// the console, a configured admin, else the chat's owner and admins (the
// role cache, else the platform). role is actor's role for policy.
func (p *Pipeline) mayAct(ctx context.Context, r *run, actor string) (ok bool, role moderation.Role, err error) {
	if isConsole(r, actor) {
		// Policy's target rules apply as to the owner: the bot, the owner
		// and protected users are never targets.
		return true, moderation.RoleOwner, nil
	}
	roles, err := p.roles(ctx, r, []string{actor})
	if err != nil {
		if p.policy.IsConfiguredAdmin(r.chat, actor) {
			return true, moderation.RoleUnknown, nil
		}
		return false, "", err
	}
	return p.policy.MayModerate(r.chat, actor, roles[actor]), roles[actor], nil
}

// undo reverses case id for actor, who asked in the run's chat (where
// the command was typed, or the card pressed: the case's chat or its
// mod-log chat), and returns the answer. The run's chat becomes the
// case's. The case it records (nil when none) is returned too, and
// whether case id stands undone (now or by an earlier undo).
func (p *Pipeline) undo(ctx context.Context, r *run, actor string, id int64, reason string) (string, *moderation.Case, bool) {
	orig, err := p.store.Case(ctx, id)
	switch {
	case errors.Is(err, moderation.ErrNotFound):
		return p.text.noCase(id), nil, false
	case err != nil:
		r.log.Error("reading case failed", "case", id, "err", err)
		r.fail(err)
		return "", nil, false
	}
	caseChat := moderation.ChatRef{Platform: orig.Platform, ID: orig.ChatID}
	if here := r.chat; orig.Platform != r.plat.Name() || here.ID != caseChat.ID && !p.modlog.isModLogOf(here, caseChat) && !isConsole(r, actor) {
		return p.text.noCase(id), nil, false
	} else if here.ID == caseChat.ID {
		caseChat = here // with its kind and thread
	}
	r.chat = caseChat
	if p.policy.Chat(caseChat).Disabled {
		return p.text.refused(policy.ChatDisabled, moderation.VerbUndo), nil, false
	}
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: caseChat.Platform, ChatID: caseChat.ID, Actor: actor,
		Verb: moderation.VerbUndo, Reason: reason, Related: id, At: p.now()}
	ok, role, err := p.mayAct(ctx, r, actor)
	if err != nil {
		if p.retryLater(r, err) {
			return "", nil, false
		}
		c.Outcome = moderation.OutcomeErrorRoles
		p.record(ctx, r, c)
		return p.text.platformError(r.plat.Name(), err), c, false
	}
	if !ok {
		c.Outcome = moderation.RefusedOutcome(policy.ActorNotAdmin)
		p.record(ctx, r, c)
		return p.text.refused(policy.ActorNotAdmin, moderation.VerbUndo), c, false
	}
	if why := undoable(&orig); why != "" {
		return p.text.notUndoable(&orig, why), nil, false
	}
	link, err := p.store.LinkCase(ctx, moderation.CaseLink{CaseID: id, Kind: moderation.LinkUndo, DeliveryID: r.ev.DeliveryID, At: p.now()})
	if err != nil {
		r.log.Error("linking the undo to its case failed", "case", id, "err", err)
		r.fail(err)
		return "", nil, false
	}
	if link.DeliveryID != r.ev.DeliveryID {
		return p.undoneAlready(ctx, r, id, link), nil, true
	}
	c.Targets = undoTargets(&orig)
	verb := reverses[orig.Verb]
	if verb == moderation.VerbUnlock {
		c.Targets = nil
	}
	c.Results = p.reverse(ctx, r, &orig, c, verb, role)
	if r.err != nil && !r.last {
		return "", nil, false // the job runs again; the link is its own
	}
	c.Outcome = outcome(c.Results)
	undone := slices.ContainsFunc(c.Results, func(x moderation.Result) bool { return x.Status.Succeeded() })
	if !undone {
		// Nothing was reversed: the case may be undone again.
		if err := p.store.UnlinkCase(ctx, id, moderation.LinkUndo, r.ev.DeliveryID); err != nil {
			r.log.Error("unlinking an undo that reversed nothing failed", "case", id, "err", err)
		}
	}
	p.record(ctx, r, c)
	if ref, err := p.store.CasePost(ctx, id); err == nil && !pressedOn(r, ref) {
		note := p.text.undoNote(actor, c)
		p.updateCard(ctx, r, ref, p.text.modLogPost(p.shown(&orig), nil, note, r.plat.Limits().Reply), "")
	}
	return p.text.undone(&orig, c, verb), c, undone
}

// undoCommand answers /undo N.
func (p *Pipeline) undoCommand(ctx context.Context, r *run, cmd moderation.Command) {
	if text, _, _ := p.undo(ctx, r, r.msg.SenderID, cmd.CaseID, cmd.Reason); text != "" {
		p.reply(ctx, r, text)
	}
}

// pressedOn reports whether the run is a press on the card ref (which
// the press flow updates itself).
func pressedOn(r *run, ref moderation.PostRef) bool {
	a := r.ev.Action
	return a != nil && a.Card != nil && a.Card.MessageID == ref.MessageID
}

// reverse carries out verb, the reverse of orig, on c's targets: policy
// decides on each now, the platform acts in batches of its limit.
func (p *Pipeline) reverse(ctx context.Context, r *run, orig, c *moderation.Case, verb moderation.Verb, role moderation.Role) []moderation.Result {
	opts := moderation.ActionOptions{ActionID: r.ev.DeliveryID + "/undo", Reason: c.Reason}
	step := moderation.StepKey("undo:" + string(verb))
	if verb == moderation.VerbUnlock {
		res := p.setLock(ctx, r, moderation.VerbUnlock, 0, opts)
		incomplete(r, []moderation.Result{res})
		return []moderation.Result{res}
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return moderation.FailAll(c.Targets, err)
	}
	roles := map[string]moderation.Role{}
	size := r.plat.Limits().RoleBatch
	if size <= 0 {
		size = max(len(c.Targets), 1)
	}
	for chunk := range slices.Chunk(c.Targets, size) {
		got, err := p.roles(ctx, r, chunk)
		if err != nil {
			p.retryLater(r, err)
			return moderation.FailAll(c.Targets, err)
		}
		for u, x := range got {
			roles[u] = x
		}
	}
	roles[c.Actor] = role
	v := p.policy.Decide(policy.Request{Chat: r.chat, ActorID: c.Actor, BotID: botID,
		Command: moderation.Command{Verb: verb, Targets: c.Targets}, Roles: roles})
	if !v.Allowed {
		res := make([]moderation.Result, len(c.Targets))
		for i, u := range c.Targets {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: v.Reason}
		}
		return res
	}
	c.Decisions = v.Decisions
	if verb == moderation.VerbUnwarn {
		return p.removeWarnings(ctx, r, orig, v)
	}
	support := moderation.Native
	if verb == moderation.VerbUnmute {
		caps, err := r.plat.Capabilities(ctx, r.chat)
		if err != nil {
			p.retryLater(r, err)
			return moderation.FailAll(c.Targets, err)
		}
		support = caps[moderation.VerbUnmute]
	}
	res := p.actOn(ctx, r, action{verb: verb, support: support, opts: opts, step: step}, v)
	incomplete(r, res)
	return res
}

// removeWarnings removes exactly the warnings orig gave (a /warn, or a
// rule's warning), of the targets policy allows.
func (p *Pipeline) removeWarnings(ctx context.Context, r *run, orig *moderation.Case, v policy.Verdict) []moderation.Result {
	res := make([]moderation.Result, len(v.Decisions))
	for i, d := range v.Decisions {
		if !d.Allowed {
			res[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusRefused, Reason: d.Reason}
			continue
		}
		key := orig.DeliveryID + "/warn/" + d.Target // warnCommand's key
		if orig.Rule != "" {
			key = orig.DeliveryID + "/" + orig.Rule + "/" + d.Target // handleHits'
		}
		removed, err := p.store.RemoveWarning(ctx, key)
		switch {
		case err != nil:
			r.fail(err)
			res[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
		case removed:
			res[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusDone}
		default:
			res[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusNoop, Detail: p.text.pick("the warning had gone already", "该警告已不存在")}
		}
	}
	return res
}

// undoneAlready answers an undo of a case another delivery undid (or is
// undoing): naming that undo's case when it is recorded.
func (p *Pipeline) undoneAlready(ctx context.Context, r *run, id int64, link moderation.CaseLink) string {
	cs, err := p.store.Cases(ctx, moderation.CaseFilter{Related: id})
	if err != nil {
		r.log.Warn("listing the cases that follow a case failed", "case", id, "err", err)
	}
	for _, c := range cs {
		if c.Verb == moderation.VerbUndo && c.DeliveryID == link.DeliveryID {
			return p.text.undoneAlready(id, c.ID)
		}
	}
	return p.text.undoneAlready(id, 0)
}
