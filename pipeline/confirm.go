// Confirmation of large or drastic commands (#17.4): a command naming
// more than policy.confirm_above targets, or whose verb is in
// policy.confirm_verbs, is held as a case awaiting an admin's answer;
// /confirm N (a card's Confirm) runs it exactly, /cancel N drops it, and
// a timer expires it after policy.confirm_timeout.
//
// Each held command is answered once, across replicas and restarts: the
// answer is a case keyed by the request ("confirmation:N", VerbConfirm),
// written as a moderation.Claim, so the first confirmation, cancellation
// or expiry wins and every later one finds it. The held command itself
// is the request case (its flags in its outcome); no table of its own.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gavel/moderation"
	"gavel/policy"
)

// confirmation is handleMessage's hook before it acts: it answers
// /confirm and /cancel, and holds a command policy wants confirmed. It
// reports whether it took the command.
func (p *Pipeline) confirmation(ctx context.Context, r *run, cmd moderation.Command, botID string, c *moderation.Case) bool {
	switch {
	case cmd.Verb == moderation.VerbConfirm || cmd.Verb == moderation.VerbCancel:
		p.answer(ctx, r, cmd.Verb, cmd.CaseID, r.msg.SenderID, botID)
		return true
	case p.policy.NeedsConfirmation(cmd):
		p.hold(ctx, r, cmd, c)
		return true
	}
	return false
}

