// Package handlers serves Gavel's HTTP endpoints with gin: one webhook
// route per configured platform, /healthz and /readyz. It is the only
// package that imports gin.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"

	"gavel/moderation"
)

// Config is the `server:` block of config.yaml.
type Config struct {
	// Listen is the address to serve on; default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// BodyLimit bounds a webhook body in bytes; default 1 MiB.
	BodyLimit int64 `yaml:"body_limit"`
	// DedupTTL is how long the id of a delivery that led to a job is
	// remembered; default 8h (store.DefaultDedupTTL), which outlasts
	// Feishu's retry schedule (15 s, 5 min, 1 h, 6 h: 7h05m15s in all).
	DedupTTL time.Duration `yaml:"dedup_ttl"`
	// ShutdownTimeout bounds graceful shutdown; default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// PprofListen, when set, serves net/http/pprof (/debug/pprof/) on its
	// own listener, apart from the webhook routes. Off by default; keep
	// it on a loopback address.
	PprofListen string `yaml:"pprof_listen"`
	// TrustedProxies lists the IPs and CIDRs of the proxies whose
	// X-Forwarded-For / X-Real-IP Gavel believes (for the client address
	// in logs). Empty (the default): no proxy is trusted and the address
	// is the TCP peer's, so no sender can put another address in the logs.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// AdminListen, when set, serves /metrics and /readyz (and /healthz)
	// on their own listener (NewAdmin) instead of the webhook address.
	AdminListen string `yaml:"admin_listen"`
}

// Validate reports the first bad key.
func (c Config) Validate() error {
	switch {
	case c.BodyLimit < 0:
		return errors.New("server.body_limit: must not be negative")
	case c.DedupTTL < 0:
		return errors.New("server.dedup_ttl: must not be negative")
	case c.ShutdownTimeout < 0:
		return errors.New("server.shutdown_timeout: must not be negative")
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			return fmt.Errorf("server.trusted_proxies[%d]: %q is neither an IP nor a CIDR", i, p)
		}
	}
	return nil
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = 1 << 20
	}
	if c.DedupTTL == 0 {
		c.DedupTTL = 8 * time.Hour
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	return c
}

// Submitter takes accepted events for processing after the answer; stored
// reports whether the event was kept (durably) because it may lead to an
// action.
type Submitter interface {
	Submit(ctx context.Context, ev moderation.Event) (stored bool, err error)
}

// Deduper is the de-duplication front: a cheap "seen before?" check ahead
// of the store, which de-duplicates durably and has the last word. Seen
// reports whether any key is known; Mark records keys once their event
// has been accepted (stored), so a crash before that never turns a
// platform's re-delivery away.
type Deduper interface {
	Seen(ctx context.Context, keys []string) (bool, error)
	Mark(ctx context.Context, keys []string) error
}

// Observer sees every delivery's result ("accepted", "ignored",
// "duplicate", "busy", "rejected_<reason>") and how long answering took.
type Observer interface {
	Webhook(platform, result string, took time.Duration)
}

// Deps are what the routes need.
type Deps struct {
	// Receivers are the platforms' receiving halves: each gets POST
	// /webhook/<Name()>, and each of its hooks POST
	// /webhook/<Name()>/<hook name>.
	Receivers []moderation.Receiver
	Queue     Submitter
	// Dedup is the de-duplication front; nil → in memory (go-cache).
	// The store de-duplicates again, durably.
	Dedup Deduper
	// Intake, when set, is used instead of one built from Queue and
	// Dedup: the app shares it with Feishu's long connection, so every
	// event takes the same path to the queue.
	Intake *Intake
	// Ready reports whether Gavel can do its work (nil: always ready).
	Ready func(ctx context.Context) error
	// Metrics, when set, is served at GET /metrics.
	Metrics  http.Handler
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
}

// New returns the router.
func New(cfg Config, d Deps) *gin.Engine {
	cfg = cfg.WithDefaults()
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// gin trusts every proxy unless told otherwise; Validate checked the
	// entries, so an error here cannot happen for a validated config.
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		d.Logger.Error("server.trusted_proxies rejected; trusting no proxy", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(recoverer(d.Logger))
	r.GET("/healthz", healthz)
	if cfg.AdminListen == "" {
		adminRoutes(r, d)
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	if d.Dedup == nil {
		d.Dedup = NewLocalDedup(cfg.DedupTTL)
	}
	if d.Intake == nil {
		d.Intake = NewIntake(d.Queue, d.Dedup, d.Logger)
	}
	for _, rc := range d.Receivers {
		name := rc.Name()
		route := func(label string, receive receiveFunc, log *slog.Logger) {
			w := &webhook{platform: label, receive: receive, intake: d.Intake,
				limit: cfg.BodyLimit, log: log, now: d.Now, obs: d.Observer}
			r.POST("/webhook/"+label, w.serve)
		}
		route(name, rc.Receive, d.Logger.With("platform", name))
		for _, h := range rc.Hooks() {
			if !moderation.ValidHookName(h.Name) || h.Receive == nil {
				// An adapter's programming error, met by any test that
				// builds its routes.
				panic(fmt.Sprintf("handlers: platform %s: hook %q is not a valid hook", name, h.Name))
			}
			route(name+"/"+h.Name, h.Receive, d.Logger.With("platform", name, "hook", h.Name))
		}
	}
	return r
}

// NewAdmin returns the router of server.admin_listen: /healthz, /readyz
// and /metrics, apart from the webhook routes.
func NewAdmin(cfg Config, d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	_ = r.SetTrustedProxies(nil)
	r.Use(recoverer(d.Logger))
	r.GET("/healthz", healthz)
	adminRoutes(r, d)
	return r
}

func healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// adminRoutes adds /readyz and /metrics. /readyz answers a status only:
// why Gavel is not ready (file paths, driver errors) goes to the log, not
// to anonymous callers.
func adminRoutes(r *gin.Engine, d Deps) {
	r.GET("/readyz", func(c *gin.Context) {
		if d.Ready != nil {
			if err := d.Ready(c.Request.Context()); err != nil {
				d.Logger.Warn("not ready", "err", err)
				c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready"})
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	if d.Metrics != nil {
		r.GET("/metrics", gin.WrapH(d.Metrics))
	}
}

func recoverer(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic serving request", "path", c.FullPath(), "panic", fmt.Sprint(v))
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal"})
			}
		}()
		c.Next()
	}
}
