// Package tim is Gavel's adapter for Tencent Cloud Chat (TIM, 即时通信 IM):
// it verifies and parses third-party callbacks (Receive) and carries out
// moderation through the group REST APIs as an App admin (moderation.Platform).
package tim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"

	"gavel/moderation"
	"gavel/platforms/egress"
)

// Name is the platform's config key and the prefix of its reason codes.
const Name = "tim"

// REST service and commands Gavel uses.
const (
	groupService   = "group_open_http_svc"
	profileService = "profile"
	openimService  = "openim"

	opDeleteMember = "delete_group_member"
	opForbidSend   = "forbid_send_msg"
	opRoleInGroup  = "get_role_in_group"
	opGroupInfo    = "get_group_info"
	opSendMsg      = "send_group_msg"
	opRecall       = "group_msg_recall"
	opMemberInfo   = "get_specified_group_member_info"
	opPortraitGet  = "portrait_get" // profile service
	opBan          = "ban_group_member"
	opUnban        = "unban_group_member"
	opModifyGroup  = "modify_group_base_info"
	opAddMember    = "add_group_member"
	opModifyMsg    = "modify_group_msg" // openim service
)

// serviceOf returns the REST service a command belongs to.
func serviceOf(op string) string {
	switch op {
	case opPortraitGet:
		return profileService
	case opModifyMsg:
		return openimService
	}
	return groupService
}

// Per-call limits from the API pages.
const (
	maxDeletePerCall = 100
	maxForbidPerCall = 500
	maxRolePerCall   = 500
	// maxMuteSeconds is MuteTime's documented "permanent" value.
	maxMuteSeconds = 4294967295
	// groupMsgPerSecond is TIM's per-group message rate.
	groupMsgPerSecond = 40
)

// Options are the adapter's runtime dependencies.
type Options struct {
	Logger     *slog.Logger     // nil → slog.Default(); attrs: platform=tim
	HTTPClient *http.Client     // nil → a client with sane timeouts
	Now        func() time.Time // nil → time.Now; decides replay windows and cache expiry
	// Egress observes API calls and may supply shared rate limiters.
	Egress egress.Shared
	// Gate screens Group.CallbackBeforeSendMsg; nil delivers every
	// message unscreened.
	Gate moderation.Gate
	// CommandPrefixes, when set (commands.Parser.Prefixes), limits the
	// mention name look-ups to messages whose text holds one of them:
	// only commands need the names, and other text cannot be a command.
	CommandPrefixes []string
	// JoinGate answers Group.CallbackBeforeApplyJoinGroup and
	// Group.CallbackBeforeInviteJoinGroup: a user it says may not join is
	// refused. nil lets everyone in.
	JoinGate moderation.JoinGate
}

// Client is the TIM adapter. It is safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	http   *http.Client
	now    func() time.Time
	appID  string
	sig    *userSigCache
	cache  *cache.Cache // group info ("group|chat"), for its type
	names  *cache.Cache // name cards ("card|chat|user") and nicknames ("nick|user")
	groups *cache.Cache // per-group reply pacers

	mu      sync.Mutex
	callers map[string]*egress.Caller
	egress  egress.Shared
	gate    moderation.Gate
	join    moderation.JoinGate
	// noBan records where ban_group_member was found unavailable: "" for
	// the whole app, else a group type (see banUnavailable); guarded by mu.
	noBan map[string]bool
	// prefixes: see Options.CommandPrefixes.
	prefixes []string
}

var _ moderation.Platform = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config, opts Options) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		// TIM's own REST timeout is 3 s; leave room above it.
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{
		cfg:      cfg,
		log:      opts.Logger.With("platform", Name),
		http:     opts.HTTPClient,
		now:      opts.Now,
		appID:    strconv.Itoa(cfg.SDKAppID),
		cache:    cache.New(GroupInfoTTL, 2*GroupInfoTTL),
		names:    cache.New(cfg.NameCacheTTL, 2*cfg.NameCacheTTL),
		groups:   cache.New(time.Minute, 5*time.Minute),
		callers:  make(map[string]*egress.Caller),
		egress:   opts.Egress,
		gate:     opts.Gate,
		join:     opts.JoinGate,
		noBan:    make(map[string]bool),
		prefixes: opts.CommandPrefixes,
	}
	c.sig = &userSigCache{
		appID:    cfg.SDKAppID,
		key:      cfg.SecretKey,
		identity: cfg.AdminIdentifier,
		ttl:      cfg.UserSigTTL,
		now:      opts.Now,
	}
	if _, err := c.sig.get(); err != nil {
		return nil, fmt.Errorf("tim: generating UserSig: %w", err)
	}
	return c, nil
}

