// The ingress report: the table BENCHMARKS.md quotes.

package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func report(w io.Writer, o ingressOptions, rs []platformResult, startup time.Duration, rssReady, rssEnd, hwm int64, rejected int) {
	fmt.Fprintf(w, "\nIngress: saturation %d workers, %d rounds × %v each of bare gin then Gavel (after a warm-up); fixed rate %d/s × %v; same client, same machine (%d CPUs)\n\n",
		o.concurrency, o.rounds, o.duration, o.rate, o.duration, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "platform\tGavel req/s\tbare gin req/s\tratio (≥ 0.65)\tratio per round\tGavel CPU/req\tbare CPU/req\tGavel p50\tGavel p99 (≤ 10ms)\tGavel p99.9\tGavel max\tbare p50\tbare p99\terrors G/b\tcommands→replies\t")
	for _, r := range rs {
		ratio := r.gavelSat.rps() / r.bareSat.rps()
		errs := r.gavelSat.errors + r.gavelRate.errors
		bErrs := r.bareSat.errors + r.bareRate.errors
		fmt.Fprintf(tw, "%s\t%.0f%s\t%.0f\t%.2f %s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%d/%d\t%d→%d\t\n",
			r.name, r.gavelSat.rps(), star(r.gavelSat.exhausted), r.bareSat.rps(), ratio, verdict(ratio >= 0.65), ratios(r.roundRatios),
			perReq(r.gavelCPU, r.gavelSat), perReq(r.bareCPU, r.bareSat),
			ms(r.gavelRate.p50), ms(r.gavelRate.p99), verdict(r.gavelRate.p99 <= 10*time.Millisecond && r.gavelRate.errors == 0),
			ms(r.gavelRate.p999), ms(r.gavelRate.max), ms(r.bareRate.p50), ms(r.bareRate.p99),
			errs, bErrs, r.commands, r.replies)
	}
	tw.Flush()
	for _, r := range rs {
		fmt.Fprintf(w, "  %s: fixed rate achieved %.0f/s (Gavel), %.0f/s (bare); Gavel p90 %s, p99 from actual send %s; jobs drained %v / %v after the phases%s\n",
			r.name, r.gavelRate.achieved, r.bareRate.achieved, ms(r.gavelRate.p90), ms(r.gavelRate.serviceP99),
			r.drainSat.Round(time.Millisecond), r.drainRate.Round(time.Millisecond), drainNote(r))
		fmt.Fprintf(w, "    Gavel p99 of ordinary chat %s, of commands %s; %s (bare: %s)\n",
			ms(r.gavelRate.ordinaryP99), ms(r.gavelRate.commandP99), r.gavelRate.stalls, r.bareRate.stalls)
		fmt.Fprintf(w, "    load generator's own send delay: p99 %s, max %s while loading Gavel; p99 %s, max %s while loading bare gin\n",
			ms(r.gavelRate.lateP99), ms(r.gavelRate.lateMax), ms(r.bareRate.lateP99), ms(r.bareRate.lateMax))
		for _, s := range append(r.gavelSat.samples, r.gavelRate.samples...) {
			fmt.Fprintf(w, "    gavel error: %s\n", s)
		}
		for _, s := range append(r.bareSat.samples, r.bareRate.samples...) {
			fmt.Fprintf(w, "    bare error: %s\n", s)
		}
	}
	if slices.ContainsFunc(rs, func(r platformResult) bool { return r.gavelSat.exhausted }) {
		fmt.Fprintln(w, "  * the prepared pool ran out before the duration; the rate is over the shorter window")
	}
	fmt.Fprintf(w, "\nGavel process: start-up to /readyz 200 %v; RSS at ready %s, at end %s, peak (VmHWM) %s; %d webhook rejections logged\n",
		startup.Round(100*time.Microsecond), mib(rssReady), mib(rssEnd), mib(hwm), rejected)
}

func ratios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(parts, " ")
}

func drainNote(r platformResult) string {
	if r.drainedSat && r.drainedR {
		return ""
	}
	return " (not every command was answered by a reply)"
}

func star(b bool) string {
	if b {
		return "*"
	}
	return ""
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// perReq is the target's CPU time per request over a whole saturation
// phase (warm-up included, as the CPU reading is).
func perReq(cpu time.Duration, r satResult) string {
	if r.total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(cpu.Microseconds())/float64(r.total))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
