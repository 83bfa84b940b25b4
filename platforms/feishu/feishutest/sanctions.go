package feishutest

// What Gavel's bans, locks and purges call (issue #16): the speech mode
// (PUT and GET /open-apis/im/v1/chats/:chat_id/moderation), the chat
// history (GET /open-apis/im/v1/messages), one message (GET
// /open-apis/im/v1/messages/:message_id), plus the client-side acts tests
// need: a user sending (Send) and users joining again (AddMembers).
//
// Sources and the choices made where they are silent:
//   - Speech mode: feishu.md §4.5. only_owner lets the owner and the
//     managers speak ("owner and admins"). Only the owner may change it,
//     or the bot that created the chat if the app holds
//     im:chat:operate_as_owner (Chat.CreatorOperateAsOwner); a manager bot
//     gets 232017. A user_id_type other than open_id answers 232015 (the
//     fake models open_ids only). The docs do not say whether the owner and
//     managers may speak in moderator_list mode (§6): the fake lets the
//     owner and the listed members speak, nobody else. The whitelist is
//     kept when the mode changes away from moderator_list (undocumented).
//     GET …/moderation's page_size limits are not in feishu.md: the fake
//     takes 1–100 (default 20).
//   - A bot in a chat whose mode does not let it speak gets 230018 on
//     send and reply (feishu.md §4.4: "if the chat is in only_owner/
//     moderator_list mode the bot may get 230018").
//   - History: not in feishu.md; from the "Get chat history" page
//     (open.feishu.cn …/im-v1/message/list) and the SDK v3.12.0
//     (ListMessageReqBuilder): container_id_type chat (thread is not
//     modelled: 230001), sort_type ByCreateTimeAsc (default) or
//     ByCreateTimeDesc, page_size 1–50 (default 20), an opaque page_token
//     that keeps the first request's sort (another sort answers 230001),
//     has_more. Recalled messages stay listed with deleted: true (the SDK's
//     Message.Deleted, "whether the message was recalled"). The bot must be
//     in the chat (230002). Sender: {id: open_id, id_type: open_id,
//     sender_type: user} for users, {id: app_id, id_type: app_id,
//     sender_type: app} for the bot.
//   - One message: GET /open-apis/im/v1/messages/:message_id (SDK
//     GetMessageReq, user_id_type); not in feishu.md. data.items holds the
//     message (recalled ones with deleted: true); an unknown id answers
//     230001 and a chat the bot left 230002, as for recall.
//   - Recall: a message older than a year answers 230009 (§4.6 "message
//     ≤ 1 year old"; SetRecallLimit models a tenant's shorter limit).

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	moderationAll   = "all_members"
	moderationOwner = "only_owner"
	moderationList  = "moderator_list"
	// maxRecallAge is the documented recall window for others' messages.
	maxRecallAge = 365 * 24 * time.Hour

	listPageDefault       = 20
	listPageMax           = 50
	moderationPageDefault = 20
	moderationPageMax     = 100
	sortAsc               = "ByCreateTimeAsc"
	sortDesc              = "ByCreateTimeDesc"
)

// Errors of the client-side acts (Send, AddMembers).
var (
	ErrNoChat      = errors.New("feishutest: no such chat")
	ErrNotMember   = errors.New("feishutest: the sender is not a member of the chat")
	ErrMayNotSpeak = errors.New("feishutest: the chat's speech mode does not let the sender speak")
)

// SetRecallLimit sets how old a message may be for a recall to succeed
// (230009 after); default a year, the documented maximum. A tenant can set
// a shorter limit.
func (s *Server) SetRecallLimit(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recallLimit = d
}

// SetModeration sets a chat's speech mode as its owner would in the
// client: all_members, only_owner or moderator_list (with its whitelist).
func (s *Server) SetModeration(chatID, setting string, moderators ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.chats[chatID]; ok {
		c.Moderation, c.Moderators = setting, slices.Clone(moderators)
	}
}

