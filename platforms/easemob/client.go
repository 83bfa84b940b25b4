package easemob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patrickmn/go-cache"

	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/pathseg"
)

// Name is the platform's config key and the Platform field of its events.
const Name = "easemob"

// Chat kinds as they appear in moderation.ChatRef.Kind.
const (
	KindChatRoom = "chatroom"
	KindGroup    = "group"
)

const maxResponseBytes = 4 << 20

// Options are the dependencies of a Client.
type Options struct {
	Logger     *slog.Logger     // nil → slog.Default(); attrs: platform=easemob
	HTTPClient *http.Client     // nil → a client with sane timeouts
	Now        func() time.Time // nil → time.Now; replay window, token and cache expiry
	// Egress observes API calls and may supply a shared rate limiter.
	Egress egress.Shared
	// Gate screens pre-send callbacks; nil delivers every message
	// unscreened.
	Gate moderation.Gate
	// Ledger remembers verified callIds and their body digests (Easemob's
	// signature does not cover the body); nil → a MemoryLedger of
	// DefaultLedgerEntries. Several replicas share a SharedLedger.
	Ledger CallLedger
}

// Client is the Easemob adapter: callback receiver and REST client.
type Client struct {
	cfg Config
	// appPath is "/{org_name}/{app_name}", escaped by pathseg.
	appPath string
	log     *slog.Logger
	http    *http.Client
	now     func() time.Time
	// caller paces every REST call of the App Key through one limiter;
	// message sends have their own (see Config.GroupSendRate).
	caller    *egress.Caller
	sendGroup *egress.Caller
	sendRoom  *egress.Caller
	// metadata reads nicknames: its own 100/s API, one attempt (the
	// webhook waits for it).
	metadata *egress.Caller
	gate     moderation.Gate
	ledger   CallLedger

	tokenMu  sync.Mutex
	token    string
	tokenDue time.Time // refresh from this instant on

	kinds *cache.Cache // chat ID → KindChatRoom / KindGroup
	nicks *cache.Cache // lower-case user ID → nickname
	// noRewrite is set once messages/rewrite answered that the feature is
	// not enabled for the app: UpdatePost then returns ErrUnsupported
	// without asking again.
	noRewrite atomic.Bool
}

var _ moderation.Platform = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config, opts Options) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	appPath, err := pathseg.Join(cfg.OrgName, cfg.AppName)
	if err != nil {
		return nil, fmt.Errorf("platforms.easemob: org_name/app_name: %w", err)
	}
	c := &Client{
		cfg:     cfg,
		appPath: appPath,
		log:     opts.Logger,
		http:    opts.HTTPClient,
		now:     opts.Now,
		gate:    opts.Gate,
		ledger:  opts.Ledger,
		kinds:   cache.New(24*time.Hour, 10*time.Minute),
		nicks:   cache.New(cfg.NameCacheTTL, cfg.NameCacheTTL),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With(slog.String("platform", Name))
	if c.http == nil {
		c.http = &http.Client{
			Timeout: 15 * time.Second,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				MaxIdleConnsPerHost:   16,
				IdleConnTimeout:       90 * time.Second,
				TLSHandshakeTimeout:   5 * time.Second,
				ResponseHeaderTimeout: 10 * time.Second,
			},
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ledger == nil {
		c.ledger = NewMemoryLedger(DefaultLedgerEntries, c.now)
	}
	// One limiter for every call: Easemob limits per App Key.
	c.caller = opts.Egress.New(Name, "app", cfg.Rate)
	c.caller.Renew = c.renewToken
	// Message sends are limited apart from the other APIs. Burst 1: a
	// token bucket lets burst + rate calls into one second.
	send := func(api string, perSecond float64) *egress.Caller {
		l := cfg.Rate
		l.PerSecond, l.Burst = perSecond, 1
		sc := opts.Egress.New(Name, api, l)
		sc.Renew = c.renewToken
		return sc
	}
	c.sendGroup = send("send.group", cfg.GroupSendRate)
	c.sendRoom = send("send.room", cfg.RoomSendRate)
	ml := cfg.Rate
	ml.MaxAttempts = 1
	c.metadata = opts.Egress.New(Name, "metadata", ml)
	c.metadata.Renew = c.renewToken
	if cfg.CallbackSecret == "" {
		c.log.Warn("callback signature verification is disabled (insecure_skip_verify)")
	}
	return c, nil
}

// Name returns "easemob".
func (c *Client) Name() string { return Name }

// BotID returns the configured bot_user, canonical (lower case).
func (c *Client) BotID(context.Context) (string, error) { return CanonicalUserID(c.cfg.BotUser), nil }

// apiURL returns the escaped request URL for rest, which was built by
// pathseg (or is a constant) and starts with '/'.
func (c *Client) apiURL(rest string) string {
	return c.cfg.BaseURL + c.appPath + rest
}

// --- App Token ---------------------------------------------------------------

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// accessToken returns the cached App Token, fetching a new one when none is
// cached or half of its lifetime has passed (as the official SDKs do).
// The mutex makes concurrent callers share one fetch.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token != "" && c.now().Before(c.tokenDue) {
		return c.token, nil
	}
	return c.fetchTokenLocked(ctx)
}

