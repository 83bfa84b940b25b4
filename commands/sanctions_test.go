package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

func replyTo(m *moderation.Message, sender string) *moderation.Message {
	m.ReplyTo = &moderation.MessageRef{ID: "om_parent", SenderID: sender}
	return m
}

// TestParseSanctions covers ban, unban, lock, unlock, purge, the -p flag
// and reply targeting, in English and Chinese.
func TestParseSanctions(t *testing.T) {
	t.Parallel()
	const (
		kick, ban, unban = moderation.VerbKick, moderation.VerbBan, moderation.VerbUnban
		lock, unlock     = moderation.VerbLock, moderation.VerbUnlock
		purge, mute      = moderation.VerbPurge, moderation.VerbMute
	)
	tests := []struct {
		name    string
		cfg     Config
		msg     *moderation.Message
		want    moderation.Command
		wantErr error
	}{
		{name: "ban without duration", msg: feishuMsg("/ban @a spam"),
			want: moderation.Command{Verb: ban, Targets: []string{"a"}, Reason: "spam"}},
		{name: "ban with duration and reason", msg: feishuMsg("/ban @a 1d spam links"),
			want: moderation.Command{Verb: ban, Targets: []string{"a"}, Duration: 24 * time.Hour, Reason: "spam links"}},
		{name: "chinese ban with chinese duration", msg: feishuMsg("/封禁 @_user_2 1天 广告", "@_user_2", "ou_x"),
			want: moderation.Command{Verb: ban, Targets: []string{"ou_x"}, Duration: 24 * time.Hour, Reason: "广告"}},
		{name: "拉黑 alias full-width", msg: feishuMsg("／拉黑 ＠ou_x"),
			want: moderation.Command{Verb: ban, Targets: []string{"ou_x"}}},
		{name: "ban for a week", msg: feishuMsg("/拉黑 @a 1周"), want: moderation.Command{Verb: ban, Targets: []string{"a"}, Duration: 7 * 24 * time.Hour}},
		{name: "ban bad duration", msg: feishuMsg("/ban @a 1y"), wantErr: ErrBadDuration},
		{name: "ban overlong duration", msg: feishuMsg("/ban @a 400d"), wantErr: ErrBadDuration},
		{name: "ban without target", msg: feishuMsg("/ban spam"), wantErr: ErrNoTargets},
		{name: "ban with purge flag", msg: feishuMsg("/ban -p @a 2h"),
			want: moderation.Command{Verb: ban, Targets: []string{"a"}, Duration: 2 * time.Hour, Purge: true, Count: DefaultPurgeUserCount}},
		{name: "purge flag after the mentions", msg: feishuMsg("/kick @a @b --purge raid"),
			want: moderation.Command{Verb: kick, Targets: []string{"a", "b"}, Reason: "raid", Purge: true, Count: DefaultPurgeUserCount}},
		{name: "purge flag with silent", cfg: Config{PurgeUserCount: 20}, msg: feishuMsg("/踢 -s -p @a"),
			want: moderation.Command{Verb: kick, Targets: []string{"a"}, Silent: true, Purge: true, Count: 20}},
		{name: "purge flag after the reason is reason", msg: feishuMsg("/kick @a spam -p"),
			want: moderation.Command{Verb: kick, Targets: []string{"a"}, Reason: "spam -p"}},
		{name: "purge flag on mute refused", msg: feishuMsg("/mute -p @a"), wantErr: ErrBadFlag},
		{name: "purge flag on purge refused", msg: feishuMsg("/purge -p @a"), wantErr: ErrBadFlag},
		{name: "unban", msg: feishuMsg("/unban @a"), want: moderation.Command{Verb: unban, Targets: []string{"a"}}},
		{name: "chinese unban", msg: feishuMsg("/解封 @a"), want: moderation.Command{Verb: unban, Targets: []string{"a"}}},
		{name: "chinese unban long", msg: feishuMsg("/解除封禁 @a"), want: moderation.Command{Verb: unban, Targets: []string{"a"}}},
		{name: "unban without target", msg: feishuMsg("/unban"), wantErr: ErrNoTargets},

		{name: "lock", msg: feishuMsg("/lock"), want: moderation.Command{Verb: lock}},
		{name: "lock with duration and reason", msg: feishuMsg("/lock 10m raid in progress"),
			want: moderation.Command{Verb: lock, Duration: 10 * time.Minute, Reason: "raid in progress"}},
		{name: "lock with reason only", msg: feishuMsg("/lock raid"), want: moderation.Command{Verb: lock, Reason: "raid"}},
		{name: "锁群 30分钟", msg: feishuMsg("/锁群 30分钟"), want: moderation.Command{Verb: lock, Duration: 30 * time.Minute}},
		{name: "全员禁言 after the bot mention", msg: feishuMsg("@_user_1 /全员禁言 1小时 夜间", "@_user_1", bot),
			want: moderation.Command{Verb: lock, Duration: time.Hour, Reason: "夜间"}},
		{name: "lock bad duration", msg: feishuMsg("/lock 10q"), wantErr: ErrBadDuration},
		{name: "lock with a mention", msg: feishuMsg("/lock @a 10m"), wantErr: ErrTargetNotAllowed},
		{name: "lock with a platform mention", msg: feishuMsg("/锁群 @_user_2", "@_user_2", "ou_x"), wantErr: ErrTargetNotAllowed},
		{name: "lock as a reply stays chat-wide", msg: replyTo(feishuMsg("/lock 5m"), "ou_x"),
			want: moderation.Command{Verb: lock, Duration: 5 * time.Minute}},
		{name: "unlock", msg: feishuMsg("/unlock"), want: moderation.Command{Verb: unlock}},
		{name: "解锁", msg: feishuMsg("/解锁"), want: moderation.Command{Verb: unlock}},
		{name: "解除全员禁言", msg: feishuMsg("/解除全员禁言"), want: moderation.Command{Verb: unlock}},
		{name: "unlock with a mention", msg: feishuMsg("/unlock @a"), wantErr: ErrTargetNotAllowed},

		{name: "purge N", msg: feishuMsg("/purge 30"), want: moderation.Command{Verb: purge, Count: 30}},
		{name: "purge N with reason", msg: feishuMsg("/purge 30 raid spam"), want: moderation.Command{Verb: purge, Count: 30, Reason: "raid spam"}},
		{name: "清理 50", msg: feishuMsg("/清理 50"), want: moderation.Command{Verb: purge, Count: 50}},
		{name: "批量撤回 full-width digits", msg: feishuMsg("/批量撤回 ３０"), want: moderation.Command{Verb: purge, Count: 30}},
		{name: "purge at the maximum", msg: feishuMsg("/purge 200"), want: moderation.Command{Verb: purge, Count: 200}},
		{name: "purge at a configured maximum", cfg: Config{MaxPurge: 500}, msg: feishuMsg("/purge 500"), want: moderation.Command{Verb: purge, Count: 500}},
		{name: "purge over the maximum", msg: feishuMsg("/purge 201"), wantErr: ErrPurgeTooMany},
		{name: "purge over a configured maximum", cfg: Config{MaxPurge: 10}, msg: feishuMsg("/purge 11"), wantErr: ErrPurgeTooMany},
		{name: "purge overflowing count", msg: feishuMsg("/purge 99999999999999999999999"), wantErr: ErrPurgeTooMany},
		{name: "purge zero", msg: feishuMsg("/purge 0"), wantErr: ErrBadCount},
		{name: "purge negative", msg: feishuMsg("/purge -5"), wantErr: ErrBadCount},
		{name: "purge fraction", msg: feishuMsg("/purge 2.5"), wantErr: ErrBadCount},
		{name: "purge typo", msg: feishuMsg("/purge 30x"), wantErr: ErrBadCount},
		{name: "purge without count", msg: feishuMsg("/purge"), wantErr: ErrBadCount},
		{name: "purge reason without count", msg: feishuMsg("/purge spam"), wantErr: ErrBadCount},
		{name: "purge user default count", msg: feishuMsg("/purge @a"), want: moderation.Command{Verb: purge, Targets: []string{"a"}, Count: DefaultPurgeUserCount}},
		{name: "purge user with count", msg: feishuMsg("/清理 @a 20 广告"), want: moderation.Command{Verb: purge, Targets: []string{"a"}, Count: 20, Reason: "广告"}},
		{name: "purge user over the maximum", msg: feishuMsg("/purge @a 1000"), wantErr: ErrPurgeTooMany},
		{name: "purge user default capped by a small maximum", cfg: Config{MaxPurge: 10}, msg: feishuMsg("/purge @a"),
			want: moderation.Command{Verb: purge, Targets: []string{"a"}, Count: 10}},

		{name: "reply kick", msg: replyTo(feishuMsg("/kick spam"), "ou_x"), want: moderation.Command{Verb: kick, Targets: []string{"ou_x"}, Reason: "spam"}},
		{name: "reply ban with duration", msg: replyTo(feishuMsg("/封禁 1天"), "ou_x"), want: moderation.Command{Verb: ban, Targets: []string{"ou_x"}, Duration: 24 * time.Hour}},
		{name: "reply ban -p", msg: replyTo(feishuMsg("/ban -p"), "ou_x"),
			want: moderation.Command{Verb: ban, Targets: []string{"ou_x"}, Purge: true, Count: DefaultPurgeUserCount}},
		{name: "reply mute", msg: replyTo(feishuMsg("/mute 10m"), "ou_x"), want: moderation.Command{Verb: mute, Targets: []string{"ou_x"}, Duration: 10 * time.Minute}},
		{name: "reply warn", msg: replyTo(feishuMsg("/警告 刷屏"), "ou_x"), want: moderation.Command{Verb: moderation.VerbWarn, Targets: []string{"ou_x"}, Reason: "刷屏"}},
		{name: "reply unmute", msg: replyTo(feishuMsg("/unmute"), "ou_x"), want: moderation.Command{Verb: moderation.VerbUnmute, Targets: []string{"ou_x"}}},
		{name: "reply unban", msg: replyTo(feishuMsg("/unban"), "ou_x"), want: moderation.Command{Verb: unban, Targets: []string{"ou_x"}}},
		{name: "reply bare purge is the user form", msg: replyTo(feishuMsg("/purge"), "ou_x"),
			want: moderation.Command{Verb: purge, Targets: []string{"ou_x"}, Count: DefaultPurgeUserCount}},
		{name: "reply purge N stays chat-wide", msg: replyTo(feishuMsg("/purge 30"), "ou_x"), want: moderation.Command{Verb: purge, Count: 30}},
		{name: "explicit target wins over the reply", msg: replyTo(feishuMsg("/kick @a"), "ou_x"), want: moderation.Command{Verb: kick, Targets: []string{"a"}}},
		{name: "reply sender unknown", msg: replyTo(feishuMsg("/kick"), ""), wantErr: ErrReplySenderUnknown},
		{name: "reply sender unknown for bare purge", msg: replyTo(feishuMsg("/purge"), ""), wantErr: ErrReplySenderUnknown},
		{name: "reply sender a dot segment", msg: replyTo(feishuMsg("/kick"), ".."), wantErr: ErrBadTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := New(tt.cfg).Parse(tt.msg, bot)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want %v", tt.msg.Text, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.msg.Text, err)
			}
			if len(got.Targets) == 0 {
				got.Targets = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.msg.Text, got, tt.want)
			}
		})
	}
}

