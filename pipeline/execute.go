// Carrying an action out: one platform batch at a time, results
// recorded after each, settled targets skipped on a re-run.

package pipeline

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
)

// action is one verb to carry out in the run's chat: what execute, actOn
// and act pass along instead of five parameters.
type action struct {
	verb    moderation.Verb
	support moderation.Support // how the chat supports verb
	d       time.Duration      // a mute's length
	opts    moderation.ActionOptions
	step    moderation.StepKey // names the action's recorded results
	// msgs are the messages a purge recalls, by id (execute's "users"
	// are their ids).
	msgs map[string]moderation.MessageRef
	// count is how many of each user's messages /purge @a recalls.
	count int
}

// execute carries the action out for users, one platform batch
// (Limits().Batch[verb], positive: New checked) at a time, recording the
// results after each batch, so a job re-run after a crash repeats at most
// the batch that was in flight.
// Users whose result is already recorded as settled
// (done, no-op or refused for good) are not acted on again.
//
// a.step names the action among the job's actions for the recorded
// results (the verb for a command; rule and verb for an auto-moderation
// hit).
func (p *Pipeline) execute(ctx context.Context, r *run, a action, users []string) []moderation.Result {
	plat := r.plat
	settled := map[string]moderation.Result{}
	p.flush(ctx, r) // what this run recorded is read back below
	if !r.fresh {
		prior, err := p.store.Results(ctx, r.jobID, a.step)
		if err != nil {
			r.fail(err)
			return moderation.FailAll(users, fmt.Errorf("reading recorded results: %w", err))
		}
		for _, u := range users {
			if res, ok := prior[u]; ok && (res.Status.Succeeded() || res.Status == moderation.StatusRefused) {
				settled[u] = res
			}
		}
		if len(settled) > 0 {
			r.log.Info("job re-run: skipping targets already settled", "settled", len(settled))
		}
	}
	var todo []string
	for _, u := range users {
		if _, ok := settled[u]; !ok {
			todo = append(todo, u)
		}
	}
	size := plat.Limits().Batch[a.verb]
	if size <= 0 {
		// Only a verb outside moderation.ActionVerbs gets here.
		return moderation.FailAll(users, fmt.Errorf("verb %q: %w", a.verb, moderation.ErrUnsupported))
	}
	got := map[string]moderation.Result{}
	for start := 0; start < len(todo); start += size {
		batch := todo[start:min(start+size, len(todo))]
		// The previous batch's results commit before this call, so that
		// a crash repeats at most the batch in flight.
		p.flush(ctx, r)
		res := p.executeBatch(ctx, r, a, batch)
		p.stage(r, a.step, res)
		for _, x := range res {
			got[x.UserID] = x
		}
	}
	out := make([]moderation.Result, len(users))
	for i, u := range users {
		if x, ok := settled[u]; ok {
			out[i] = x
		} else if x, ok := got[u]; ok {
			out[i] = x
		} else {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonNoResult, Detail: "the platform adapter reported nothing for this user"}
		}
	}
	return out
}

func (p *Pipeline) executeBatch(ctx context.Context, r *run, a action, users []string) []moderation.Result {
	if res, ok := p.sanctionBatch(ctx, r, a, users); ok {
		return res
	}
	now := p.now()
	plat, chat := r.plat, r.chat
	verb, support, d, opts := a.verb, a.support, a.d, a.opts
	switch verb {
	case moderation.VerbKick:
		res := plat.Remove(ctx, chat, users, opts)
		var gone []string
		for _, x := range res {
			if x.Status.Succeeded() {
				gone = append(gone, x.UserID)
			}
		}
		if err := p.roleCache.Forget(ctx, chat, gone); err != nil {
			p.log.Warn("role cache unavailable", "err", err)
		}
		return res
	case moderation.VerbAdd:
		// /undo of a kick: the users come back as members.
		res := plat.Add(ctx, chat, users, opts)
		var back []string
		for _, x := range res {
			if x.Status.Succeeded() {
				back = append(back, x.UserID)
			}
		}
		if err := p.roleCache.Forget(ctx, chat, back); err != nil {
			p.log.Warn("role cache unavailable", "err", err)
		}
		return res
	case moderation.VerbMute:
		res := plat.Mute(ctx, chat, users, d, opts)
		until := time.Time{} // zero: until /unmute
		if d > 0 {
			until = now.Add(d)
		}
		// One write records the whole batch's mutes.
		emulated := support == moderation.Emulated
		var ms []moderation.Mute
		var at []int
		for i, x := range res {
			if x.Status.Succeeded() {
				ms = append(ms, moderation.Mute{Chat: chat, UserID: x.UserID, Until: until, Emulated: emulated})
				at = append(at, i)
			}
		}
		if err := p.mutes.record(ctx, ms...); err != nil {
			if emulated { // without the record the mute does not exist
				for _, i := range at {
					res[i] = moderation.Result{UserID: res[i].UserID, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
				}
				return res
			}
			p.log.Error("recording native mutes failed", "users", len(ms), "err", err)
		}
		return res
	case moderation.VerbUnmute:
		if support != moderation.Emulated {
			res := plat.Unmute(ctx, chat, users, opts)
			var ended []string
			for _, x := range res {
				if x.Status.Succeeded() {
					ended = append(ended, x.UserID)
				}
			}
			if err := p.mutes.end(ctx, chat, ended...); err != nil {
				p.log.Error("deleting mute records failed", "users", len(ended), "err", err)
			}
			return res
		}
		res := make([]moderation.Result, len(users))
		for i, u := range users {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusNoop, Reason: moderation.ReasonNotMuted}
			_, active, err := p.mutes.active(ctx, chat, u)
			if err != nil {
				res[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
				continue
			}
			if !active {
				continue
			}
			if err := p.mutes.end(ctx, chat, u); err != nil {
				res[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
				continue
			}
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		}
		return res
	}
	return moderation.FailAll(users, fmt.Errorf("verb %q: %w", verb, moderation.ErrUnsupported))
}

func outcome(results []moderation.Result) moderation.Outcome {
	var ok, bad int
	for _, r := range results {
		if r.Status.Succeeded() || r.Status == moderation.StatusSkipped {
			ok++
		} else {
			bad++
		}
	}
	switch {
	case bad == 0:
		return moderation.OutcomeDone
	case ok == 0:
		return moderation.OutcomeFailed
	default:
		return moderation.OutcomePartial
	}
}
