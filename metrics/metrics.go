// Package metrics exposes Gavel's Prometheus metrics. Metrics implements
// the small observer interfaces that handlers, pipeline and egress define,
// so none of them imports Prometheus. It keeps its own registry (no
// globals) and also tracks each platform's credential health for /readyz.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gavel/moderation"
)

// Pender reports the durable queue: unfinished jobs and the oldest one's
// age. moderation.Store implements it.
type Pender interface {
	Pending(ctx context.Context, now time.Time) (int, time.Duration, error)
}

// Metrics holds Gavel's collectors.
type Metrics struct {
	reg *prometheus.Registry

	webhooks    *prometheus.CounterVec
	ignored     *prometheus.CounterVec
	webhookSecs *prometheus.HistogramVec
	cases       *prometheus.CounterVec
	actions     *prometheus.CounterVec
	apiSecs     *prometheus.HistogramVec
	apiErrors   *prometheus.CounterVec
	waitSecs    *prometheus.HistogramVec
	ruleHits    *prometheus.CounterVec
	// The long connection (Feishu, mode: websocket).
	lcConnected  *prometheus.GaugeVec
	lcReconnects *prometheus.CounterVec
	lcEvents     *prometheus.CounterVec
	lcAckSecs    *prometheus.HistogramVec

	mu        sync.Mutex
	authError map[string]error // platform → last credential failure, nil once a call succeeds
}

