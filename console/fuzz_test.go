package console

import (
	"strings"
	"testing"
)

// FuzzParsePHC: a stored hash of any shape is refused or parsed within
// the bounds that keep a check cheap; never a panic.
func FuzzParsePHC(f *testing.F) {
	h, _ := HashPassword("a good long password")
	for _, s := range []string{h, "", "$argon2id$v=19$m=1,t=1,p=1$$", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			return
		}
		if p.memory > 256*1024 || p.time > 10 || p.threads > 16 || len(p.key) < 16 {
			t.Fatalf("parsed out-of-bounds parameters from %q: %+v", s, p)
		}
	})
}

// FuzzParseGrants: grants are "*", "platform:*" or "platform:chat_id"
// without spaces.
func FuzzParseGrants(f *testing.F) {
	f.Add("tim:g1,feishu:oc_1", "", false)
	f.Add("", "tim", false)
	f.Add("", "", true)
	f.Add("x:*,y", "", false)
	f.Fuzz(func(t *testing.T, chats, platform string, all bool) {
		gs, err := ParseGrants(chats, platform, all)
		if err != nil {
			return
		}
		if len(gs) == 0 {
			t.Fatal("no grants and no error")
		}
		for _, g := range gs {
			p, id, ok := strings.Cut(g, ":")
			if g != "*" && (!ok || !validPart(p) || id == "" || strings.ContainsAny(id, " \t\r\n")) {
				t.Fatalf("grant %q from (%q, %q, %v)", g, chats, platform, all)
			}
		}
	})
}

func TestPassword(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("a good long password")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"a good long password", true}, {"a good long passwore", false}, {"", false}} {
		if ok, err := CheckPassword(h, tt.pw); err != nil || ok != tt.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a 5-byte password was accepted")
	}
	if _, err := CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a bcrypt hash was accepted")
	}
}
