// Package handlers serves Gavel's HTTP endpoints with gin: one webhook
// route per configured platform, /healthz and /readyz. It is the only
// package that imports gin.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/patrickmn/go-cache"

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
	for _, rc := range d.Receivers {
		name := rc.Name()
		route := func(label string, receive receiveFunc, log *slog.Logger) {
			w := &webhook{platform: label, receive: receive, queue: d.Queue, dedup: d.Dedup,
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

// receiveFunc is moderation.Receiver.Receive or a moderation.Hook's Receive.
type receiveFunc func(ctx context.Context, d moderation.Delivery) (moderation.Ack, error)

type webhook struct {
	// platform labels the route's metrics: the platform's name, or
	// "<name>/<hook>" for a hook.
	platform string
	receive  receiveFunc
	queue    Submitter
	dedup    Deduper
	limit    int64
	log      *slog.Logger
	now      func() time.Time
	obs      Observer
}

type nopObserver struct{}

func (nopObserver) Webhook(string, string, time.Duration) {}

func (w *webhook) serve(c *gin.Context) {
	ctx := c.Request.Context()
	start := time.Now()
	result := "accepted"
	defer func() { w.obs.Webhook(w.platform, result, time.Since(start)) }()
	body, err := readBody(c.Writer, c.Request, w.limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			result = "rejected_body_too_large"
			w.reject(c, http.StatusRequestEntityTooLarge, "body_too_large", err)
			return
		}
		result = "rejected_read_failed"
		w.reject(c, http.StatusBadRequest, "read_failed", err)
		return
	}
	var query url.Values
	if c.Request.URL.RawQuery != "" {
		query = c.Request.URL.Query()
	}
	ack, err := w.receive(ctx, moderation.Delivery{
		Header: c.Request.Header, Query: query, Body: body, ReceivedAt: w.now(),
	})
	if err != nil {
		status, reason := classify(err)
		result = "rejected_" + reason
		w.reject(c, status, reason, err)
		return
	}
	if len(ack.Events) == 0 {
		result = "ignored"
	}
	if ack.Ignored != "" {
		// Verified but not acted on (e.g. a stored callback re-sent after
		// the replay window): answered 200 so the platform stops retrying.
		result = "ignored_" + ack.Ignored
		w.log.Info("delivery ignored", "reason", ack.Ignored)
	}
	for _, ev := range ack.Events {
		seen, err := w.dedup.Seen(ctx, ev.DedupKeys)
		if err != nil {
			// The store de-duplicates durably; carry on without the front.
			w.log.Warn("de-duplication front unavailable", "err", err)
		}
		if seen {
			result = "duplicate"
			w.log.Info("duplicate delivery ignored", "event_id", ev.DeliveryID)
			continue
		}
		stored, err := w.queue.Submit(ctx, ev)
		if err != nil {
			// Not accepted: ask the platform to re-deliver.
			result = "busy"
			w.log.Error("event not queued; asking the platform to re-deliver", "event_id", ev.DeliveryID, "err", err)
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "busy"})
			return
		}
		// Only stored events are remembered: a re-delivered ordinary
		// message changes nothing, and remembering every one would grow
		// memory with all traffic for the whole TTL.
		if stored {
			if err := w.dedup.Mark(ctx, ev.DedupKeys); err != nil {
				w.log.Warn("de-duplication front unavailable", "err", err)
			}
		}
		w.log.Debug("event accepted", "event_id", ev.DeliveryID, "kind", ev.Kind)
	}
	switch r := ack.Response.(type) {
	case nil:
		c.Data(http.StatusOK, jsonContentType, emptyObject)
	case json.RawMessage:
		// A fixed answer the platform encoded once.
		c.Data(http.StatusOK, jsonContentType, r)
	default:
		c.JSON(http.StatusOK, r)
	}
}

const jsonContentType = "application/json; charset=utf-8"

var emptyObject = []byte("{}")

// firstBodyBuffer is the most readBody allocates before bytes arrive.
const firstBodyBuffer = 16 << 10

// readBody reads a webhook body of at most limit bytes. The buffer grows
// as bytes arrive (doubling from at most firstBodyBuffer, never past the
// announced length): an unauthenticated sender announcing a large
// Content-Length and sending nothing must not make Gavel hold memory it
// did not send.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	announced := r.ContentLength
	first := int64(firstBodyBuffer)
	if announced > 0 && announced < first {
		first = announced
	}
	buf := make([]byte, 0, first)
	for {
		if len(buf) == cap(buf) {
			if announced > 0 && int64(len(buf)) >= announced {
				// Everything announced is here; only EOF may follow.
				var one [1]byte
				n, err := body.Read(one[:])
				if n == 0 && errors.Is(err, io.EOF) {
					return buf, nil
				}
				if n > 0 {
					buf = append(buf, one[:n]...)
					continue
				}
				if err != nil {
					return nil, err
				}
				continue
			}
			next := 2 * int64(cap(buf))
			if announced > 0 && next > announced {
				next = announced
			}
			buf = append(make([]byte, 0, next), buf...)
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if announced > 0 && int64(len(buf)) < announced {
				return nil, fmt.Errorf("body shorter than its Content-Length %d: %w", announced, io.ErrUnexpectedEOF)
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// LocalDedup is a Deduper in this process's memory.
type LocalDedup struct {
	c   *cache.Cache
	ttl time.Duration
}

// NewLocalDedup remembers keys for ttl.
func NewLocalDedup(ttl time.Duration) *LocalDedup {
	return &LocalDedup{c: cache.New(ttl, 10*time.Minute), ttl: ttl}
}

// Seen reports whether any key is known.
func (d *LocalDedup) Seen(_ context.Context, keys []string) (bool, error) {
	for _, k := range keys {
		if _, ok := d.c.Get(k); ok && k != "" {
			return true, nil
		}
	}
	return false, nil
}

// Mark records keys.
func (d *LocalDedup) Mark(_ context.Context, keys []string) error {
	for _, k := range keys {
		if k != "" {
			d.c.Set(k, struct{}{}, d.ttl)
		}
	}
	return nil
}

func (w *webhook) reject(c *gin.Context, status int, reason string, err error) {
	w.log.Warn("webhook rejected", "reason", reason, "status", status, "err", err, "remote", c.ClientIP())
	c.AbortWithStatusJSON(status, gin.H{"error": reason})
}

// classify maps a receiver error to an HTTP status and a reason code.
func classify(err error) (int, string) {
	switch {
	case errors.Is(err, moderation.ErrMissingHeaders):
		return http.StatusUnauthorized, "missing_headers"
	case errors.Is(err, moderation.ErrBadSignature):
		return http.StatusUnauthorized, "bad_signature"
	case errors.Is(err, moderation.ErrBadToken):
		return http.StatusUnauthorized, "bad_token"
	case errors.Is(err, moderation.ErrStaleTimestamp):
		return http.StatusUnauthorized, "stale_timestamp"
	case errors.Is(err, moderation.ErrReusedSignature):
		return http.StatusConflict, "reused_signature"
	case errors.Is(err, moderation.ErrUnknownApp):
		return http.StatusForbidden, "unknown_app"
	case errors.Is(err, moderation.ErrMalformed):
		return http.StatusBadRequest, "malformed"
	default:
		return http.StatusInternalServerError, "internal"
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
