package config

// Checks across sections: listeners, chats of configured platforms,
// keys without effect.

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// checkListeners: every address Gavel listens on is host:port, and no two
// of them are the same (the console, the admin endpoints and pprof each
// have a listener of their own, never the webhook one). Caught here, a
// clash is named by key rather than found as "address in use" at start.
func (c Config) checkListeners() error {
	type listener struct{ key, addr string }
	all := []listener{{"server.listen", c.Server.WithDefaults().Listen}}
	for _, l := range []listener{
		{"server.admin_listen", c.Server.AdminListen},
		{"server.pprof_listen", c.Server.PprofListen},
		{"console.listen", c.Console.Listen},
	} {
		if l.addr != "" {
			all = append(all, l)
		}
	}
	type hostPort struct {
		host string
		port int
	}
	seen := make([]hostPort, len(all))
	for i, l := range all {
		host, portStr, err := net.SplitHostPort(l.addr)
		if err != nil {
			return fmt.Errorf("%s: %q is not host:port (e.g. 127.0.0.1:8081): %w", l.key, l.addr, err)
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return fmt.Errorf("%s: %q: the port is not a number from 0 to 65535", l.key, l.addr)
		}
		seen[i] = hostPort{strings.ToLower(host), int(port)}
		for j := range i {
			if clash(seen[j].host, seen[i].host) && seen[j].port == seen[i].port && seen[i].port != 0 {
				return fmt.Errorf("%s: %q is the address of %s (%q); each listener needs its own", l.key, l.addr, all[j].key, all[j].addr)
			}
		}
	}
	return nil
}

// clash reports whether two listen hosts overlap: the same host, or
// either the wildcard (which takes the port on every address).
func clash(a, b string) bool {
	wild := []string{"", "0.0.0.0", "::"}
	return a == b || slices.Contains(wild, a) || slices.Contains(wild, b)
}

// checkVerificationPlatforms: joiner verification of a chat whose
// platform is not configured could never run (as modlog refuses).
func (c Config) checkVerificationPlatforms() error {
	keys := make([]string, 0, len(c.Moderation.Verification))
	for k := range c.Moderation.Verification {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if p, _, ok := strings.Cut(k, ":"); ok && !c.Platforms.configured(p) {
			return fmt.Errorf("moderation.verification: key %q names platform %q, which is not configured", k, p)
		}
	}
	return nil
}

// unusedKeys names keys that are valid but do nothing in this
// configuration, as warnings: a websocket-mode Feishu block with the
// webhook's verification_token (an encrypt_key there is refused: it
// suggests encrypted deliveries that never come), or a webhook-mode one
// with the long connection's disconnected_grace.
func (c Config) unusedKeys() []string {
	var warnings []string
	if r := c.Moderation.Reports; r.Enabled && r.ActAt == 1 {
		warnings = append(warnings, "moderation.reports.act_at is 1: any single member's /report acts on the reported user by itself; 2 or more makes reporters agree")
	}
	f := c.Platforms.Feishu
	if f == nil {
		return warnings
	}
	switch {
	case f.WebSocket() && f.VerificationToken != "":
		warnings = append(warnings, "platforms.feishu.verification_token is not used in websocket mode (events on the long connection carry no token); remove it")
	case !f.WebSocket() && f.DisconnectedGrace != 0:
		warnings = append(warnings, "platforms.feishu.disconnected_grace is used only in websocket mode (the long connection); it does nothing in webhook mode")
	}
	return warnings
}
