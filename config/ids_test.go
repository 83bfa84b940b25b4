package config

import (
	"slices"
	"testing"
)

// TestUserIDsCanonical: user lists are rewritten in each platform's
// canonical form (Easemob folds case; Feishu and TIM keep it), so that
// `Admin1` in the file matches the sender `admin1` of an Easemob event.
func TestUserIDsCanonical(t *testing.T) {
	t.Parallel()
	data := []byte(`
platforms:
  easemob: {base_url: "https://a1.easemob.com", org_name: org, app_name: app, client_id: c, client_secret: s, callback_secret: x, bot_user: GavelBot}
policy:
  admins: ["easemob:Admin1", "tim:Admin1", "feishu:ou_AbC"]
  protected: ["easemob:VIP"]
automod:
  exempt: ["easemob:Trusted"]
  defaults:
    flood: {enabled: true, action: "mute 10m", messages: 8, per: 10s, exempt: ["easemob:Bot2", "tim:Bot2"]}
  chats:
    "easemob:123":
      links: {enabled: true, action: delete, exempt: ["easemob:LinkBot"]}
`)
	cfg, err := Parse(data, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		got, want []string
	}{
		{"policy.admins", cfg.Policy.Admins, []string{"easemob:admin1", "tim:Admin1", "feishu:ou_AbC"}},
		{"policy.protected", cfg.Policy.Protected, []string{"easemob:vip"}},
		{"automod.exempt", cfg.Automod.Exempt, []string{"easemob:trusted"}},
		{"automod.defaults.flood.exempt", cfg.Automod.Defaults.Flood.Exempt, []string{"easemob:bot2", "tim:Bot2"}},
		{"automod.chats.links.exempt", cfg.Automod.Chats["easemob:123"].Links.Exempt, []string{"easemob:linkbot"}},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
