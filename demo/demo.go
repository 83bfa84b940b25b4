// Package demo runs Gavel against in-process fakes of its three platforms
// and plays scripted group conversations through signed webhooks over real
// HTTP, and Feishu's long connection over a real WebSocket. Each step prints message → decision → API calls → reply and checks
// what the fake platform saw; Run fails if any step misbehaved.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gavel/app"
	"gavel/config"
	"gavel/moderation"
	"gavel/pipeline"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
	"gavel/policy"
	"gavel/store"
)

// Options tune the demo.
type Options struct {
	// Verbose also prints Gavel's own log lines.
	Verbose bool
	// KeepConsole keeps the console open after the demo until ctx ends.
	KeepConsole bool
}

// Run plays the demo, writing the transcript to w.
func Run(ctx context.Context, w io.Writer, o Options) error {
	fs := feishutest.NewServer()
	defer fs.Close()
	ts := timtest.NewServer()
	defer ts.Close()
	es := easemobtest.NewServer()
	defer es.Close()

	const timToken = "demo-callback-token"
	cfg := config.Config{
		Platforms: config.Platforms{
			Feishu: &feishu.Config{
				BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret,
				VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey,
			},
			TIM: &tim.Config{
				BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
				AdminIdentifier: timAdmin, CallbackToken: timToken,
			},
			Easemob: &easemob.Config{
				BaseURL: es.URL, OrgName: es.Org, AppName: es.App, ClientID: es.ClientID,
				ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavel",
			},
		},
		// The mod-log of one Feishu chat (modlog.go).
		ModLog: pipeline.ModLogConfig{Chats: map[string]string{"feishu:" + undoChat: modLogChat}},
		Policy: policy.Config{Protected: []string{"feishu:ou_ceo"}, MaxTargets: demoMaxTargets, ConfirmAbove: demoConfirmAbove},
	}
	verifyConfig(&cfg)
	logger := slog.New(slog.DiscardHandler)
	if o.Verbose {
		logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	dir, err := os.MkdirTemp("", "gavel-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Storage = store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(dir, "gavel.db")}
	if cfg.Console.Listen, err = freeAddr(); err != nil {
		return err
	}
	cases := &caseLog{}
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Auditor: cases})
	if err != nil {
		return fmt.Errorf("building gavel: %w", err)
	}
	defer a.Close()
	cases.store = a.Store
	password, err := addDemoUser(ctx, a.Store)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.ServeListener(serveCtx, ln) }()
	defer func() { stop(); <-served }()

	d := &director{out: w, gavel: "http://" + ln.Addr().String(), app: a, cases: cases}
	fmt.Fprintf(w, "Gavel demo: one Gavel (%s) serving Feishu, Tencent Cloud Chat and Easemob fakes.\n", d.gavel)
	keep := "run `gavel demo -console` to keep it open"
	if o.KeepConsole {
		keep = "it stays open after the demo until Ctrl-C"
	}
	fmt.Fprintf(w, "Console: %s  (sign in as %s, password %s; %s)\n", a.Console.BaseURL(), demoUser, password, keep)
	d.feishu(fs)
	d.feishuSanctions(fs)
	d.feishuModLog(fs)
	if err := d.feishuLongConn(ctx, logger, dir); err != nil {
		d.steps++
		d.failed++
		fmt.Fprintf(w, "    FAILED    %v\n", err)
	}
	d.tim(ts, timToken)
	d.timSanctions(ts, timToken)
	d.timConfirm(ts, timToken)
	d.timVerify(ts, timToken)
	d.easemob(es)
	d.easemobSanctions(es)

	fmt.Fprintf(w, "\n%d steps, %d failed.\n", d.steps, d.failed)
	// The console's webhook and queue figures, now rather than at the
	// next minute.
	if err := a.Figures.Flush(ctx); err != nil {
		fmt.Fprintf(w, "console figures: %v\n", err)
	}
	if o.KeepConsole {
		fmt.Fprintf(w, "\nThe console stays open at %s (user %s, password %s) until Ctrl-C.\n", a.Console.BaseURL(), demoUser, password)
		<-ctx.Done()
	}
	if d.failed > 0 {
		return fmt.Errorf("demo: %d of %d steps did not behave as expected", d.failed, d.steps)
	}
	return nil
}

// caseLog is the demo's auditor: it keeps the cases it prints, and
// stores them too (numbered by the store), as reports read them back.
type caseLog struct {
	mu    sync.Mutex
	cases []moderation.Case
	// store, once set, keeps the cases too, for the console to show.
	store moderation.Store
}

func (l *caseLog) Record(ctx context.Context, c *moderation.Case) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.ID == 0 { // a case the store numbered (a held command, its answer) keeps its number
		if l.store != nil {
			if err := l.store.AddCase(ctx, c); err != nil {
				return err
			}
		} else {
			c.ID = int64(len(l.cases) + 1)
		}
	}
	l.cases = append(l.cases, *c)
	return nil
}

func (l *caseLog) since(n int) []moderation.Case {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]moderation.Case(nil), l.cases[n:]...)
}

// has reports whether a case since the first n recorded verb on target
// and succeeded.
func (l *caseLog) has(n int, verb moderation.Verb, target string) bool {
	for _, c := range l.since(n) {
		if c.Verb == verb && slices.Contains(c.Targets, target) && len(c.Results) > 0 && c.Results[0].Status.Succeeded() {
			return true
		}
	}
	return false
}

func (l *caseLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.cases)
}

