package moderation

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Delivery is one raw inbound webhook request, already read under the body
// size limit. Receivers verify it from these raw bytes before parsing.
type Delivery struct {
	Header     http.Header
	Query      url.Values
	Body       []byte
	ReceivedAt time.Time
}

// Ack is a verified, parsed delivery: the JSON value to answer the platform
// with (HTTP 200), and the events Gavel acts on after answering.
type Ack struct {
	Response any
	Events   []Event
	// Ignored, when set, names why a verified delivery is answered 200 and
	// not acted on ("stale": a stored callback re-sent after the replay
	// window). The handler counts it in a metric and logs it at info.
	Ignored string
}

// Receiver is the receiving half of the Platform contract: it verifies and
// parses the platform's webhook deliveries. Handlers route POST
// /webhook/<Name> to Receive and POST /webhook/<Name>/<Hook.Name> to each
// hook.
type Receiver interface {
	// Name is the platform's config key: "feishu", "tim", "easemob".
	Name() string
	// Receive verifies the raw delivery (signature/token/timestamp first,
	// then decrypt, then decode) and returns the answer and the events.
	// Errors wrap the Err* sentinels so handlers can map them.
	Receive(ctx context.Context, d Delivery) (Ack, error)
	// Hooks are the platform's further webhooks, each at a URL of its
	// own (Easemob's pre-send rule: "presend"); nil when there are none.
	Hooks() []Hook
}

// Hook is one named extra webhook of a platform.
type Hook struct {
	// Name is one lower-case path segment: [a-z0-9_-]+.
	Name string
	// Receive is Receiver.Receive for this hook's deliveries.
	Receive func(ctx context.Context, d Delivery) (Ack, error)
}

// ValidHookName reports whether name can be a hook's path segment.
func ValidHookName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}
