package storetest

import (
	"fmt"
	"testing"
	"time"

	"gavel/moderation"
)

// Bench measures the store operations Gavel's hot paths make, so that a
// change to a store can show it costs nothing:
//
//	func BenchmarkStore(b *testing.B) { storetest.Bench(b, func(b *testing.B) moderation.Store { … }) }
//
// open must return a fresh, empty store; Bench closes it.
func Bench(b *testing.B, open func(b *testing.B) moderation.Store) {
	for _, bb := range []struct {
		name string
		fn   func(b *testing.B, s moderation.Store)
	}{
		{"KickJob", benchKickJob},
		{"EnqueueClaimFinish", benchEnqueueClaimFinish},
		{"CaseReads", benchCaseReads},
		{"Mutes", benchMutes},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s := open(b)
			b.Cleanup(func() {
				if err := s.Close(); err != nil {
					b.Errorf("Close: %v", err)
				}
			})
			b.ReportAllocs()
			bb.fn(b, s)
		})
	}
}

// benchKickJob is a /kick job's happy path: EnqueueClaim, then one Commit
// of its results, its case and its finish.
func benchKickJob(b *testing.B, s moderation.Store) {
	ctx := b.Context()
	n := 0
	for b.Loop() {
		n++
		d := fmt.Sprint("d", n)
		ev := message(fmt.Sprint("c", n%16), d, "k"+d)
		created, job, err := s.EnqueueClaim(ctx, ev, "w", time.Minute, t0)
		if err != nil || !created || job == nil {
			b.Fatalf("EnqueueClaim(%s) = %v, %v, %v", d, created, job, err)
		}
		c := sampleCase(d, ev.Message.Chat.ID, "mod", t0, "u1", "u2")
		c.Verb = moderation.VerbKick
		w := moderation.Work{
			Results: []moderation.JobResults{{Step: moderation.ActionStep(moderation.VerbKick), Results: c.Results}},
			Cases:   []*moderation.Case{&c},
			Finish:  true,
		}
		if err := s.Commit(ctx, job.ID, "w", w); err != nil {
			b.Fatalf("Commit: %v", err)
		}
	}
}

// benchEnqueueClaimFinish is the worker path: Enqueue, Claim, Finish.
func benchEnqueueClaimFinish(b *testing.B, s moderation.Store) {
	ctx := b.Context()
	n := 0
	for b.Loop() {
		n++
		d := fmt.Sprint("d", n)
		if !enqueue(b, s, message(fmt.Sprint("c", n%16), d), t0) {
			b.Fatalf("Enqueue(%s): not created", d)
		}
		jobs := claim(b, s, "w", 1, time.Minute, t0)
		if len(jobs) != 1 {
			b.Fatalf("Claim: %d jobs, want 1", len(jobs))
		}
		if err := s.Finish(ctx, jobs[0].ID, "w"); err != nil {
			b.Fatalf("Finish: %v", err)
		}
	}
}

// benchCaseReads reads one case by ID and one user's latest cases, over
// 500 stored cases.
func benchCaseReads(b *testing.B, s moderation.Store) {
	ctx := b.Context()
	var ids []int64
	for i := range 500 {
		ids = append(ids, addCase(b, s, sampleCase(fmt.Sprint("d", i), fmt.Sprint("c", i%8), "mod", t0, fmt.Sprint("u", i%50))))
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Case(ctx, ids[i%len(ids)]); err != nil {
			b.Fatalf("Case: %v", err)
		}
		cs, err := s.Cases(ctx, moderation.CaseFilter{UserID: fmt.Sprint("u", i%50), Limit: 5})
		if err != nil || len(cs) != 5 {
			b.Fatalf("Cases = %d, %v; want 5", len(cs), err)
		}
	}
}

// benchMutes puts a batch of 20 mutes and reads one back.
func benchMutes(b *testing.B, s moderation.Store) {
	ctx := b.Context()
	chat := moderation.ChatRef{Platform: "test", ID: "c1"}
	batch := make([]moderation.Mute, 20)
	i := 0
	for b.Loop() {
		i++
		for j := range batch {
			batch[j] = moderation.Mute{Chat: chat, UserID: fmt.Sprint("u", j), Until: t0.Add(time.Duration(i) * time.Minute), CaseID: int64(i)}
		}
		if err := s.PutMutes(ctx, batch...); err != nil {
			b.Fatalf("PutMutes: %v", err)
		}
		if _, ok, err := s.ActiveMute(ctx, chat, "u7", t0); err != nil || !ok {
			b.Fatalf("ActiveMute = %v, %v", ok, err)
		}
	}
}
