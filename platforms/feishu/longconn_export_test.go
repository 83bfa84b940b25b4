package feishu

import (
	"context"
	"time"

	"gavel/moderation"
)

// SocketEvents exposes the long connection's decoding to the fuzz target.
func SocketEvents(c *Client, payload []byte) ([]moderation.Event, error) {
	return c.socketEvents(context.Background(), payload, time.Now())
}

// EndpointGuard exposes the long connection's check of the discovered
// endpoint.
var EndpointGuard = endpointGuard
