package feishu_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

// Vectors from the Feishu documentation and SDK (see the protocol reference).
const (
	vecKey          = "test key"
	vecHelloEncrypt = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
	vecChallengeEnc = "AAECAwQFBgcICQoLDA0ODw9mLTIAZS9jAmGTQ1wAhHp7T0KSqa6xlIO2zHinxKSs1K4/7o0J6jqt9tlbOFlHae7/cvXLvNi4ZpCEt5KzcrL1tjJXRzgeOikjXBgef8ne"
	vecChallenge    = `{"challenge":"ajls384kdjxxxx","token":"xxxxxx","type":"url_verification"}`
	vecS1Signature  = "235cdfc297d88979f244c4eab42448b5eedf21d3ce9da01e5afb8c3e323ef709"
	vecS2Signature  = "e6feed5ed4582d5a0a4870edb34e0dee8f9b360c6891debb0a6a6f7884376129"
	vecSDKKey       = "1212121212"
	vecSDKEncrypt   = "bZ3L7yh6m3Fkuffl4g+3uGjIHnhOm5fVZbKVuyT8t7tcd5ABMYm8l28/X900ZL3knZ7n+sCREu/H2WnIzft0amC7+xWqNH8o25IU63N4BnZWfHh+4hyG76QPd19vkw2bPJCx9aqxK8Nz+xqFNbk0RdgyWhmgd30jSxHtcQXAllkI7FMpGpOCteJad3bLXPDBQIV/xkCtKICCS7Z63gakpxZCLaRZ3qCXP1fapHh+LBIupxenrU6ysc7I3nHmjmKie41IiWwS5puG4zQHhVbq6KWLcgWm/3NBZOPQy53ucMu75SXA55I7jarVLZXWUcqBGrcgE3vouWbtwgZuzmoTQl0GSh5VYSVvpW992BuGxUWj0XjPYdICJm6Cr7xouNXwMcdb7N8caVdkdSZeEnswG19qSyDoQhklwzNGW0yiaayulBqJNjfge/G5V3401c2XaIuAeEIo+QQ4RSNpRGfnHkbu/j55FGQAGWjpuBNaIwZbaUoVP3NkGP+vM5rpEDe3sL2GN+Xsd+g9yBs7FqdMV8mXTGgLjCqjrPrke5/km76Q3Pe6KPs2YexMRG4MkSx3xUTzZnNn7zIzShPcjeSwBd2pxk6ht5N+fzueZdxl6Oo="
)

var testNow = time.Unix(1700000000, 0)

const (
	testToken = "vt-secret"
	testKey   = "ek-secret"
	testApp   = "cli_test"
)

