package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

const bot = "ou_bot"

func feishuMsg(text string, mentions ...string) *moderation.Message {
	m := &moderation.Message{Text: text}
	for i := 0; i+1 < len(mentions); i += 2 {
		m.Mentions = append(m.Mentions, moderation.Mention{Token: mentions[i], UserID: mentions[i+1]})
	}
	return m
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		msg     *moderation.Message
		prefix  string
		want    moderation.Command
		wantErr error
	}{
		{
			name: "feishu kick with bot mention and reason",
			msg:  feishuMsg("@_user_1 /kick @_user_2 flooding the chat", "@_user_1", bot, "@_user_2", "ou_spam"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"ou_spam"}, Reason: "flooding the chat"},
		},
		{
			name: "remove alias several targets raw ids",
			msg:  feishuMsg("/remove @ou_a @ou_b"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"ou_a", "ou_b"}},
		},
		{
			name: "duplicate targets collapse",
			msg:  feishuMsg("/kick @a @a @b"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"a", "b"}},
		},
		{
			name: "silent flag",
			msg:  feishuMsg("/kick -s @t10 spam"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"t10"}, Reason: "spam", Silent: true},
		},
		{
			name: "mute with duration and reason",
			msg:  feishuMsg("/mute @alice 10m be nice"),
			want: moderation.Command{Verb: moderation.VerbMute, Targets: []string{"alice"}, Duration: 10 * time.Minute, Reason: "be nice"},
		},
		{
			name: "mute compound duration",
			msg:  feishuMsg("/mute @alice 1h30m"),
			want: moderation.Command{Verb: moderation.VerbMute, Targets: []string{"alice"}, Duration: 90 * time.Minute},
		},
		{
			name: "mute without duration keeps reason",
			msg:  feishuMsg("/mute @alice stop it"),
			want: moderation.Command{Verb: moderation.VerbMute, Targets: []string{"alice"}, Reason: "stop it"},
		},
		{
			name: "unmute",
			msg:  feishuMsg("/unmute @alice"),
			want: moderation.Command{Verb: moderation.VerbUnmute, Targets: []string{"alice"}},
		},
		{
			name: "chinese kick",
			msg:  feishuMsg("@_user_1 /踢 @_user_2 刷屏", "@_user_1", bot, "@_user_2", "ou_x"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"ou_x"}, Reason: "刷屏"},
		},
		{
			name: "chinese remove verb",
			msg:  feishuMsg("/移出 @ou_x"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"ou_x"}},
		},
		{
			name: "chinese mute with chinese duration",
			msg:  feishuMsg("/禁言 @ou_x 10分钟 广告"),
			want: moderation.Command{Verb: moderation.VerbMute, Targets: []string{"ou_x"}, Duration: 10 * time.Minute, Reason: "广告"},
		},
		{
			name: "chinese unmute long form",
			msg:  feishuMsg("/解除禁言 @ou_x"),
			want: moderation.Command{Verb: moderation.VerbUnmute, Targets: []string{"ou_x"}},
		},
		{
			name: "chinese unmute short form and full-width solidus",
			msg:  feishuMsg("／解禁 ＠ou_x"),
			want: moderation.Command{Verb: moderation.VerbUnmute, Targets: []string{"ou_x"}},
		},
		{
			name: "help",
			msg:  feishuMsg("/帮助"),
			want: moderation.Command{Verb: moderation.VerbHelp},
		},
		{
			name: "case insensitive verb",
			msg:  feishuMsg("/KICK @a"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"a"}},
		},
		{
			name:   "custom prefix",
			prefix: "!",
			msg:    feishuMsg("!kick @a"),
			want:   moderation.Command{Verb: moderation.VerbKick, Targets: []string{"a"}},
		},
		{
			name: "tim nickname mentions resolve in order",
			msg:  feishuMsg("/kick @Spam @Spam", "@Spam", "user1", "@Spam", "user2"),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"user1", "user2"}},
		},
		{
			name: "case",
			msg:  feishuMsg("/case #12"),
			want: moderation.Command{Verb: moderation.VerbCase, CaseID: 12},
		},
		{
			name: "warn with reason",
			msg:  feishuMsg("/警告 @ou_x 刷屏"),
			want: moderation.Command{Verb: moderation.VerbWarn, Targets: []string{"ou_x"}, Reason: "刷屏"},
		},
		{
			name: "warnings",
			msg:  feishuMsg("/warnings @a"),
			want: moderation.Command{Verb: moderation.VerbWarnings, Targets: []string{"a"}},
		},
		{
			name: "unwarn",
			msg:  feishuMsg("/撤销警告 @a"),
			want: moderation.Command{Verb: moderation.VerbUnwarn, Targets: []string{"a"}},
		},
		{name: "case without number", msg: feishuMsg("/case"), wantErr: ErrBadCaseID},
		{name: "undo", msg: feishuMsg("/undo 7"), want: moderation.Command{Verb: moderation.VerbUndo, CaseID: 7}},
		{name: "undo with hash and reason", msg: feishuMsg("/撤销 #7 wrong user"), want: moderation.Command{Verb: moderation.VerbUndo, CaseID: 7, Reason: "wrong user"}},
		{name: "undo without number", msg: feishuMsg("/undo"), wantErr: ErrBadCaseID},
		{name: "undo of a mention", msg: feishuMsg("/undo @a"), wantErr: ErrBadCaseID},
		{name: "undo of zero", msg: feishuMsg("/撤销 0"), wantErr: ErrBadCaseID},
		{name: "unwarn is not undo", msg: feishuMsg("/撤销警告 @x"), want: moderation.Command{Verb: moderation.VerbUnwarn, Targets: []string{"x"}}},
		{name: "case with bad number", msg: feishuMsg("/案例 x"), wantErr: ErrBadCaseID},
		{name: "plain chat", msg: feishuMsg("hello everyone"), wantErr: ErrNotCommand},
		{name: "empty", msg: feishuMsg(""), wantErr: ErrNotCommand},
		{name: "prefix alone", msg: feishuMsg("/"), wantErr: ErrNotCommand},
		{name: "leading mention of someone else", msg: feishuMsg("@_user_1 /kick @b", "@_user_1", "ou_other"), wantErr: ErrNotCommand},
		{name: "custom prefix ignores slash", prefix: "!", msg: feishuMsg("/kick @a"), wantErr: ErrNotCommand},
		{name: "unknown verb", msg: feishuMsg("/frobnicate @a"), wantErr: ErrUnknownVerb},
		{name: "no target", msg: feishuMsg("/kick spammer"), wantErr: ErrNoTargets},
		{name: "no target at all", msg: feishuMsg("/mute"), wantErr: ErrNoTargets},
		{name: "bad duration", msg: feishuMsg("/mute @a 10x"), wantErr: ErrBadDuration},
		{name: "zero duration", msg: feishuMsg("/mute @a 0m"), wantErr: ErrBadDuration},
		{name: "overlong duration", msg: feishuMsg("/mute @a 400d"), wantErr: ErrBadDuration},
		{name: "bad raw target", msg: feishuMsg("/kick @<script>"), wantErr: ErrBadTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := New(Config{Prefix: tt.prefix}).Parse(tt.msg, bot)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.msg.Text, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.msg.Text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.msg.Text, got, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"10m", 10 * time.Minute, true},
		{"2h", 2 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1d12h", 36 * time.Hour, true},
		{"10min", 10 * time.Minute, true},
		{"10分钟", 10 * time.Minute, true},
		{"10分", 10 * time.Minute, true},
		{"2小时", 2 * time.Hour, true},
		{"1天", 24 * time.Hour, true},
		{"30秒", 30 * time.Second, true},
		{"1小时30分钟", 90 * time.Minute, true},
		{"１０分钟", 10 * time.Minute, true},
		{"366d", MaxDuration, true},
		{"", 0, false},
		{"10", 0, false},
		{"m", 0, false},
		{"-5m", 0, false},
		{"0s", 0, false},
		{"367d", 0, false},
		{"9999999999h", 0, false},
		{"10m5", 0, false},
		{"1.5h", 90 * time.Minute, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.ok != (err == nil) || (tt.ok && got != tt.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadDuration) {
			t.Errorf("ParseDuration(%q) error %v does not wrap ErrBadDuration", tt.in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"@_user_1 /kick @_user_2 flooding", "/mute @a 1h30m reason", "/禁言 @x 10分钟", "／解禁 ＠x",
		"/kick -s @a @b @c", "/mute @a 9999999d", "/help", "@ @ @", "/kick @\x00",
		"/kick @..", "/kick @.", "/mute @a/.. 1h", "/kick @_user_3 @_user_4", "/kick ＠..",
		"/ban @a 1d spam", "/封禁 @_user_2 1天", "/拉黑 -p @a", "/unban @a", "/解封", "/lock 10m raid", "/锁群 @a",
		"/全员禁言 30分钟", "/unlock", "/解除全员禁言", "/purge 30", "/清理 ５０", "/purge @a 20", "/purge 201",
		"/purge -1", "/purge 99999999999999999999", "/purge", "/kick -p @a --purge", "/mute -p @a", "/warn",
		"/undo 7", "/撤销 #12 wrong", "/undo -3", "/undo 99999999999999999999", "/undo @a",
		"/confirm 12", "/确认 #3", "/cancel", "/取消 x", "/confirm 0", "/cancel 99999999999999999999",
	} {
		f.Add(s, "", false)
		f.Add(s, "ou_parent", true)
	}
	f.Add("/kick", "..", true)
	f.Add("/purge", "", true)
	p := New(Config{MaxPurge: 120, PurgeUserCount: 7})
	f.Fuzz(func(t *testing.T, text, replySender string, reply bool) {
		// The platform's own mentions may carry hostile ids too (Easemob
		// reads "@.." as a mention when em_at_list is absent).
		msg := &moderation.Message{Text: text, Mentions: []moderation.Mention{{Token: "@_user_1", UserID: bot}, {Token: "@_user_2", UserID: "ou_t"},
			{Token: "@_user_3", UserID: ".."}, {Token: "@_user_4", UserID: "a/b"}}}
		if reply {
			msg.ReplyTo = &moderation.MessageRef{ID: "om_1", SenderID: replySender}
		}
		cmd, err := p.Parse(msg, bot)
		var tooMany *PurgeTooManyError
		if errors.As(err, &tooMany) && (tooMany.Max != 120 || tooMany.Asked <= 120) {
			t.Fatalf("Parse(%q): %v names the wrong maximum or count", text, err)
		}
		if err != nil {
			return
		}
		switch cmd.Verb {
		case "":
			t.Fatalf("Parse(%q) returned no verb and no error", text)
		case moderation.VerbHelp, moderation.VerbCase, moderation.VerbUndo, moderation.VerbConfirm, moderation.VerbCancel, moderation.VerbLock, moderation.VerbUnlock:
			if len(cmd.Targets) > 0 {
				t.Fatalf("Parse(%q) returned %s with targets %q", text, cmd.Verb, cmd.Targets)
			}
		case moderation.VerbPurge:
			if cmd.Count < 1 || cmd.Count > 120 {
				t.Fatalf("Parse(%q) returned a purge of %d messages (maximum 120)", text, cmd.Count)
			}
		default:
			if len(cmd.Targets) == 0 {
				t.Fatalf("Parse(%q) returned %s without targets", text, cmd.Verb)
			}
		}
		if cmd.Purge && (cmd.Verb != moderation.VerbKick && cmd.Verb != moderation.VerbBan || cmd.Count != 7) {
			t.Fatalf("Parse(%q) returned -p on %s with count %d", text, cmd.Verb, cmd.Count)
		}
		if cmd.Count != 0 && !cmd.Purge && cmd.Verb != moderation.VerbPurge {
			t.Fatalf("Parse(%q) returned a count on %s", text, cmd.Verb)
		}
		if cmd.Duration < 0 || cmd.Duration > MaxDuration {
			t.Fatalf("Parse(%q) duration %v out of range", text, cmd.Duration)
		}
		if cmd.Duration != 0 && cmd.Verb != moderation.VerbMute && cmd.Verb != moderation.VerbBan && cmd.Verb != moderation.VerbLock {
			t.Fatalf("Parse(%q) returned a duration on %s", text, cmd.Verb)
		}
		for _, id := range cmd.Targets {
			if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
				t.Fatalf("Parse(%q) returned the target %q: empty, a dot segment or a separator", text, id)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90s", "1h30m", "10分钟", "1小时30分钟", "366d", "0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && (d <= 0 || d > MaxDuration) {
			t.Fatalf("ParseDuration(%q) = %v accepted out of range", s, d)
		}
	})
}

// TestParseKeepsEveryTarget: a mass command's targets are all targets,
// however many; none is dropped or read as the reason (policy's
// max_targets is the only limit).
func TestParseKeepsEveryTarget(t *testing.T) {
	t.Parallel()
	p := New(Config{})
	for _, n := range []int{20001, 50000} {
		for _, mentions := range []bool{false, true} {
			cmd, err := p.Parse(massMessage(n, mentions), bot)
			if err != nil {
				t.Fatalf("%d targets, mentions=%v: %v", n, mentions, err)
			}
			if len(cmd.Targets) != n || cmd.Reason != "raid" {
				t.Fatalf("%d targets, mentions=%v: got %d targets, reason %.40q", n, mentions, len(cmd.Targets), cmd.Reason)
			}
		}
	}
}

// TestDotSegmentTargetsRefused: "." and ".." (raw or as a platform
// mention) and ids with a path separator are usage errors, never targets.
func TestDotSegmentTargetsRefused(t *testing.T) {
	t.Parallel()
	p := New(Config{})
	for _, msg := range []*moderation.Message{
		feishuMsg("/kick @.."), feishuMsg("/kick @."), feishuMsg("/kick @a @.. spam"), feishuMsg("/mute ＠.. 1h"),
		feishuMsg("/kick @..", "@..", ".."), feishuMsg("/kick @x", "@x", "g1/users"), feishuMsg("/kick @x", "@x", "."),
	} {
		if cmd, err := p.Parse(msg, bot); !errors.Is(err, ErrBadTarget) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrBadTarget", msg.Text, cmd, err)
		}
	}
	if cmd, err := p.Parse(feishuMsg("/kick @... @.a @a.b"), bot); err != nil || len(cmd.Targets) != 3 {
		t.Errorf("ids with dots that are not dot segments: %+v, %v", cmd, err)
	}
}

// TestMentionsPairInTextOrder: tokens take their own mentions in text
// order, a repeated token its next mention, and a token whose mentions
// are used up (or that has none) is read as a raw id.
func TestMentionsPairInTextOrder(t *testing.T) {
	t.Parallel()
	// Two members share the display name "Alice": the mentions pair with
	// the tokens in text order; a token named once more than the platform
	// mentioned it stands for its first mention (no new target).
	msg := feishuMsg("/kick @Alice @Bob @Alice @Alice",
		"@Alice", "t1", "@Bob", "t2", "@Alice", "t3")
	cmd, err := New(Config{}).Parse(msg, bot)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"t1", "t2", "t3"}; !reflect.DeepEqual(cmd.Targets, want) {
		t.Fatalf("targets = %v, want %v", cmd.Targets, want)
	}
	// With a mention list, a raw @id the platform did not mention is no
	// target: it may be a nickname the platform could not resolve.
	msg = feishuMsg("/kick @Alice @Carol", "@Alice", "t1")
	if _, err := New(Config{}).Parse(msg, bot); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("raw @Carol beside platform mentions: err = %v, want ErrBadTarget", err)
	}
}

