package tim

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/egress"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // prefix of the error; "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid insecure without token", func(c *Config) { c.CallbackToken, c.InsecureSkipVerify = "", true }, ""},
		{"default base url", func(c *Config) { c.BaseURL = "" }, ""},
		{"bad base url", func(c *Config) { c.BaseURL = "console.tim.qq.com" }, "platforms.tim.base_url:"},
		{"base url with query", func(c *Config) { c.BaseURL = "https://x.example?usersig=1" }, "platforms.tim.base_url:"},
		{"missing app id", func(c *Config) { c.SDKAppID = 0 }, "platforms.tim.sdk_app_id:"},
		{"missing secret", func(c *Config) { c.SecretKey = "" }, "platforms.tim.secret_key:"},
		{"missing admin", func(c *Config) { c.AdminIdentifier = "" }, "platforms.tim.admin_identifier:"},
		{"admin too long", func(c *Config) { c.AdminIdentifier = strings.Repeat("a", 33) }, "platforms.tim.admin_identifier:"},
		{"no token not insecure", func(c *Config) { c.CallbackToken = "" }, "platforms.tim.callback_token:"},
		{"negative replay window", func(c *Config) { c.ReplayWindow = -time.Second }, "platforms.tim.replay_window:"},
		{"usersig ttl too short", func(c *Config) { c.UserSigTTL = time.Second }, "platforms.tim.usersig_ttl:"},
		{"negative rate", func(c *Config) { c.Rate = egress.Limits{PerSecond: -1} }, "platforms.tim.rate.per_second:"},
		{"negative burst", func(c *Config) { c.Rate = egress.Limits{Burst: -1} }, "platforms.tim.rate.burst:"},
		{"presend drop", func(c *Config) { c.PreSendAction = PreSendDrop }, ""},
		{"presend reject", func(c *Config) { c.PreSendAction = PreSendReject }, ""},
		{"presend unknown", func(c *Config) { c.PreSendAction = "block" }, "platforms.tim.presend_action:"},
		{"negative name ttl", func(c *Config) { c.NameCacheTTL = -time.Second }, "platforms.tim.name_cache_ttl:"},
		{"mention look-up past the callback deadline", func(c *Config) { c.MentionLookupTimeout = 2 * time.Second }, "platforms.tim.mention_lookup_timeout:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig("https://adminapisgp.im.qcloud.com")
			tt.mutate(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want prefix %q", err, tt.want)
			}
			if _, nerr := New(cfg, Options{}); (nerr == nil) != (err == nil) {
				t.Errorf("New = %v, Validate = %v", nerr, err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.withDefaults()
	if c.BaseURL != DefaultBaseURL || c.ReplayWindow != 60*time.Second ||
		c.UserSigTTL != 24*time.Hour || c.Rate.PerSecond != 200 || c.PreSendAction != PreSendReject {
		t.Errorf("defaults = %+v", c)
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		wantNil  bool
		kind     moderation.ErrorKind
		code     int
		retry    time.Duration
		contains string
	}{
		{name: "ok", status: 200, body: `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`, wantNil: true},
		{name: "ok with drop reason", status: 200, body: `{"ActionStatus":"OK","ErrorCode":0,"MsgDropReason":"MsgFreqCtrl"}`, wantNil: true},
		{name: "internal 10002", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10002}`, kind: moderation.Transient, code: 10002},
		{name: "rate 60007", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":60007}`, kind: moderation.RateLimited, code: 60007},
		{name: "rate 60011", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":60011}`, kind: moderation.RateLimited, code: 60011},
		{name: "rate 60018", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":60018}`, kind: moderation.RateLimited, code: 60018},
		{name: "rate 60019", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":60019}`, kind: moderation.RateLimited, code: 60019},
		{name: "rate 10006", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10006}`, kind: moderation.RateLimited, code: 10006},
		{name: "rate 10023", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10023}`, kind: moderation.RateLimited, code: 10023},
		{name: "usersig expired", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":70001}`, kind: moderation.AuthExpired, code: 70001},
		{name: "bad command", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10003}`, kind: moderation.Permanent, code: 10003},
		{name: "avchatroom kick", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10004}`, kind: moderation.Permanent, code: 10004, contains: "AVChatRoom"},
		{name: "no permission", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10007}`, kind: moderation.Permanent, code: 10007},
		{name: "group gone", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10010}`, kind: moderation.Permanent, code: 10010, contains: "does not exist"},
		{name: "bad group id", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":10015}`, kind: moderation.Permanent, code: 10015},
		{name: "not app admin", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":60010}`, kind: moderation.Permanent, code: 60010, contains: "App admin"},
		{name: "wrong key", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":70009}`, kind: moderation.Permanent, code: 70009, contains: "secret_key"},
		{name: "sig blocked", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":70050}`, kind: moderation.Permanent, code: 70050},
		{name: "unknown code keeps info", status: 200, body: `{"ActionStatus":"FAIL","ErrorInfo":"Fail to Parse json data of body, Please check it","ErrorCode":90001}`,
			kind: moderation.Permanent, code: 90001, contains: "Fail to Parse"},
		{name: "fail without code", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":0}`, kind: moderation.Permanent},
		{name: "http 502", status: 502, body: `<html>bad gateway</html>`, kind: moderation.Transient},
		{name: "http 429", status: 429, header: http.Header{"Retry-After": {"3"}}, kind: moderation.RateLimited, retry: 3 * time.Second},
		{name: "http 404", status: 404, kind: moderation.Permanent},
		{name: "not json", status: 200, body: `oops`, kind: moderation.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			err := checkResponse("delete_group_member", tt.status, h, []byte(tt.body))
			if tt.wantNil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var apiErr *moderation.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.Kind != tt.kind || apiErr.Code != tt.code || apiErr.RetryAfter != tt.retry ||
				apiErr.Platform != "tim" || apiErr.Op != "delete_group_member" || apiErr.HTTPStatus != tt.status {
				t.Errorf("err = %#v", apiErr)
			}
			if apiErr.Message == "" || !strings.Contains(apiErr.Message, tt.contains) {
				t.Errorf("message = %q, want it to contain %q", apiErr.Message, tt.contains)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	c := newClient(t, testConfig("http://127.0.0.1:1"), Options{Logger: discardLogger()})
	sig, err := c.sig.get()
	if err != nil {
		t.Fatal(err)
	}
	in := `Post "http://h/v4/x/y?identifier=a&usersig=` + sig + `&random=1": boom; also ` + sig + " and USERSIG=abc&x"
	out := c.sig.redact(in)
	if strings.Contains(out, sig) || strings.Contains(out, "abc") || !strings.Contains(out, "random=1") {
		t.Errorf("redact = %q", out)
	}
	if got := redactURL("http://h/p?usersig=" + sig + "&a=b"); strings.Contains(got, sig) || !strings.Contains(got, "a=b") {
		t.Errorf("redactURL = %q", got)
	}
}
