package policy

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

var chat = moderation.ChatRef{Platform: "feishu", ID: "oc_1"}

func roles(kv ...string) map[string]moderation.Role {
	m := map[string]moderation.Role{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = moderation.Role(kv[i+1])
	}
	return m
}

func TestDecide(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Admins:     []string{"feishu:ou_global"},
		Protected:  []string{"feishu:ou_vip"},
		MaxTargets: 3,
		Chats:      map[string]ChatConfig{"feishu:oc_dry": {DryRun: true}},
	}
	e, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	kick := func(targets ...string) moderation.Command {
		return moderation.Command{Verb: moderation.VerbKick, Targets: targets}
	}
	tests := []struct {
		name string
		req  Request
		want Reason   // command-level
		per  []Reason // per target, when allowed
		dry  bool
	}{
		{
			name: "member may not moderate",
			req:  Request{Chat: chat, ActorID: "ou_m", Command: kick("ou_x"), Roles: roles("ou_m", "member", "ou_x", "member")},
			want: ActorNotAdmin,
		},
		{
			name: "member may not kick an admin",
			req:  Request{Chat: chat, ActorID: "ou_m", Command: kick("ou_adm"), Roles: roles("ou_m", "member", "ou_adm", "admin")},
			want: ActorNotAdmin,
		},
		{
			name: "manager kicks member",
			req:  Request{Chat: chat, ActorID: "ou_adm", Command: kick("ou_x"), Roles: roles("ou_adm", "admin", "ou_x", "member")},
			want: OK, per: []Reason{OK},
		},
		{
			name: "owner target refused, others go on",
			req:  Request{Chat: chat, ActorID: "ou_adm", Command: kick("ou_own", "ou_x"), Roles: roles("ou_adm", "admin", "ou_own", "owner", "ou_x", "member")},
			want: OK, per: []Reason{TargetOwner, OK},
		},
		{
			name: "manager on manager refused",
			req:  Request{Chat: chat, ActorID: "ou_adm", Command: kick("ou_adm2"), Roles: roles("ou_adm", "admin", "ou_adm2", "admin")},
			want: OK, per: []Reason{TargetAdmin},
		},
		{
			name: "owner on manager allowed",
			req:  Request{Chat: chat, ActorID: "ou_own", Command: kick("ou_adm2"), Roles: roles("ou_own", "owner", "ou_adm2", "admin")},
			want: OK, per: []Reason{OK},
		},
		{
			name: "global admin moderates without a chat role",
			req:  Request{Chat: chat, ActorID: "ou_global", Command: kick("ou_adm2"), Roles: roles("ou_global", "member", "ou_adm2", "admin")},
			want: OK, per: []Reason{OK},
		},
		{
			name: "global admin entry is per platform",
			req:  Request{Chat: moderation.ChatRef{Platform: "tim", ID: "g"}, ActorID: "ou_global", Command: kick("x"), Roles: roles("ou_global", "member")},
			want: ActorNotAdmin,
		},
		{
			name: "protected, bot and self refused",
			req:  Request{Chat: chat, ActorID: "ou_own", BotID: "ou_bot", Command: kick("ou_vip", "ou_bot", "ou_own"), Roles: roles("ou_own", "owner")},
			want: OK, per: []Reason{TargetProtected, TargetBot, TargetSelf},
		},
		{
			name: "dry run chat",
			req:  Request{Chat: moderation.ChatRef{Platform: "feishu", ID: "oc_dry"}, ActorID: "ou_own", Command: kick("x"), Roles: roles("ou_own", "owner")},
			want: OK, per: []Reason{OK}, dry: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := e.Decide(tt.req)
			if v.Reason != tt.want || v.Allowed != (tt.want == OK) {
				t.Fatalf("verdict = %+v, want reason %s", v, tt.want)
			}
			var per []Reason
			for i, d := range v.Decisions {
				per = append(per, Reason(d.Reason))
				if d.Allowed != (d.Reason == OK) || d.Target != tt.req.Command.Targets[i] {
					t.Errorf("decision %d = %+v inconsistent", i, d)
				}
			}
			if !reflect.DeepEqual(per, tt.per) {
				t.Errorf("per-target = %v, want %v", per, tt.per)
			}
			if v.DryRun != tt.dry {
				t.Errorf("dry run = %v, want %v", v.DryRun, tt.dry)
			}
		})
	}
}

