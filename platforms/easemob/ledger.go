package easemob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gavel/moderation"
)

// Easemob's signature, md5(callId + secret + timestamp), does not cover the
// body: whoever sees one callback (a log, a proxy, a plain-HTTP callback
// URL) can put any body under its callId, timestamp and security for as
// long as the timestamp stays inside the replay window. So every verified
// callId is remembered, with a digest of its body, until its timestamp
// leaves the window; a second body under the same callId is refused with
// moderation.ErrReusedSignature (HTTP 409), and an identical re-send is an
// ordinary duplicate.

// ClaimResult is what a CallLedger knew of a callId before.
type ClaimResult int

const (
	// ClaimFirst: the callId was not known; it now is, with this digest.
	ClaimFirst ClaimResult = iota
	// ClaimSame: known with the same digest — a re-send of the callback.
	ClaimSame
	// ClaimOther: known with another digest — the signature is being
	// reused on another body.
	ClaimOther
)

// CallLedger remembers the callIds of verified callbacks and their body
// digests for ttl.
type CallLedger interface {
	Claim(ctx context.Context, key, digest string, ttl time.Duration) (ClaimResult, error)
}

// DefaultLedgerEntries bounds a MemoryLedger: 81 bytes per entry measured
// (TestMemoryLedgerFootprint), so at most ~43 MB, enough for ~870
// callbacks per second held for the longest time a callId can be needed
// (2 × replay_window = 10 min). Memory grows with traffic only up to it.
const DefaultLedgerEntries = 1 << 19

// MemoryLedger is a CallLedger in this process's memory: a map of 16-byte
// key hashes to 16-byte digest hashes, expired in insertion order and
// bounded to max entries (the oldest, whose signatures expire first, go
// first when it is full).
type MemoryLedger struct {
	mu    sync.Mutex
	now   func() time.Time
	max   int
	items map[[16]byte]ledgerItem
	order [][16]byte // keys in insertion order; order[head:] are live
	head  int
}

type ledgerItem struct {
	digest [16]byte
	exp    int64 // Unix ns
}

// NewMemoryLedger returns a MemoryLedger of at most max entries
// (DefaultLedgerEntries when max <= 0); now nil means time.Now.
func NewMemoryLedger(max int, now func() time.Time) *MemoryLedger {
	if max <= 0 {
		max = DefaultLedgerEntries
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryLedger{now: now, max: max, items: map[[16]byte]ledgerItem{}}
}

func hash16(s string) [16]byte {
	sum := sha256.Sum256([]byte(s))
	var out [16]byte
	copy(out[:], sum[:16])
	return out
}

// Claim records key with digest unless it is held; see ClaimResult.
func (l *MemoryLedger) Claim(_ context.Context, key, digest string, ttl time.Duration) (ClaimResult, error) {
	return l.claim(hash16(key), hash16(digest), ttl), nil
}

// Len returns the number of entries held (expired ones included until
// they are swept).
func (l *MemoryLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// lookup returns what is known of k without recording anything.
func (l *MemoryLedger) lookup(k, d [16]byte) (ClaimResult, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it, ok := l.items[k]
	if !ok || it.exp <= l.now().UnixNano() {
		return ClaimFirst, false
	}
	return compare(it.digest, d), true
}

func compare(held, d [16]byte) ClaimResult {
	if held == d {
		return ClaimSame
	}
	return ClaimOther
}

func (l *MemoryLedger) claim(k, d [16]byte, ttl time.Duration) ClaimResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now().UnixNano()
	l.sweep(now)
	if it, ok := l.items[k]; ok && it.exp > now {
		return compare(it.digest, d)
	}
	if len(l.items) >= l.max {
		l.evictOldest()
	}
	l.items[k] = ledgerItem{digest: d, exp: now + int64(ttl)}
	l.order = append(l.order, k)
	return ClaimFirst
}

// sweep drops expired entries from the front of the insertion order.
func (l *MemoryLedger) sweep(now int64) {
	for l.head < len(l.order) {
		k := l.order[l.head]
		if it, ok := l.items[k]; ok && it.exp > now {
			break
		} else if ok {
			delete(l.items, k)
		}
		l.head++
	}
	l.compact()
}

func (l *MemoryLedger) evictOldest() {
	for l.head < len(l.order) {
		k := l.order[l.head]
		l.head++
		if _, ok := l.items[k]; ok {
			delete(l.items, k)
			break
		}
	}
	l.compact()
}

func (l *MemoryLedger) compact() {
	if l.head > 1024 && l.head > len(l.order)/2 {
		l.order = append(l.order[:0:0], l.order[l.head:]...)
		l.head = 0
	}
}

// Claimer takes a key once across replicas for ttl with a value, and
// answers the value held (the first taker's); *cluster.Cluster's Claim
// (Redis SET NX PX, then GET) is one.
type Claimer interface {
	Claim(ctx context.Context, key, value string, ttl time.Duration) (held string, first bool, err error)
}

// SharedLedger is a CallLedger for several replicas: the first replica to
// see a callId claims it in the Claimer with the body's digest, and every
// replica compares its body's digest with the one held, so a re-send
// that lands on another replica than the first attempt is an ordinary
// duplicate there and a forged body is refused on every replica. Each
// replica also keeps what it learnt in a MemoryLedger, asked first. If
// the Claimer fails, the replica falls back on its own memory and logs
// it.
type SharedLedger struct {
	Claimer Claimer
	Local   *MemoryLedger
	Log     *slog.Logger // nil → slog.Default()
}

// Claim implements CallLedger.
func (l *SharedLedger) Claim(ctx context.Context, key, digest string, ttl time.Duration) (ClaimResult, error) {
	k, d := hash16(key), hash16(digest)
	if r, ok := l.Local.lookup(k, d); ok {
		return r, nil
	}
	held, first, err := l.Claimer.Claim(ctx, "easemob:callid:"+key, digest, ttl)
	if err != nil {
		log := l.Log
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "shared callId ledger unavailable; this replica's memory decides", slog.String("platform", Name), slog.Any("error", err))
		return l.Local.claim(k, d, ttl), nil
	}
	if first {
		return l.Local.claim(k, d, ttl), nil
	}
	// Taken elsewhere: remember the first taker's digest here, then
	// compare with it.
	l.Local.claim(k, hash16(held), ttl)
	return compare(hash16(held), d), nil
}