// confirmPress answers a press of a confirmation card's Confirm or
// Cancel (actions.go's dispatch of an EventAction): the presser is
// checked as /confirm checks its sender, when the job runs, and the card
// then shows who answered (buttons kept while the request stays open).
func (p *Pipeline) confirmPress(ctx context.Context, r *run, a *moderation.Action, answers *[]string) {
	if reason := p.policy.AllowCommand(r.chat, a.Actor); reason != policy.OK {
		// Rate-limited, or Gavel is off where the card is: the card stays
		// as it is (its buttons are the admins'), and nothing is posted.
		r.log.Info("press refused", "reason", reason)
		return
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	held, ans := p.answer(ctx, r, a.Verb, a.CaseID, a.Actor, botID)
	if r.err != nil && !r.last {
		return // the job runs again; the card is updated then
	}
	p.confirmCard(ctx, r, a, held, ans, *answers)
}

// confirmCard updates a pressed confirmation card: the request (held)
// with who answered (ans) and what the run said; Confirm and Cancel stay
// while nobody has answered. Without the request, the words are posted.
func (p *Pipeline) confirmCard(ctx context.Context, r *run, a *moderation.Action, held, ans *moderation.Case, said []string) {
	if a.Card == nil {
		return
	}
	note := strings.Join(said, " ")
	if ans != nil {
		note = strings.TrimSpace(p.text.answerNote(ans) + " " + note)
	}
	if held == nil {
		p.updateCard(ctx, r, *a.Card, moderation.Post{Text: note}, note)
		return
	}
	post := p.text.heldPost(held, p.policy.ConfirmTimeout(), p.prefixes[0])
	if held.Outcome.Kind() != moderation.OutcomeAwaiting || ans != nil || strings.Contains(note, "already") {
		post.Card.Buttons = nil
	}
	post.Card.Note = note
	p.updateCard(ctx, r, *a.Card, post, note)
}

// answerKey is the delivery id of the answer to held case id: the claim
// every answer races for, and the delivery of the case a confirmation
// runs (so that its platform calls share one action id).
func answerKey(id int64) string { return "confirmation:" + strconv.FormatInt(id, 10) }

// hold records cmd as held (case c, outcome awaiting) and asks the chat
// for an admin's answer: a card with Confirm and Cancel where the
// platform posts cards, else text naming /confirm N and /cancel N.
func (p *Pipeline) hold(ctx context.Context, r *run, cmd moderation.Command, c *moderation.Case) {
	c.Outcome = moderation.AwaitingOutcome(cmd)
	p.recordStored(ctx, r, c)
	if r.err != nil || c.ID == 0 {
		return
	}
	r.log.Info("command held for confirmation", "case", c.ID, "action", cmd.Verb, "targets", len(cmd.Targets))
	p.ask(ctx, r, c, p.text.heldPost(c, p.policy.ConfirmTimeout(), p.prefixes[0]))
}

// answer carries out an answer (VerbConfirm or VerbCancel) to held case
// id by actor. It returns the held case (nil when there is none) and the
// answer when this run's won (nil otherwise: refused, or answered
// before).
func (p *Pipeline) answer(ctx context.Context, r *run, verb moderation.Verb, id int64, actor, botID string) (held, ans *moderation.Case) {
	log := r.log.With("answer", verb, "held_case", id, "actor", actor)
	req, err := p.store.Case(ctx, id)
	switch {
	case errors.Is(err, moderation.ErrNotFound):
	case err != nil:
		log.Error("reading the held case failed", "err", err)
		r.fail(err)
		return nil, nil
	}
	caseChat := moderation.ChatRef{Platform: req.Platform, ID: req.ChatID}
	if r.chat.ID == "" && err == nil {
		r.chat = caseChat
	}
	// Answered in the request's chat, or (a press) in its mod-log chat.
	inChat := req.Platform == r.chat.Platform && (req.ChatID == r.chat.ID || r.msg == nil && p.modlog.isModLogOf(r.chat, caseChat))
	if err != nil || !inChat || req.Outcome.Kind() != moderation.OutcomeAwaiting {
		p.reply(ctx, r, p.text.noHeld(id))
		return nil, nil
	}
	r.chat = caseChat
	held = &req
	if p.policy.Chat(caseChat).Disabled {
		// Answered from the mod-log: the request's chat decides, as for
		// a command typed there.
		log.Info("answer refused: Gavel is disabled in the request's chat")
		p.reply(ctx, r, p.text.refused(policy.ChatDisabled, verb))
		return held, nil
	}
	if r.msg == nil || r.msg.SenderID != actor {
		// A press: the run answers in the chat, as the presser.
		r.msg = &moderation.Message{Chat: r.chat, SenderID: actor}
	}
	// Only admins answer, checked now: the chat's owner and admins and
	// Gavel's own (policy.admins); the requester too, being one.
	admin, err := p.mayModerate(ctx, r)
	if err != nil {
		if p.retryLater(r, err) {
			return held, nil
		}
		log.Error("role lookup failed", "err", err)
		p.reply(ctx, r, p.text.platformError(r.plat.Name(), err))
		return held, nil
	}
	if !admin {
		log.Info("answer refused: not an admin")
		p.record(ctx, r, &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: req.Platform, ChatID: req.ChatID, Actor: actor,
			Verb: verb, Outcome: moderation.RefusedOutcome(policy.ActorNotAdmin), At: p.now(), Related: id})
		if r.answers != nil || p.policy.AllowRefusal(r.chat) {
			p.reply(ctx, r, p.text.refused(policy.ActorNotAdmin, verb))
		}
		return held, nil
	}
	a := &moderation.Case{DeliveryID: answerKey(id), Platform: req.Platform, ChatID: req.ChatID, Actor: actor,
		Verb: moderation.VerbConfirm, Targets: req.Targets, Reason: req.Reason, Duration: req.Duration, At: p.now(), Related: id}
	switch {
	case !p.now().Before(req.At.Add(p.policy.ConfirmTimeout())):
		// Too late: the answer is the expiry the timer would have given.
		a.Actor, a.Outcome = "", moderation.OutcomeExpired
	case verb == moderation.VerbCancel:
		a.Outcome = moderation.OutcomeCancelled
	default:
		a.Outcome = moderation.OutcomeDone
	}
	won := p.claim(ctx, r, a)
	if r.err != nil {
		return held, nil
	}
	if !won {
		stored, err := p.store.Case(ctx, a.ID)
		if err != nil {
			log.Error("reading the answer failed", "case", a.ID, "err", err)
			r.fail(err)
			return held, nil
		}
		log.Info("held case answered already", "answer", stored.ID, "outcome", stored.Outcome)
		p.reply(ctx, r, p.text.answered(id, stored))
		return held, nil
	}
	switch a.Outcome {
	case moderation.OutcomeExpired:
		p.reply(ctx, r, p.text.expired(id, p.policy.ConfirmTimeout()))
	case moderation.OutcomeCancelled:
		p.reply(ctx, r, p.text.cancelled(id, a))
	default:
		p.runHeld(ctx, r, req, botID)
	}
	return held, a
}

