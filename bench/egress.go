package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"gavel/app"
	"gavel/config"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
	"gavel/policy"
	"gavel/store"
)

type egressOptions struct {
	timMembers     int
	easemobMembers int
	verbose        bool
	cpuprofile     string
}

func parseEgressFlags(args []string, stderr io.Writer) (egressOptions, error) {
	fs := flag.NewFlagSet("egress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o egressOptions
	fs.IntVar(&o.timMembers, "tim-members", 20000, "TIM group members removed by one /kick")
	fs.IntVar(&o.easemobMembers, "easemob-members", 6000, "muted Easemob chat-room members lifted by one /unmute")
	fs.BoolVar(&o.verbose, "v", false, "print Gavel's warnings and errors")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run (Gavel runs in-process here) to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.timMembers < 1 || o.timMembers > 100000 || o.easemobMembers < 1 || o.easemobMembers > 100000 {
		return o, errors.New("-tim-members, -easemob-members: must be in [1, 100000]")
	}
	return o, nil
}

// egressResult is one mass action.
type egressResult struct {
	platform, action string
	targets          int
	perCall, rate    int
	calls, failed    int // action calls; those not answered OK
	rejections       int // rate-limit rejections, every API
	toLast           time.Duration
	phase            time.Duration // first to last action call
	toDone           time.Duration // POST to job finished (reply sent)
	left             int           // targets the fake still holds in the old state
	status           int
	lookups          string
	gaps             []time.Duration // between consecutive action calls
	answer, between  time.Duration   // mean: fake's answer time; Gavel's time from an answer to its next call
}

// gapNote summarises the intervals between action calls against 1/rate.
func (r egressResult) gapNote() string {
	if len(r.gaps) == 0 {
		return ""
	}
	g := slices.Clone(r.gaps)
	slices.Sort(g)
	var sum time.Duration
	for _, d := range g {
		sum += d
	}
	return fmt.Sprintf("interval between %s calls: mean %v, p50 %v, max %v (pacing alone: %v) = fake's answer %v + Gavel from answer to next call %v",
		r.action, (sum / time.Duration(len(g))).Round(10*time.Microsecond), pct(g, 0.5).Round(10*time.Microsecond),
		g[len(g)-1].Round(10*time.Microsecond), time.Second/time.Duration(r.rate),
		r.answer.Round(10*time.Microsecond), r.between.Round(10*time.Microsecond))
}

func (r egressResult) ideal() time.Duration {
	return time.Duration(float64(r.targets) / float64(r.perCall) / float64(r.rate) * float64(time.Second))
}

func runEgress(ctx context.Context, o egressOptions, stdout io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	if o.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	loadBefore := loadAvg()
	t, err := egressTIM(ctx, o.timMembers, log)
	if err != nil {
		return fmt.Errorf("tim: %w", err)
	}
	e, err := egressEasemob(ctx, o.easemobMembers, log)
	if err != nil {
		return fmt.Errorf("easemob: %w", err)
	}
	fmt.Fprintf(stdout, "\nEgress: one command from a chat admin naming every target, against the fakes at their documented limits\n\n")
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "platform\taction\ttargets\tideal\tPOST→last call\tefficiency (≥ 0.95)\tfirst→last call\tefficiency\tPOST→reply\tcalls (failed)\trate-limit rejections (0)\tnot done\t")
	for _, r := range []egressResult{t, e} {
		eff, effPhase := r.ideal().Seconds()/r.toLast.Seconds(), r.ideal().Seconds()/r.phase.Seconds()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%v\t%.2f %s\t%v\t%.2f\t%v\t%d (%d)\t%d %s\t%d\t\n",
			r.platform, r.action, r.targets, r.ideal(), r.toLast.Round(time.Millisecond), eff, verdict(eff >= 0.95),
			r.phase.Round(time.Millisecond), effPhase, r.toDone.Round(time.Millisecond), r.calls, r.failed,
			r.rejections, verdict(r.rejections == 0), r.left)
	}
	tw.Flush()
	for _, r := range []egressResult{t, e} {
		fmt.Fprintf(stdout, "  %s: ideal = %d targets ÷ %d per call ÷ %d calls/s; webhook answered %d; before the first %s call: %s\n",
			r.platform, r.targets, r.perCall, r.rate, r.status, r.action, r.lookups)
		fmt.Fprintf(stdout, "    %s\n", r.gapNote())
	}
	fmt.Fprintf(stdout, "  machine load average (1 min) before %s, after %s\n", loadBefore, loadAvg())
	return nil
}

