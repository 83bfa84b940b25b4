package console

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  Config
		want string // "" when valid
	}{
		{"off", Config{}, ""},
		{"on", Config{Listen: "127.0.0.1:8081", BaseURL: "https://gavel.example/"}, ""},
		{"base url without listen", Config{BaseURL: "https://gavel.example/"}, "without console.listen"},
		{"not a url", Config{Listen: ":1", BaseURL: "gavel.example"}, "not an http(s) URL"},
		{"a path", Config{Listen: ":1", BaseURL: "https://example.com/gavel/"}, "has a path"},
		{"negative idle", Config{Listen: ":1", IdleTimeout: -time.Second}, "console.idle_timeout"},
		{"negative lifetime", Config{Listen: ":1", SessionLifetime: -time.Second}, "console.session_lifetime"},
	} {
		err := tt.cfg.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
	if c := (Config{Listen: "127.0.0.1:8081"}).WithDefaults(); c.BaseURL != "http://127.0.0.1:8081/" || c.secure() || c.IdleTimeout != 30*time.Minute {
		t.Errorf("WithDefaults = %+v", c)
	}
}
