// Package feishu is Gavel's adapter for Feishu / Lark: it verifies and
// parses webhook deliveries (Receive) and implements moderation.Platform on
// top of the official Go SDK (github.com/larksuite/oapi-sdk-go/v3).
package feishu

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	gocache "github.com/patrickmn/go-cache"

	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/pathseg"
)

// Name is the platform's config key and the prefix of its reason codes.
const Name = "feishu"

// Options are the adapter's injectable dependencies.
type Options struct {
	Logger     *slog.Logger     // nil → slog.Default(); attrs: platform=feishu
	HTTPClient *http.Client     // nil → a client with a 10 s timeout
	Now        func() time.Time // nil → time.Now
	// Egress observes API calls and may supply shared rate limiters.
	Egress egress.Shared
	// LongConn observes the long connection (mode: websocket); nil: none.
	LongConn LongConnObserver
}

// Client is the Feishu adapter. It is safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	sdk    *lark.Client
	hc     *http.Client
	tokens *tokenSource
	// conn is the long connection's state (longconn.go).
	conn *connState
	// events decrypts deliveries; nil without an Encrypt Key.
	events cipher.Block

	// One egress.Caller per rate-limited API.
	chatGet       *egress.Caller
	membersDelete *egress.Caller
	messageDelete *egress.Caller
	messageReply  *egress.Caller
	botInfo       *egress.Caller
	// Sanctions (#16): the speech mode, chat history, one message.
	moderationGet    *egress.Caller
	moderationUpdate *egress.Caller
	messageList      *egress.Caller
	messageGet       *egress.Caller
	// Posts (#17): card patches, members added back.
	messagePatch *egress.Caller
	membersAdd   *egress.Caller

	chatLock keyedMutex // serialises member removals per chat (232019)
	// refusals holds the chats where Feishu refused a recall (230026),
	// for RefusalCacheTTL.
	refusals *gocache.Cache
	// recalled holds the ids of messages Gavel recalled in the last hour.
	recalled *gocache.Cache

	botMu sync.Mutex
	botID string
}

var _ moderation.Platform = (*Client)(nil)

// New validates cfg and returns a Client. It makes no network call.
func New(cfg Config, opts Options) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("platform", Name)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	sdk := lark.NewClient(cfg.AppID, cfg.AppSecret,
		lark.WithOpenBaseUrl(cfg.BaseURL),
		lark.WithHttpClient(httpDoer{hc: hc}),
		// The SDK's token cache is process-global and never evicts a revoked
		// token; Client keeps its own (tokenSource) and renews on 99991663.
		lark.WithEnableTokenCache(false),
		lark.WithLogger(sdkLogger{log: log}),
		lark.WithLogLevel(larkcore.LogLevelDebug),
	)
	c := &Client{
		cfg:              cfg,
		log:              log,
		now:              now,
		sdk:              sdk,
		hc:               hc,
		conn:             newConnState(opts.LongConn, now),
		chatGet:          opts.Egress.New(Name, "chat.get", cfg.Rate),
		membersDelete:    opts.Egress.New(Name, "chat.members.delete", cfg.Rate),
		messageDelete:    opts.Egress.New(Name, "message.delete", cfg.Rate),
		messageReply:     opts.Egress.New(Name, "message.reply", cfg.Rate),
		botInfo:          opts.Egress.New(Name, "bot.info", cfg.Rate),
		moderationGet:    opts.Egress.New(Name, "chat.moderation.get", cfg.Rate),
		moderationUpdate: opts.Egress.New(Name, "chat.moderation.update", cfg.Rate),
		messageList:      opts.Egress.New(Name, "message.list", cfg.Rate),
		messageGet:       opts.Egress.New(Name, "message.get", cfg.Rate),
		messagePatch:     opts.Egress.New(Name, "message.patch", cfg.Rate),
		membersAdd:       opts.Egress.New(Name, "chat.members.create", cfg.Rate),
		refusals:         gocache.New(cfg.RefusalCacheTTL, cfg.RefusalCacheTTL),
		recalled:         gocache.New(recalledMemory, 10*time.Minute),
		botID:            cfg.BotOpenID,
	}
	if cfg.EncryptKey != "" {
		c.events = eventCipher(cfg.EncryptKey)
	}
	c.tokens = &tokenSource{sdk: sdk, appID: cfg.AppID, appSecret: cfg.AppSecret, now: now}
	for _, caller := range []*egress.Caller{c.chatGet, c.membersDelete, c.messageDelete, c.messageReply, c.botInfo,
		c.moderationGet, c.moderationUpdate, c.messageList, c.messageGet, c.messagePatch, c.membersAdd} {
		caller.Renew = c.tokens.renew
	}
	switch {
	case cfg.WebSocket():
		log.Info("events arrive over the long connection (mode: websocket); no webhook route")
	case cfg.InsecureSkipVerify:
		log.Warn("webhook verification disabled (insecure_skip_verify): anyone can forge deliveries")
	case cfg.EncryptKey == "":
		log.Warn("no encrypt_key: Feishu deliveries are neither signed nor time-stamped; only the plaintext verification token "+
			"authenticates them, and a captured delivery can be replayed until its header.create_time is older than dedup_ttl",
			"dedup_ttl", cfg.DedupTTL)
	}
	return c, nil
}

