package tim

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

func TestMatchMentions(t *testing.T) {
	t.Parallel()
	at := func(accounts ...string) []groupAt {
		var out []groupAt
		for _, a := range accounts {
			if a == "*" {
				out = append(out, groupAt{GroupAtAllFlag: 1})
			} else {
				out = append(out, groupAt{GroupAtAccount: a})
			}
		}
		return out
	}
	known := func(card, nick string) memberNames {
		return memberNames{card: card, nick: nick, cardKnown: true, nickKnown: true}
	}
	tests := []struct {
		name  string
		text  string
		at    []groupAt
		names map[string]memberNames
		want  []moderation.Mention
	}{
		{"none", "/kick", nil, nil, []moderation.Mention{}},
		{"nicknames with spaces", "/mute @John Smith @Bob Lee 10m spam", at("john_s", "bob_l"),
			map[string]memberNames{"john_s": known("", "John Smith"), "bob_l": known("Bob Lee", "bobby")},
			[]moderation.Mention{{Token: "@John Smith", UserID: "john_s", Name: "John Smith"}, {Token: "@Bob Lee", UserID: "bob_l", Name: "Bob Lee"}}},
		{"nickname inserted although a card is set", "/kick @bobby", at("bob_l"),
			map[string]memberNames{"bob_l": known("Bob Lee", "bobby")},
			[]moderation.Mention{{Token: "@bobby", UserID: "bob_l", Name: "Bob Lee"}}},
		{"id when no card and no nickname", "/kick @x_1 spam", at("x_1"),
			map[string]memberNames{"x_1": known("", "")},
			[]moderation.Mention{{Token: "@x_1", UserID: "x_1"}}},
		{"id not assumed while the nickname is unknown", "/kick @x_1 2", at("x_1"),
			map[string]memberNames{"x_1": {cardKnown: true}},
			[]moderation.Mention{{UserID: "x_1"}}},
		{"longest name at the same place", "/kick @Bob Lee now", at("b"),
			map[string]memberNames{"b": known("Bob Lee", "Bob")},
			[]moderation.Mention{{Token: "@Bob Lee", UserID: "b", Name: "Bob Lee"}}},
		{"name must end at a word end", "/kick @Johnny @John", at("j"),
			map[string]memberNames{"j": known("", "John")},
			[]moderation.Mention{{Token: "@John", UserID: "j", Name: "John"}}},
		{"mid-word @ is not a mention", "mail a@Z.c then /kick @Z", at("z"),
			map[string]memberNames{"z": known("", "Z")},
			[]moderation.Mention{{Token: "@Z", UserID: "z", Name: "Z"}}},
		{"@all has no user and no token", "@所有人 /kick @Bob", at("*", "bob"),
			map[string]memberNames{"bob": known("", "Bob")},
			[]moderation.Mention{{}, {Token: "@Bob", UserID: "bob", Name: "Bob"}}},
		{"same member twice", "@A hi @A", at("a", "a"),
			map[string]memberNames{"a": known("A", "")},
			[]moderation.Mention{{Token: "@A", UserID: "a", Name: "A"}, {Token: "@A", UserID: "a", Name: "A"}}},
		{"names unknown", "/kick @Ghost", at("g"), nil, []moderation.Mention{{UserID: "g"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := matchMentions(tt.text, tt.at, tt.names); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("matchMentions = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestReceiveMentionNames runs the look-ups against the fake: name cards
// from get_specified_group_member_info, nicknames from portrait_get, both
// cached.
func TestReceiveMentionNames(t *testing.T) {
	t.Parallel()
	c, s := fakeCallbackClient(t, nil)
	s.AddGroup(timtest.Group{ID: "@TGS#names", Owner: "boss", Admins: []string{"mod"}, Members: []string{"john_s", "bob_l"},
		NameCards: map[string]string{"bob_l": "Bob Lee"}})
	s.SetNick("john_s", "John Smith")
	s.SetNick("bob_l", "bobby")
	m := s.Say("@TGS#names", "mod", "/mute", timtest.At("john_s"), timtest.At("bob_l"), "10m spam")
	if m.Text != "/mute @John Smith @Bob Lee 10m spam" {
		t.Fatalf("fake client text = %q", m.Text)
	}
	for i := range 2 {
		ack, err := c.Receive(context.Background(), s.MessageDelivery(testToken, testNow, m))
		if err != nil {
			t.Fatal(err)
		}
		want := []moderation.Mention{{Token: "@John Smith", UserID: "john_s", Name: "John Smith"}, {Token: "@Bob Lee", UserID: "bob_l", Name: "Bob Lee"}}
		if got := ack.Events[0].Message.Mentions; !reflect.DeepEqual(got, want) {
			t.Fatalf("delivery %d: mentions = %+v", i, got)
		}
	}
	if n, p := len(s.CallsTo("get_specified_group_member_info")), len(s.CallsTo("portrait_get")); n != 1 || p != 1 {
		t.Errorf("look-ups = %d member info, %d portrait; want 1 each (the second delivery is served from the cache)", n, p)
	}
	if got := callBody(t, s.CallsTo("get_specified_group_member_info")[0]); got != `{"GroupId":"@TGS#names","MemberInfoFilter":["NameCard"],"Member_List_Account":["john_s","bob_l"]}` {
		t.Errorf("member info request = %s", got)
	}
	if c := s.CallsTo("portrait_get")[0]; c.Service != "profile" || callBody(t, c) != `{"TagList":["Tag_Profile_IM_Nick"],"To_Account":["john_s","bob_l"]}` {
		t.Errorf("portrait_get request = /v4/%s %s", c.Service, callBody(t, c))
	}
}

// TestReceiveMentionLookupTimeout: a slow profile service leaves the
// mention without a token (the command will be refused) and the callback
// is still answered well inside TIM's 2 s.
func TestReceiveMentionLookupTimeout(t *testing.T) {
	t.Parallel()
	c, s := fakeCallbackClient(t, func(cfg *Config) { cfg.MentionLookupTimeout = 100 * time.Millisecond })
	s.SetNick("flooder_9", "Flood Er")
	s.SetDelay("portrait_get", time.Second)
	m := s.Say(groupPub, "ops_lead", "/mute", timtest.At("flooder_9"), "10m")
	start := time.Now()
	ack, err := c.Receive(context.Background(), s.MessageDelivery(testToken, testNow, m))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 900*time.Millisecond {
		t.Errorf("Receive took %v with a 100ms look-up bound", el)
	}
	if got, want := ack.Events[0].Message.Mentions, []moderation.Mention{{UserID: "flooder_9"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("mentions = %+v, want %+v", got, want)
	}
}

func FuzzMatchMentions(f *testing.F) {
	f.Add("/mute @John Smith @Bob Lee 10m spam", "John Smith", "Bob Lee")
	f.Add("@@a @a", "a", "")
	f.Fuzz(func(t *testing.T, text, card, nick string) {
		names := map[string]memberNames{"u": {card: card, nick: nick, cardKnown: true, nickKnown: true}}
		ms := matchMentions(text, []groupAt{{GroupAtAccount: "u"}, {GroupAtAllFlag: 1}, {GroupAtAccount: "u"}}, names)
		if len(ms) != 3 || ms[1] != (moderation.Mention{}) {
			t.Fatalf("mentions = %+v", ms)
		}
		rest := text
		for _, m := range ms {
			if m.Token == "" {
				continue
			}
			if !strings.HasPrefix(m.Token, "@") || m.UserID != "u" {
				t.Fatalf("mention %+v", m)
			}
			i := strings.Index(rest, m.Token)
			if i < 0 {
				t.Fatalf("token %q not found in order in %q", m.Token, text)
			}
			rest = rest[i+len(m.Token):]
		}
	})
}

func callBody(tb testing.TB, c timtest.Call) string {
	tb.Helper()
	b, err := json.Marshal(c.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
