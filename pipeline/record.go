// What a run leaves behind: the case, the reply and the job's unit of
// work (stage, flush).

package pipeline

import (
	"context"

	"gavel/moderation"
)

// Observer sees every recorded case and rule hit (metrics).
type Observer interface {
	Case(c *moderation.Case)
	RuleHit(platform, rule, action string, dryRun bool)
}

type nopObserver struct{}

func (nopObserver) Case(*moderation.Case)                {}
func (nopObserver) RuleHit(string, string, string, bool) {}

func (p *Pipeline) record(ctx context.Context, r *run, c *moderation.Case) {
	if p.audit == nil {
		// The case commits with the results staged before it (those of
		// the action it records): one transaction, and c.ID is set.
		r.work.Cases = append(r.work.Cases, c)
		if err := p.flush(ctx, r); err != nil {
			r.log.Error("audit record failed", "err", err)
			return
		}
		logCase(ctx, p.log, c)
		p.obs.Case(c)
		p.queueModLog(r, c)
		return
	}
	if err := p.audit.Record(ctx, c); err != nil {
		r.log.Error("audit record failed", "err", err)
		r.fail(err)
		return
	}
	p.obs.Case(c)
	p.queueModLog(r, c)
}

// reply answers the run's message (a join has none: the reply goes to
// the chat).
func (p *Pipeline) reply(ctx context.Context, r *run, text string) {
	if r.answers != nil {
		*r.answers = append(*r.answers, text)
		return
	}
	plat := r.plat
	msg := r.msg
	if msg == nil {
		msg = &moderation.Message{Chat: r.chat}
	}
	r.replies++
	// The record of a job's n-th reply, so that a job re-run after a crash
	// does not post the same reply twice.
	replyStep := moderation.ReplyStep(r.replies)
	// Everything the run did commits before the reply tells of it.
	p.flush(ctx, r)
	if !r.fresh {
		prior, err := p.store.Results(ctx, r.jobID, replyStep)
		if err == nil && len(prior) > 0 {
			r.log.Info("job re-run: reply already sent")
			return
		}
	}
	// Every reply fits the platform's message limit (summaries shorten
	// their lists themselves; anything else is cut, never mid-character).
	text = fitText(text, plat.Limits().Reply)
	if err := plat.Reply(ctx, msg, text); err != nil {
		r.log.Error("reply failed", "err", err)
		return
	}
	p.stage(r, replyStep, []moderation.Result{{UserID: "-", Status: moderation.StatusDone}})
}

// stage adds a job's results to its unit of work (r.work).
func (p *Pipeline) stage(r *run, key moderation.StepKey, res []moderation.Result) {
	if len(res) == 0 {
		return
	}
	r.work.Results = append(r.work.Results, moderation.JobResults{Step: key, Results: res})
}

// flush commits the job's unit of work (r.work) in one transaction.
//
// Writes are staged, not made, because adjacent writes — no platform call
// between them — may commit together without changing what a crash can
// repeat: a crash before the commit loses them all, exactly as a crash
// before the first of the separate writes would have. So the unit is
// committed before every platform call that acts or posts (Remove, Mute,
// Unmute via execute; Recall; Reply): the results of a call are durable
// before the next call, and a re-run repeats at most the call in flight
// (as before), and before the run reads its own records back. Look-ups
// (roles, capabilities, the bot's id) change nothing and do not flush.
// A case commits at once with the results before it (record); what is
// staged after the last call (the reply's record) commits with the job's
// finish (the jobs.Runner), or on an error or panic in HandleJob.
//
// On an error the run fails (the job is retried) and the unit is dropped:
// the store has none of it, and the retry repeats what it recorded.
func (p *Pipeline) flush(ctx context.Context, r *run) error {
	if r.work.Empty() {
		r.work = moderation.Work{}
		return nil
	}
	w := r.work
	r.work = moderation.Work{}
	err := p.store.Commit(ctx, r.jobID, "", w)
	if err != nil {
		r.log.Error("recording the job's progress failed", "err", err)
		r.fail(err)
	}
	return err
}