// timedTransport records when each of Gavel's API calls started and when
// its answer arrived, so that the time the fake took can be told apart
// from the time Gavel took between calls.
type timedTransport struct {
	mu    sync.Mutex
	calls []timedCall
}

type timedCall struct {
	path       string
	start, end time.Time
}

func (t *timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		// The answer is in once its body is read; the adapters read it at once.
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		err = rerr
	}
	t.mu.Lock()
	t.calls = append(t.calls, timedCall{path: req.URL.Path, start: start, end: time.Now()})
	t.mu.Unlock()
	return resp, err
}

// split returns, over the calls whose path contains part, the mean time
// waiting for the answer and the mean time from an answer to the next call.
func (t *timedTransport) split(part string) (answer, between time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var prev *timedCall
	var n, m int
	for i := range t.calls {
		c := &t.calls[i]
		if !strings.Contains(c.path, part) {
			continue
		}
		answer += c.end.Sub(c.start)
		n++
		if prev != nil {
			between += c.start.Sub(prev.end)
			m++
		}
		prev = c
	}
	if n > 0 {
		answer /= time.Duration(n)
	}
	if m > 0 {
		between /= time.Duration(m)
	}
	return answer, between
}

// serveApp runs Gavel in-process on 127.0.0.1 until the returned stop.
func serveApp(ctx context.Context, cfg config.Config, log *slog.Logger, tr *timedTransport) (*app.App, string, func(), error) {
	dir, err := os.MkdirTemp("", "gavel-bench-egress-")
	if err != nil {
		return nil, "", nil, err
	}
	cfg.Storage = store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(dir, "gavel.db")}
	a, err := app.New(ctx, cfg, app.Options{Logger: log, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	serveCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.ServeListener(serveCtx, ln) }()
	return a, "http://" + ln.Addr().String(), func() {
		cancel()
		<-served
		a.Close()
		os.RemoveAll(dir)
	}, nil
}

// post sends req and waits (at most 5 min) until Gavel has finished every
// job; it returns the status and the time from just before the POST.
func post(ctx context.Context, a *app.App, req *http.Request) (int, time.Time, time.Duration, error) {
	start := time.Now()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req.WithContext(ctx))
	if err != nil {
		return 0, start, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := a.Jobs.Wait(wctx); err != nil {
		return resp.StatusCode, start, 0, fmt.Errorf("jobs not finished: %w", err)
	}
	return resp.StatusCode, start, time.Since(start), nil
}

func targets(prefix string, n int, format string) ([]string, string) {
	ids := make([]string, n)
	var b strings.Builder
	b.WriteString(prefix)
	for i := range ids {
		ids[i] = fmt.Sprintf(format, i)
		b.WriteString(" @")
		b.WriteString(ids[i])
	}
	return ids, b.String()
}