// Name returns "feishu".
func (c *Client) Name() string { return Name }

// Capabilities: Feishu removes members natively; it has no per-member mute,
// so Gavel emulates mute by recalling the muted user's messages. It has no
// ban either: Gavel bans by removing and removing again on rejoin (and
// unbans by forgetting). Locks (the speech mode) and purges (recall, chat
// history) are native in group chats; a direct (p2p) chat has none of them.
func (c *Client) Capabilities(_ context.Context, chat moderation.ChatRef) (moderation.Capabilities, error) {
	caps := moderation.Capabilities{
		moderation.VerbKick:   moderation.Native,
		moderation.VerbMute:   moderation.Emulated,
		moderation.VerbUnmute: moderation.Emulated,
		moderation.VerbBan:    moderation.Emulated,
		moderation.VerbUnban:  moderation.Emulated,
		moderation.VerbLock:   moderation.Native,
		moderation.VerbUnlock: moderation.Native,
		moderation.VerbPurge:  moderation.Native,
	}
	if isP2P(chat) {
		for _, v := range []moderation.Verb{moderation.VerbBan, moderation.VerbUnban, moderation.VerbLock, moderation.VerbUnlock, moderation.VerbPurge} {
			caps[v] = moderation.Unsupported
		}
	}
	return caps, nil
}

// BotID returns the bot's open_id: bot_open_id from the config, else the
// answer of GET /open-apis/bot/v3/info, fetched once and kept.
func (c *Client) BotID(ctx context.Context) (string, error) {
	c.botMu.Lock()
	defer c.botMu.Unlock()
	if c.botID != "" {
		return c.botID, nil
	}
	const op = "bot.info"
	var openID string
	err := c.botInfo.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			resp, err := c.sdk.Get(ctx, "/open-apis/bot/v3/info", nil, larkcore.AccessTokenTypeTenant, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			var body struct {
				larkcore.CodeError
				Bot struct {
					OpenID string `json:"open_id"`
				} `json:"bot"`
			}
			if err := json.Unmarshal(resp.RawBody, &body); err != nil {
				return nil, larkcore.CodeError{}, fmt.Errorf("decoding bot info: %w", err)
			}
			openID = body.Bot.OpenID
			return resp, body.CodeError, nil
		})
	})
	if err != nil {
		return "", err
	}
	if openID == "" {
		return "", &moderation.APIError{Platform: Name, Op: op, Message: "Feishu returned no bot open_id.", Kind: moderation.Permanent}
	}
	c.botID = openID
	return openID, nil
}

// sdkCall is one SDK request made with the given tenant token option.
type sdkCall func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error)