func TestTargetsAllowed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		max, n int
		want   bool
	}{
		{0, 20, true}, {0, 21, false}, // default 20
		{3, 3, true}, {3, 4, false},
		{50000, 50000, true}, {50000, 50001, false},
	} {
		e, err := New(Config{MaxTargets: tt.max}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.TargetsAllowed(tt.n); got != tt.want {
			t.Errorf("max_targets %d: TargetsAllowed(%d) = %v, want %v", tt.max, tt.n, got, tt.want)
		}
	}
}

func TestAllowCommandRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	e, err := New(Config{CommandsPerMinute: 3, Chats: map[string]ChatConfig{"feishu:off": {Disabled: true}}}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if r := e.AllowCommand(chat, "ou_a"); r != OK {
			t.Fatalf("command %d: %s, want ok", i, r)
		}
	}
	if r := e.AllowCommand(chat, "ou_a"); r != ActorRateLimited {
		t.Fatalf("4th command: %s, want %s", r, ActorRateLimited)
	}
	if r := e.AllowCommand(chat, "ou_b"); r != OK {
		t.Fatalf("other actor: %s, want ok", r)
	}
	now = now.Add(20 * time.Second) // one token refills every 20 s
	if r := e.AllowCommand(chat, "ou_a"); r != OK {
		t.Fatalf("after refill: %s, want ok", r)
	}
	if r := e.AllowCommand(moderation.ChatRef{Platform: "feishu", ID: "off"}, "ou_a"); r != ChatDisabled {
		t.Fatalf("disabled chat: %s", r)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Admins: []string{"ou_x"}}, "policy.admins[0]"},
		{Config{Protected: []string{"feishu:"}}, "policy.protected[0]"},
		{Config{Chats: map[string]ChatConfig{"nochat": {}}}, "policy.chats"},
		{Config{MaxTargets: -1}, "policy.max_targets"},
		{Config{Admins: []string{"feishu:ou_x"}, MaxTargets: 5}, ""},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want prefix %q", tt.cfg, err, tt.want)
		}
	}
}

func TestDecideTargets(t *testing.T) {
	t.Parallel()
	e, err := New(Config{Admins: []string{"feishu:ou_g"}, Protected: []string{"feishu:ou_vip"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := e.DecideTargets(chat, "ou_bot", []string{"ou_x", "ou_own", "ou_adm", "ou_g", "ou_vip", "ou_bot"},
		roles("ou_own", "owner", "ou_adm", "admin"))
	want := []Reason{OK, TargetOwner, TargetAdmin, TargetAdmin, TargetProtected, TargetBot}
	for i, d := range got {
		if Reason(d.Reason) != want[i] || d.Allowed != (want[i] == OK) {
			t.Errorf("%s: %+v, want %s", d.Target, d, want[i])
		}
	}
}

type sharedLimiter struct {
	allow bool
	err   error
	calls int
}

func (s *sharedLimiter) AllowCommand(context.Context, string, int) (bool, error) {
	s.calls++
	return s.allow, s.err
}

func TestSharedCommandLimiter(t *testing.T) {
	t.Parallel()
	deny := &sharedLimiter{allow: false}
	e, _ := New(Config{CommandsPerMinute: 100}, nil, WithCommandLimiter(deny))
	if r := e.AllowCommand(chat, "ou_a"); r != ActorRateLimited || deny.calls != 1 {
		t.Fatalf("shared limiter said no: %s (%d calls)", r, deny.calls)
	}
	down := &sharedLimiter{err: errors.New("redis down")}
	e, _ = New(Config{CommandsPerMinute: 2}, nil, WithCommandLimiter(down))
	got := []Reason{e.AllowCommand(chat, "ou_a"), e.AllowCommand(chat, "ou_a"), e.AllowCommand(chat, "ou_a")}
	if got[0] != OK || got[1] != OK || got[2] != ActorRateLimited {
		t.Fatalf("with the shared limiter down, local counting gave %v", got)
	}
}

func TestAllowRefusalPerChat(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	e, err := New(Config{RefusalInterval: time.Minute}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	other := moderation.ChatRef{Platform: "feishu", ID: "oc_other"}
	steps := []struct {
		after time.Duration
		chat  moderation.ChatRef
		want  bool
	}{
		{0, chat, true}, {0, chat, false}, {0, other, true},
		{59 * time.Second, chat, false}, {time.Second, chat, true}, {0, chat, false},
	}
	for i, s := range steps {
		now = now.Add(s.after)
		if got := e.AllowRefusal(s.chat); got != s.want {
			t.Errorf("step %d (%s): AllowRefusal = %v, want %v", i, s.chat, got, s.want)
		}
	}
	if _, err := New(Config{RefusalInterval: -time.Second}, nil); err == nil {
		t.Error("negative policy.refusal_interval accepted")
	}
}
