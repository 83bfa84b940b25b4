package demo

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gavel/app"
	"gavel/config"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/store"
)

// feishuLongConn runs a second Gavel with Feishu in websocket mode
// against a fake of its own: no webhook, no public URL; the SDK's client
// dials the fake's endpoint discovery and WebSocket, and commands arrive
// as event frames, acknowledged once stored.
func (d *director) feishuLongConn(ctx context.Context, logger *slog.Logger, dir string) error {
	fs := feishutest.NewServer()
	defer fs.Close()
	const chat = "oc_ws"
	fs.AddChat(feishutest.Chat{ID: chat, Name: "Long-connection group", OwnerID: "ou_owner", Managers: []string{"ou_admin"},
		Members: []string{"ou_spammer", "ou_troll", "ou_alice"}, BotIsManager: true})
	cfg := config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{Mode: feishu.ModeWebSocket, BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret}},
		Storage:   store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(dir, "longconn.db")},
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Auditor: d.cases})
	if err != nil {
		return fmt.Errorf("building the websocket-mode gavel: %w", err)
	}
	defer a.Close()
	stop := a.Start(ctx)
	defer stop()

	d.section("Feishu/Lark — long connection (platforms.feishu.mode: websocket): a second Gavel with only app_id/app_secret, no webhook route; " +
		"it dials POST /callback/ws/endpoint, then the WebSocket, and acknowledges each event frame once the job is stored")
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = fs.WaitConns(waitCtx, 1)
	cancel()
	if err != nil {
		return fmt.Errorf("the long connection did not open: %w", err)
	}
	v := feishuView{fs}
	kick := func(target string) []byte {
		m := fs.NewMessage(chat, "ou_admin", "@_user_1 /kick @_user_2 spam",
			feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}, feishutest.Mention{Key: "@_user_2", OpenID: target, Name: target})
		return feishutest.MessageEvent("", m)
	}
	gone := func(u string) func() error {
		return func() error { return expect(!slices.Contains(fs.Members(chat), u), "%s is still in the chat", u) }
	}
	d.socket(a, fs, v, socketStep{who: "ou_admin (manager)", text: "@Gavel /kick @ou_spammer spam", event: kick("ou_spammer"),
		check: gone("ou_spammer"), wantReply: "Removed 1"})
	d.socket(a, fs, v, socketStep{who: "ou_admin (manager)", text: "@Gavel /kick @ou_troll spam — sent while the socket is down (dropped, Feishu busy)",
		event: kick("ou_troll"), down: true, check: gone("ou_troll"), wantReply: "Removed 1"})
	return nil
}

type socketStep struct {
	who, text string
	event     []byte
	// down drops the connection and keeps Feishu refusing new ones while
	// the event is pushed; it is sent on the connection that follows.
	down      bool
	check     func() error
	wantReply string
}

// socket plays one event over the long connection: it is pushed, its
// answer awaited, and the outcome reported as run does for a webhook.
func (d *director) socket(a *app.App, fs *feishutest.Server, v view, s socketStep) {
	d.steps++
	fmt.Fprintf(d.out, "\n[%d] %s: %q\n", d.steps, s.who, s.text)
	m, c := v.mark(), d.cases.len()
	var problems []string
	if s.down {
		fs.SetLongConnDown(true)
	}
	start := time.Now()
	id := fs.Push(s.event)
	if s.down {
		time.Sleep(200 * time.Millisecond)
		fs.SetLongConnDown(false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := fs.WaitAcked(ctx, id); err != nil {
		problems = append(problems, fmt.Sprintf("event not acknowledged: %v (answers %v)", err, fs.Acks(id)))
	}
	took := time.Since(start)
	if err := a.Jobs.Wait(ctx); err != nil {
		problems = append(problems, "jobs still pending: "+err.Error())
	}
	cancel()
	answers := make([]string, 0, len(fs.Acks(id)))
	for _, code := range fs.Acks(id) {
		answers = append(answers, fmt.Sprint(code))
	}
	fmt.Fprintf(d.out, "    socket    event frame %s answered %s after %s (connections opened so far: %d)\n",
		id, strings.Join(answers, ","), took.Round(time.Millisecond), fs.Connects())
	d.report(v, m, c, s.wantReply, s.check, problems)
}