func TestPurgeTooManyNamesTheMaximum(t *testing.T) {
	t.Parallel()
	_, err := New(Config{MaxPurge: 120}).Parse(feishuMsg("/purge 500"), bot)
	var e *PurgeTooManyError
	if !errors.As(err, &e) || e.Max != 120 || e.Asked != 500 {
		t.Fatalf("err = %v, want a *PurgeTooManyError{500, 120}", err)
	}
	if !strings.Contains(err.Error(), "120") || !strings.Contains(err.Error(), "commands.max_purge") {
		t.Fatalf("error %q does not name the maximum and its key", err)
	}
}

func TestReplyTargetCanonical(t *testing.T) {
	t.Parallel()
	p := New(Config{}, WithCanonicalIDs(strings.ToLower))
	cmd, err := p.Parse(replyTo(feishuMsg("/ban"), "VIP"), bot)
	if err != nil || !reflect.DeepEqual(cmd.Targets, []string{"vip"}) {
		t.Fatalf("Parse = %+v, %v; want the canonical target vip", cmd, err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string // substring of the error; "" for none
	}{
		{Config{}, ""},
		{Config{MaxPurge: PurgeLimit, PurgeUserCount: PurgeLimit}, ""},
		{Config{MaxPurge: 10}, ""}, // the default user count is capped, not refused
		{Config{Prefix: "! "}, "commands.prefix"},
		{Config{MaxPurge: -1}, "commands.max_purge"},
		{Config{MaxPurge: PurgeLimit + 1}, "commands.max_purge"},
		{Config{PurgeUserCount: -1}, "commands.purge_user_count"},
		{Config{PurgeUserCount: 201}, "commands.purge_user_count"},
		{Config{MaxPurge: 20, PurgeUserCount: 21}, "commands.max_purge (20)"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if p := New(Config{}); p.MaxPurge() != DefaultMaxPurge || p.PurgeUserCount() != DefaultPurgeUserCount {
		t.Errorf("defaults: max %d, user %d", p.MaxPurge(), p.PurgeUserCount())
	}
}

// TestEverySpellingIsACommand keeps IsCommand, Parse and the spellings in
// step: every spelling of every verb is a command to both.
func TestEverySpellingIsACommand(t *testing.T) {
	t.Parallel()
	p := New(Config{})
	for _, v := range []moderation.Verb{moderation.VerbKick, moderation.VerbMute, moderation.VerbUnmute, moderation.VerbBan,
		moderation.VerbUnban, moderation.VerbLock, moderation.VerbUnlock, moderation.VerbPurge, moderation.VerbHelp,
		moderation.VerbCase, moderation.VerbWarn, moderation.VerbUnwarn, moderation.VerbWarnings, moderation.VerbUndo} {
		sp := Spellings(v)
		if len(sp) < 2 || sp[0] != string(v) {
			t.Errorf("Spellings(%s) = %v: want the English verb first and a Chinese spelling", v, sp)
		}
		for _, w := range sp {
			for _, text := range []string{"/" + w, "／" + w + " @x", "@bot /" + strings.ToUpper(w)} {
				if !p.IsCommand(text) {
					t.Errorf("IsCommand(%q) = false", text)
				}
				cmd, err := p.Parse(&moderation.Message{Text: text}, "bot")
				if errors.Is(err, ErrNotCommand) || errors.Is(err, ErrUnknownVerb) || err == nil && cmd.Verb != v {
					t.Errorf("Parse(%q) = %+v, %v; want a %s command", text, cmd, err, v)
				}
			}
		}
	}
}