// view is what a step reads from one platform's fake.
type view interface {
	// mark returns a position; calls and replies report what came after.
	mark() int
	calls(since int) []string
	replies(since int) []string
}

type director struct {
	out           io.Writer
	gavel         string
	app           *app.App
	cases         *caseLog
	steps, failed int
}

// step is one scripted delivery and what must follow from it.
type step struct {
	who, text  string
	req        *http.Request
	wantStatus int
	// check returns nil when the platform ended in the expected state.
	check func() error
	// wantReply must appear in the reply ("" means: no reply expected).
	wantReply string
}

func (d *director) section(title string) {
	fmt.Fprintf(d.out, "\n== %s\n", title)
}

func (d *director) run(v view, s step) {
	d.steps++
	fmt.Fprintf(d.out, "\n[%d] %s: %q\n", d.steps, s.who, s.text)
	m, c := v.mark(), d.cases.len()
	var problems []string
	status, err := d.post(s.req)
	if err != nil {
		problems = append(problems, err.Error())
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := d.app.Jobs.Wait(waitCtx); err != nil {
		problems = append(problems, "jobs still pending: "+err.Error())
	}
	cancel()
	fmt.Fprintf(d.out, "    webhook   HTTP %d\n", status)
	if s.wantStatus == 0 {
		s.wantStatus = http.StatusOK
	}
	if status != s.wantStatus {
		problems = append(problems, fmt.Sprintf("webhook answered %d, want %d", status, s.wantStatus))
	}
	d.report(v, m, c, s.wantReply, s.check, problems)
}

// waitStep is a step without a delivery: time passes until the platform
// shows what a timer of Gavel's should have done.
type waitStep struct {
	who, text string
	// until returns nil once the platform is in the expected state.
	until func() error
	// wantReply must appear in what Gavel posted meanwhile ("" means: no
	// message expected).
	wantReply string
	timeout   time.Duration
}

// wait plays a waitStep: it polls until the condition holds and the
// expected message was posted, or the timeout passes, then prints what
// Gavel decided and called meanwhile, as run does.
func (d *director) wait(v view, s waitStep) {
	d.steps++
	fmt.Fprintf(d.out, "\n[%d] %s: %s\n", d.steps, s.who, s.text)
	m, c := v.mark(), d.cases.len()
	if s.timeout == 0 {
		s.timeout = 10 * time.Second
	}
	start := time.Now()
	deadline := start.Add(s.timeout)
	var err error
	for {
		err = s.until()
		if err == nil && (s.wantReply == "" || strings.Contains(strings.Join(v.replies(m), "\n"), s.wantReply)) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	waited := time.Since(start)
	var problems []string
	waitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if werr := d.app.Jobs.Wait(waitCtx); werr != nil {
		problems = append(problems, "jobs still pending: "+werr.Error())
	}
	cancel()
	fmt.Fprintf(d.out, "    waited    %.1fs\n", waited.Seconds())
	if err != nil {
		problems = append(problems, fmt.Sprintf("after %s: %v", s.timeout, err))
	}
	d.report(v, m, c, s.wantReply, nil, problems)
}

// report prints the decisions, API calls and replies since mark m and
// case count c, checks them, and counts the step.
func (d *director) report(v view, m, c int, wantReply string, check func() error, problems []string) {
	for _, cs := range d.cases.since(c) {
		fmt.Fprintf(d.out, "    decision  case #%d %s\n", cs.ID, describeCase(cs))
	}
	calls := v.calls(m)
	if len(calls) == 0 {
		fmt.Fprintf(d.out, "    api       (no call)\n")
	}
	for _, call := range calls {
		fmt.Fprintf(d.out, "    api       %s\n", call)
	}
	replies := v.replies(m)
	for _, r := range replies {
		fmt.Fprintf(d.out, "    reply     %s\n", strings.ReplaceAll(r, "\n", "\n              "))
	}
	switch {
	case wantReply == "" && len(replies) > 0:
		problems = append(problems, "unexpected reply")
	case wantReply != "" && !strings.Contains(strings.Join(replies, "\n"), wantReply):
		problems = append(problems, fmt.Sprintf("reply should contain %q", wantReply))
	}
	if check != nil {
		if err := check(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		d.failed++
		fmt.Fprintf(d.out, "    FAILED    %s\n", strings.Join(problems, "; "))
		return
	}
	fmt.Fprintf(d.out, "    ok\n")
}

func (d *director) post(req *http.Request) (int, error) {
	if req == nil {
		return 0, errors.New("no request built")
	}
	u := strings.TrimPrefix(d.gavel, "http://")
	req.URL.Scheme, req.URL.Host, req.Host, req.RequestURI = "http", u, u, ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func describeCase(c moderation.Case) string {
	var b strings.Builder
	b.WriteString(string(c.Verb))
	if len(c.Targets) > 0 { // a lock or /purge N names no user
		b.WriteString(" " + strings.Join(c.Targets, ","))
	}
	fmt.Fprintf(&b, " → %s", c.Outcome)
	if c.Duration > 0 {
		fmt.Fprintf(&b, " (for %s)", c.Duration)
	}
	var per []string
	for _, r := range c.Results {
		s := string(r.Status)
		if r.UserID != "" {
			s = r.UserID + ":" + s
		}
		if r.Reason != "" {
			s += "/" + string(r.Reason)
		}
		per = append(per, s)
	}
	if len(per) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(per, " "))
	}
	return b.String()
}

func expect(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func now() time.Time { return time.Now() }