func newReceiver(tb testing.TB, mutate func(*feishu.Config)) *feishu.Client {
	tb.Helper()
	cfg := feishu.Config{BaseURL: "http://127.0.0.1:1", AppID: testApp, AppSecret: "s", VerificationToken: testToken, EncryptKey: testKey}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := feishu.New(cfg, feishu.Options{Logger: quietLogger(), Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func ts(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// encryptRaw encrypts data (a multiple of 16 bytes) without adding padding,
// to build deliveries with broken PKCS#7 padding.
func encryptRaw(key string, data []byte) string {
	k := sha256.Sum256([]byte(key))
	block, _ := aes.NewCipher(k[:])
	out := make([]byte, aes.BlockSize+len(data))
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], data)
	return base64.StdEncoding.EncodeToString(out)
}

func encryptBody(encrypt string) []byte {
	b, _ := json.Marshal(map[string]string{"encrypt": encrypt})
	return b
}

func TestVectors(t *testing.T) {
	t.Parallel()
	t.Run("decrypt hello world (doc V1)", func(t *testing.T) {
		t.Parallel()
		got, err := feishu.Decrypt(vecHelloEncrypt, vecKey)
		if err != nil || string(got) != "hello world" {
			t.Fatalf("Decrypt = %q, %v; want hello world", got, err)
		}
	})
	t.Run("decrypt url_verification with fixed IV (V5)", func(t *testing.T) {
		t.Parallel()
		got, err := feishu.Decrypt(vecChallengeEnc, vecKey)
		if err != nil || string(got) != vecChallenge {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
		if enc := feishutest.EncryptWithIV(vecKey, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, []byte(vecChallenge)); enc != vecChallengeEnc {
			t.Fatalf("feishutest.EncryptWithIV = %s, want the V5 vector", enc)
		}
	})
	t.Run("decrypt SDK unit-test vector (V2)", func(t *testing.T) {
		t.Parallel()
		got, err := feishu.Decrypt(vecSDKEncrypt, vecSDKKey)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(got), `{"schema":"2.0","header":{"event_id":"f7984f25108f8137722bb63cee927e66"`) ||
			!strings.HasSuffix(string(got), `"challenge":"1212","type":"url_verification"}`) || !strings.Contains(string(got), "张三") {
			t.Fatalf("Decrypt = %q", got)
		}
	})
	t.Run("signature S1", func(t *testing.T) {
		t.Parallel()
		body := []byte(`{"encrypt":"` + vecHelloEncrypt + `"}`)
		if got := feishu.Signature("1608725989", "1628479417", vecKey, body); got != vecS1Signature {
			t.Fatalf("Signature = %s", got)
		}
		if !feishu.VerifySignature("1608725989", "1628479417", vecKey, body, strings.ToUpper(vecS1Signature)) {
			t.Fatal("uppercase hex signature rejected")
		}
		if got := feishutest.Sign("1608725989", "1628479417", vecKey, body); got != vecS1Signature {
			t.Fatalf("feishutest.Sign = %s", got)
		}
	})
	t.Run("signature S2", func(t *testing.T) {
		t.Parallel()
		body := []byte(`{"encrypt":"` + vecChallengeEnc + `"}`)
		if got := feishu.Signature("1700000000", "nonce-abc", vecKey, body); got != vecS2Signature {
			t.Fatalf("Signature = %s", got)
		}
	})
}

func TestReceiveChallenge(t *testing.T) {
	t.Parallel()
	s2Body := []byte(`{"encrypt":"` + vecChallengeEnc + `"}`)
	tests := []struct {
		name    string
		mutate  func(*feishu.Config)
		d       moderation.Delivery
		want    string
		wantErr error
	}{
		{
			name:   "plain challenge without encrypt key",
			mutate: func(c *feishu.Config) { c.EncryptKey = "" },
			d:      feishutest.PlainDelivery(feishutest.Challenge(testToken, "c-plain")),
			want:   "c-plain",
		},
		{
			name:    "plain challenge with wrong token",
			mutate:  func(c *feishu.Config) { c.EncryptKey = "" },
			d:       feishutest.PlainDelivery(feishutest.Challenge("forged", "c-plain")),
			wantErr: moderation.ErrBadToken,
		},
		{
			name:   "encrypted challenge signed (doc vectors V5 + S2)",
			mutate: func(c *feishu.Config) { c.EncryptKey, c.VerificationToken = vecKey, "xxxxxx" },
			d: func() moderation.Delivery {
				d := feishutest.PlainDelivery(s2Body)
				d.Header.Set(feishu.HeaderTimestamp, "1700000000")
				d.Header.Set(feishu.HeaderNonce, "nonce-abc")
				d.Header.Set(feishu.HeaderSignature, vecS2Signature)
				return d
			}(),
			want: "ajls384kdjxxxx",
		},
		{
			name:   "encrypted challenge without signature headers (documented as unsigned)",
			mutate: func(c *feishu.Config) { c.EncryptKey, c.VerificationToken = vecKey, "xxxxxx" },
			d:      feishutest.PlainDelivery(s2Body),
			want:   "ajls384kdjxxxx",
		},
		{
			name:    "encrypted challenge unsigned with wrong token",
			d:       feishutest.PlainDelivery(feishutest.EncryptedBody(testKey, feishutest.Challenge("forged", "c"))),
			wantErr: moderation.ErrBadToken,
		},
		{
			name: "encrypted challenge built by feishutest",
			d:    feishutest.SignedDelivery(testKey, ts(testNow), "n1", feishutest.Challenge(testToken, "c-enc")),
			want: "c-enc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, tt.mutate)
			ack, err := c.Receive(context.Background(), tt.d)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if len(ack.Events) != 0 {
				t.Fatalf("events = %v, want none", ack.Events)
			}
			b, _ := json.Marshal(ack.Response)
			if want, _ := json.Marshal(map[string]string{"challenge": tt.want}); string(b) != string(want) {
				t.Fatalf("response = %s, want %s", b, want)
			}
		})
	}
}

func TestReceiveVerification(t *testing.T) {
	t.Parallel()
	event := feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "hi", AppID: testApp, CreateTime: testNow})
	signed := func(at time.Time) moderation.Delivery {
		return feishutest.SignedDelivery(testKey, ts(at), "nonce", event)
	}
	tamper := func(d moderation.Delivery, f func(*moderation.Delivery)) moderation.Delivery { f(&d); return d }
	badPadding := func(last byte) moderation.Delivery {
		block := append([]byte(`{"a":"bcdefghi`), 0, last)
		return feishutest.SignBody(testKey, ts(testNow), "n", encryptBody(encryptRaw(testKey, block)))
	}
	tests := []struct {
		name    string
		mutate  func(*feishu.Config)
		d       moderation.Delivery
		wantErr error // nil: accepted with one event
	}{
		{name: "valid", d: signed(testNow)},
		{name: "valid 4 minutes old", d: signed(testNow.Add(-4 * time.Minute))},
		{name: "valid millisecond timestamp", d: feishutest.SignedDelivery(testKey, strconv.FormatInt(testNow.UnixMilli(), 10), "n", event)},
		{name: "re-push 6 minutes old", d: signed(testNow.Add(-6 * time.Minute))},
		{name: "re-push 7h05m old", d: signed(testNow.Add(-feishu.RetrySchedule))},
		{name: "stale past dedup_ttl", d: signed(testNow.Add(-feishu.DefaultDedupTTL - time.Second)), wantErr: moderation.ErrStaleTimestamp},
		{name: "stale future", d: signed(testNow.Add(6 * time.Minute)), wantErr: moderation.ErrStaleTimestamp},
		{name: "custom replay window", mutate: func(c *feishu.Config) { c.ReplayWindow = time.Minute }, d: signed(testNow.Add(2 * time.Minute)), wantErr: moderation.ErrStaleTimestamp},
		{name: "custom dedup_ttl", mutate: func(c *feishu.Config) { c.DedupTTL = 10 * time.Hour }, d: signed(testNow.Add(-9 * time.Hour))},
		{name: "non-numeric timestamp", d: feishutest.SignedDelivery(testKey, "yesterday", "n", event), wantErr: moderation.ErrStaleTimestamp},
		{name: "bad signature", d: tamper(signed(testNow), func(d *moderation.Delivery) {
			d.Header.Set(feishu.HeaderSignature, strings.Repeat("0", 64))
		}), wantErr: moderation.ErrBadSignature},
		{name: "signature not hex", d: tamper(signed(testNow), func(d *moderation.Delivery) {
			d.Header.Set(feishu.HeaderSignature, "zz")
		}), wantErr: moderation.ErrBadSignature},
		{name: "body changed after signing", d: tamper(signed(testNow), func(d *moderation.Delivery) {
			d.Body = append([]byte(" "), d.Body...)
		}), wantErr: moderation.ErrBadSignature},
		{name: "signed with another key", d: feishutest.SignedDelivery("other", ts(testNow), "n", event), wantErr: moderation.ErrBadSignature},
		{name: "event without signature headers", d: feishutest.PlainDelivery(feishutest.EncryptedBody(testKey, event)), wantErr: moderation.ErrMissingHeaders},
		{name: "nonce missing", d: tamper(signed(testNow), func(d *moderation.Delivery) { d.Header.Del(feishu.HeaderNonce) }), wantErr: moderation.ErrMissingHeaders},
		{name: "wrong verification token", d: feishutest.SignedDelivery(testKey, ts(testNow), "n",
			feishutest.MessageEvent("forged", feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "hi", CreateTime: testNow})), wantErr: moderation.ErrBadToken},
		{name: "other app", d: feishutest.SignedDelivery(testKey, ts(testNow), "n",
			feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "hi", AppID: "cli_other", CreateTime: testNow})), wantErr: moderation.ErrUnknownApp},
		{name: "plaintext body while encrypt key set", d: feishutest.SignBody(testKey, ts(testNow), "n", event), wantErr: moderation.ErrMalformed},
		{name: "plaintext body unsigned while encrypt key set", d: feishutest.PlainDelivery(event), wantErr: moderation.ErrMalformed},
		{name: "encrypted body without encrypt key", mutate: func(c *feishu.Config) { c.EncryptKey = "" }, d: signed(testNow), wantErr: moderation.ErrMalformed},
		{name: "body not JSON", d: feishutest.SignBody(testKey, ts(testNow), "n", []byte("{not json")), wantErr: moderation.ErrMalformed},
		{name: "encrypt not base64", d: feishutest.SignBody(testKey, ts(testNow), "n", encryptBody("!!!")), wantErr: moderation.ErrMalformed},
		{name: "ciphertext not whole blocks", d: feishutest.SignBody(testKey, ts(testNow), "n", encryptBody(base64.StdEncoding.EncodeToString(make([]byte, 20)))), wantErr: moderation.ErrMalformed},
		{name: "IV only", d: feishutest.SignBody(testKey, ts(testNow), "n", encryptBody(base64.StdEncoding.EncodeToString(make([]byte, 16)))), wantErr: moderation.ErrMalformed},
		{name: "padding byte zero", d: badPadding(0), wantErr: moderation.ErrMalformed},
		{name: "padding byte above block size", d: badPadding(17), wantErr: moderation.ErrMalformed},
		{name: "padding bytes inconsistent", d: badPadding(2), wantErr: moderation.ErrMalformed},
		{name: "decrypts to non-JSON", d: feishutest.SignedDelivery(testKey, ts(testNow), "n", []byte("hello")), wantErr: moderation.ErrMalformed},
		{name: "insecure skips token", mutate: func(c *feishu.Config) { c.InsecureSkipVerify, c.VerificationToken = true, "" }, d: feishutest.PlainDelivery(feishutest.EncryptedBody(testKey, event))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, tt.mutate)
			ack, err := c.Receive(context.Background(), tt.d)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if len(ack.Events) != 0 {
					t.Fatal("events returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if len(ack.Events) != 1 {
				t.Fatalf("events = %d, want 1", len(ack.Events))
			}
		})
	}
}

