package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/automod"
	"gavel/moderation"
	"gavel/policy"
)

// chats lists each chat Gavel has a case, mute or sanction in, and each
// chat config.yaml overrides, within the user's grants.
func (s *Server) chats(w http.ResponseWriter, r *http.Request, req *request) {
	seen, err := s.d.Store.ChatsSeen(r.Context(), req.user.Grants)
	if err != nil {
		s.fail(w, req, err)
		return
	}
	known := map[string]bool{}
	for _, c := range seen {
		known[chatKey(c.Chat)] = true
	}
	var configured []string
	for k := range s.d.Policy.Chats {
		configured = append(configured, k)
	}
	for k := range s.d.Automod.Chats {
		configured = append(configured, k)
	}
	for _, k := range configured {
		if c, ok := splitChat(k); ok && !known[k] && moderation.ScopeAllows(req.user.Grants, c) {
			known[k] = true
			seen = append(seen, moderation.ChatSeen{Chat: c})
		}
	}
	slices.SortFunc(seen, func(a, b moderation.ChatSeen) int { return strings.Compare(chatKey(a.Chat), chatKey(b.Chat)) })
	s.page(w, req, http.StatusOK, "chats", map[string]any{"Chats": seen})
}

// capability is one verb's support in a chat.
type capability struct {
	Verb    moderation.Verb
	Support moderation.Support
}

// chatPage shows a chat's effective policy and rules, what its platform
// can do there, and its recent cases.
func (s *Server) chatPage(w http.ResponseWriter, r *http.Request, req *request) {
	chat := moderation.ChatRef{Platform: r.PathValue("platform"), ID: r.PathValue("chat")}
	if chat.Platform == "" || chat.ID == "" || !moderation.ScopeAllows(req.user.Grants, chat) {
		s.notFound(w, req)
		return
	}
	ctx := r.Context()
	key := chatKey(chat)
	data := map[string]any{"Chat": chat}
	data["Policy"] = effectivePolicy(s.d.Policy, chat)
	data["Rules"] = effectiveRules(s.d.Automod, key)
	data["AutomodOn"] = s.d.Automod.Enabled
	var plat moderation.Platform
	for _, p := range s.d.Platforms {
		if p.Name() == chat.Platform {
			plat = p
		}
	}
	if plat == nil {
		data["CapError"] = "platform " + chat.Platform + " is not configured"
	} else {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		caps, err := plat.Capabilities(cctx, chat)
		cancel()
		if err != nil {
			data["CapError"] = err.Error()
		} else {
			var rows []capability
			for _, v := range moderation.ActionVerbs {
				if sup, ok := caps[v]; ok {
					rows = append(rows, capability{v, sup})
				}
			}
			for v, sup := range caps {
				if !slices.Contains(moderation.ActionVerbs, v) {
					rows = append(rows, capability{v, sup})
				}
			}
			data["Caps"] = rows
		}
	}
	recent, err := s.d.Store.SearchCases(ctx, moderation.CaseQuery{Scope: req.user.Grants, Platform: chat.Platform, ChatID: chat.ID, Limit: 20})
	if err != nil {
		s.fail(w, req, err)
		return
	}
	day, err := s.d.Store.CountCases(ctx, []string{key}, s.now().Add(-24*time.Hour), "verb")
	if err != nil {
		s.fail(w, req, err)
		return
	}
	var n int64
	for _, c := range day {
		n += c.N
	}
	data["Recent"], data["Day"] = recent, n
	s.page(w, req, http.StatusOK, "chat", data)
}

// policyView is the policy that applies in one chat.
type policyView struct {
	Disabled, DryRun              bool
	Admins, Protected             []string
	MaxTargets, CommandsPerMinute int
	RefusalInterval               time.Duration
}

func effectivePolicy(c policy.Config, chat moderation.ChatRef) policyView {
	cc := c.Chats[chatKey(chat)]
	v := policyView{Disabled: cc.Disabled, DryRun: cc.DryRun, MaxTargets: c.MaxTargets, CommandsPerMinute: c.CommandsPerMinute,
		RefusalInterval: c.RefusalInterval}
	if v.MaxTargets == 0 {
		v.MaxTargets = 20
	}
	if v.CommandsPerMinute == 0 {
		v.CommandsPerMinute = 10
	}
	if v.RefusalInterval == 0 {
		v.RefusalInterval = time.Minute
	}
	for _, a := range c.Admins {
		if strings.HasPrefix(a, chat.Platform+":") {
			v.Admins = append(v.Admins, a)
		}
	}
	for _, a := range c.Protected {
		if strings.HasPrefix(a, chat.Platform+":") {
			v.Protected = append(v.Protected, a)
		}
	}
	return v
}

// effectiveRules is the automod block of each rule that applies in the
// chat, as YAML: a chat's block replaces the default's whole.
func effectiveRules(c automod.Config, key string) string {
	eff := c.Defaults
	if o, ok := c.Chats[key]; ok {
		if o.Flood != nil {
			eff.Flood = o.Flood
		}
		if o.Blocklist != nil {
			eff.Blocklist = o.Blocklist
		}
		if o.Mentions != nil {
			eff.Mentions = o.Mentions
		}
		if o.Links != nil {
			eff.Links = o.Links
		}
		if o.Raid != nil {
			eff.Raid = o.Raid
		}
	}
	out, err := yaml.Marshal(eff)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(out)
}
