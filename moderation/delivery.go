package moderation

import (
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