// TestCanonicalIDs: with a platform's canonical form, targets typed in
// another case are the same user (and de-duplicated), and a leading
// mention of the bot in another case still addresses the bot.
func TestCanonicalIDs(t *testing.T) {
	t.Parallel()
	p := New(Config{}, WithCanonicalIDs(strings.ToLower))
	cmd, err := p.Parse(feishuMsg("@GavelBot /kick @VIP @vip @Bob"), "gavelbot")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"vip", "bob"}; !reflect.DeepEqual(cmd.Targets, want) {
		t.Fatalf("targets = %v, want %v", cmd.Targets, want)
	}
	if cmd, err := New(Config{}).Parse(feishuMsg("/kick @VIP"), bot); err != nil || cmd.Targets[0] != "VIP" {
		t.Fatalf("without canonical ids: %+v, %v", cmd, err)
	}
}

func TestIsCommand(t *testing.T) {
	t.Parallel()
	p := New(Config{})
	for text, want := range map[string]bool{
		"/kick @a":                        true,
		"/KICK @a":                        true,
		"@_user_1 /kick @_user_2":         true,
		"  @bot   ／解禁 @x":                 true,
		"/help":                           true,
		"/mute":                           true, // malformed, but Gavel's: a usage reply
		"/ban @x":                         true,
		"/封禁 @x 1天":                       true,
		"/拉黑 @x":                          true,
		"/unban @x":                       true,
		"/解封 @x":                          true,
		"/lock":                           true,
		"/锁群 30分钟":                        true,
		"/全员禁言":                           true,
		"/unlock":                         true,
		"/解锁":                             true,
		"/解除全员禁言":                         true,
		"/purge 30":                       true,
		"/清理 50":                          true,
		"/批量撤回 @x":                        true,
		"/撤回":                             false,
		"/frobnicate @x":                  false,
		"/asdf":                           false,
		"/":                               false,
		"/kick@a":                         false,
		"see https://example.com/a/b":     false,
		"and/or":                          false,
		"@alice hello /kick":              false,
		"@alice":                          false,
		"":                                false,
		"hello world, this is plain chat": false,
	} {
		if got := p.IsCommand(text); got != want {
			t.Errorf("IsCommand(%q) = %v, want %v", text, got, want)
		}
		if _, err := p.Parse(&moderation.Message{Text: text}, bot); !want && err != nil && !errors.Is(err, ErrNotCommand) && !errors.Is(err, ErrUnknownVerb) {
			t.Errorf("IsCommand(%q) = false, but Parse finds a command: %v", text, err)
		}
	}
}

