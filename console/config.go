// Package console is Gavel's web console (issue #18): a server-rendered
// site on its own listener where admins see cases, charts, active
// sanctions and chats, and lift a sanction through the same durable job,
// pipeline and policy as a chat command.
//
// It uses net/http and html/template directly (gin is the webhook
// routes' library, kept to handlers/): a handful of pages need no router
// beyond http.ServeMux's patterns. Templates and the style sheet are
// embedded; there is no JavaScript build and no CDN.
package console

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is the `console:` block of config.yaml. The console is off
// unless Listen is set.
type Config struct {
	// Listen is the console's own address ("127.0.0.1:8081"), never the
	// webhook listener's.
	Listen string `yaml:"listen"`
	// BaseURL is where admins reach the console ("https://gavel.example/");
	// cookies are Secure when it is https. Default http://<listen>/.
	BaseURL string `yaml:"base_url"`
	// IdleTimeout ends a session unused this long; default 30m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// SessionLifetime ends a session this long after sign-in, used or
	// not; default 12h.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
}

// Enabled reports whether the console is configured.
func (c Config) Enabled() bool { return c.Listen != "" }

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.BaseURL == "" && c.Listen != "" {
		c.BaseURL = "http://" + c.Listen + "/"
	}
	return c
}

// Validate names the bad key.
func (c Config) Validate() error {
	var errs []error
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("console.base_url: %q is not an http(s) URL", c.BaseURL))
		case u.Path != "" && u.Path != "/":
			// The pages link from the root: a proxy must give the console
			// a host (or port) of its own.
			errs = append(errs, fmt.Errorf("console.base_url: %q has a path; the console is served at the root of its host", c.BaseURL))
		}
		if c.Listen == "" {
			errs = append(errs, errors.New("console.base_url: set without console.listen"))
		}
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("console.idle_timeout: must not be negative, got %s", c.IdleTimeout))
	}
	if c.SessionLifetime < 0 {
		errs = append(errs, fmt.Errorf("console.session_lifetime: must not be negative, got %s", c.SessionLifetime))
	}
	return errors.Join(errs...)
}

// secure reports whether cookies must be Secure.
func (c Config) secure() bool {
	u, err := url.Parse(c.BaseURL)
	return err == nil && u.Scheme == "https"
}
