package main

import (
	"bytes"
	"context"
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
		{name: "missing config file", args: []string{"check-config", "--config", "nope.yaml"}, wantErr: "reading config"},
		{name: "version", args: []string{"version"}, wantOut: "gavel "},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: "unknown command"},
		{name: "no command", args: nil, wantErr: "no command"},
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
