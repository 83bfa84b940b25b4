// Package jobs is Gavel's durable job runner: Submit stores an
// actionable event as a job before the webhook is answered, and Run's
// workers claim jobs with a lease, keep it with a heartbeat, hand each
// job to a Handler and finish it or set it to retry. It knows nothing of
// commands or policy: what an event means is the Handler's.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"gavel/moderation"
)

// Config tunes the runner (keys under moderation: in config.yaml).
type Config struct {
	// Workers claiming jobs; default 8.
	Workers int `yaml:"workers"`
	// Lease is how long a claimed job stays with its worker without a
	// heartbeat; a crashed worker's jobs are re-claimed after it. Default 30s.
	Lease time.Duration `yaml:"lease"`
	// Poll is how often idle workers look for jobs enqueued by another
	// process; jobs enqueued here wake them at once. Default 200ms.
	Poll time.Duration `yaml:"poll"`
	// MaxAttempts bounds how often a job whose handling failed is retried;
	// default 10.
	MaxAttempts int `yaml:"max_attempts"`
}

// WithDefaults fills in the defaults of unset fields.
func (c Config) WithDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 200 * time.Millisecond
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	return c
}

// Handler is what the runner hands events and jobs to (the pipeline).
type Handler interface {
	// Triage runs on the webhook's path and reports whether ev may lead
	// to an action and so deserves a job; it may annotate ev (rule hits).
	Triage(ctx context.Context, ev moderation.Event) (moderation.Event, bool)
	// HandleJob acts on a claimed job. It returns the job's last unit of
	// work uncommitted, to commit with the job's finish; an error means
	// the job should run again (everything it did is committed already).
	HandleJob(ctx context.Context, job moderation.Job) (moderation.Work, error)
}

// Queue is the part of moderation.Store the runner uses.
type Queue interface {
	Enqueue(ctx context.Context, ev moderation.Event, now time.Time) (created bool, err error)
	EnqueueClaim(ctx context.Context, ev moderation.Event, worker string, lease time.Duration, now time.Time) (created bool, job *moderation.Job, err error)
	Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error)
	Extend(ctx context.Context, jobID int64, worker string, until time.Time) error
	Retry(ctx context.Context, jobID int64, worker string, notBefore time.Time, errMsg string) error
	Commit(ctx context.Context, jobID int64, worker string, w moderation.Work) error
	Pending(ctx context.Context, now time.Time) (n int, oldest time.Duration, err error)
}

// Options carry what the environment supplies.
type Options struct {
	Logger *slog.Logger     // nil → slog.Default()
	Now    func() time.Time // nil → time.Now
}

// Runner is the durable front of the pipeline: Submit stores an
// actionable event as a job before the webhook is answered (so an
// acknowledged command is never lost), and Run's workers claim jobs with
// a lease, hand them to the Handler and finish them. A job whose worker
// died is claimed again when its lease runs out; the Handler skips what
// the job already recorded as done, so nothing is done twice.
type Runner struct {
	cfg    Config
	store  Queue
	h      Handler
	log    *slog.Logger
	now    func() time.Time
	worker string
	wake   chan struct{}
	stop   chan struct{}
	// offers are idle workers: Submit takes one, when there is one, and
	// stores the job leased to it in the same transaction (EnqueueClaim),
	// which saves the worker's claim — a write transaction — on the
	// common path of a quiet chat.
	offers chan offer
	once   sync.Once

	mu      sync.Mutex
	running int
	idle    *sync.Cond

	// records are screened-event audit records being stored in the
	// background; Run and Wait wait for them.
	records sync.WaitGroup
}

// New returns a runner of the jobs in q, handled by h.
func New(cfg Config, q Queue, h Handler, o Options) *Runner {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	j := &Runner{
		cfg: cfg.WithDefaults(), store: q, h: h, log: o.Logger, now: o.Now,
		worker: workerID(), wake: make(chan struct{}, 1), stop: make(chan struct{}), offers: make(chan offer),
	}
	j.idle = sync.NewCond(&j.mu)
	return j
}

func workerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Submit decides whether ev can lead to an action and, if so, stores it
// as a job; stored reports whether the event is (now or already) in the
// store. Events that cannot lead to an action (ordinary chat from users
// who are not muted) cost no write. A re-delivery of a stored event is
// not stored again.
func (j *Runner) Submit(ctx context.Context, ev moderation.Event) (stored bool, err error) {
	ev, ok := j.h.Triage(ctx, ev)
	if !ok {
		return false, nil
	}
	if ev.Kind == moderation.EventScreened {
		// The platform is waiting for the pre-delivery verdict (Easemob
		// 200 ms); it must not wait for the audit record's write too.
		j.records.Add(1)
		go func() {
			defer j.records.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := j.enqueue(ctx, ev); err != nil {
				j.log.Error("recording a screened message failed", "platform", ev.Platform, "event_id", ev.DeliveryID, "err", err)
			}
		}()
		return false, nil
	}
	return j.enqueue(ctx, ev)
}

// offer is an idle worker waiting on job for a job leased to it (nil:
// none; it then looks for work itself).
type offer struct {
	worker string
	job    chan *moderation.Job
}