// volatileFields may differ between callbacks that share a callId without
// changing what Gavel does with them: the signature itself, the signed
// timestamp (covered by the signature), the delivering host, and — if
// callIds are {appkey}_{msg_id} as some pages say rather than
// {appkey}_{uuid} — the per-recipient eventType/to of offline copies.
// Gavel acts only on eventType "chat" and reads the chat from group_id.
var volatileFields = []string{"security", "securityVersion", "timestamp", "host", "eventType", "to"}

// bodyDigest is the hex sha256 of body as canonical JSON (object keys
// sorted, numbers as written, no insignificant space) without
// volatileFields, so a re-send that re-encodes the same callback has the
// same digest.
func bodyDigest(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "", fmt.Errorf("easemob: %w: %w", moderation.ErrMalformed, err)
	}
	for _, f := range volatileFields {
		delete(m, f)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", fmt.Errorf("easemob: canonical body: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// claimCall remembers a verified callback's callId until its timestamp
// leaves the replay window. It returns ErrReusedSignature for another
// body under a known callId (on any replica, through the SharedLedger).
func (c *Client) claimCall(ctx context.Context, rule string, cb callback, body []byte, ts time.Time) error {
	digest, err := bodyDigest(body)
	if err != nil {
		return err
	}
	ttl := ts.Add(c.cfg.ReplayWindow).Sub(c.now()) + time.Second
	if ttl < time.Second {
		ttl = time.Second
	}
	r, err := c.ledger.Claim(ctx, rule+":"+cb.CallID, digest, ttl)
	if err != nil {
		c.log.WarnContext(ctx, "callId ledger failed; callback accepted unchecked", slog.Any("error", err))
		return nil
	}
	switch r {
	case ClaimOther:
		c.log.WarnContext(ctx, "callback refused: signature reused on another body", slog.String("reason", "reused_signature"), slog.String("call_id", cb.CallID))
		return fmt.Errorf("easemob: callId %q: %w", cb.CallID, moderation.ErrReusedSignature)
	case ClaimSame:
		c.log.DebugContext(ctx, "callback re-sent", slog.String("call_id", cb.CallID))
	}
	return nil
}
