package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// badLimits is a recorder whose Limits are edited by mut.
type badLimits struct {
	*recorder
	mut func(*moderation.Limits)
}

func (b *badLimits) Limits() moderation.Limits {
	l := b.recorder.Limits()
	b.mut(&l)
	return l
}

// TestNewRefusesPlatformWithoutLimits: a platform that gives no batch size
// for an action verb (or no reply limit) is refused when the pipeline is
// built, naming the platform and the verb; before, a missing batch size
// silently became 50.
func TestNewRefusesPlatformWithoutLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(*moderation.Limits)
		want string // in the error; "" = accepted
	}{
		{name: "complete", mut: func(*moderation.Limits) {}},
		{name: "no kick batch", mut: func(l *moderation.Limits) { delete(l.Batch, moderation.VerbKick) }, want: `"kick" must be positive`},
		{name: "zero mute batch", mut: func(l *moderation.Limits) { l.Batch[moderation.VerbMute] = 0 }, want: `"mute" must be positive`},
		{name: "negative unmute batch", mut: func(l *moderation.Limits) { l.Batch[moderation.VerbUnmute] = -1 }, want: `"unmute" must be positive`},
		{name: "no batch map", mut: func(l *moderation.Limits) { l.Batch = nil }, want: `"kick" must be positive`},
		{name: "no reply limit", mut: func(l *moderation.Limits) { l.Reply = 0 }, want: "reply limit"},
		{name: "negative role batch", mut: func(l *moderation.Limits) { l.RoleBatch = -1 }, want: "role batch"},
	}
	eng, err := policy.New(policy.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl := &badLimits{recorder: &recorder{}, mut: tt.mut}
			_, err := New(Config{}, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
				Logger: slog.New(slog.DiscardHandler)})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatal("accepted")
			case tt.want != "" && (!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "platform fake")):
				t.Fatalf("error %q does not name platform fake and %q", err, tt.want)
			}
		})
	}
}

// TestBatchesFollowLimits: the pipeline hands each action method at most
// the platform's batch size for that verb.
func TestBatchesFollowLimits(t *testing.T) {
	t.Parallel()
	eng, err := policy.New(policy.Config{MaxTargets: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := &badLimits{recorder: &recorder{caps: native, refuse: map[string]bool{}, roles: map[string]moderation.Role{"mod": moderation.RoleAdmin}},
		mut: func(l *moderation.Limits) { l.Batch[moderation.VerbKick] = 2; l.Batch[moderation.VerbMute] = 3 }}
	p, err := New(Config{}, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, p, message("d1", "mod", "/kick @a @b @c @d @e"))
	deliver(t, p, message("d2", "mod", "/mute @a @b @c @d @e 5m"))
	want := []string{"remove a,b reason=", "remove c,d reason=", "remove e reason=", "mute a,b,c d=5m0s", "mute d,e d=5m0s"}
	if got := pl.calls; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("calls\n got %q\nwant %q", got, want)
	}
}

// TestMuteDefaults: /mute without a duration follows
// moderation.default_mute / allow_permanent_mute, on every platform.
func TestMuteDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "moderation default", want: "mute a d=10m0s"},
		{name: "configured default", cfg: Config{DefaultMute: 3 * time.Minute}, want: "mute a d=3m0s"},
		{name: "permanent", cfg: Config{AllowPermanentMute: true}, want: "mute a d=-1ns"},
		{name: "explicit duration wins", cfg: Config{AllowPermanentMute: true}, want: "mute a d=1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng, err := policy.New(policy.Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			pl := &recorder{caps: native, refuse: map[string]bool{}, roles: map[string]moderation.Role{"mod": moderation.RoleAdmin}}
			p, err := New(tt.cfg, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			text := "/mute @a"
			if strings.HasPrefix(tt.name, "explicit") {
				text += " 1h"
			}
			deliver(t, p, message("d1", "mod", text))
			if len(pl.calls) != 1 || pl.calls[0] != tt.want {
				t.Fatalf("calls %q, want %q", pl.calls, tt.want)
			}
		})
	}
}

// Receive: the recorder receives nothing; pipeline tests hand it events.
func (r *recorder) Receive(context.Context, moderation.Delivery) (moderation.Ack, error) {
	return moderation.Ack{}, moderation.ErrMalformed
}

func (r *recorder) Hooks() []moderation.Hook { return nil }
