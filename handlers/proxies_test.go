package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gavel/moderation"
)

// TestTrustedProxies: X-Forwarded-For names the client only when the TCP
// peer is a listed proxy; otherwise the logs show the peer.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		trusted    []string
		peer       string
		wantRemote string
	}{
		{name: "default trusts no proxy", peer: "203.0.113.9:5000", wantRemote: "203.0.113.9"},
		{name: "listed CIDR", trusted: []string{"10.0.0.0/8"}, peer: "10.1.2.3:5000", wantRemote: "198.51.100.7"},
		{name: "listed IP", trusted: []string{"10.1.2.3"}, peer: "10.1.2.3:5000", wantRemote: "198.51.100.7"},
		{name: "peer not listed", trusted: []string{"10.0.0.0/8"}, peer: "203.0.113.9:5000", wantRemote: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			cfg := Config{TrustedProxies: tt.trusted}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			r := New(cfg, Deps{Receivers: []moderation.Receiver{scriptedReceiver{}}, Queue: &recordingQueue{},
				Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			req := httptest.NewRequest(http.MethodPost, "/webhook/fake", strings.NewReader("err:sig"))
			req.RemoteAddr = tt.peer
			req.Header.Set("X-Forwarded-For", "198.51.100.7")
			req.Header.Set("X-Real-IP", "198.51.100.7")
			r.ServeHTTP(httptest.NewRecorder(), req)
			var line struct{ Remote string }
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line.Remote != tt.wantRemote {
				t.Errorf("logged remote = %q, want %q", line.Remote, tt.wantRemote)
			}
		})
	}
}

func TestTrustedProxiesValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		proxies []string
		wantErr string
	}{
		{name: "IPv4 and CIDR", proxies: []string{"10.0.0.1", "192.168.0.0/16"}},
		{name: "IPv6", proxies: []string{"::1", "fd00::/8"}},
		{name: "host name", proxies: []string{"10.0.0.1", "nginx"}, wantErr: `server.trusted_proxies[1]: "nginx"`},
		{name: "bad CIDR", proxies: []string{"10.0.0.0/33"}, wantErr: "server.trusted_proxies[0]"},
	}
	for _, tt := range tests {
		err := Config{TrustedProxies: tt.proxies}.Validate()
		if (err != nil) != (tt.wantErr != "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Validate = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}
