package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/automod"
	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// recorder is a moderation.Platform double that records calls; the real
// adapters are exercised against their platform fakes in the e2e tests.
type recorder struct {
	mu      sync.Mutex
	caps    moderation.Capabilities
	roles   map[string]moderation.Role
	calls   []string
	replies []string
	recalls []string
	refuse  map[string]bool // users the platform refuses
	fail    map[string]bool // users whose calls fail transiently
	onRoles func(users []string)
	// Limits: roleBatch users per Roles call (0: any).
	roleBatch int
	// history, newest first, is the platform's chat history
	// (RecentMessages); nil: the platform has none.
	history []moderation.MessageRef
	// sender answers MessageSender; nil: ErrUnsupported.
	sender func(id string) (string, error)
	// posts and updates are what Post and UpdatePost were given.
	posts, updates []moderation.Post
	// postErr, when set, is Post's answer.
	postErr error
	// failPosts fails the next Post calls; noUpdate makes UpdatePost
	// unsupported (TIM, Easemob).
	failPosts int
	noUpdate  bool
	// failPermanent fails every Post with a permanent refusal.
	failPermanent bool
}

func (r *recorder) Name() string                          { return "fake" }
func (r *recorder) BotID(context.Context) (string, error) { return "bot", nil }

// CanonicalUserID folds case, as Easemob does: the fake's ids are
// case-insensitive.
func (r *recorder) CanonicalUserID(id string) string { return strings.ToLower(id) }
func (r *recorder) Capabilities(context.Context, moderation.ChatRef) (moderation.Capabilities, error) {
	return r.caps, nil
}
func (r *recorder) Roles(_ context.Context, _ moderation.ChatRef, ids []string) (map[string]moderation.Role, error) {
	if r.onRoles != nil {
		r.onRoles(ids)
	}
	out := map[string]moderation.Role{}
	for _, id := range ids {
		out[id] = r.roles[id]
		if out[id] == "" {
			out[id] = moderation.RoleMember
		}
	}
	return out, nil
}

func (r *recorder) act(verb string, users []string, extra string) []moderation.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s%s", verb, strings.Join(users, ","), extra))
	res := make([]moderation.Result, len(users))
	for i, u := range users {
		res[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		if r.fail[u] {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: "fake:busy"}
		}
		if r.refuse[u] {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: "fake:1", Detail: "platform says no"}
		}
	}
	return res
}

func (r *recorder) Remove(_ context.Context, _ moderation.ChatRef, u []string, o moderation.ActionOptions) []moderation.Result {
	return r.act("remove", u, " reason="+o.Reason)
}
func (r *recorder) Mute(_ context.Context, _ moderation.ChatRef, u []string, d time.Duration, _ moderation.ActionOptions) []moderation.Result {
	return r.act("mute", u, " d="+d.String())
}
func (r *recorder) Unmute(_ context.Context, _ moderation.ChatRef, u []string, _ moderation.ActionOptions) []moderation.Result {
	return r.act("unmute", u, "")
}
func (r *recorder) Recall(_ context.Context, _ moderation.ChatRef, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recalls = append(r.recalls, id)
	return nil
}
func (r *recorder) Reply(_ context.Context, _ *moderation.Message, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, text)
	return nil
}

type fixture struct {
	t   testing.TB
	p   *Pipeline
	pl  *recorder
	now time.Time
	seq int
}

func newFixture(t *testing.T, cfg Config, pol policy.Config, lang string, caps moderation.Capabilities) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Unix(1_700_000_000, 0)}
	f.pl = &recorder{caps: caps, roles: map[string]moderation.Role{
		"owner": moderation.RoleOwner, "mod": moderation.RoleAdmin, "mod2": moderation.RoleAdmin,
	}, refuse: map[string]bool{}}
	clock := func() time.Time { return f.now }
	eng, err := policy.New(pol, clock)
	if err != nil {
		t.Fatal(err)
	}
	f.p, err = New(cfg, Deps{Store: newTestStore(t),
		Platforms: []moderation.Platform{f.pl}, Parser: commands.New(commands.Config{}), Policy: eng,
		Language: lang, Logger: slog.New(slog.DiscardHandler), Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) say(from, text string) {
	f.seq++
	deliver(f.t, f.p, moderation.Event{
		Kind: moderation.EventMessage, Platform: "fake", DeliveryID: fmt.Sprint("d", f.seq),
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "fake", ID: "c1"}, MessageID: fmt.Sprint("m", f.seq), SenderID: from, Text: text, SentAt: f.now},
	})
}

func (f *fixture) lastReply(t *testing.T) string {
	t.Helper()
	if len(f.pl.replies) == 0 {
		t.Fatal("no reply")
	}
	return f.pl.replies[len(f.pl.replies)-1]
}

