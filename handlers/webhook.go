// The webhook route: read under the body limit, verify through the
// platform's Receiver, hand the events to the Intake, answer.

package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"gavel/moderation"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
)

// receiveFunc is moderation.Receiver.Receive or a moderation.Hook's Receive.
type receiveFunc func(ctx context.Context, d moderation.Delivery) (moderation.Ack, error)

type webhook struct {
	// platform labels the route's metrics: the platform's name, or
	// "<name>/<hook>" for a hook.
	platform string
	receive  receiveFunc
	intake   *Intake
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
	result := ResultAccepted
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
		result = ResultIgnored
	}
	if ack.Ignored != "" {
		// Verified but not acted on (e.g. a stored callback re-sent after
		// the replay window): answered 200 so the platform stops retrying.
		result = "ignored_" + ack.Ignored
		w.log.Info("delivery ignored", "reason", ack.Ignored)
	}
	accepted, err := w.intake.Accept(ctx, ack.Events)
	if err != nil {
		// Not accepted: ask the platform to re-deliver.
		result = "busy"
		w.log.Error("event not queued; asking the platform to re-deliver", "err", err)
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "busy"})
		return
	}
	if accepted == ResultDuplicate {
		result = ResultDuplicate
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
