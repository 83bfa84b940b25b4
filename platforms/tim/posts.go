package tim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"gavel/moderation"
)

// The moderation.Poster half of the contract: Gavel's own posts (the
// mod-log, confirmation requests) and adding members back (/undo of a
// kick).
//
// TIM has no cards: Post sends p.Text as one TIMTextElem. A text longer
// than one message may carry is refused with ErrPostTooLong, never cut and
// never split: the id Post returns names the whole post, which UpdatePost
// later replaces, and a mod-log entry read in pieces (with other messages
// between them) would be worse than a clear error the pipeline can act on
// (it fits its texts to Limits().Reply, the bound used here too). TIM's
// limits disagree: 12 KB a message (usage limits 1047/34381 and the
// send_group_msg page), 8 KB in the error table (80002); the bound is the
// 8 KB one less the JSON around the text and its escaping.

// ErrPostTooLong is returned by Post and UpdatePost for a text longer than
// one TIM message may carry: refused before any call (over
// Limits().Reply bytes) or by TIM (80002; the APIError is wrapped too). It
// is also a moderation.ErrMalformed.
var ErrPostTooLong = fmt.Errorf("tim: post too long for one message: %w", moderation.ErrMalformed)

// modifyMsgReq is modify_group_msg (openim service): the MsgBody given
// replaces the stored message's; TopicId in a Community with topics.
type modifyMsgReq struct {
	GroupID string     `json:"GroupId"`
	MsgSeq  uint64     `json:"MsgSeq"`
	MsgBody []textElem `json:"MsgBody"`
	TopicID string     `json:"TopicId,omitempty"`
}

type addMemberReq struct {
	GroupID    string          `json:"GroupId"`
	Silence    int             `json:"Silence,omitempty"`
	MemberList []memberAccount `json:"MemberList"`
}

type memberAccount struct {
	MemberAccount string `json:"Member_Account"`
}

type addMemberResp struct {
	MemberList []struct {
		MemberAccount string `json:"Member_Account"`
		Result        int    `json:"Result"`
	} `json:"MemberList"`
}

// add_group_member's per-member Result values (1047/34921; 3 is the
// clients' V2TIM_GROUP_MEMBER_RESULT_PENDING, an invitation the invitee
// must accept).
const (
	addFailed  = 0
	addDone    = 1
	addAlready = 2
	addPending = 3
)

// postText checks a post's text: not empty, valid UTF-8 (JSON would
// replace bad bytes silently), at most Limits().Reply bytes.
func postText(op string, p moderation.Post) (string, error) {
	text := p.Text
	switch {
	case strings.TrimSpace(text) == "":
		return "", fmt.Errorf("tim %s: empty text: %w", op, moderation.ErrMalformed)
	case !utf8.ValidString(text):
		return "", fmt.Errorf("tim %s: text is not valid UTF-8: %w", op, moderation.ErrMalformed)
	case len(text) > replyLimit:
		return "", fmt.Errorf("tim %s: %d bytes, at most %d: %w", op, len(text), replyLimit, ErrPostTooLong)
	}
	return text, nil
}

// Post sends p.Text into chat as the App admin with send_group_msg (a
// fresh Random, kept across retries; in a topic of a Community when
// chat.Thread is set; callbacks suppressed so the post does not come back
// as a webhook) and returns its MsgSeq in decimal, the id Recall and
// UpdatePost take.
func (c *Client) Post(ctx context.Context, chat moderation.ChatRef, p moderation.Post) (string, error) {
	if chat.ID == "" {
		return "", fmt.Errorf("tim post: no chat: %w", moderation.ErrMalformed)
	}
	text, err := postText("post", p)
	if err != nil {
		return "", err
	}
	req := sendMsgReq{
		GroupID:               chat.ID,
		Random:                rand.Uint32(),
		FromAccount:           c.cfg.AdminIdentifier,
		MsgBody:               []textElem{{MsgType: "TIMTextElem", MsgContent: textContent{Text: text}}},
		ForbidCallbackControl: []string{"ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"},
		TopicID:               chat.Thread,
	}
	seq, err := c.sendGroupMsg(ctx, chat, req)
	if err != nil {
		c.logAction(ctx, "post", chat, 0, err)
		return "", tooLong("post", err)
	}
	return strconv.FormatUint(seq, 10), nil
}

