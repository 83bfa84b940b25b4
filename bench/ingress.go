package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
)

type ingressOptions struct {
	duration    time.Duration
	warmup      time.Duration
	rate        int
	concurrency int
	platforms   []string
	poolRate    int
	barePool    int
	keep        bool
	rounds      int
	drain       time.Duration
	cpuprofile  string
	trace       string
}

func parseIngressFlags(args []string, stderr io.Writer) (ingressOptions, error) {
	fs := flag.NewFlagSet("ingress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o ingressOptions
	var plats string
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured length of each phase (of each round of a saturation phase)")
	fs.IntVar(&o.rounds, "rounds", 3, "saturation rounds per platform, each bare gin then Gavel")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured lead-in of each phase")
	fs.IntVar(&o.rate, "rate", 5000, "deliveries per second of the fixed-rate phase")
	fs.IntVar(&o.concurrency, "concurrency", 64, "closed-loop workers of the saturation phase")
	fs.StringVar(&plats, "platforms", "feishu,tim,easemob", "platforms to load, comma-separated")
	fs.IntVar(&o.poolRate, "pool-rate", 20000, "distinct deliveries prepared per second of a Gavel saturation phase (the phase ends early if Gavel is faster)")
	fs.IntVar(&o.barePool, "bare-pool", 20000, "distinct deliveries cycled through in a bare gin saturation phase")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (config, gavel log, database)")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "longest wait for Gavel to finish the commands' jobs after a phase")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of Gavel's saturation phase per platform to `PREFIX`.<platform>.prof (through server.pprof_listen)")
	fs.StringVar(&o.trace, "trace", "", "write an execution trace of Gavel's fixed-rate phase per platform to `PREFIX`.<platform>.trace (through server.pprof_listen); read it with go tool trace")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, p := range strings.Split(plats, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains([]string{"feishu", "tim", "easemob"}, p) {
			return o, fmt.Errorf("-platforms: unknown platform %q", p)
		}
		o.platforms = append(o.platforms, p)
	}
	switch {
	case o.duration <= 0 || o.duration > 10*time.Minute:
		return o, errors.New("-duration: must be in (0, 10m]")
	case o.warmup < 0 || o.warmup > time.Minute:
		return o, errors.New("-warmup: must be in [0, 1m]")
	case o.rate <= 0 || o.rate > 100000:
		return o, errors.New("-rate: must be in (0, 100000]")
	case o.concurrency <= 0 || o.concurrency > 4096:
		return o, errors.New("-concurrency: must be in (0, 4096]")
	case o.rounds < 1 || o.rounds > 20:
		return o, errors.New("-rounds: must be in [1, 20]")
	case o.poolRate <= 0 || o.barePool <= 0:
		return o, errors.New("-pool-rate, -bare-pool: must be positive")
	}
	// TIM's replay window is ±60 s and a pool is signed when it is built.
	if slices.Contains(o.platforms, "tim") && o.warmup+o.duration > 50*time.Second {
		return o, errors.New("-duration: TIM deliveries must arrive within 60 s of signing; keep warmup+duration ≤ 50s")
	}
	return o, nil
}

// platformResult is one platform's row of the report.
type platformResult struct {
	name                 string
	gavelSat, bareSat    satResult
	gavelRate, bareRate  rateResult
	gavelCPU, bareCPU    time.Duration // target CPU during the saturation phases
	commands, replies    int
	drainSat, drainRate  time.Duration
	drainedSat, drainedR bool
	calls                string
	roundRatios          []float64 // Gavel ÷ bare gin per saturation round
}

const timCallbackToken = "bench-callback-token"

func runIngress(ctx context.Context, o ingressOptions, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "gavel-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(stderr, "keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "building gavel (go build -o %s .) …\n", filepath.Join(dir, "gavel"))
	bin, err := buildGavel(ctx, root, dir)
	if err != nil {
		return err
	}

	fs := feishutest.NewServer()
	ts := timtest.NewServer()
	es := easemobtest.NewServer()
	run := randomID()
	loads := map[string]platformLoad{
		"feishu":  newFeishuLoad(fs, run),
		"tim":     newTIMLoad(ts, timCallbackToken, run),
		"easemob": newEasemobLoad(es),
	}
	defer func() {
		for _, l := range loads {
			l.close()
		}
	}()

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := gavelConfig(addr, dir, fs, ts, es)
	var pprofAddr string
	if o.cpuprofile != "" || o.trace != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		cfg = strings.Replace(cfg, "server:\n", fmt.Sprintf("server:\n  pprof_listen: %q\n", pprofAddr), 1)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	gavel, startup, err := startGavel(ctx, bin, cfgPath, addr, filepath.Join(dir, "gavel.log"))
	if err != nil {
		return err
	}
	defer gavel.stop(20 * time.Second)
	rssReady, _, _ := gavel.memory()
	bare, err := startBare(ctx)
	if err != nil {
		return err
	}
	defer bare.stop(5 * time.Second)
	fmt.Fprintf(stderr, "gavel ready at %s after %v (RSS %s); bare gin at %s\n", gavel.base, startup.Round(time.Millisecond), mib(rssReady), bare.base)

	gavelURL, _ := url.Parse(gavel.base)
	bareURL, _ := url.Parse(bare.base)
	ld := newLoader(max(o.concurrency, fixedRateWorkers))
	defer ld.close()

	var results []platformResult
	loadBefore := loadAvg()
	for _, name := range o.platforms {
		l := loads[name]
		r := platformResult{name: name}
		calls0 := l.apiCalls()
		logf := func(format string, args ...any) {
			fmt.Fprintf(stderr, "[%s] %s\n", name, fmt.Sprintf(format, args...))
		}

		// Saturation, in rounds that alternate bare gin and Gavel so that
		// the machine's drift touches both alike; bare gin first in each
		// round and Gavel's command jobs drained before the next, so they
		// never run during a baseline measurement.
		for k := range o.rounds {
			warm := o.warmup
			if k > 0 {
				warm = min(o.warmup, 250*time.Millisecond) // connections are warm
			}
			pool := l.build(o.barePool)
			runtime.GC()
			c0 := bare.cpu()
			br := ld.saturate(ctx, bareURL, pool, true, o.concurrency, warm, o.duration)
			r.bareCPU += bare.cpu() - c0
			r.bareSat.add(br)

			pool = nil
			n := int(float64(o.poolRate) * (warm + o.duration).Seconds())
			pool = l.build(n)
			runtime.GC()
			profDone := make(chan error, 1)
			if o.cpuprofile != "" && k == 0 {
				go func() { profDone <- fetchProfile(ctx, pprofAddr, warm, o.duration, o.cpuprofile+"."+name+".prof") }()
			} else {
				profDone <- nil
			}
			c0 = gavel.cpu()
			gr := ld.saturate(ctx, gavelURL, pool, false, o.concurrency, warm, o.duration)
			r.gavelCPU += gavel.cpu() - c0
			if err := <-profDone; err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			r.gavelSat.add(gr)
			r.roundRatios = append(r.roundRatios, gr.rps()/br.rps())
			r.commands += gr.commands
			pool = nil
			d, ok := drain(ctx, l, r.commands, o.drain)
			r.drainSat += d
			r.drainedSat = ok
			logf("round %d: bare gin %.0f req/s (%d errors), Gavel %.0f req/s (%d errors%s), ratio %.2f; Gavel's jobs drained in %v (%d replies for %d commands)",
				k+1, br.rps(), br.errors, gr.rps(), gr.errors, exhaustedNote(gr), gr.rps()/br.rps(), d.Round(time.Millisecond), l.replies(), r.commands)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}

		// Fixed rate: the same for both, each with a fresh pool.
		n := int(float64(o.rate) * (o.warmup + o.duration).Seconds())
		pool := l.build(n)
		runtime.GC()
		r.bareRate = ld.fixedRate(ctx, bareURL, pool, o.rate, fixedRateWorkers, o.warmup)
		logf("bare gin at %d/s: p50 %v p99 %v", o.rate, r.bareRate.p50, r.bareRate.p99)
		pool = l.build(n)
		runtime.GC()
		traceDone := make(chan error, 1)
		if o.trace != "" {
			file := o.trace + "." + name + ".trace"
			go func() { traceDone <- fetchTrace(ctx, pprofAddr, o.warmup+o.duration, file) }()
			logf("tracing Gavel's fixed-rate phase into %s; the phase starts at %s", file, time.Now().UTC().Format(time.RFC3339Nano))
		} else {
			traceDone <- nil
		}
		r.gavelRate = ld.fixedRate(ctx, gavelURL, pool, o.rate, fixedRateWorkers, o.warmup)
		if err := <-traceDone; err != nil {
			return fmt.Errorf("execution trace: %w", err)
		}
		r.commands += r.gavelRate.commands
		logf("gavel at %d/s: p50 %v p99 %v, %d errors", o.rate, r.gavelRate.p50, r.gavelRate.p99, r.gavelRate.errors)
		pool = nil
		r.drainRate, r.drainedR = drain(ctx, l, r.commands, o.drain)
		r.replies = l.replies()
		logf("command jobs drained in %v (%d replies for %d commands)", r.drainRate.Round(time.Millisecond), r.replies, r.commands)
		r.calls = l.callSummary(calls0)
		logf("fake API calls (api→answer×count): %s", r.calls)
		results = append(results, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if o.cpuprofile != "" {
		if err := fetchHeap(ctx, pprofAddr, o.cpuprofile+".heap.txt"); err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
	}
	rssEnd, hwm, err := gavel.memory()
	if err != nil {
		return fmt.Errorf("reading gavel's memory: %w", err)
	}
	rejected := strings.Count(readFile(gavel.log), "webhook rejected")
	report(stdout, o, results, startup, rssReady, rssEnd, hwm, rejected)
	fmt.Fprintf(stdout, "Machine load average (1 min): before %s, after %s (other work skews every figure)\n", loadBefore, loadAvg())
	if rejected > 0 {
		fmt.Fprintf(stderr, "gavel log (last lines):\n%s\n", tail(gavel.log, 10))
	}
	return nil
}

const fixedRateWorkers = 512

func exhaustedNote(r satResult) string {
	if r.exhausted {
		return fmt.Sprintf(" (pool exhausted after %v: raise -pool-rate)", r.window.Round(time.Millisecond))
	}
	return ""
}

// drain waits until Gavel has replied to every accepted command, or the
// fake has seen no API call for 5 s, or limit passes.
func drain(ctx context.Context, l platformLoad, commands int, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	lastCalls, quietSince := l.apiCalls(), time.Now()
	for time.Since(start) < limit && ctx.Err() == nil {
		if l.replies() >= commands {
			return time.Since(start), true
		}
		if c := l.apiCalls(); c != lastCalls {
			lastCalls, quietSince = c, time.Now()
		} else if time.Since(quietSince) > 5*time.Second {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), false
}

// gavelConfig is the config.yaml of the Gavel under test: every platform
// pointing at its fake, SQLite in dir, log level warn. Commands are not
// throttled per actor (the load sends many per admin) and mutes of the
// benchmark's victims stay within the defaults otherwise.
func gavelConfig(addr, dir string, fs *feishutest.Server, ts *timtest.Server, es *easemobtest.Server) string {
	return fmt.Sprintf(`# written by go run ./bench ingress
server:
  listen: %q
log:
  level: warn
  format: json
storage:
  driver: sqlite
  dsn: %q
policy:
  commands_per_minute: 1000000
platforms:
  feishu:
    base_url: %q
    app_id: %q
    app_secret: %q
    verification_token: %q
    encrypt_key: %q
  tim:
    base_url: %q
    sdk_app_id: %d
    secret_key: %q
    admin_identifier: %q
    callback_token: %q
  easemob:
    base_url: %q
    org_name: %q
    app_name: %q
    client_id: %q
    client_secret: %q
    callback_secret: %q
    bot_user: gavelbot
%s`, addr, filepath.Join(dir, "gavel.db"),
		fs.URL, fs.AppID, fs.AppSecret, fs.VerificationToken, fs.EncryptKey,
		ts.URL, ts.SDKAppID, ts.SecretKey, timtest.DefaultAdmin, timCallbackToken,
		es.URL, es.Org, es.App, es.ClientID, es.ClientSecret, es.CallbackSecret, automodConfig())
}

// automodConfig turns every auto-moderation rule on, so each ordinary
// message pays for all of them: a blocklist of 1,000 words and 50
// patterns, links, mentions, flood and raid. Thresholds are set so that
// the generated chat is evaluated but does not trip them (a trip would
// turn chat into jobs and measure the platform fakes instead).
func automodConfig() string {
	var b strings.Builder
	b.WriteString("automod:\n  enabled: true\n  defaults:\n")
	b.WriteString("    flood: {enabled: true, action: mute 10m, messages: 1000, per: 1s}\n")
	b.WriteString("    mentions: {enabled: true, action: warn, max: 50}\n")
	b.WriteString("    links: {enabled: true, action: delete, allow: [example.com]}\n")
	b.WriteString("    raid: {enabled: true, action: kick, joins: 1000, per: 10s}\n")
	b.WriteString("    blocklist:\n      enabled: true\n      action: delete\n      normalize_width: true\n      words: [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		if i%5 == 0 {
			fmt.Fprintf(&b, "%q", fmt.Sprintf("禁词%d号", i))
		} else {
			fmt.Fprintf(&b, "%q", fmt.Sprintf("blockedword%04d", i))
		}
	}
	b.WriteString("]\n      patterns: [")
	for i := range 50 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'fr[e3]{2}\\s*c[o0]in%d'", i)
	}
	b.WriteString("]\n")
	return b.String()
}