// New returns Metrics registering Go and process collectors and, when
// queue is not nil, the queue depth and oldest-job age read at scrape
// time.
func New(queue Pender) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), authError: map[string]error{}}
	latency := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_webhooks_total",
		Help: "Webhook deliveries by platform and result (accepted, duplicate, ignored, rejected_<reason>)."}, []string{"platform", "result"})
	m.ignored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_webhooks_ignored_total",
		Help: "Verified webhook deliveries answered 200 and not acted on, by platform and reason (stale: re-sent after the replay window)."}, []string{"platform", "reason"})
	m.webhookSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gavel_webhook_duration_seconds",
		Help: "Time to answer a webhook delivery.", Buckets: latency}, []string{"platform"})
	m.cases = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_decisions_total",
		Help: "Moderation decisions (audit cases) by platform, action, outcome and reason."}, []string{"platform", "action", "outcome", "reason"})
	m.actions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_actions_total",
		Help: "Per-target results by platform, action, status and reason."}, []string{"platform", "action", "status", "reason"})
	m.apiSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gavel_platform_api_duration_seconds",
		Help: "Platform API call latency (one attempt).", Buckets: latency}, []string{"platform", "api"})
	m.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_platform_api_errors_total",
		Help: "Platform API errors by platform, api, kind and code."}, []string{"platform", "api", "kind", "code"})
	m.waitSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gavel_rate_limiter_wait_seconds",
		Help: "Time a call waited for its rate limiter (and rate-limit pauses).", Buckets: latency}, []string{"platform", "api"})
	m.ruleHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_rule_hits_total",
		Help: "Auto-moderation rule hits by platform, rule, action and dry_run."}, []string{"platform", "rule", "action", "dry_run"})
	m.lcConnected = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gavel_longconn_connected",
		Help: "1 while the platform's long connection (Feishu, mode: websocket) is up, else 0."}, []string{"platform"})
	m.lcReconnects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_longconn_reconnects_total",
		Help: "Long connections made after one was lost."}, []string{"platform"})
	m.lcEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_longconn_events_total",
		Help: "Event frames received on the long connection by result (acked, ignored, store_failed and rejected_malformed: not acknowledged, re-sent)."}, []string{"platform", "result"})
	m.lcAckSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gavel_longconn_ack_duration_seconds",
		Help: "Time from an event frame to its answer (events stored first).", Buckets: latency}, []string{"platform"})
	m.reg.MustRegister(m.lcConnected, m.lcReconnects, m.lcEvents, m.lcAckSecs)
	m.reg.MustRegister(m.webhooks, m.ignored, m.webhookSecs, m.cases, m.actions, m.apiSecs, m.apiErrors, m.waitSecs, m.ruleHits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if queue != nil {
		m.reg.MustRegister(&queueCollector{q: queue,
			depth:  prometheus.NewDesc("gavel_queue_jobs", "Unfinished durable jobs.", nil, nil),
			oldest: prometheus.NewDesc("gavel_queue_oldest_job_age_seconds", "Age of the oldest unfinished job.", nil, nil),
			errors: prometheus.NewDesc("gavel_queue_scrape_errors", "1 if reading the queue failed at this scrape.", nil, nil),
		})
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Webhook counts one delivery (handlers.Observer).
func (m *Metrics) Webhook(platform, result string, took time.Duration) {
	m.webhooks.WithLabelValues(platform, result).Inc()
	if reason, ok := strings.CutPrefix(result, "ignored_"); ok {
		m.ignored.WithLabelValues(platform, reason).Inc()
	}
	m.webhookSecs.WithLabelValues(platform).Observe(took.Seconds())
}

// Case counts a decision and its per-target results (pipeline.Observer).
func (m *Metrics) Case(c *moderation.Case) {
	detail := string(c.Outcome.Reason())
	if detail == "" {
		detail = c.Outcome.Step()
	}
	m.cases.WithLabelValues(c.Platform, string(c.Verb), string(c.Outcome.Kind()), detail).Inc()
	for _, r := range c.Results {
		m.actions.WithLabelValues(c.Platform, string(c.Verb), string(r.Status), string(r.Reason)).Inc()
	}
}

// RuleHit counts an auto-moderation hit (pipeline.Observer).
func (m *Metrics) RuleHit(platform, rule, action string, dryRun bool) {
	m.ruleHits.WithLabelValues(platform, rule, action, strconv.FormatBool(dryRun)).Inc()
}

// Attempt records one platform API attempt (egress.Observer).
func (m *Metrics) Attempt(platform, api string, took time.Duration, err error) {
	m.apiSecs.WithLabelValues(platform, api).Observe(took.Seconds())
	if err == nil {
		m.mu.Lock()
		m.authError[platform] = nil
		m.mu.Unlock()
		return
	}
	kind, code := "network", "none"
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) {
		kind = apiErr.Kind.String()
		code = apiErr.Name
		if apiErr.Code != 0 {
			code = strconv.Itoa(apiErr.Code)
		}
		if code == "" {
			code = "http_" + strconv.Itoa(apiErr.HTTPStatus)
		}
		if apiErr.Kind == moderation.AuthExpired {
			m.mu.Lock()
			m.authError[platform] = err
			m.mu.Unlock()
		}
	}
	m.apiErrors.WithLabelValues(platform, api, kind, code).Inc()
}

// Waited records rate-limiter wait time (egress.Observer).
func (m *Metrics) Waited(platform, api string, waited time.Duration) {
	m.waitSecs.WithLabelValues(platform, api).Observe(waited.Seconds())
}

// LongConnState records the long connection going up or down
// (feishu.LongConnObserver).
func (m *Metrics) LongConnState(platform string, connected bool) {
	v := 0.0
	if connected {
		v = 1
	}
	m.lcConnected.WithLabelValues(platform).Set(v)
}

// LongConnReconnect counts a connection made after one was lost
// (feishu.LongConnObserver).
func (m *Metrics) LongConnReconnect(platform string) { m.lcReconnects.WithLabelValues(platform).Inc() }

// LongConnEvent counts an event frame and times its answer
// (feishu.LongConnObserver).
func (m *Metrics) LongConnEvent(platform, result string, took time.Duration) {
	m.lcEvents.WithLabelValues(platform, result).Inc()
	m.lcAckSecs.WithLabelValues(platform).Observe(took.Seconds())
}

// CredentialsOK reports the platforms whose last API answer said their
// credentials were refused, or nil.
func (m *Metrics) CredentialsOK() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var bad []string
	for p, err := range m.authError {
		if err != nil {
			bad = append(bad, p+": "+err.Error())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("credentials refused: %s", strings.Join(bad, "; "))
	}
	return nil
}

type queueCollector struct {
	q                     Pender
	depth, oldest, errors *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.errors
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, age, err := c.q.Pending(ctx, time.Now())
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, failed)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age.Seconds())
}
