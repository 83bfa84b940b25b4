package moderation

import (
	"errors"
	"fmt"
	"time"
)

// Verification errors returned by the platforms' webhook receivers. The
// handlers map them to HTTP statuses and log them by name.
var (
	ErrMissingHeaders = errors.New("missing signature headers")
	ErrStaleTimestamp = errors.New("timestamp outside the replay window")
	ErrBadSignature   = errors.New("signature mismatch")
	ErrBadToken       = errors.New("verification token mismatch")
	ErrUnknownApp     = errors.New("delivery addressed to another app")
	ErrMalformed      = errors.New("malformed payload")
	ErrUnsupported    = errors.New("not supported by this platform")
	// ErrReusedSignature is a verified signature seen before on another
	// body: schemes whose signature does not cover the body (Easemob) are
	// only safe when each signature is accepted once.
	ErrReusedSignature = errors.New("signature already used")
)

// ErrorKind classifies a platform API error for retry decisions.
type ErrorKind int

const (
	// Permanent errors are never retried: the same call will fail again.
	Permanent ErrorKind = iota
	// Transient errors (5xx, system busy, connection reset) are retried
	// with backoff.
	Transient
	// RateLimited errors are retried after RetryAfter (or backoff).
	RateLimited
	// AuthExpired means the credential (token, UserSig) must be renewed
	// once before retrying.
	AuthExpired
)

func (k ErrorKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate_limited"
	case AuthExpired:
		return "auth_expired"
	default:
		return "permanent"
	}
}

// APIError is a platform API failure, built in one place per platform
// (its checkResponse) from the HTTP status and the body's error code.
type APIError struct {
	Platform   string
	Op         string // "delete_group_member", "chat.members.delete", …
	HTTPStatus int
	Code       int    // the platform's numeric code; 0 when it has none
	Name       string // the platform's symbolic error, when it has one
	Message    string // clear, secret-free explanation
	Kind       ErrorKind
	// RetryAfter is the platform's hint for RateLimited errors.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	code := e.Name
	if e.Code != 0 {
		code = fmt.Sprint(e.Code)
	}
	return fmt.Sprintf("%s %s: %s (code %s, http %d, %s)", e.Platform, e.Op, e.Message, code, e.HTTPStatus, e.Kind)
}

// Reason returns the stable reason code used in Results: "platform:code".
func (e *APIError) Reason() Reason {
	if e.Code != 0 {
		return PlatformReason(e.Platform, fmt.Sprint(e.Code))
	}
	if e.Name != "" {
		return PlatformReason(e.Platform, e.Name)
	}
	return PlatformReason(e.Platform, fmt.Sprintf("http_%d", e.HTTPStatus))
}

// GaveUpError is a call the platform never answered usefully: every try
// failed (connection errors, timeouts, 5xx, throttling). Err keeps the
// detail for the log and the case; the chat gets a plain sentence.
type GaveUpError struct {
	Platform string
	Op       string
	Tries    int
	Err      error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%s %s: gave up after %d attempts: %v", e.Platform, e.Op, e.Tries, e.Err)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// FailAll returns one Result per user carrying err: StatusRefused for a
// Permanent APIError, StatusFailed otherwise. Adapters use it when a whole
// batch fails.
func FailAll(userIDs []string, err error) []Result {
	st, reason, detail := StatusFailed, ReasonError, err.Error()
	var apiErr *APIError
	var gaveUp *GaveUpError
	switch {
	case errors.As(err, &apiErr):
		reason, detail = apiErr.Reason(), apiErr.Message
		if apiErr.Kind == Permanent {
			st = StatusRefused
		}
	case errors.As(err, &gaveUp):
		// No answer at all (connection errors, timeouts): Detail keeps
		// the cause for the case; replies say "gave up".
		reason = ReasonGaveUp
	}
	out := make([]Result, len(userIDs))
	for i, u := range userIDs {
		out[i] = Result{UserID: u, Status: st, Reason: reason, Detail: detail}
	}
	return out
}

// UnsupportedResults returns one StatusRefused Result per id with
// ReasonUnsupported and detail, the sentence a reply shows.
func UnsupportedResults(ids []string, detail string) []Result {
	out := make([]Result, len(ids))
	for i, id := range ids {
		out[i] = Result{UserID: id, Status: StatusRefused, Reason: ReasonUnsupported, Detail: detail}
	}
	return out
}