// runHeld runs held case req's command exactly — every target, batched
// as any command is — on the authority of the run's sender (the
// confirmer), recorded as a new case related to req.
func (p *Pipeline) runHeld(ctx context.Context, r *run, req moderation.Case, botID string) {
	cmd, err := req.Held()
	if err != nil {
		r.log.Error("held case unreadable", "case", req.ID, "err", err)
		p.reply(ctx, r, p.text.noHeld(req.ID))
		return
	}
	c := &moderation.Case{DeliveryID: answerKey(req.ID), Platform: req.Platform, ChatID: req.ChatID, Actor: r.msg.SenderID,
		Verb: cmd.Verb, Targets: cmd.Targets, Reason: cmd.Reason, Duration: cmd.Duration, At: p.now(), Related: req.ID}
	if !p.policy.TargetsAllowed(len(cmd.Targets)) { // policy.max_targets lowered since
		c.Outcome = moderation.RefusedOutcome(policy.TooManyTargets)
		p.record(ctx, r, c)
		p.reply(ctx, r, p.text.tooMany(len(cmd.Targets), p.policy.MaxTargets()))
		return
	}
	r.log.Info("running a confirmed command", "held_case", req.ID, "action", cmd.Verb, "targets", len(cmd.Targets))
	switch cmd.Verb {
	case moderation.VerbWarn, moderation.VerbUnwarn:
		p.warnCommand(ctx, r, cmd, botID, c)
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

// expireHeld is a confirmation timer (VerbCancel, CaseID): the held case
// expires unless it was answered.
func (p *Pipeline) expireHeld(ctx context.Context, r *run) {
	t := r.ev.Timer
	req, err := p.store.Case(ctx, t.CaseID)
	if err != nil {
		if !errors.Is(err, moderation.ErrNotFound) {
			r.fail(err)
		}
		return
	}
	if req.Outcome.Kind() != moderation.OutcomeAwaiting {
		return
	}
	a := &moderation.Case{DeliveryID: answerKey(req.ID), Platform: req.Platform, ChatID: req.ChatID, Rule: "",
		Verb: moderation.VerbConfirm, Targets: req.Targets, Reason: req.Reason, Duration: req.Duration,
		Outcome: moderation.OutcomeExpired, At: p.now(), Related: req.ID}
	if !p.claim(ctx, r, a) {
		return // answered before it expired (or the expiry ran already)
	}
	r.log.Info("held command expired", "held_case", req.ID)
	p.expiredCard(ctx, r, &req, a)
	p.reply(ctx, r, p.text.expired(req.ID, p.policy.ConfirmTimeout()))
}

// expiredCard updates held case req's recorded card (its request in the
// chat, or its mod-log entry) to say it expired, without its buttons.
// Where the platform cannot edit, the chat is told by the expiry's reply.
func (p *Pipeline) expiredCard(ctx context.Context, r *run, req, a *moderation.Case) {
	ref, err := p.store.CasePost(ctx, req.ID)
	if err != nil || ref.MessageID == digestPending {
		if err != nil && !errors.Is(err, moderation.ErrNotFound) {
			r.log.Warn("reading the confirmation card failed", "case", req.ID, "err", err)
		}
		return
	}
	note := p.text.answerNote(a)
	var post moderation.Post
	if ref.Chat == (moderation.ChatRef{Platform: req.Platform, ID: req.ChatID}) {
		post = p.text.heldPost(req, p.policy.ConfirmTimeout(), p.prefixes[0])
		post.Card.Buttons, post.Card.Note = nil, note
		post.Text = note + " " + post.Text
	} else {
		post = p.text.modLogPost(req, nil, note, r.plat.Limits().Reply)
	}
	post.Card.Color = "grey"
	p.updateCard(ctx, r, ref, post, "")
}

// claim races for answer a (a first-writer-wins case) and reports
// whether this job holds it: it won now, or on an earlier attempt whose
// record it finds. a.ID is set either way.
func (p *Pipeline) claim(ctx context.Context, r *run, a *moderation.Case) bool {
	step := moderation.ClaimStep(a.DeliveryID)
	won := false
	if !r.fresh {
		if err := p.flush(ctx, r); err != nil {
			return false
		}
		prior, err := p.store.Results(ctx, r.jobID, step)
		if err != nil {
			r.fail(err)
			return false
		}
		won = len(prior) > 0
	}
	cl := &moderation.Claim{Case: a, Won: moderation.JobResults{Step: step, Results: []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}}}
	r.work.Claim = cl
	if err := p.flush(ctx, r); err != nil {
		return false
	}
	if cl.Added {
		logCase(ctx, p.log, a)
		p.obs.Case(a)
		p.audited(ctx, a)
		p.queueModLog(r, a)
	}
	return won || cl.Added
}

// recordStored records c in the store even when Deps.Audit takes the
// cases (the demo): a held case is read back by its number.
func (p *Pipeline) recordStored(ctx context.Context, r *run, c *moderation.Case) {
	r.work.Cases = append(r.work.Cases, c)
	if err := p.flush(ctx, r); err != nil {
		r.log.Error("recording the held case failed", "err", err)
		return
	}
	logCase(ctx, p.log, c)
	p.obs.Case(c)
	p.audited(ctx, c)
	p.queueModLog(r, c) // a held command is worth knowing too
}

// audited hands a copy of a stored case to Deps.Audit, if set, which
// numbers its cases its own way.
func (p *Pipeline) audited(ctx context.Context, c *moderation.Case) {
	if p.audit == nil {
		return
	}
	cp := *c
	if err := p.audit.Record(ctx, &cp); err != nil {
		p.log.Warn("audit record of a stored case failed", "case", c.ID, "err", err)
	}
}

// ask posts a confirmation request: the card through Post, or, where the
// platform posts no cards (Post says ErrUnsupported), the text as a
// reply. Like reply, it is recorded as the run's next reply, so a re-run
// does not post it twice.
//
// The card is recorded as held case c's post (Store.SetCasePost), so that
// its expiry updates it, unless c goes to the mod-log: its mod-log card,
// recorded by postModLog, is then the one updated.
func (p *Pipeline) ask(ctx context.Context, r *run, c *moderation.Case, post moderation.Post) {
	r.replies++
	step := moderation.ReplyStep(r.replies)
	p.flush(ctx, r)
	if !r.fresh {
		if prior, err := p.store.Results(ctx, r.jobID, step); err == nil && len(prior) > 0 {
			r.log.Info("job re-run: confirmation request already posted")
			return
		}
	}
	id, err := r.plat.Post(ctx, r.chat, post)
	if errors.Is(err, moderation.ErrUnsupported) {
		r.replies-- // the reply takes this turn
		p.reply(ctx, r, post.Text)
		return
	}
	if err != nil {
		r.log.Error("posting the confirmation request failed", "err", err)
		return
	}
	if !slices.ContainsFunc(r.logged, func(x *moderation.Case) bool { return x.ID == c.ID }) {
		if err := p.store.SetCasePost(ctx, c.ID, moderation.PostRef{Chat: r.chat, MessageID: id}); err != nil {
			// Only the card's update at expiry is lost: the expiry is
			// still told in the chat.
			r.log.Warn("recording the confirmation card failed", "case", c.ID, "err", err)
		}
	}
	p.stage(r, step, []moderation.Result{{UserID: "-", Status: moderation.StatusDone}})
}

// heldScan remembers how far this replica has looked for held cases
// whose time ran out, so that each look reads only the latest stretch.
type heldScan struct {
	mu      sync.Mutex
	scanned time.Time // zero: not yet
}

// Held cases are looked for back to heldCatchUp when a replica starts
// (Gavel down for a while), then from heldOverlap before the last look
// (a case committed a little after its time).
const (
	heldCatchUp = 24 * time.Hour
	heldOverlap = time.Minute
)

// heldTimers returns the timers of held cases whose time ran out since
// the last look: a VerbCancel timer each, keyed by the case, so that
// every replica offers the same job. MaintainSanctions submits them.
func (p *Pipeline) heldTimers(ctx context.Context) ([]moderation.Timer, error) {
	if !p.policy.ConfirmEnabled() {
		return nil, nil
	}
	now, timeout := p.now(), p.policy.ConfirmTimeout()
	until := now.Add(-timeout)
	p.held.mu.Lock()
	since := until.Add(-heldCatchUp)
	if !p.held.scanned.IsZero() {
		since = p.held.scanned.Add(-heldOverlap)
	}
	p.held.mu.Unlock()
	cases, err := p.store.Cases(ctx, moderation.CaseFilter{Outcome: moderation.OutcomeAwaiting, Since: since, Until: until})
	if err != nil {
		return nil, fmt.Errorf("listing held cases: %w", err)
	}
	p.held.mu.Lock()
	p.held.scanned = until
	p.held.mu.Unlock()
	var out []moderation.Timer
	for _, c := range cases {
		t := moderation.Timer{Verb: moderation.VerbCancel, Chat: moderation.ChatRef{Platform: c.Platform, ID: c.ChatID},
			Due: c.At.Add(timeout), Rule: "confirmation", CaseID: c.ID}
		if p.sent.first(t.TimerKey(), now) {
			out = append(out, t)
		}
	}
	return out, nil
}