// Send has a user send a message from the Feishu client: it is refused
// when the sender is not a member (ErrNotMember) or the chat's speech mode
// does not let them speak (ErrMayNotSpeak), as the client refuses it;
// otherwise it joins the chat's history and Send returns its message_id
// and the im.message.receive_v1 event Feishu pushes (with the server's
// verification token and app_id). m.ParentID makes it a reply.
func (s *Server) Send(m TextMessage) (id string, event []byte, err error) {
	m = m.withDefaults()
	if m.AppID == "" {
		m.AppID = s.AppID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[m.ChatID]
	switch {
	case !ok:
		return "", nil, ErrNoChat
	case !slices.Contains(c.Members, m.SenderID):
		return "", nil, ErrNotMember
	case !userMaySpeak(c, m.SenderID):
		return "", nil, ErrMayNotSpeak
	}
	s.addMessageLocked(&Message{ID: m.MessageID, ChatID: m.ChatID, SenderID: m.SenderID, MsgType: m.MessageType,
		Content: m.content(), ParentID: m.ParentID, Created: m.CreateTime})
	return m.MessageID, MessageEvent(s.VerificationToken, m), nil
}

// AddMembers adds users to a chat (again: a removed or banned user who
// rejoins through an invitation or a link) and returns the
// im.chat.member.user.added_v1 event Feishu pushes, carrying the server's
// verification token.
func (s *Server) AddMembers(chatID, operator string, users ...string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return nil, ErrNoChat
	}
	for _, u := range users {
		if !slices.Contains(c.Members, u) {
			c.Members = append(c.Members, u)
		}
	}
	return UserAddedEvent(s.VerificationToken, "", chatID, operator, users...), nil
}

// userMaySpeak applies the chat's speech mode to a user.
func userMaySpeak(c *Chat, u string) bool {
	owner := !c.botOwned() && u == c.OwnerID
	switch c.Moderation {
	case moderationOwner:
		return owner || slices.Contains(c.Managers, u)
	case moderationList:
		return owner || slices.Contains(c.Moderators, u)
	}
	return true
}

// botMaySpeakLocked applies the chat's speech mode to Gavel's bot.
func (s *Server) botMaySpeakLocked(c *Chat) bool {
	switch c.Moderation {
	case moderationOwner:
		return c.BotIsOwner || c.BotIsManager
	case moderationList:
		return c.BotIsOwner || slices.Contains(c.Moderators, s.BotOpenID)
	}
	return true
}

func (s *Server) senderData(m *Message) map[string]any {
	if m.FromBot {
		return map[string]any{"id": s.AppID, "id_type": "app_id", "sender_type": "app", "tenant_key": s.TenantKey}
	}
	return map[string]any{"id": m.SenderID, "id_type": "open_id", "sender_type": "user", "tenant_key": s.TenantKey}
}

// pageSize reads page_size: def when absent, an error outside 1…max.
func pageSize(q url.Values, def, max int) (int, bool) {
	v := q.Get("page_size")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, false
	}
	return n, true
}

// moderationChatLocked is the chat of a …/moderation request: only
// open_ids are modelled (232015 for another user_id_type).
func (s *Server) moderationChatLocked(id string, q url.Values) (*Chat, answer, bool) {
	if t := q.Get("user_id_type"); t != "" && t != "open_id" {
		return nil, fail(232015), false
	}
	return s.chatLocked(id)
}

func (s *Server) moderationGetLocked(id string, q url.Values) answer {
	c, a, found := s.moderationChatLocked(id, q)
	if !found {
		return a
	}
	size, valid := pageSize(q, moderationPageDefault, moderationPageMax)
	if !valid {
		return fail(232001)
	}
	data := map[string]any{"moderation_setting": c.Moderation, "has_more": false, "page_token": "", "items": []any{}}
	if c.Moderation != moderationList {
		return ok(data)
	}
	start := 0
	if tok := q.Get("page_token"); tok != "" {
		n, err := strconv.Atoi(decodeToken(tok, id, "moderation"))
		if err != nil || n < 0 || n > len(c.Moderators) {
			return fail(232001)
		}
		start = n
	}
	end := min(start+size, len(c.Moderators))
	items := make([]any, 0, end-start)
	for _, u := range c.Moderators[start:end] {
		items = append(items, map[string]any{"user_id_type": "open_id", "user_id": u, "tenant_key": c.Tenant})
	}
	data["items"] = items
	if end < len(c.Moderators) {
		data["has_more"], data["page_token"] = true, encodeToken(id, "moderation", strconv.Itoa(end))
	}
	return ok(data)
}

