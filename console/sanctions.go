package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"gavel/moderation"
)

// sanction is one row of the Sanctions page.
type sanction struct {
	Verb     moderation.Verb // mute, ban, lock
	Lift     moderation.Verb // unmute, unban, unlock
	Chat     moderation.ChatRef
	UserID   string
	Until    time.Time
	Emulated bool
	CaseID   int64
}

// sanctions lists the active mutes, bans and locks of the user's chats.
func (s *Server) sanctions(w http.ResponseWriter, r *http.Request, req *request) {
	ctx, now := r.Context(), s.now()
	mutes, err := s.d.Store.ActiveMutes(ctx, now, false)
	if err != nil {
		s.fail(w, req, err)
		return
	}
	other, err := s.d.Store.ActiveSanctions(ctx, now)
	if err != nil {
		s.fail(w, req, err)
		return
	}
	var rows []sanction
	for _, m := range mutes {
		if moderation.ScopeAllows(req.user.Grants, m.Chat) {
			rows = append(rows, sanction{Verb: moderation.VerbMute, Lift: moderation.VerbUnmute, Chat: m.Chat, UserID: m.UserID,
				Until: m.Until, Emulated: m.Emulated, CaseID: m.CaseID})
		}
	}
	for _, x := range other {
		// The sanction book also keeps joiners' pending verifications
		// and newcomer marks (#19): no ban or lock to lift.
		if (x.Verb != moderation.VerbBan && x.Verb != moderation.VerbLock) || !moderation.ScopeAllows(req.user.Grants, x.Chat) {
			continue
		}
		lift := moderation.VerbUnban
		if x.Verb == moderation.VerbLock {
			lift = moderation.VerbUnlock
		}
		rows = append(rows, sanction{Verb: x.Verb, Lift: lift, Chat: x.Chat, UserID: x.UserID, Until: x.Until, CaseID: x.CaseID})
	}
	slices.SortStableFunc(rows, func(a, b sanction) int {
		return strings.Compare(chatKey(a.Chat)+"\x00"+string(a.Verb), chatKey(b.Chat)+"\x00"+string(b.Verb))
	})
	data := map[string]any{"Rows": rows}
	if r.URL.Query().Get("lifted") != "" {
		data["Lifted"] = true
	}
	s.page(w, req, http.StatusOK, "sanctions", data)
}

// lift asks for a sanction's end: a durable job, the same as a chat
// command's, that the pipeline carries out under policy and records as
// a case with the actor console:NAME. A chat outside the user's grants
// is "not found", as its case would be.
func (s *Server) lift(w http.ResponseWriter, r *http.Request, req *request) {
	verb := moderation.Verb(r.PostFormValue("verb"))
	chat := moderation.ChatRef{Platform: r.PostFormValue("platform"), ID: r.PostFormValue("chat"), Kind: r.PostFormValue("kind")}
	user := r.PostFormValue("user")
	if chat.Platform == "" || chat.ID == "" {
		http.Error(w, "platform and chat must be set", http.StatusBadRequest)
		return
	}
	if !moderation.ScopeAllows(req.user.Grants, chat) {
		s.log.Warn("console: lift outside the user's chats refused", "user", req.user.Name, "chat", chat.String())
		s.notFound(w, req)
		return
	}
	var targets []string
	switch verb {
	case moderation.VerbUnmute, moderation.VerbUnban:
		if user == "" {
			http.Error(w, "user must be set to "+string(verb), http.StatusBadRequest)
			return
		}
		targets = []string{user}
	case moderation.VerbUnlock:
	default:
		http.Error(w, "verb must be unmute, unban or unlock", http.StatusBadRequest)
		return
	}
	now := s.now()
	id := "console:" + newToken()[:22]
	ev := moderation.Event{Kind: moderation.EventAction, Platform: chat.Platform, DeliveryID: id, DedupKeys: []string{id},
		Action: &moderation.Action{Actor: "console:" + req.user.Name, Verb: verb, Chat: chat, Targets: targets, At: now}}
	if _, err := s.d.Jobs.Submit(r.Context(), ev); err != nil {
		s.log.Error("console: submitting a lift", "user", req.user.Name, "err", err)
		s.page(w, req, http.StatusServiceUnavailable, "error", map[string]any{"Error": "the lift could not be queued; nothing was done"})
		return
	}
	s.log.Info("console: lift queued", "user", req.user.Name, "verb", verb, "chat", chat.String(), "target", user, "delivery", id)
	http.Redirect(w, r, "/sanctions?lifted=1", http.StatusSeeOther)
}