func (j *Runner) enqueue(ctx context.Context, ev moderation.Event) (bool, error) {
	var (
		created bool
		err     error
	)
	select {
	case o := <-j.offers:
		var job *moderation.Job
		created, job, err = j.store.EnqueueClaim(ctx, ev, o.worker, j.cfg.Lease, j.now())
		o.job <- job // always answered: the worker waits for it
		if job != nil {
			return true, nil
		}
	default:
		created, err = j.store.Enqueue(ctx, ev, j.now())
	}
	if err != nil {
		return false, fmt.Errorf("storing job: %w", err)
	}
	if !created {
		j.log.Info("re-delivery of a stored event ignored", "platform", ev.Platform, "event_id", ev.DeliveryID)
		return true, nil
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return true, nil
}

// Stop makes the workers return after the job each holds; Run then
// returns. Jobs not started stay in the store for the next start.
func (j *Runner) Stop() { j.once.Do(func() { close(j.stop) }) }

// Run works until Stop is called or ctx ends (a job cut off by ctx is
// claimed again once its lease runs out).
func (j *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range j.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.work(ctx, fmt.Sprintf("%s/%d", j.worker, i))
		}()
	}
	wg.Wait()
	j.records.Wait()
}

func (j *Runner) work(ctx context.Context, worker string) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	me := offer{worker: worker, job: make(chan *moderation.Job, 1)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-j.stop:
			return
		case j.offers <- me:
			if job := <-me.job; job != nil {
				j.runJob(ctx, worker, *job)
			}
		case <-j.wake:
		case <-timer.C:
		}
		for ctx.Err() == nil && !j.stopped() {
			ran, err := j.runNext(ctx, worker)
			if err != nil {
				if ctx.Err() == nil {
					j.log.Error("claiming jobs failed", "err", err)
				}
				break
			}
			if !ran {
				break
			}
		}
		timer.Reset(j.cfg.Poll)
	}
}

// runNext claims one job and runs it; ran is false when none was due.
func (j *Runner) runNext(ctx context.Context, worker string) (ran bool, err error) {
	jobs, err := j.store.Claim(ctx, worker, 1, j.cfg.Lease, j.now())
	if err != nil || len(jobs) == 0 {
		return false, err
	}
	// Another worker may find more.
	select {
	case j.wake <- struct{}{}:
	default:
	}
	j.runJob(ctx, worker, jobs[0])
	return true, nil
}

// Drain runs the jobs that are due, one at a time in the calling
// goroutine, until none is left (a job set to retry later stays
// pending). Tests use it to take events through the job path one by one.
func (j *Runner) Drain(ctx context.Context) error {
	j.records.Wait()
	for {
		ran, err := j.runNext(ctx, j.worker+"/drain")
		if err != nil || !ran {
			return err
		}
	}
}

func (j *Runner) stopped() bool {
	select {
	case <-j.stop:
		return true
	default:
		return false
	}
}

func (j *Runner) runJob(ctx context.Context, worker string, job moderation.Job) {
	j.mu.Lock()
	j.running++
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.running--
		j.idle.Broadcast()
		j.mu.Unlock()
	}()
	log := j.log.With("job", job.ID, "platform", job.Event.Platform, "event_id", job.Event.DeliveryID, "attempt", job.Attempts)

	// Heartbeat: keep the lease while the job runs.
	hbCtx, stopHB := context.WithCancel(ctx)
	lost := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		t := time.NewTicker(j.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				if err := j.store.Extend(hbCtx, job.ID, worker, j.now().Add(j.cfg.Lease)); err != nil {
					if errors.Is(err, moderation.ErrLeaseLost) {
						log.Error("lease lost; another worker took the job over")
						close(lost)
						return
					}
					log.Warn("extending lease failed", "err", err)
				}
			}
		}
	}()

	work, err := j.handle(ctx, job)
	stopHB()
	hb.Wait()
	select {
	case <-lost:
		// What this run did is recorded all the same (no lease needed),
		// so the worker that took the job over skips it.
		if cerr := j.store.Commit(context.WithoutCancel(ctx), job.ID, worker, work); cerr != nil {
			log.Error("recording the job's last writes failed", "err", cerr)
		}
		return
	default:
	}
	if err != nil && job.Attempts < j.cfg.MaxAttempts && ctx.Err() == nil {
		delay := time.Duration(job.Attempts) * time.Second
		log.Error("job failed; will retry", "err", err, "in", delay)
		if rerr := j.store.Retry(context.WithoutCancel(ctx), job.ID, worker, j.now().Add(delay), err.Error()); rerr != nil {
			log.Error("releasing job failed", "err", rerr)
		}
		return
	}
	if err != nil && ctx.Err() != nil {
		return // shutting down: the lease runs out and the job is claimed again
	}
	if err != nil {
		log.Error("job failed for good", "err", err)
	}
	// The job's last writes (on the happy path the record of its reply,
	// staged after its last platform call) commit with its finish: one
	// transaction. A crash before it re-runs the job, which skips what
	// earlier units recorded and repeats at most that reply — as a crash
	// between the separate writes did. If the lease was lost meanwhile
	// the writes still commit and only the finish fails.
	work.Finish = true
	if ferr := j.store.Commit(context.WithoutCancel(ctx), job.ID, worker, work); ferr != nil {
		log.Error("finishing job failed", "err", ferr)
	}
}

func (j *Runner) handle(ctx context.Context, job moderation.Job) (w moderation.Work, err error) {
	defer func() {
		if v := recover(); v != nil {
			w, err = moderation.Work{}, fmt.Errorf("panic handling job: %v", v)
		}
	}()
	return j.h.HandleJob(ctx, job)
}

// Wait blocks until no job is pending in the store or running here.
// Tests and the demo use it; it polls the store.
func (j *Runner) Wait(ctx context.Context) error {
	j.records.Wait()
	for {
		n, _, err := j.store.Pending(ctx, j.now())
		if err != nil {
			return err
		}
		j.mu.Lock()
		running := j.running
		j.mu.Unlock()
		if n == 0 && running == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