// do runs one attempt of call with a tenant token and classifies the outcome
// through checkResponse. Token fetch failures are classified the same way.
func (c *Client) do(ctx context.Context, op string, call sdkCall) error {
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return err
	}
	resp, codeErr, err := call(ctx, larkcore.WithTenantAccessToken(tok))
	err = checkResponse(ctx, op, resp, codeErr, err)
	if err != nil {
		c.log.Debug("feishu api call failed", "op", op, "err", err)
	}
	return err
}

// tokenSource fetches tenant_access_tokens through the SDK and caches them
// until shortly before they expire.
type tokenSource struct {
	sdk       *lark.Client
	appID     string
	appSecret string
	now       func() time.Time

	mu      sync.Mutex
	tok     string
	expires time.Time
}

// tokenMargin is how long before its expiry a token is replaced.
const tokenMargin = 3 * time.Minute

func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && t.now().Before(t.expires) {
		return t.tok, nil
	}
	const op = "auth.tenant_access_token"
	resp, err := t.sdk.GetTenantAccessTokenBySelfBuiltApp(ctx, &larkcore.SelfBuiltTenantAccessTokenReq{AppID: t.appID, AppSecret: t.appSecret})
	if err != nil {
		return "", checkResponse(ctx, op, nil, larkcore.CodeError{}, err)
	}
	if err := checkResponse(ctx, op, resp.ApiResp, resp.CodeError, nil); err != nil {
		var apiErr *moderation.APIError
		if errors.As(err, &apiErr) && apiErr.Kind == moderation.AuthExpired {
			apiErr.Kind = moderation.Permanent // a token fetch cannot be renewed by fetching again
		}
		return "", err
	}
	if resp.TenantAccessToken == "" {
		return "", &moderation.APIError{Platform: Name, Op: op, HTTPStatus: resp.StatusCode, Message: "Feishu returned an empty tenant access token.", Kind: moderation.Transient}
	}
	ttl := time.Duration(resp.Expire)*time.Second - tokenMargin
	if ttl <= 0 {
		ttl = time.Duration(resp.Expire) * time.Second / 2
	}
	t.tok, t.expires = resp.TenantAccessToken, t.now().Add(ttl)
	return t.tok, nil
}

// renew drops the cached token so the next call fetches a fresh one; it is
// every egress.Caller's Renew hook for AuthExpired (99991663) answers.
func (t *tokenSource) renew(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tok, t.expires = "", time.Time{}
	return nil
}

// keyedMutex serialises work per key and forgets unused keys.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*refMutex)
	}
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// sdkLogger sends the SDK's own log lines to slog at debug level: they can
// contain request details that must not be logged above debug.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Debug(ctx context.Context, args ...any) { l.emit(ctx, args) }
func (l sdkLogger) Info(ctx context.Context, args ...any)  { l.emit(ctx, args) }
func (l sdkLogger) Warn(ctx context.Context, args ...any)  { l.emit(ctx, args) }
func (l sdkLogger) Error(ctx context.Context, args ...any) { l.emit(ctx, args) }

func (l sdkLogger) emit(ctx context.Context, args []any) {
	if l.log.Enabled(ctx, slog.LevelDebug) {
		l.log.DebugContext(ctx, "lark sdk", "msg", fmt.Sprint(args...))
	}
}

// pathParam checks an id the SDK puts into a request path (PathParams:
// :chat_id, :message_id). The SDK escapes separators itself but passes
// "." and ".." through, which a path-normalising hop would resolve into
// another resource; such an id is a permanent error and nothing is sent.
func pathParam(op, what, id string) error {
	if err := pathseg.Check(id); err != nil {
		return fmt.Errorf("%w (%w)", &moderation.APIError{
			Platform: Name, Op: op, Name: "invalid_" + what,
			Message: "The " + what + " cannot be used in a request.", Kind: moderation.Permanent,
		}, err)
	}
	return nil
}