// invalidate drops tok if it is still the cached token, so the next
// accessToken fetches a fresh one. Calls that failed with an older token do
// not discard a token another call already renewed.
func (c *Client) invalidate(tok string) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// renewToken is the egress Renew hook: after a 401 the failing call has
// invalidated its token; fetch a new one unless another call already did.
func (c *Client) renewToken(ctx context.Context) error {
	_, err := c.accessToken(ctx)
	return err
}

func (c *Client) fetchTokenLocked(ctx context.Context) (string, error) {
	body, err := json.Marshal(map[string]string{
		"grant_type":    "client_credentials",
		"client_id":     c.cfg.ClientID,
		"client_secret": c.cfg.ClientSecret,
	})
	if err != nil {
		return "", fmt.Errorf("easemob: encoding token request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL("/token"), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("easemob: building token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("easemob: requesting app token: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return "", fmt.Errorf("easemob: reading token response: %w", err)
	}
	if err := checkResponse("token", resp, raw); err != nil {
		var apiErr *moderation.APIError
		if errors.As(err, &apiErr) && apiErr.Kind == moderation.AuthExpired {
			// A 401 from /token is bad credentials, not an expired token:
			// renewing again cannot help.
			apiErr.Kind = moderation.Permanent
		}
		return "", err
	}
	var tr tokenResponse
	if err := json.Unmarshal(raw, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("easemob: token response without access_token: %w", moderation.ErrMalformed)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	c.token = tr.AccessToken
	c.tokenDue = c.now().Add(life / 2)
	c.log.DebugContext(ctx, "app token obtained", slog.Duration("expires_in", life))
	return c.token, nil
}

// --- REST calls --------------------------------------------------------------

// envelope is Easemob's success body; Data's shape depends on the endpoint.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Count int             `json:"count"`
}

// marshalBody encodes a request body without Go's HTML escaping: a
// message's "<", ">" and "&" stay one byte each rather than six
// ("\u003c"), which matters under Easemob's 5 KB message limit (a reply
// of replyLimit bytes must fit whatever it holds). Easemob reads JSON,
// not HTML, so the escapes buy nothing. The encoder's trailing newline is
// dropped.
func marshalBody(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// call runs one REST call through the shared Caller: it paces, attaches the
// App Token, renews it once on 401, retries transient failures, and decodes
// the envelope into out (when non-nil).
func (c *Client) call(ctx context.Context, op, method, path string, body any, out *envelope) error {
	return c.callWith(ctx, c.caller, op, method, path, body, out)
}

// callWith is call paced by caller.
func (c *Client) callWith(ctx context.Context, caller *egress.Caller, op, method, path string, body any, out *envelope) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = marshalBody(body); err != nil {
			return fmt.Errorf("easemob %s: encoding request: %w", op, err)
		}
	}
	return caller.Do(ctx, func(ctx context.Context) error {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.apiURL(path), rd)
		if err != nil {
			return fmt.Errorf("easemob %s: building request: %w", op, err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("easemob %s: %w", op, err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		if err != nil {
			return fmt.Errorf("easemob %s: reading response: %w", op, err)
		}
		if err := checkResponse(op, resp, raw); err != nil {
			var apiErr *moderation.APIError
			if errors.As(err, &apiErr) && apiErr.Kind == moderation.AuthExpired {
				c.invalidate(tok)
			}
			c.log.DebugContext(ctx, "api call failed", slog.String("op", op), slog.Int("status", resp.StatusCode), slog.Any("error", err))
			return err
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("easemob %s: decoding response: %w: %w", op, moderation.ErrMalformed, err)
			}
		}
		return nil
	})
}
