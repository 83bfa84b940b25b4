package app_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/cluster"
	"gavel/platforms/tim/timtest"
)

// stuckRedis speaks just enough RESP for go-redis to connect (HELLO is
// refused, so it falls back to RESP2; PING and CLIENT are answered) until
// hang is set; from then on it reads every command and answers none: a
// Redis that is up but stuck.
type stuckRedis struct {
	ln   net.Listener
	hang atomic.Bool
	mu   sync.Mutex
	conn []net.Conn
}

func newStuckRedis(tb testing.TB) *stuckRedis {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &stuckRedis{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conn = append(s.conn, c)
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conn {
			c.Close()
		}
	})
	return s
}

func (s *stuckRedis) serve(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		if s.hang.Load() {
			continue // read, never answered
		}
		switch strings.ToUpper(args[0]) {
		case "HELLO":
			io.WriteString(c, "-ERR unknown command 'HELLO'\r\n")
		case "PING":
			io.WriteString(c, "+PONG\r\n")
		default:
			io.WriteString(c, "+OK\r\n")
		}
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad array header %q", line)
	}
	args := make([]string, n)
	for i := range args {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, fmt.Errorf("bad bulk header %q", line)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

// TestHungRedisWebhooks: with Redis accepting connections and never
// answering, Gavel still answers every webhook far inside TIM's 2 s
// deadline (it used to take 5 s for a chat message and 45 s for a
// command), and the commands are still carried out.
func TestHungRedisWebhooks(t *testing.T) {
	t.Parallel()
	redis := newStuckRedis(t)
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	members := make([]string, 50)
	for i := range members {
		members[i] = fmt.Sprintf("spammer_%02d", i)
	}
	ts.AddGroup(timtest.Group{ID: "@TGS#hang", Owner: "owner", Members: members})
	cfg := timConfig(ts, "", 20)
	cfg.Policy.CommandsPerMinute = 100
	cfg.Redis = cluster.Config{Addr: redis.ln.Addr().String()}
	h := apptest.New(t, cfg)
	redis.hang.Store(true)

	const n = 50
	start := time.Now()
	var slowest time.Duration
	for i := range n {
		text := "hello"
		if i%2 == 0 {
			text = "/kick @" + members[i]
		}
		t0 := time.Now()
		post(t, h, ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: "@TGS#hang", From: "owner", Text: text}))
		slowest = max(slowest, time.Since(t0))
	}
	total := time.Since(start)
	t.Logf("%d webhooks (half commands) with a hung Redis: %v in all, slowest %v", n, total, slowest)
	if slowest >= 2*time.Second {
		t.Errorf("slowest webhook took %v, TIM's deadline is 2 s", slowest)
	}
	h.Wait()
	if got := len(ts.CallsTo("delete_group_member")); got != n/2 {
		t.Errorf("%d removals with a hung Redis, want %d", got, n/2)
	}
}