// Name returns "tim".
func (c *Client) Name() string { return Name }

// BotID returns the App admin account Gavel acts and replies as.
func (c *Client) BotID(context.Context) (string, error) { return c.cfg.AdminIdentifier, nil }

// caller returns the paced, retrying caller of one REST API; TIM limits
// each API separately.
func (c *Client) caller(op string) *egress.Caller {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.callers[op]; ok {
		return cl
	}
	cl := c.egress.New(Name, op, c.cfg.Rate)
	cl.Renew = func(context.Context) error {
		c.log.Info("regenerating UserSig after TIM reported it expired", "op", op)
		_, err := c.sig.renew()
		return err
	}
	c.callers[op] = cl
	return cl
}

// groupPacer returns a caller that only paces, at TIM's per-group message
// rate; Reply waits on it before handing the call to the API caller.
func (c *Client) groupPacer(groupID string) *egress.Caller {
	if v, ok := c.groups.Get(groupID); ok {
		return v.(*egress.Caller)
	}
	p := egress.New(egress.Limits{PerSecond: groupMsgPerSecond, MaxAttempts: 1})
	if err := c.groups.Add(groupID, p, cache.DefaultExpiration); err != nil {
		if v, ok := c.groups.Get(groupID); ok {
			return v.(*egress.Caller)
		}
	}
	return p
}

// maxResponseBytes bounds what Gavel reads of a REST answer (TIM's own cap
// is 1 MB, error 10018).
const maxResponseBytes = 2 << 20

// envelope is the status part of every REST answer.
type envelope struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorInfo    string `json:"ErrorInfo"`
	ErrorCode    int    `json:"ErrorCode"`
}

// call runs one REST command through the API's egress caller: paced,
// retried when transient, UserSig renewed once on 70001. resp, when not
// nil, receives the decoded answer of the successful attempt.
func (c *Client) call(ctx context.Context, op string, req, resp any) error {
	return c.caller(op).Do(ctx, func(ctx context.Context) error {
		return c.post(ctx, op, req, resp)
	})
}

// post makes one attempt of a REST command.
func (c *Client) post(ctx context.Context, op string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("tim %s: encoding request: %w", op, err)
	}
	sig, err := c.sig.get()
	if err != nil {
		return fmt.Errorf("tim %s: %w", op, err)
	}
	q := url.Values{
		"sdkappid":    {c.appID},
		"identifier":  {c.cfg.AdminIdentifier},
		"usersig":     {sig},
		"random":      {strconv.FormatUint(uint64(rand.Uint32()), 10)},
		"contenttype": {"json"},
	}
	endpoint := strings.TrimRight(c.cfg.BaseURL, "/") + "/v4/" + serviceOf(op) + "/" + op + "?" + q.Encode()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return c.sanitize(fmt.Errorf("tim %s: building request: %w", op, err))
	}
	hreq.Header.Set("Content-Type", "application/json")
	start := time.Now()
	hresp, err := c.http.Do(hreq)
	if err != nil {
		err = c.sanitize(err)
		c.log.WarnContext(ctx, "tim call failed", "op", op, "error", err.Error())
		return fmt.Errorf("tim %s: %w", op, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	if err != nil {
		err = c.sanitize(err)
		c.log.WarnContext(ctx, "tim call failed reading answer", "op", op, "error", err.Error())
		return fmt.Errorf("tim %s: reading response: %w", op, err)
	}
	if err := checkResponse(op, hresp.StatusCode, hresp.Header, raw); err != nil {
		c.log.WarnContext(ctx, "tim call refused", "op", op, "error", c.sig.redact(err.Error()),
			"elapsed", time.Since(start))
		return err
	}
	c.log.DebugContext(ctx, "tim call", "op", op, "elapsed", time.Since(start))
	if resp != nil {
		if err := json.Unmarshal(raw, resp); err != nil {
			return &moderation.APIError{Platform: Name, Op: op, HTTPStatus: hresp.StatusCode,
				Message: "TIM answered with a body Gavel could not read", Kind: moderation.Transient}
		}
	}
	return nil
}