var native = moderation.Capabilities{moderation.VerbKick: moderation.Native, moderation.VerbMute: moderation.Native, moderation.VerbUnmute: moderation.Native}
var emulatedMute = moderation.Capabilities{moderation.VerbKick: moderation.Native, moderation.VerbMute: moderation.Emulated, moderation.VerbUnmute: moderation.Emulated}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       Config
		pol       policy.Config
		lang      string
		caps      moderation.Capabilities
		from      string
		text      string
		wantCalls []string
		wantReply string // substring; "" means no reply expected
	}{
		{name: "kick", from: "mod", text: "/kick @a @b spam", wantCalls: []string{"remove a,b reason=spam"}, wantReply: "Removed 2: a, b. Reason: spam"},
		{name: "owner target filtered before the call", from: "mod", text: "/kick @owner @a", wantCalls: []string{"remove a reason="}, wantReply: "owner (the chat owner cannot be a target)"},
		{name: "every target refused: no call", from: "mod", text: "/kick @owner @mod2", wantCalls: nil, wantReply: "Not done 2"},
		{name: "member refused", from: "a", text: "/kick @mod", wantCalls: nil, wantReply: "Refused: only the chat owner"},
		{name: "platform refusal reported", from: "mod", text: "/kick @x @a", wantCalls: []string{"remove x,a reason="}, wantReply: "x (platform says no)"},
		{name: "mute default duration", from: "mod", text: "/mute @a", wantCalls: []string{"mute a d=10m0s"}, wantReply: "Muted for 10m 1: a"},
		{name: "mute given duration", from: "mod", text: "/mute @a 1h30m", wantCalls: []string{"mute a d=1h30m0s"}, wantReply: "Muted for 1h30m"},
		{name: "mute permanent when allowed", cfg: Config{AllowPermanentMute: true}, from: "mod", text: "/mute @a", wantCalls: []string{"mute a d=-1ns"}, wantReply: "Muted until unmuted"},
		{name: "unmute", from: "owner", text: "/unmute @a", wantCalls: []string{"unmute a"}, wantReply: "Unmuted 1: a"},
		{name: "too many targets", pol: policy.Config{MaxTargets: 2}, from: "mod", text: "/kick @a @b @c", wantReply: "Too many targets (3); at most 2"},
		{name: "dry run", pol: policy.Config{Chats: map[string]policy.ChatConfig{"fake:c1": {DryRun: true}}}, from: "mod", text: "/kick @a", wantReply: "[dry run] Would remove 1: a"},
		{name: "disabled chat silent", pol: policy.Config{Chats: map[string]policy.ChatConfig{"fake:c1": {Disabled: true}}}, from: "mod", text: "/kick @a"},
		{name: "unsupported", caps: moderation.Capabilities{moderation.VerbKick: moderation.Unsupported}, from: "mod", text: "/kick @a", wantReply: "not supported"},
		{name: "unknown verb: not Gavel's, no reply", from: "a", text: "/frobnicate @x"},
		{name: "unknown verb from a manager: no reply either", from: "mod", text: "/frobnicate @x"},
		{name: "member's malformed command: short refusal, no usage", from: "a", text: "/mute @x 5x", wantReply: "Refused: only the chat owner"},
		{name: "bad duration usage", from: "mod", text: "/mute @a 5x", wantReply: "Bad duration"},
		{name: "no target usage", from: "mod", text: "/kick", wantReply: "Name at least one @user"},
		{name: "help", from: "a", text: "/help", wantReply: "Gavel commands"},
		{name: "dot-dot target usage, no call", from: "mod", text: "/kick @..", wantReply: "Bad target \"@..\""},
		{name: "dot target among others, no call", from: "mod", text: "/kick @a @. spam", wantReply: "Bad target \"@.\""},
		{name: "chinese reply", lang: "zh", from: "mod", text: "/踢 @a 刷屏", wantCalls: []string{"remove a reason=刷屏"}, wantReply: "已移出 1 人：a。 原因：刷屏"},
		{name: "plain chat ignored", from: "a", text: "hello there"},
		{name: "own message ignored", from: "bot", text: "/kick @a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			caps := tt.caps
			if caps == nil {
				caps = native
			}
			f := newFixture(t, tt.cfg, tt.pol, tt.lang, caps)
			f.pl.refuse["x"] = true
			f.say(tt.from, tt.text)
			if fmt.Sprint(f.pl.calls) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("calls = %q, want %q", f.pl.calls, tt.wantCalls)
			}
			if tt.wantReply == "" {
				if len(f.pl.replies) != 0 {
					t.Errorf("unexpected reply %q", f.pl.replies)
				}
				return
			}
			if got := f.lastReply(t); !strings.Contains(got, tt.wantReply) {
				t.Errorf("reply = %q, want it to contain %q", got, tt.wantReply)
			}
		})
	}
}