// tooLong wraps TIM's own "message too long" (80002) in ErrPostTooLong.
func tooLong(op string, err error) error {
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 80002 {
		return fmt.Errorf("tim %s: %w: %w", op, ErrPostTooLong, err)
	}
	return err
}

// UpdatePost replaces the text of a message Post sent with
// modify_group_msg (admin edit of group history, 1047/47948: MsgBody
// overwritten, TopicId for a topic; live-stream AVChatRoom groups are not
// supported, so there it returns moderation.ErrUnsupported without a
// call and the pipeline posts a follow-up). ref.MessageID is the MsgSeq
// Post returned.
func (c *Client) UpdatePost(ctx context.Context, ref moderation.PostRef, p moderation.Post) error {
	seq, err := strconv.ParseUint(ref.MessageID, 10, 64)
	if err != nil || seq == 0 || !isDecimal(ref.MessageID) {
		return fmt.Errorf("tim update: message id %q is not a MsgSeq: %w", truncate(ref.MessageID, 32), moderation.ErrMalformed)
	}
	if ref.Chat.ID == "" {
		return fmt.Errorf("tim update: no chat: %w", moderation.ErrMalformed)
	}
	text, err := postText("update", p)
	if err != nil {
		return err
	}
	kind := ref.Chat.Kind
	if kind == "" {
		info, err := c.groupInfo(ctx, ref.Chat.ID)
		if err != nil {
			return fmt.Errorf("tim update in %s: %w", ref.Chat.ID, err)
		}
		kind = info.Type
	}
	if kind == typeAVChatRoom {
		return fmt.Errorf("tim update: TIM cannot edit messages of a live-stream (AVChatRoom) group: %w", moderation.ErrUnsupported)
	}
	req := modifyMsgReq{
		GroupID: ref.Chat.ID,
		MsgSeq:  seq,
		MsgBody: []textElem{{MsgType: "TIMTextElem", MsgContent: textContent{Text: text}}},
		TopicID: ref.Chat.Thread,
	}
	if err := c.call(ctx, opModifyMsg, req, nil); err != nil {
		c.logAction(ctx, "update", ref.Chat, 0, err)
		return tooLong("update", err)
	}
	return nil
}

// Add adds users with add_group_member (at most maxAddPerCall a call; Silence 1 when
// opts.Silent, so nobody is notified) and maps each member's Result: 1
// done, 2 already a member (noop), 0 refused (banned, or anything else
// TIM does not name), 3 refused (an invitation the user must accept
// first). Live-stream AVChatRoom groups cannot add members (users join by
// applying; TIM answers 10007): refused with that reason, without a call
// when the group's type is known. In a Community with topics the users
// join the community: topics share its members.
//
// Some of add_group_member's errors fail the whole call without naming
// the account: 10019 (an account does not exist) and 10037 (an invitee
// has joined as many groups as TIM allows). One such account would refuse
// everyone else in the batch, so after such a refusal Add settles the
// batch by halving it (see addSplit): the calls without a bad account add
// their users and only the bad accounts are refused, each with TIM's
// reason. This is the one place an adapter action makes more than one
// platform call per invocation, and only after TIM refused the whole
// first call: at most 2n-1 calls for n users, about 2·log2(n) per bad
// account. Doing it here rather than failing the batch for the pipeline
// to retry keeps the refusal's reason (a permanent one: the pipeline
// would not retry it) and needs no new contract. 10014 (the group is
// full) is not retried: the users not yet settled are refused with it.
func (c *Client) Add(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbAdd, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	const avRefusal = "TIM cannot add members to a live-stream (AVChatRoom) group: users join it by applying"
	kind := kindOf(chat.Kind, c.cachedType(chat.ID))
	if kind == typeAVChatRoom {
		return refuseAll(userIDs, avRefusal)
	}
	// Each account once (a repeat would come back "already a member" and
	// hide that the first was added); an empty id is refused here, as TIM
	// would refuse the whole call for it.
	refused := make(map[string]moderation.Result)
	accounts := make([]string, 0, len(userIDs))
	seen := make(map[string]bool, len(userIDs))
	for _, u := range userIDs {
		switch {
		case seen[u]:
		case strings.TrimSpace(u) == "":
			refused[u] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonInvalidUserID,
				Detail: "not a TIM account"}
		default:
			accounts = append(accounts, u)
		}
		seen[u] = true
	}
	if len(accounts) == 0 {
		return resultsFor(userIDs, refused, nil)
	}
	a := adder{c: c, chat: chat, got: make(map[string]int, len(accounts)), decided: refused}
	if opts.Silent {
		a.silence = 1
	}
	err := a.call(ctx, accounts)
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 10007 && kind == "" {
		// 10007 is what AVChatRoom groups answer, and a permission error
		// elsewhere: the type tells which.
		if info, ierr := c.groupInfo(ctx, chat.ID); ierr == nil && info.Type == typeAVChatRoom {
			return refuseAll(userIDs, avRefusal)
		}
	}
	a.settle(ctx, accounts, err)
	return resultsFor(userIDs, a.decided, a.got)
}