// FuzzIsCommand: IsCommand agrees with Parse. Text Parse reads as a
// command of a known verb (well-formed or not) is a command; text without
// leading mentions that IsCommand accepts, Parse reads as one. (Leading
// mentions of someone other than the bot: IsCommand cannot know the bot's
// id and says yes; Parse says no.)
func FuzzIsCommand(f *testing.F) {
	for _, s := range []string{"/kick @a", "@b /mute", "/ban", "／解禁 ＠x", "/KICK", "x /kick", "@ /mute",
		"/锁群 30分钟", "/UNLOCK", "/purge 30", "/清理", "/批量撤回 @x", "/解除全员禁言", "/撤回 5"} {
		f.Add(s)
	}
	p := New(Config{})
	f.Fuzz(func(t *testing.T, text string) {
		_, err := p.Parse(&moderation.Message{Text: text}, "b")
		known := !errors.Is(err, ErrNotCommand) && !errors.Is(err, ErrUnknownVerb)
		is := p.IsCommand(text)
		if known && !is {
			t.Fatalf("IsCommand(%q) = false, but Parse reads a command (%v)", text, err)
		}
		if f := strings.Fields(text); is && !known && len(f) > 0 && !isAt(f[0]) {
			t.Fatalf("IsCommand(%q) = true, but Parse: %v", text, err)
		}
	})
}
