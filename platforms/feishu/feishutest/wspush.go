package feishutest

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// ErrNoConn is Resend's and PushTo's answer for a connection that is not
// open.
var ErrNoConn = errors.New("feishutest: no such long connection")

// SetLongConnConfig changes the ClientConfig handed out from now on (at
// discovery and in every pong).
func (s *Server) SetLongConnConfig(c LongConnConfig) {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	s.lc.cfg = c
}

// SetFragmentSize makes the fake split event payloads longer than n bytes
// into several data frames (headers sum/seq); 0 sends each whole.
func (s *Server) SetFragmentSize(n int) {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	s.lc.fragment = n
}

// SetLongConnDown makes the long connection unavailable (true): every
// open connection is dropped and discovery answers "system busy" (code 1),
// which the SDK retries, until SetLongConnDown(false). Events pushed
// meanwhile wait and go to the first connection that opens.
func (s *Server) SetLongConnDown(down bool) {
	s.lc.mu.Lock()
	s.lc.down = down
	s.lc.mu.Unlock()
	if down {
		s.DropConns()
	}
}

// SetHandleDeadline changes how soon after its send an event must be
// answered to count as acknowledged (HandleDeadline; 0: no deadline).
func (s *Server) SetHandleDeadline(d time.Duration) {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	s.lc.deadline = d
}

// LoseAcks makes the fake lose the next n acknowledgements (as when a
// connection fails while the answer is in flight): the events stay
// unacknowledged and are delivered again.
func (s *Server) LoseAcks(n int) {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	s.lc.loseAcks = n
}

// Conns returns the device_ids of the open connections, sorted.
func (s *Server) Conns() []string {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	ids := make([]string, 0, len(s.lc.conns))
	for id := range s.lc.conns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Connects counts the WebSocket handshakes the fake accepted.
func (s *Server) Connects() int {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	return s.lc.connects
}

// DropConns closes every open connection's TCP socket without a close
// frame, as a network failure does.
func (s *Server) DropConns() {
	for _, id := range s.Conns() {
		s.DropConn(id)
	}
}

// DropConn closes one connection's TCP socket without a close frame.
func (s *Server) DropConn(id string) {
	s.lc.mu.Lock()
	c := s.lc.conns[id]
	s.lc.mu.Unlock()
	if c != nil {
		_ = c.ws.UnderlyingConn().Close()
	}
}

// Push hands an event (its plaintext JSON, the v2 envelope) to one random
// open connection, or keeps it for the next connection to open, and
// returns its message_id. A callback (card.action.trigger) finding no
// open connection is lost, as Feishu fails it at once.
func (s *Server) Push(payload []byte) string {
	id, _ := s.push("", payload)
	return id
}

// PushTo hands an event to the connection device.
func (s *Server) PushTo(device string, payload []byte) (string, error) {
	return s.push(device, payload)
}

func (s *Server) push(device string, payload []byte) (string, error) {
	l := s.lc
	l.mu.Lock()
	p := &pushedEvent{id: "msg_" + randomHex(10), payload: slices.Clone(payload), callback: isCallback(payload)}
	c, err := l.pickLocked(device)
	if err != nil {
		l.mu.Unlock()
		return "", err
	}
	l.pushed[p.id] = p
	l.order = append(l.order, p.id)
	if c != nil {
		p.to, p.sends = c.id, 1
	}
	l.changedLocked()
	l.mu.Unlock()
	if c != nil {
		_ = s.send(c, p)
	}
	return p.id, nil
}

// pickLocked returns the connection device, or a random open one for "",
// or nil when none is open.
func (l *longConn) pickLocked(device string) (*wsConn, error) {
	if device != "" {
		c := l.conns[device]
		if c == nil {
			return nil, ErrNoConn
		}
		return c, nil
	}
	if len(l.conns) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(l.conns))
	for id := range l.conns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return l.conns[ids[rand.IntN(len(ids))]], nil
}

// Resend delivers event id again, with the same message_id, to the
// connection device ("" for a random one), acknowledged or not: Feishu's
// delivery is at-least-once.
func (s *Server) Resend(id, device string) error {
	l := s.lc
	l.mu.Lock()
	p := l.pushed[id]
	c, err := l.pickLocked(device)
	if p == nil || c == nil {
		l.mu.Unlock()
		return errors.Join(ErrNoConn, err)
	}
	p.to = c.id
	p.sends++
	l.mu.Unlock()
	return s.send(c, p)
}

// Redeliver re-sends every unacknowledged event to a random open
// connection, as Feishu's re-push does (15 s, 5 min, 1 h, 6 h after a
// failed delivery), and returns how many it sent.
func (s *Server) Redeliver() int {
	n := 0
	for _, id := range s.Unacked() {
		if s.Resend(id, "") == nil {
			n++
		}
	}
	return n
}

// isCallback reports whether a pushed payload is a callback (not
// re-pushed) rather than an event.
func isCallback(payload []byte) bool {
	var env struct {
		Header struct {
			EventType string `json:"event_type"`
		} `json:"header"`
	}
	return json.Unmarshal(payload, &env) == nil && env.Header.EventType == eventCardAction
}

// Unacked returns the message_ids of pushed events no connection has
// answered with code 200, in push order. Callbacks are left out: Feishu
// never re-pushes them.
func (s *Server) Unacked() []string {
	l := s.lc
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, id := range l.order {
		if p := l.pushed[id]; !p.acked && !p.callback {
			ids = append(ids, id)
		}
	}
	return ids
}

// Acks returns the codes the clients answered event id with, in order.
func (s *Server) Acks(id string) []int {
	l := s.lc
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acks[id])
}

// AckData returns the data of the last answer to event id that had any
// (a card callback's toast or card).
func (s *Server) AckData(id string) []byte {
	l := s.lc
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ackData[id])
}

// Sends counts the deliveries of event id.
func (s *Server) Sends(id string) int {
	l := s.lc
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.pushed[id]; p != nil {
		return p.sends
	}
	return 0
}

// WaitAcked waits until event id is answered with code 200.
func (s *Server) WaitAcked(ctx context.Context, id string) error {
	return s.waitLongConn(ctx, func(l *longConn) bool { p := l.pushed[id]; return p != nil && p.acked })
}

// WaitAnswered waits until event id has had n answers, of any code.
func (s *Server) WaitAnswered(ctx context.Context, id string, n int) error {
	return s.waitLongConn(ctx, func(l *longConn) bool { return len(l.acks[id]) >= n })
}

// WaitConns waits until n connections are open.
func (s *Server) WaitConns(ctx context.Context, n int) error {
	return s.waitLongConn(ctx, func(l *longConn) bool { return len(l.conns) >= n })
}

func (s *Server) waitLongConn(ctx context.Context, done func(*longConn) bool) error {
	l := s.lc
	for {
		l.mu.Lock()
		ok, changed := done(l), l.changed
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