// adder settles one Add: the members TIM answered for (got) and the
// users decided otherwise (decided: refused before a call, or by a call's
// error).
type adder struct {
	c       *Client
	chat    moderation.ChatRef
	silence int
	got     map[string]int
	decided map[string]moderation.Result
	full    error // TIM's 10014 once a call got it: the rest is refused with it
}

// call makes one add_group_member call for accounts and records the
// members' Results.
func (a *adder) call(ctx context.Context, accounts []string) error {
	req := addMemberReq{GroupID: a.chat.ID, Silence: a.silence, MemberList: make([]memberAccount, len(accounts))}
	for i, u := range accounts {
		req.MemberList[i] = memberAccount{MemberAccount: u}
	}
	var resp addMemberResp
	if err := a.c.call(ctx, opAddMember, req, &resp); err != nil {
		return err
	}
	for _, m := range resp.MemberList {
		a.got[m.MemberAccount] = m.Result
	}
	return nil
}

// settle decides accounts after a call for them answered err: nothing
// to do on success; a whole-call refusal naming no account (10019, 10037)
// of several accounts splits them (addSplit); any other error fails or
// refuses them all.
func (a *adder) settle(ctx context.Context, accounts []string, err error) {
	if err == nil {
		return
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 10014 {
		a.full = err
	}
	if len(accounts) > 1 && addSplit(err) {
		mid := len(accounts) / 2
		for _, half := range [][]string{accounts[:mid], accounts[mid:]} {
			if a.full != nil {
				a.fail(half, a.full)
				continue
			}
			a.settle(ctx, half, a.call(ctx, half))
		}
		return
	}
	a.c.logAction(ctx, "add", a.chat, len(accounts), err)
	a.fail(accounts, err)
}

func (a *adder) fail(accounts []string, err error) {
	for _, r := range moderation.FailAll(accounts, err) {
		a.decided[r.UserID] = r
	}
}

// addSplit reports whether err is an add_group_member refusal of the
// whole call caused by one account it does not name: 10019 (no such
// account) or 10037 (the invitee joined too many groups).
func addSplit(err error) bool {
	var apiErr *moderation.APIError
	return errors.As(err, &apiErr) && (apiErr.Code == 10019 || apiErr.Code == 10037)
}

// resultsFor returns one result per user in order: the one decided
// before the call, else the user's add_group_member Result.
func resultsFor(userIDs []string, decided map[string]moderation.Result, got map[string]int) []moderation.Result {
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		if r, ok := decided[u]; ok {
			out[i] = r
			continue
		}
		out[i] = addResult(u, got)
	}
	return out
}

// addResult maps one member's add_group_member Result.
func addResult(u string, got map[string]int) moderation.Result {
	r := moderation.Result{UserID: u}
	code, ok := got[u]
	switch {
	case !ok:
		r.Status, r.Reason, r.Detail = moderation.StatusFailed, moderation.ReasonNoResult, "TIM's answer did not mention this user"
	case code == addDone:
		r.Status = moderation.StatusDone
	case code == addAlready:
		r.Status, r.Detail = moderation.StatusNoop, "already a member"
	case code == addPending:
		r.Status, r.Reason = moderation.StatusRefused, moderation.PlatformReason(Name, "add_pending")
		r.Detail = "TIM sent an invitation the user must accept before joining"
	case code == addFailed:
		r.Status, r.Reason = moderation.StatusRefused, moderation.PlatformReason(Name, "add_failed")
		r.Detail = "TIM did not add this user (banned from the group, or a reason TIM did not give)"
	default:
		r.Status, r.Reason = moderation.StatusFailed, moderation.PlatformReason(Name, "add_result_"+strconv.Itoa(code))
		r.Detail = "TIM answered an add result Gavel does not know"
	}
	return r
}