func TestReceiveEvents(t *testing.T) {
	t.Parallel()
	sent := time.UnixMilli(1699999990123)
	tests := []struct {
		name  string
		event []byte
		want  []moderation.Event
	}{
		{
			name: "text command with mentions",
			event: feishutest.MessageEvent(testToken, feishutest.TextMessage{
				EventID: "ev1", MessageID: "om_1", ChatID: "oc_1", SenderID: "ou_admin", CreateTime: sent,
				Text: "@_user_1 /kick @_user_2 flooding",
				Mentions: []feishutest.Mention{
					{Key: "@_user_1", OpenID: "ou_bot", Name: "Gavel"},
					{Key: "@_user_2", OpenID: "ou_spam", Name: "Spammer"},
				},
			}),
			want: []moderation.Event{{
				Kind: moderation.EventMessage, Platform: "feishu", DeliveryID: "feishu:event:ev1",
				DedupKeys: []string{"feishu:event:ev1", "feishu:msg:om_1"},
				Message: &moderation.Message{
					Chat:      moderation.ChatRef{Platform: "feishu", ID: "oc_1", Kind: "group"},
					MessageID: "om_1", SenderID: "ou_admin", Text: "@_user_1 /kick @_user_2 flooding", SentAt: sent,
					Mentions: []moderation.Mention{
						{Token: "@_user_1", UserID: "ou_bot", Name: "Gavel"},
						{Token: "@_user_2", UserID: "ou_spam", Name: "Spammer"},
					},
				},
			}},
		},
		{
			name: "image message from a user (recallable, no text)",
			event: feishutest.MessageEvent(testToken, feishutest.TextMessage{
				EventID: "ev2", MessageID: "om_2", ChatID: "oc_1", SenderID: "ou_muted", CreateTime: sent,
				MessageType: "image", Content: `{"image_key":"img_v2_x"}`,
			}),
			want: []moderation.Event{{
				Kind: moderation.EventMessage, Platform: "feishu", DeliveryID: "feishu:event:ev2",
				DedupKeys: []string{"feishu:event:ev2", "feishu:msg:om_2"},
				Message: &moderation.Message{
					Chat:      moderation.ChatRef{Platform: "feishu", ID: "oc_1", Kind: "group"},
					MessageID: "om_2", SenderID: "ou_muted", SentAt: sent,
				},
			}},
		},
		{
			name:  "direct message ignored",
			event: feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_p2p", ChatType: "p2p", SenderID: "ou_a", Text: "/kick", CreateTime: testNow}),
		},
		{
			name:  "message from an app ignored",
			event: feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderType: "app", SenderID: "ou_x", Text: "/kick", CreateTime: testNow}),
		},
		{
			name:  "users added",
			event: feishutest.UserAddedEventAt(testToken, "ev3", "oc_1", "ou_inviter", testNow, "ou_n1", "ou_n2"),
			want: []moderation.Event{{
				Kind: moderation.EventJoin, Platform: "feishu", DeliveryID: "feishu:event:ev3", DedupKeys: []string{"feishu:event:ev3"},
				Join: &moderation.Join{Chat: moderation.ChatRef{Platform: "feishu", ID: "oc_1", Kind: "group"}, UserIDs: []string{"ou_n1", "ou_n2"}, Operator: "ou_inviter", At: testNow},
			}},
		},
		{
			name:  "chat updated: the chat's roles changed",
			event: feishutest.ChatUpdatedEventAt(testToken, "ev5", "oc_1", "ou_owner", "ou_owner", "ou_new", testNow),
			want: []moderation.Event{{
				Kind: moderation.EventRolesChanged, Platform: "feishu", DeliveryID: "feishu:event:ev5", DedupKeys: []string{"feishu:event:ev5"},
				RolesChanged: &moderation.RolesChange{Chat: moderation.ChatRef{Platform: "feishu", ID: "oc_1", Kind: "group"}},
			}},
		},
		{
			name:  "users deleted: their roles changed",
			event: feishutest.UserDeletedEventAt(testToken, "ev6", "oc_1", "ou_owner", testNow, "ou_mgr"),
			want: []moderation.Event{{
				Kind: moderation.EventRolesChanged, Platform: "feishu", DeliveryID: "feishu:event:ev6", DedupKeys: []string{"feishu:event:ev6"},
				RolesChanged: &moderation.RolesChange{Chat: moderation.ChatRef{Platform: "feishu", ID: "oc_1", Kind: "group"}, UserIDs: []string{"ou_mgr"}},
			}},
		},
		{
			name:  "other event type ignored",
			event: feishutest.EventAt(testToken, "ev4", "im.chat.member.bot.added_v1", testNow, map[string]any{"chat_id": "oc_1"}),
		},
		{
			name:  "legacy v1 event ignored",
			event: []byte(`{"uuid":"u1","token":"` + testToken + `","ts":"1","type":"event_callback","event":{"type":"user_status_change"}}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, nil)
			ack, err := c.Receive(context.Background(), feishutest.SignedDelivery(testKey, ts(testNow), "n", tt.event))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			got, _ := json.Marshal(ack.Events)
			want, _ := json.Marshal(tt.want)
			if len(tt.want) == 0 {
				want = []byte("null")
			}
			if string(got) != string(want) {
				t.Fatalf("events\n got %s\nwant %s", got, want)
			}
			if b, _ := json.Marshal(ack.Response); string(b) != `{"msg":"success"}` {
				t.Fatalf("response = %s", b)
			}
		})
	}
}

func TestReceiveMalformedEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event []byte
	}{
		{"text content not JSON", feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Content: "{oops", CreateTime: testNow})},
		{"message without chat", feishutest.MessageEvent(testToken, feishutest.TextMessage{SenderID: "ou_a", Text: "x", CreateTime: testNow})},
		{"event without create_time", []byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"im.message.receive_v1","token":"` + testToken + `"},"event":{}}`)},
		{"event not an object", []byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"im.message.receive_v1","token":"` + testToken + `"},"event":[1]}`)},
		{"missing event_id", []byte(`{"schema":"2.0","header":{"event_type":"im.message.receive_v1","token":"` + testToken + `"},"event":{}}`)},
		{"challenge without value", feishutest.Challenge(testToken, "")},
		{"chat updated without chat_id", feishutest.ChatUpdatedEventAt(testToken, "e", "", "ou_a", "", "", testNow)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, nil)
			_, err := c.Receive(context.Background(), feishutest.SignedDelivery(testKey, ts(testNow), "n", tt.event))
			if !errors.Is(err, moderation.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestReceiveLate: genuine deliveries older than the replay window are
// Feishu's re-pushes: accepted and marked Late up to dedup_ttl, refused
// beyond; with or without an Encrypt Key, header.create_time bounds them.
func TestReceiveLate(t *testing.T) {
	t.Parallel()
	event := func(created time.Time) []byte {
		return feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "/kick", AppID: testApp, CreateTime: created})
	}
	noKey := func(c *feishu.Config) { c.EncryptKey = "" }
	tests := []struct {
		name     string
		mutate   func(*feishu.Config)
		d        moderation.Delivery
		wantLate bool
		wantErr  error
	}{
		{name: "on time", d: feishutest.SignedDelivery(testKey, ts(testNow), "n", event(testNow))},
		{name: "4 minutes old", d: feishutest.SignedDelivery(testKey, ts(testNow.Add(-4*time.Minute)), "n", event(testNow.Add(-4*time.Minute)))},
		{name: "re-push with the first stamp, 1h", d: feishutest.SignedDelivery(testKey, ts(testNow.Add(-time.Hour)), "n", event(testNow.Add(-time.Hour))), wantLate: true},
		{name: "re-push with a fresh stamp, 6h", d: feishutest.SignedDelivery(testKey, ts(testNow), "n", event(testNow.Add(-6*time.Hour))), wantLate: true},
		{name: "last re-push, 7h05m", d: feishutest.SignedDelivery(testKey, ts(testNow), "n", event(testNow.Add(-feishu.RetrySchedule))), wantLate: true},
		{name: "stamp past dedup_ttl", d: feishutest.SignedDelivery(testKey, ts(testNow.Add(-9*time.Hour)), "n", event(testNow)), wantErr: moderation.ErrStaleTimestamp},
		{name: "event past dedup_ttl, fresh stamp", d: feishutest.SignedDelivery(testKey, ts(testNow), "n", event(testNow.Add(-9*time.Hour))), wantErr: moderation.ErrStaleTimestamp},
		{name: "event from the future", d: feishutest.SignedDelivery(testKey, ts(testNow), "n", event(testNow.Add(10*time.Minute))), wantErr: moderation.ErrStaleTimestamp},
		{name: "no key: on time", mutate: noKey, d: feishutest.PlainDelivery(event(testNow))},
		{name: "no key: 1h old", mutate: noKey, d: feishutest.PlainDelivery(event(testNow.Add(-time.Hour))), wantLate: true},
		{name: "no key: replay past dedup_ttl", mutate: noKey, d: feishutest.PlainDelivery(event(testNow.Add(-feishu.DefaultDedupTTL - time.Second))), wantErr: moderation.ErrStaleTimestamp},
		{name: "no key: no create_time", mutate: noKey, d: feishutest.PlainDelivery([]byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"im.message.receive_v1","token":"` + testToken + `"},"event":{}}`)), wantErr: moderation.ErrMalformed},
		{name: "insecure: old accepted", mutate: func(c *feishu.Config) { c.EncryptKey, c.InsecureSkipVerify = "", true }, d: feishutest.PlainDelivery(event(testNow.Add(-24 * time.Hour))), wantLate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, tt.mutate)
			ack, err := c.Receive(context.Background(), tt.d)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(ack.Events) != 0 {
					t.Fatalf("err = %v (%d events), want %v", err, len(ack.Events), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if len(ack.Events) != 1 || ack.Events[0].Late != tt.wantLate {
				t.Fatalf("events %+v, want one with Late %v", ack.Events, tt.wantLate)
			}
		})
	}
}

// TestNoEncryptKeyWarns: without an Encrypt Key deliveries are unsigned;
// the adapter says so at start.
func TestNoEncryptKeyWarns(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		key  string
		want bool
	}{{"no key", "", true}, {"key", "k", false}} {
		var buf strings.Builder
		log := slog.New(slog.NewTextHandler(&buf, nil))
		if _, err := feishu.New(feishu.Config{AppID: "cli_x", AppSecret: "s", VerificationToken: "v", EncryptKey: tt.key}, feishu.Options{Logger: log}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "no encrypt_key"); got != tt.want {
			t.Errorf("%s: warning logged = %v, want %v: %s", tt.name, got, tt.want, buf.String())
		}
	}
}