func TestEmulatedMute(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "", emulatedMute)
	f.say("mod", "/mute @a 2m")
	if got := f.lastReply(t); !strings.Contains(got, "Muted for 2m 1: a") {
		t.Fatalf("reply = %q", got)
	}
	f.say("a", "spam 1") // m2
	f.say("b", "hello")  // m3: not muted
	f.now = f.now.Add(time.Minute)
	f.say("a", "spam 2") // m4
	if fmt.Sprint(f.pl.recalls) != "[m2 m4]" {
		t.Fatalf("recalls = %v, want [m2 m4]", f.pl.recalls)
	}
	f.now = f.now.Add(time.Minute) // mute over
	f.say("a", "back")
	if len(f.pl.recalls) != 2 {
		t.Fatalf("recalled after expiry: %v", f.pl.recalls)
	}

	f.say("mod", "/mute @a 1h")
	f.say("mod", "/unmute @a @b")
	if got := f.lastReply(t); !strings.Contains(got, "Unmuted 1: a") || !strings.Contains(got, "b (not muted)") {
		t.Fatalf("unmute reply = %q", got)
	}
	f.say("a", "free")
	if len(f.pl.recalls) != 2 {
		t.Fatalf("recalled after unmute: %v", f.pl.recalls)
	}
	for _, c := range f.pl.calls {
		if strings.HasPrefix(c, "unmute") {
			t.Fatalf("emulated unmute called the platform: %v", f.pl.calls)
		}
	}
}

func TestActorRateLimitSilencesReplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{CommandsPerMinute: 2}, "", native)
	for range 5 {
		f.say("mod", "/kick @b")
	}
	if len(f.pl.replies) != 2 {
		t.Fatalf("replies = %d, want 2 (the rest rate-limited silently)", len(f.pl.replies))
	}
}

// BenchmarkTriageOrdinary is the webhook-path cost of an ordinary chat
// message (no rules configured): it must not touch the store.
func BenchmarkTriageOrdinary(b *testing.B) {
	p, _, _ := durableFixture(b)
	ev := message("d", "u", "an ordinary message with a link https://example.com/x and some words")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.Triage(ctx, ev); ok {
			b.Fatal("ordinary message triaged as actionable")
		}
	}
}

func TestRoleCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "", native)
	lookups := 0
	f.pl.onRoles = func([]string) { lookups++ }
	f.say("mod", "/mute @a 10m") // mod (may they moderate?), then a
	f.say("mod", "/mute @a 20m") // mod and a cached
	if lookups != 2 {
		t.Fatalf("%d role lookups for two commands on the same users, want 2", lookups)
	}
	f.say("mod", "/kick @a")   // cached; a is removed, its role forgotten
	f.say("mod", "/unmute @a") // a looked up again
	if lookups != 3 {
		t.Fatalf("%d role lookups, want 3 (a looked up again after the kick)", lookups)
	}
}

// TestTriageLateMessages: a late (re-pushed) message meets content rules
// only; it is neither counted towards nor hit by flood.
func TestTriageLateMessages(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	rules, err := automod.New(automod.Config{Enabled: true, Defaults: automod.Rules{
		Flood:     &automod.FloodRule{Common: automod.Common{Enabled: true, Action: automod.Action{Kind: automod.ActionWarn}}, Messages: 1, Per: time.Hour},
		Blocklist: &automod.BlocklistRule{Common: automod.Common{Enabled: true, Action: automod.Action{Kind: automod.ActionDelete}}, Words: []string{"casino"}},
	}}, clock)
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := policy.New(policy.Config{}, clock)
	p, err := New(Config{}, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{&recorder{}}, Parser: commands.New(commands.Config{}), Policy: pol,
		Automod: rules, Logger: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ev := func(text string, late bool) moderation.Event {
		e := message("d-"+text, "u", text)
		e.Message.SentAt, e.Late = now, late
		return e
	}
	tests := []struct {
		name     string
		ev       moderation.Event
		wantHits []string
	}{
		{"late ordinary", ev("hello", true), nil},
		{"late ordinary again", ev("hello again", true), nil},
		{"late blocklisted", ev("casino", true), []string{"blocklist"}},
		{"on time, first counted", ev("one", false), nil},
		{"on time, second is a flood", ev("two", false), []string{"flood"}},
	}
	for _, tt := range tests { // in order: the flood window is shared
		got, ok := p.Triage(context.Background(), tt.ev)
		var hits []string
		for _, h := range got.Hits {
			hits = append(hits, h.Rule)
		}
		if !slices.Equal(hits, tt.wantHits) || ok != (len(tt.wantHits) > 0) {
			t.Errorf("%s: hits %v (actionable %v), want %v", tt.name, hits, ok, tt.wantHits)
		}
	}
}