func egressTIM(ctx context.Context, n int, log *slog.Logger) (egressResult, error) {
	const group, token = "@TGS#mass", "bench-callback-token"
	ts := timtest.NewServer() // DefaultRate: 200 calls/s per API
	defer ts.Close()
	ids, text := targets("/kick", n, "u%05d")
	ts.AddGroup(timtest.Group{ID: group, Type: "Public", Owner: "owner", Admins: []string{"mod"}, Members: ids})
	cfg := config.Config{
		Platforms: config.Platforms{TIM: &tim.Config{BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
			AdminIdentifier: timtest.DefaultAdmin, CallbackToken: token}},
		Policy: policy.Config{MaxTargets: n},
	}
	tr := &timedTransport{}
	a, base, stop, err := serveApp(ctx, cfg, log, tr)
	if err != nil {
		return egressResult{}, err
	}
	defer stop()
	req, err := timtest.CallbackRequest(base+"/webhook/tim", ts.MessageDelivery(token, time.Now(), timtest.Message{GroupID: group, From: "mod", Text: text}))
	if err != nil {
		return egressResult{}, err
	}
	status, start, took, err := post(ctx, a, req)
	if err != nil {
		return egressResult{}, err
	}
	r := egressResult{platform: "tim", action: "delete_group_member", targets: n, perCall: 100, rate: timtest.DefaultRate,
		status: status, toDone: took, left: len(ts.Members(group)) - 2}
	r.answer, r.between = tr.split("/delete_group_member")
	calls := ts.CallsTo("delete_group_member")
	r.calls = len(calls)
	for i, c := range calls {
		if c.Code != 0 {
			r.failed++
		}
		if i > 0 {
			r.gaps = append(r.gaps, c.Time.Sub(calls[i-1].Time))
		}
	}
	if len(calls) > 0 {
		r.toLast, r.phase = calls[len(calls)-1].Time.Sub(start), calls[len(calls)-1].Time.Sub(calls[0].Time)
	}
	var before []string
	for _, cmd := range []string{"get_role_in_group", "get_group_info", "get_group_muted_account", "delete_group_member", "send_group_msg"} {
		r.rejections += ts.Throttled(cmd)
		if cmd == "delete_group_member" || len(calls) == 0 {
			continue
		}
		k := 0
		for _, c := range ts.CallsTo(cmd) {
			if c.Time.Before(calls[0].Time) {
				k++
			}
		}
		if k > 0 {
			before = append(before, fmt.Sprintf("%d × %s", k, cmd))
		}
	}
	r.lookups = strings.Join(before, ", ")
	if len(calls) > 0 {
		r.lookups += fmt.Sprintf(" (first removal %v after the POST)", calls[0].Time.Sub(start).Round(time.Millisecond))
	}
	return r, nil
}

func egressEasemob(ctx context.Context, n int, log *slog.Logger) (egressResult, error) {
	const room = "262463528206337"
	es := easemobtest.NewServer() // DefaultRate: 100 calls/s per API
	defer es.Close()
	ids, text := targets("/unmute", n, "u%04d")
	es.AddChatRoom(room, "host", []string{"mod"}, ids)
	until := time.Now().Add(time.Hour).UnixMilli()
	for _, u := range ids {
		es.Mute(room, u, until)
	}
	cfg := config.Config{
		Platforms: config.Platforms{Easemob: &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App,
			ClientID: es.ClientID, ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavelbot"}},
		Policy: policy.Config{MaxTargets: n},
	}
	tr := &timedTransport{}
	a, base, stop, err := serveApp(ctx, cfg, log, tr)
	if err != nil {
		return egressResult{}, err
	}
	defer stop()
	req := es.MessageRequest(base+"/webhook/easemob", easemobtest.Message{ChatID: room, Kind: easemobtest.KindChatRoom, From: "mod", Text: text})
	status, start, took, err := post(ctx, a, req)
	if err != nil {
		return egressResult{}, err
	}
	r := egressResult{platform: "easemob", action: "unmute", targets: n, perCall: easemobtest.MaxUnmute, rate: easemobtest.DefaultRate,
		status: status, toDone: took}
	r.answer, r.between = tr.split("/mute/")
	for _, u := range ids {
		if _, muted := es.MuteExpiry(room, u); muted {
			r.left++
		}
	}
	all := es.Calls()
	var first time.Time
	counts := map[string]int{}
	var order []string
	for _, c := range all {
		if c.Status == http.StatusTooManyRequests {
			r.rejections++
		}
		if c.Op != "unmute" {
			if first.IsZero() {
				if counts[c.Op] == 0 {
					order = append(order, c.Op)
				}
				counts[c.Op]++
			}
			continue
		}
		r.calls++
		if c.Status != http.StatusOK {
			r.failed++
		}
		if first.IsZero() {
			first = c.Time
		} else {
			r.gaps = append(r.gaps, c.Time.Sub(first.Add(r.phase)))
		}
		r.toLast, r.phase = c.Time.Sub(start), c.Time.Sub(first)
	}
	var before []string
	for _, op := range order {
		before = append(before, fmt.Sprintf("%d × %s", counts[op], op))
	}
	r.lookups = strings.Join(before, ", ")
	if !first.IsZero() {
		r.lookups += fmt.Sprintf(" (first unmute %v after the POST)", first.Sub(start).Round(time.Millisecond))
	}
	return r, nil
}
