package feishu

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// Webhook signature headers (sent only when an Encrypt Key is configured).
const (
	HeaderTimestamp = "X-Lark-Request-Timestamp"
	HeaderNonce     = "X-Lark-Request-Nonce"
	HeaderSignature = "X-Lark-Signature"
)

// Event types the adapter acts on.
const (
	eventMessageReceive = "im.message.receive_v1"
	eventUserAdded      = "im.chat.member.user.added_v1"
	// Role changes: the owner or the chat's settings changed, users left
	// or were removed, an invitation was withdrawn.
	eventChatUpdated    = "im.chat.updated_v1"
	eventUserDeleted    = "im.chat.member.user.deleted_v1"
	eventUserWithdrawn  = "im.chat.member.user.withdrawn_v1"
	typeURLVerification = "url_verification"
)

// eventAck is the body answered to every event delivery: Feishu only needs
// HTTP 200; this is what the official SDK sends.
var eventAck = json.RawMessage(`{"msg":"success"}`)

// Receive verifies one webhook delivery and parses it.
//
// With an Encrypt Key: the three X-Lark-* headers are required, the
// signature sha256(timestamp+nonce+key+body) is compared in constant time,
// and only then is the {"encrypt":…} body decrypted. The timestamp must not
// be more than ReplayWindow ahead of Options.Now nor older than DedupTTL;
// between ReplayWindow and DedupTTL old, the delivery is a re-push of a
// failed one (Feishu retries for RetrySchedule, and does not document
// whether a re-push is signed afresh): it is accepted with its events
// marked Late, and the durable de-duplication decides whether it already
// ran. The documentation says url_verification
// challenges are not signed, so a delivery with none of the three headers is
// decrypted and accepted only if it is a url_verification whose token
// matches; any other unsigned delivery is ErrMissingHeaders.
//
// Then, on every delivery, the Verification Token inside it is compared in
// constant time, and every v2 event's header.create_time is checked the
// same way (with or without an Encrypt Key): older than DedupTTL or more
// than ReplayWindow ahead is ErrStaleTimestamp, older than ReplayWindow
// makes the event Late.
func (c *Client) Receive(ctx context.Context, d moderation.Delivery) (moderation.Ack, error) {
	plain, challengeOnly, late, err := c.open(d)
	if err != nil {
		return moderation.Ack{}, err
	}
	env, err := decodeEnvelope(plain)
	if err != nil {
		return moderation.Ack{}, err
	}
	if challengeOnly && env.Type != typeURLVerification {
		return moderation.Ack{}, fmt.Errorf("unsigned %q delivery: %w", env.kind(), moderation.ErrMissingHeaders)
	}
	if !c.cfg.InsecureSkipVerify {
		if subtle.ConstantTimeCompare([]byte(env.token()), []byte(c.cfg.VerificationToken)) != 1 {
			return moderation.Ack{}, moderation.ErrBadToken
		}
		if env.Header != nil && env.Header.AppID != "" && env.Header.AppID != c.cfg.AppID {
			return moderation.Ack{}, fmt.Errorf("app_id %q: %w", env.Header.AppID, moderation.ErrUnknownApp)
		}
	}
	if env.Type == typeURLVerification {
		if env.Challenge == "" {
			return moderation.Ack{}, fmt.Errorf("url_verification without challenge: %w", moderation.ErrMalformed)
		}
		c.log.InfoContext(ctx, "answering url_verification challenge")
		return moderation.Ack{Response: map[string]string{"challenge": env.Challenge}}, nil
	}
	events, err := c.envelopeEvents(ctx, env, late, d.ReceivedAt, !c.cfg.InsecureSkipVerify)
	if err != nil {
		return moderation.Ack{}, err
	}
	return moderation.Ack{Response: answerFor(env), Events: events}, nil
}