func (s *Server) moderationUpdateLocked(id string, q url.Values, body map[string]any) answer {
	c, a, found := s.moderationChatLocked(id, q)
	if !found {
		return a
	}
	setting, _ := body["moderation_setting"].(string)
	if c.Mode == "p2p" || !slices.Contains([]string{moderationAll, moderationOwner, moderationList}, setting) {
		return fail(232001)
	}
	added, removed := stringList(body["moderator_added_list"]), stringList(body["moderator_removed_list"])
	for _, u := range added {
		if slices.Contains(removed, u) {
			return fail(232001) // the two lists must not overlap
		}
	}
	// Owner, or the creator bot holding im:chat:operate_as_owner; a
	// manager is not enough.
	if !c.BotIsOwner && !(c.BotIsCreator && c.CreatorOperateAsOwner) {
		return fail(232017)
	}
	c.Moderation = setting
	if setting == moderationList {
		for _, u := range added {
			// Non-members are silently dropped.
			if slices.Contains(c.Members, u) && !slices.Contains(c.Moderators, u) {
				c.Moderators = append(c.Moderators, u)
			}
		}
		c.Moderators = slices.DeleteFunc(c.Moderators, func(u string) bool { return slices.Contains(removed, u) })
	}
	return ok(map[string]any{})
}

// historyChatLocked is the chat whose messages the bot reads: unknown
// chats are invalid parameters (230001), a chat the bot is not in 230002.
func (s *Server) historyChatLocked(id string) (*Chat, answer, bool) {
	c, found := s.chats[id]
	switch {
	case !found || c.Tenant != s.TenantKey:
		return nil, fail(230001), false
	case c.BotOut:
		return nil, fail(230002), false
	}
	return c, answer{}, true
}

func (s *Server) messageListLocked(q url.Values) answer {
	if q.Get("container_id_type") != "chat" {
		return fail(230001)
	}
	chatID := q.Get("container_id")
	if _, a, found := s.historyChatLocked(chatID); !found {
		return a
	}
	sort := q.Get("sort_type")
	switch sort {
	case "":
		sort = sortAsc
	case sortAsc, sortDesc:
	default:
		return fail(230001)
	}
	size, valid := pageSize(q, listPageDefault, listPageMax)
	if !valid {
		return fail(230001)
	}
	from, to, valid := timeRange(q)
	if !valid {
		return fail(230001)
	}
	var msgs []*Message
	for _, id := range s.order {
		m := s.messages[id]
		if m.ChatID == chatID && !m.Created.Before(from) && !m.Created.After(to) {
			msgs = append(msgs, m)
		}
	}
	slices.SortStableFunc(msgs, func(a, b *Message) int { return a.Created.Compare(b.Created) })
	if sort == sortDesc {
		slices.Reverse(msgs)
	}
	start := 0
	if tok := q.Get("page_token"); tok != "" {
		last := decodeToken(tok, chatID, sort)
		i := slices.IndexFunc(msgs, func(m *Message) bool { return m.ID == last })
		if last == "" || i < 0 {
			return fail(230001)
		}
		start = i + 1
	}
	end := min(start+size, len(msgs))
	items := make([]any, 0, end-start)
	for _, m := range msgs[start:end] {
		items = append(items, s.messageData(m))
	}
	data := map[string]any{"items": items, "has_more": false, "page_token": ""}
	if end < len(msgs) {
		data["has_more"], data["page_token"] = true, encodeToken(chatID, sort, msgs[end-1].ID)
	}
	return ok(data)
}

// timeRange reads start_time and end_time (Unix seconds, both optional).
func timeRange(q url.Values) (from, to time.Time, valid bool) {
	from, to = time.Unix(0, 0), time.Unix(1<<40, 0)
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"start_time", &from}, {"end_time", &to}} {
		if v := q.Get(p.key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return from, to, false
			}
			*p.t = time.Unix(n, 0)
		}
	}
	return from, to, true
}

func (s *Server) messageGetLocked(id string, q url.Values) answer {
	if t := q.Get("user_id_type"); t != "" && t != "open_id" {
		return fail(230001)
	}
	m, found := s.messages[id]
	if !found {
		return fail(230001)
	}
	if _, a, found := s.historyChatLocked(m.ChatID); !found {
		return a
	}
	return ok(map[string]any{"items": []any{s.messageData(m)}})
}

// encodeToken makes an opaque page_token bound to a chat and a sort.
func encodeToken(chatID, sort, cursor string) string {
	return base64.URLEncoding.EncodeToString([]byte(chatID + "\n" + sort + "\n" + cursor))
}

// decodeToken returns the cursor of a page_token made for chatID and sort,
// or "" when it was made for another request.
func decodeToken(tok, chatID, sort string) string {
	b, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		return ""
	}
	parts := strings.SplitN(string(b), "\n", 3)
	if len(parts) != 3 || parts[0] != chatID || parts[1] != sort {
		return ""
	}
	return parts[2]
}

// content is the message's JSON content string.
func (m TextMessage) content() string {
	if m.Content != "" {
		return m.Content
	}
	b, _ := json.Marshal(map[string]string{"text": m.Text})
	return string(b)
}
