package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"time"

	"gavel/moderation"
	"gavel/store"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	for k, v := range map[string]string{
		"FEISHU_APP_SECRET": "s", "FEISHU_VERIFICATION_TOKEN": "v", "FEISHU_ENCRYPT_KEY": "e",
		"TIM_SECRET_KEY": "k", "TIM_CALLBACK_TOKEN": "t",
		"EASEMOB_CLIENT_ID": "i", "EASEMOB_CLIENT_SECRET": "c", "EASEMOB_CALLBACK_SECRET": "cs",
	} {
		t.Setenv(k, v)
	}
	ws := filepath.Join(t.TempDir(), "ws.yaml")
	if err := os.WriteFile(ws, []byte("platforms:\n  feishu: {mode: websocket, app_id: cli_x, app_secret: s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wsBad := filepath.Join(t.TempDir(), "wsbad.yaml")
	if err := os.WriteFile(wsBad, []byte("platforms:\n  feishu: {mode: websocket, app_id: cli_x, app_secret: s, encrypt_key: k}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("platforms:\n  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: a}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{name: "check shipped config", args: []string{"check-config", "--config", "config.yaml"}, wantOut: "config.yaml: OK"},
		{name: "check bad config names key", args: []string{"check-config", "--config", bad}, wantErr: "platforms.tim.callback_token"},
		{name: "check websocket mode says what it needs", args: []string{"check-config", "--config", ws}, wantOut: "mode websocket: Gavel opens the long connection"},
		{name: "check websocket mode refuses encrypt_key", args: []string{"check-config", "--config", wsBad}, wantErr: "platforms.feishu.encrypt_key: is not used in websocket mode"},
		{name: "missing config file", args: []string{"check-config", "--config", "nope.yaml"}, wantErr: "reading config"},
		{name: "version", args: []string{"version"}, wantOut: "gavel "},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: "unknown command"},
		{name: "no command", args: nil, wantErr: "no command"},
		{name: "flag of another subcommand", args: []string{"serve", "--chat", "tim:g1"}, wantErr: "flag provided but not defined: -chat"},
		{name: "demo takes no config", args: []string{"demo", "--config", "x.yaml"}, wantErr: "flag provided but not defined: -config"},
		{name: "version takes no flags", args: []string{"version", "--limit", "3"}, wantErr: "not defined"},
		{name: "stray argument", args: []string{"check-config", "--config", "config.yaml", "extra"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v (stderr %s)", err, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

func TestCasesCommand(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "gavel.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := "platforms:\n  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: a, callback_token: t}\nstorage: {dsn: " + dsn + "}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []moderation.Case{
		{DeliveryID: "d1", Platform: "tim", ChatID: "g1", Actor: "mod", Verb: moderation.VerbKick, Targets: []string{"spam"}, Outcome: "done", Reason: "ads", At: now.Add(-48 * time.Hour),
			Results: []moderation.Result{{UserID: "spam", Status: moderation.StatusDone}}},
		{DeliveryID: "d2", Platform: "tim", ChatID: "g1", Actor: "mod", Verb: moderation.VerbMute, Targets: []string{"a", "b", "c", "d"}, Duration: 10 * time.Minute, Outcome: "partial", At: now,
			Results: []moderation.Result{{UserID: "a", Status: moderation.StatusDone}, {UserID: "b", Status: moderation.StatusRefused}}},
		{DeliveryID: "d3", Platform: "tim", ChatID: "g2", Actor: "boss", Verb: moderation.VerbKick, Targets: []string{"x"}, Outcome: "done", At: now},
	} {
		if err := st.AddCase(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	tests := []struct {
		name      string
		args      []string
		want, not []string
	}{
		{name: "all", args: nil, want: []string{"3 case(s)", "tim:g1", "tim:g2", "mute 10m", "a,b,c,… (4) [1 not done]"}},
		{name: "chat", args: []string{"--chat", "tim:g2"}, want: []string{"1 case(s)", "boss"}, not: []string{"tim:g1"}},
		{name: "user as target", args: []string{"--user", "spam"}, want: []string{"1 case(s)", "ads"}},
		{name: "since", args: []string{"--since", "24h"}, want: []string{"2 case(s)"}, not: []string{"ads"}},
		{name: "limit", args: []string{"--limit", "1"}, want: []string{"1 case(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(ctx, append([]string{"cases", "--config", cfgPath}, tt.args...), &out, &errOut); err != nil {
				t.Fatalf("cases: %v (%s)", err, errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"cases", "--config", cfgPath, "--chat", "nochat"}, &out, &errOut); err == nil {
		t.Error("bad --chat accepted")
	}
}

func TestVersionLine(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"stamped release", "v1.4.0", &debug.BuildInfo{GoVersion: "go1.26.0"}, "v1.4.0 (go1.26.0)"},
		{"go install at a version", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.5.0"}}, "v1.5.0 (go1.26.0)"},
		{"git checkout", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "240d6771234567890abc", "vcs.time", "2026-12-06T13:58:00Z", "vcs.modified", "true")},
			"devel (revision 240d67712345+dirty, 2026-12-06T13:58:00Z, go1.26.0)"},
		{"no vcs info", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"devel (no VCS revision recorded (build with -buildvcs=true or -ldflags -X main.version=…), go1.26.0)"},
		{"no build info", "", nil, "devel (no VCS revision recorded (build with -buildvcs=true or -ldflags -X main.version=…))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.stamped, tt.bi); got != tt.want {
				t.Errorf("versionLine = %q, want %q", got, tt.want)
			}
		})
	}
}
