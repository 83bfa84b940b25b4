package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

// timMsg builds a message as the TIM adapter does: mention tokens are the
// display names clients insert, which may hold spaces.
func timMsg(text string, mentions ...moderation.Mention) *moderation.Message {
	return &moderation.Message{Text: text, Mentions: mentions}
}

func TestParseMentionsWithSpaces(t *testing.T) {
	t.Parallel()
	john := moderation.Mention{Token: "@John Smith", UserID: "john_s", Name: "John Smith"}
	bob := moderation.Mention{Token: "@Bob Lee", UserID: "bob_l", Name: "Bob Lee"}
	bobShort := moderation.Mention{Token: "@Bob", UserID: "bob_2", Name: "Bob"}
	all := moderation.Mention{UserID: ""} // TIM @all: no account, text not known
	tests := []struct {
		name    string
		msg     *moderation.Message
		want    moderation.Command
		wantErr error
	}{
		{
			name: "two nicknames with spaces, duration and reason",
			msg:  timMsg("/mute @John Smith @Bob Lee 10m spam", john, bob),
			want: moderation.Command{Verb: moderation.VerbMute, Targets: []string{"john_s", "bob_l"}, Duration: 10 * time.Minute, Reason: "spam"},
		},
		{
			name: "mentions without a space between them",
			msg:  timMsg("/kick @John Smith@Bob Lee ads", john, bob),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"john_s", "bob_l"}, Reason: "ads"},
		},
		{
			name: "a name that is a prefix of another",
			msg:  timMsg("/kick @Bob Lee @Bob flood", bob, bobShort),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"bob_l", "bob_2"}, Reason: "flood"},
		},
		{
			name: "mention list out of text order still matches",
			msg:  timMsg("/kick @Bob @Bob Lee", bob, bobShort),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"bob_2", "bob_l"}},
		},
		{
			name: "mention inside the reason stays whole",
			msg:  timMsg("/mute @John Smith 1h asked by @Bob Lee", john, bob),
			want: moderation.Command{Verb: moderation.VerbMute, Targets: []string{"john_s"}, Duration: time.Hour, Reason: "asked by @Bob Lee"},
		},
		{
			name: "leading bot mention with a space in its name",
			msg:  timMsg("@Gavel Bot /kick @John Smith", moderation.Mention{Token: "@Gavel Bot", UserID: bot}, john),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"john_s"}},
		},
		{
			name:    "mention whose name the adapter could not learn",
			msg:     timMsg("/mute @John Smith @Bob Lee 10m spam", john, moderation.Mention{UserID: "bob_l"}),
			wantErr: ErrUnresolvedMention,
		},
		{
			name:    "mention whose token is not in the text",
			msg:     timMsg("/mute @John Smith @Robert 10m", john, bob),
			wantErr: ErrUnresolvedMention,
		},
		{
			name:    "token followed by more letters is not the mention",
			msg:     timMsg("/kick @John Smithers", john),
			wantErr: ErrUnresolvedMention,
		},
		{
			name:    "raw id mixed with a platform mention",
			msg:     timMsg("/kick @John Smith @mallory", john),
			wantErr: ErrBadTarget,
		},
		{
			name:    "@all is never a target",
			msg:     timMsg("/mute @所有人 10m", all),
			wantErr: ErrBadTarget,
		},
		{
			name:    "@all with its text known is never a target",
			msg:     timMsg("/kick @All", moderation.Mention{Token: "@All"}),
			wantErr: ErrBadTarget,
		},
		{
			name: "raw ids after a bot-only mention list",
			msg:  timMsg("@Gavel /kick @ou_a", moderation.Mention{Token: "@Gavel", UserID: bot}),
			want: moderation.Command{Verb: moderation.VerbKick, Targets: []string{"ou_a"}},
		},
		{
			name: "unresolved mention does not stop /help",
			msg:  timMsg("/help @John Smith", moderation.Mention{UserID: "john_s"}),
			want: moderation.Command{Verb: moderation.VerbHelp},
		},
		{
			name:    "plain chat with an unresolved mention is no command",
			msg:     timMsg("hi @John Smith", moderation.Mention{UserID: "john_s"}),
			wantErr: ErrNotCommand,
		},
	}
	p := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Parse(tt.msg, bot)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.msg.Text, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.msg.Text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.msg.Text, got, tt.want)
			}
		})
	}
}

func TestSplitTokens(t *testing.T) {
	t.Parallel()
	m := func(tok, id string) moderation.Mention { return moderation.Mention{Token: tok, UserID: id} }
	tests := []struct {
		name     string
		text     string
		mentions []moderation.Mention
		want     []string
		wantErr  bool
	}{
		{"no mentions splits on spaces", " /kick  @a\tb ", nil, []string{"/kick", "@a", "b"}, false},
		{"token with spaces kept whole", "/mute @A B 1h", []moderation.Mention{m("@A B", "a")}, []string{"/mute", "@A B", "1h"}, false},
		{"token at the very end", "/kick @A B", []moderation.Mention{m("@A B", "a")}, []string{"/kick", "@A B"}, false},
		{"same name twice, two mentions", "@A @A", []moderation.Mention{m("@A", "a"), m("@A", "a")}, []string{"@A", "@A"}, false},
		{"missing second occurrence", "@A", []moderation.Mention{m("@A", "a"), m("@A", "b")}, []string{"@A"}, true},
		{"chinese name", "/踢 @张 三 刷屏", []moderation.Mention{m("@张 三", "zs")}, []string{"/踢", "@张 三", "刷屏"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := splitTokens(tt.text, tt.mentions)
			if (err != nil) != tt.wantErr {
				t.Fatalf("splitTokens error = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitTokens(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzSplitTokens(f *testing.F) {
	f.Add("/mute @John Smith @Bob Lee 10m spam", "@John Smith", "@Bob Lee")
	f.Add("@A@B", "@A", "@B")
	f.Add("", "", "@")
	f.Fuzz(func(t *testing.T, text, tok1, tok2 string) {
		ms := []moderation.Mention{{Token: tok1, UserID: "u1"}, {Token: tok2, UserID: "u2"}}
		toks, err := splitTokens(text, ms)
		if err != nil && !errors.Is(err, ErrUnresolvedMention) {
			t.Fatalf("unexpected error %v", err)
		}
		// Tokens are pieces of the text in order, never empty, and
		// together hold every non-space character of it.
		var b strings.Builder
		rest := text
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("empty token in %q", toks)
			}
			i := strings.Index(rest, tok)
			if i < 0 {
				t.Fatalf("token %q not found in order in %q", tok, text)
			}
			rest = rest[i+len(tok):]
			// Stripped one by one: joined first, invalid UTF-8 pieces
			// could make a space ("\xe2" + "\x80\x80" is U+2000).
			b.WriteString(strip(tok))
		}
		if b.String() != strip(text) {
			t.Fatalf("tokens %q lose text of %q", toks, text)
		}
	})
}

func strip(s string) string {
	return strings.Join(strings.Fields(s), "")
}
