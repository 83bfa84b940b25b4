package feishu_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gavel/platforms/feishu"
)

// The endpoint the discovery answer names is dialled only over TLS when
// base_url is https: a ws:// answer is refused (gorilla/websocket asks
// the dialer's Proxy with ws mapped to http, wss to https), without the
// URL's ticket in the error.
func TestLongConnEndpointMustBeTLS(t *testing.T) {
	t.Parallel()
	proxied := 0
	next := func(*http.Request) (*url.URL, error) { proxied++; return nil, nil }
	for _, tc := range []struct {
		base, scheme string
		ok           bool
	}{
		{"https://open.feishu.cn", "https", true},
		{"https://open.feishu.cn", "http", false},
		{"HTTPS://open.larksuite.com", "http", false},
		{"http://127.0.0.1:9999", "http", true}, // the fake, tests only
	} {
		guard := feishu.EndpointGuard(tc.base, next)
		req := &http.Request{URL: &url.URL{Scheme: tc.scheme, Host: "msg-frontier.example", RawQuery: "ticket=SECRET"}}
		before := proxied
		_, err := guard(req)
		if (err == nil) != tc.ok {
			t.Errorf("base %s, endpoint scheme %s: err %v, want ok=%v", tc.base, tc.scheme, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error names the ticket: %v", err)
		}
		if tc.ok && proxied != before+1 {
			t.Errorf("base %s: the proxy choice was not asked", tc.base)
		}
	}
}