// envelopeEvents is what a verified delivery's envelope means, whichever
// way it came (a webhook, the long connection): the event's age is checked
// (strictly when verified: a stale event is refused; unverified, it is
// only kept out of rate rules), the event parsed, and late events marked.
func (c *Client) envelopeEvents(ctx context.Context, env *envelope, late bool, receivedAt time.Time, verified bool) ([]moderation.Event, error) {
	if env.isV2() {
		lateEvent, err := eventAge(env.Header.CreateTime, c.now(), c.cfg.ReplayWindow, c.cfg.DedupTTL)
		if err != nil {
			if verified {
				return nil, err
			}
			lateEvent = true // unverified and of unknown age: kept out of rate rules
		}
		late = late || lateEvent
	}
	events, err := c.parseEvent(ctx, env, receivedAt)
	if err != nil {
		return nil, err
	}
	if late {
		for i := range events {
			events[i].Late = true
		}
		if len(events) > 0 {
			c.log.InfoContext(ctx, "late delivery (a re-push): acted on if not done before, not counted by rate rules",
				"event_id", env.Header.EventID, "create_time", env.Header.CreateTime)
		}
	}
	return events, nil
}

// answerFor is the body answered to a verified delivery: a card callback
// gets "{}" or a toast (cardAck), every event what the SDK sends.
func answerFor(env *envelope) json.RawMessage {
	if env.isV2() && env.Header.EventType == eventCardAction {
		return cardAck
	}
	return eventAck
}

