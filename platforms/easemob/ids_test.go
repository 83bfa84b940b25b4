package easemob_test

import (
	"testing"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/policy"
)

// TestE2ECaseInsensitiveIDs: Easemob user ids are case-insensitive, so
// Gavel compares them in one (lower-case) form: a manager's `/kick @VIP`
// does not remove the protected "vip", `/mute @GAVELBOT 1h` does not mute
// the bot, and `policy.admins: ["easemob:Admin1"]` is the sender "admin1".
func TestE2ECaseInsensitiveIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		from   string
		text   string
		atList []string
		wantOp string // the moderation call expected, "" for none
	}{
		{name: "protected target typed in upper case", from: "adm", text: "/kick @VIP"},
		{name: "protected target mentioned in upper case", from: "adm", text: "/kick @VIP", atList: []string{"VIP"}},
		{name: "the bot in upper case", from: "adm", text: "/mute @GAVELBOT 1h"},
		{name: "the bot mentioned in mixed case", from: "adm", text: "/kick @GavelBot", atList: []string{"GavelBot"}},
		{name: "configured admin in another case", from: "admin1", text: "/kick @bob", wantOp: "kick"},
		{name: "sender in upper case is the same admin", from: "ADMIN1", text: "/kick @bob", wantOp: "kick"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := easemobtest.NewServer()
			t.Cleanup(fake.Close)
			clk := newClock()
			fake.SetNow(clk.Now)
			cfg := testConfig(fake)
			h := apptest.New(t, config.Config{
				Platforms: config.Platforms{Easemob: &cfg},
				Policy:    policy.Config{Protected: []string{"easemob:vip"}, Admins: []string{"easemob:Admin1"}},
			}, apptest.WithNow(clk.Now))
			fake.AddChatRoom(e2eRoom, "owner1", []string{"adm"}, []string{"vip", "bob", "admin1", easemobtest.DefaultBotUser})
			e := &e2e{fake: fake, gavel: h, clock: clk}
			e.post(t, easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindChatRoom, From: tt.from, Text: tt.text, AtList: tt.atList})
			var acted []string
			for _, op := range e.opsExceptToken() {
				if op == "kick" || op == "mute" {
					acted = append(acted, op)
				}
			}
			switch {
			case tt.wantOp == "" && len(acted) != 0:
				t.Errorf("moderation calls %v, want none; logs:\n%s", acted, h.Logs())
			case tt.wantOp != "" && (len(acted) != 1 || acted[0] != tt.wantOp):
				t.Errorf("moderation calls %v, want one %s; logs:\n%s", acted, tt.wantOp, h.Logs())
			}
			if len(fake.Messages()) != 1 {
				t.Errorf("%d replies, want 1", len(fake.Messages()))
			}
		})
	}
}

func TestCanonicalUserID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"VIP": "vip", "GavelBot": "gavelbot", "a_b-c.d": "a_b-c.d", "": ""} {
		if got := easemob.CanonicalUserID(in); got != want {
			t.Errorf("CanonicalUserID(%q) = %q, want %q", in, got, want)
		}
	}
}
