package config

import (
	"strings"

	"gavel/automod"
	"gavel/platforms/easemob"
	"gavel/platforms/feishu"
	"gavel/platforms/tim"
)

// canonicalUserIDs maps a platform's config key to its canonical user id
// form (moderation.Platform.CanonicalUserID).
var canonicalUserIDs = map[string]func(string) string{
	easemob.Name: easemob.CanonicalUserID,
	feishu.Name:  feishu.CanonicalUserID,
	tim.Name:     tim.CanonicalUserID,
}

// canonicalUsers returns "platform:user_id" entries with each user id in
// its platform's canonical form, so that policy, automod and the store
// compare like with like: on Easemob `policy.protected: ["easemob:VIP"]`
// protects the user whose events say "vip". Entries of other platforms
// are kept as written (Validate names malformed ones). The input is not
// modified.
func canonicalUsers(entries []string) []string {
	if entries == nil {
		return nil
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e
		plat, id, ok := strings.Cut(e, ":")
		if f := canonicalUserIDs[plat]; ok && f != nil {
			out[i] = plat + ":" + f(id)
		}
	}
	return out
}

// WithCanonicalIDs returns c with every user list in canonical form:
// policy.admins, policy.protected, automod.exempt and each rule's exempt,
// by default and per chat. Parse applies it, and so does app.New (for a
// Config built in code); applying it twice changes nothing. c itself is
// not modified.
func (c Config) WithCanonicalIDs() Config {
	c.Policy.Admins = canonicalUsers(c.Policy.Admins)
	c.Policy.Protected = canonicalUsers(c.Policy.Protected)
	c.Automod.Exempt = canonicalUsers(c.Automod.Exempt)
	rules := func(r automod.Rules) automod.Rules {
		r.Flood = exemptCanonical(r.Flood, func(b *automod.FloodRule) *[]string { return &b.Exempt })
		r.Blocklist = exemptCanonical(r.Blocklist, func(b *automod.BlocklistRule) *[]string { return &b.Exempt })
		r.Mentions = exemptCanonical(r.Mentions, func(b *automod.MentionsRule) *[]string { return &b.Exempt })
		r.Links = exemptCanonical(r.Links, func(b *automod.LinksRule) *[]string { return &b.Exempt })
		r.Raid = exemptCanonical(r.Raid, func(b *automod.RaidRule) *[]string { return &b.Exempt })
		return r
	}
	c.Automod.Defaults = rules(c.Automod.Defaults)
	if c.Automod.Chats != nil {
		chats := make(map[string]automod.Rules, len(c.Automod.Chats))
		for k, r := range c.Automod.Chats {
			chats[k] = rules(r)
		}
		c.Automod.Chats = chats
	}
	return c
}

// exemptCanonical returns a copy of rule with its exempt list (reached
// through exempt) in canonical form; nil stays nil.
func exemptCanonical[T any](rule *T, exempt func(*T) *[]string) *T {
	if rule == nil {
		return nil
	}
	b := *rule
	list := exempt(&b)
	*list = canonicalUsers(*list)
	return &b
}