// eventAge checks an event's header.create_time against now: older than
// ttl, or more than window ahead, is ErrStaleTimestamp (no re-push comes
// that late, so de-duplication may have forgotten it); older than window
// is late. A missing or unparseable time is ErrMalformed: without it a
// captured delivery could be replayed for ever.
func eventAge(createTime string, now time.Time, window, ttl time.Duration) (late bool, err error) {
	t, ok := parseTimestamp(createTime)
	if !ok {
		return false, fmt.Errorf("header.create_time %q is not a Unix time: %w", truncate(createTime, 24), moderation.ErrMalformed)
	}
	age := now.Sub(t)
	switch {
	case age < -window:
		return false, fmt.Errorf("header.create_time %s ahead: %w", (-age).Round(time.Second), moderation.ErrStaleTimestamp)
	case age > ttl:
		return false, fmt.Errorf("header.create_time %s old, more than dedup_ttl %s: %w", age.Round(time.Second), ttl, moderation.ErrStaleTimestamp)
	}
	return age > window, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// open verifies d and returns the plaintext JSON. challengeOnly is true when
// the delivery carried no signature headers and is acceptable only as a
// url_verification challenge. late is true when the signature is older
// than ReplayWindow (but not than DedupTTL): a re-push.
func (c *Client) open(d moderation.Delivery) (plain []byte, challengeOnly, late bool, err error) {
	var outer struct {
		Encrypt *string `json:"encrypt"`
	}
	if err := wirejson.Unmarshal(d.Body, &outer); err != nil {
		return nil, false, false, fmt.Errorf("body is not JSON: %w: %w", moderation.ErrMalformed, err)
	}
	key := c.cfg.EncryptKey
	if key == "" {
		if outer.Encrypt != nil {
			return nil, false, false, fmt.Errorf("encrypted delivery but no encrypt_key is configured: %w", moderation.ErrMalformed)
		}
		return d.Body, false, false, nil
	}
	ts, nonce, sig := d.Header.Get(HeaderTimestamp), d.Header.Get(HeaderNonce), d.Header.Get(HeaderSignature)
	switch {
	case c.cfg.InsecureSkipVerify:
	case ts == "" && nonce == "" && sig == "":
		challengeOnly = true
	case ts == "" || nonce == "" || sig == "":
		return nil, false, false, moderation.ErrMissingHeaders
	default:
		if !VerifySignature(ts, nonce, key, d.Body, sig) {
			return nil, false, false, moderation.ErrBadSignature
		}
		if late, err = c.checkTimestamp(ts); err != nil {
			return nil, false, false, err
		}
	}
	if outer.Encrypt == nil {
		return nil, false, false, fmt.Errorf("plaintext delivery while encrypt_key is configured: %w", moderation.ErrMalformed)
	}
	plain, err = decrypt(c.events, *outer.Encrypt)
	if err != nil {
		return nil, false, false, err
	}
	return plain, challengeOnly, late, nil
}

// checkTimestamp bounds a verified signature's age: at most ReplayWindow
// ahead, at most DedupTTL old; older than ReplayWindow is late.
func (c *Client) checkTimestamp(ts string) (late bool, err error) {
	t, ok := parseTimestamp(ts)
	if !ok {
		return false, fmt.Errorf("unparseable %s: %w", HeaderTimestamp, moderation.ErrStaleTimestamp)
	}
	skew := c.now().Sub(t)
	switch {
	case skew < -c.cfg.ReplayWindow:
		return false, fmt.Errorf("%s %s ahead: %w", HeaderTimestamp, (-skew).Round(time.Second), moderation.ErrStaleTimestamp)
	case skew > c.cfg.DedupTTL:
		return false, fmt.Errorf("%s %s old, more than dedup_ttl: %w", HeaderTimestamp, skew.Round(time.Second), moderation.ErrStaleTimestamp)
	}
	return skew > c.cfg.ReplayWindow, nil
}

// Signature returns lowercase hex(sha256(timestamp+nonce+encryptKey+body)),
// Feishu's X-Lark-Signature.
func Signature(timestamp, nonce, encryptKey string, body []byte) string {
	sum := signatureSum(timestamp, nonce, encryptKey, body)
	return hex.EncodeToString(sum[:])
}

func signatureSum(timestamp, nonce, encryptKey string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write([]byte(nonce))
	h.Write([]byte(encryptKey))
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// VerifySignature reports whether sig (hex, either case) is the signature of
// body, compared in constant time.
func VerifySignature(timestamp, nonce, encryptKey string, body []byte, sig string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	want := signatureSum(timestamp, nonce, encryptKey, body)
	return subtle.ConstantTimeCompare(got, want[:]) == 1
}

// Decrypt opens Feishu's "encrypt" value: base64(IV ‖ AES-256-CBC(
// sha256(encryptKey), PKCS#7)). Every malformation is moderation.ErrMalformed.
func Decrypt(encrypted, encryptKey string) ([]byte, error) {
	return decrypt(eventCipher(encryptKey), encrypted)
}

// eventCipher is the AES-256 block of an Encrypt Key, built once per
// client: the key schedule is the same for every delivery.
func eventCipher(encryptKey string) cipher.Block {
	key := sha256.Sum256([]byte(encryptKey))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("feishu: AES-256 with a 32-byte key: " + err.Error()) // cannot happen
	}
	return block
}

// decrypt is Decrypt with the block already made; it decrypts in place,
// in the one buffer the base64 decoding allocates.
func decrypt(block cipher.Block, encrypted string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("encrypt is not base64: %w", moderation.ErrMalformed)
	}
	if len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("encrypt is %d bytes, not IV plus whole blocks: %w", len(raw), moderation.ErrMalformed)
	}
	iv, out := raw[:aes.BlockSize], raw[aes.BlockSize:]
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, out)
	n := int(out[len(out)-1])
	if n < 1 || n > aes.BlockSize {
		return nil, fmt.Errorf("bad PKCS#7 padding: %w", moderation.ErrMalformed)
	}
	var want [aes.BlockSize]byte
	for i := range n {
		want[i] = byte(n)
	}
	if subtle.ConstantTimeCompare(out[len(out)-n:], want[:n]) != 1 {
		return nil, fmt.Errorf("bad PKCS#7 padding: %w", moderation.ErrMalformed)
	}
	return out[:len(out)-n], nil
}

// parseTimestamp reads an integer Unix time in seconds, milliseconds or
// microseconds (Feishu documents no unit for the header and shows both 13-
// and 16-digit create_time values).
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 19 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	switch {
	case n >= 1e15:
		return time.UnixMicro(n), true
	case n >= 1e12:
		return time.UnixMilli(n), true
	default:
		return time.Unix(n, 0), true
	}
}
