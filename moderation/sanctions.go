package moderation

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrBotSender is MessageSender's answer (wrapped) for a message a bot
// sent: a bot is no member, so a command replying to it has no target.
var ErrBotSender = errors.New("the message was sent by a bot")

// The verbs of bans, locks and purges (issue #16).
const (
	// VerbBan removes users and keeps them from rejoining, for a
	// duration or until /unban.
	VerbBan   Verb = "ban"
	VerbUnban Verb = "unban"
	// VerbLock lets only the owner, the admins and policy.admins speak in
	// a chat, for a duration or until /unlock.
	VerbLock   Verb = "lock"
	VerbUnlock Verb = "unlock"
	// VerbPurge recalls the chat's (or one user's) recent messages.
	VerbPurge Verb = "purge"
)

// Forever is a sanction with no end: a mute or ban until it is lifted.
const Forever time.Duration = -1

// MessageRef is one message Gavel saw (or the platform listed): enough to
// recall it and to tell who sent it, never its text.
type MessageRef struct {
	// ID is what Recall takes: Feishu message_id, TIM MsgSeq (decimal),
	// Easemob msg_id.
	ID       string    `json:"id"`
	SenderID string    `json:"sender_id,omitempty"`
	SentAt   time.Time `json:"sent_at"`
}

// Sanction is a ban or a lock Gavel keeps: it enforces an emulated one
// (a banned user who rejoins is removed again; a TIM join request of a
// banned user is refused) and lifts a timed one at Until through a
// durable job (Unban, Unlock), exactly once across replicas.
type Sanction struct {
	// Verb is VerbBan or VerbLock.
	Verb Verb    `json:"verb"`
	Chat ChatRef `json:"chat"`
	// UserID is the banned user; empty for a lock.
	UserID string `json:"user_id,omitempty"`
	// Until is when it ends; zero means until /unban or /unlock.
	Until time.Time `json:"until"`
	// CaseID is the case that imposed it.
	CaseID int64 `json:"case_id,omitempty"`
}

// Active reports whether s still holds at now.
func (s Sanction) Active(now time.Time) bool { return s.Until.IsZero() || now.Before(s.Until) }

// Sanctioner is the part of the Platform contract that bans, locks and
// purges. Every method makes one platform call per invocation (the
// pipeline batches to Limits().Batch) and reports refusals in its
// Results, never by panicking or dropping a target.
type Sanctioner interface {
	// Ban removes users from chat and blocks their rejoining for d
	// (positive, or Forever). A platform whose ban has no duration of its
	// own bans until Unban: the pipeline lifts a timed ban at its end.
	// Where the platform has no ban at all (Feishu; a TIM edition without
	// the ban API) the adapter removes the users and the Result says the
	// ban is emulated (Detail): the pipeline's sanction record then keeps
	// them out.
	Ban(ctx context.Context, chat ChatRef, userIDs []string, d time.Duration, opts ActionOptions) []Result
	// Unban lets users rejoin; a user who is not banned is StatusNoop.
	Unban(ctx context.Context, chat ChatRef, userIDs []string, opts ActionOptions) []Result
	// Lock lets only the owner, the admins and speakers speak in chat
	// (all-member mute). speakers are Gavel's own admins (policy.admins)
	// who are members but not the chat's admins; a platform that cannot
	// exempt them says so in the Result's Detail. The Result's UserID is
	// empty; a refusal names the platform's reason (Feishu 232017: the bot
	// is not the chat's owner).
	Lock(ctx context.Context, chat ChatRef, speakers []string, opts ActionOptions) Result
	// Unlock ends a lock.
	Unlock(ctx context.Context, chat ChatRef, opts ActionOptions) Result
	// RecallMessages recalls messages of chat, at most
	// Limits().Batch[VerbPurge] per invocation, one platform call (TIM
	// group_msg_recall takes 10 MsgSeq; Feishu and Easemob one message).
	// It returns one Result per message in order, whose UserID holds the
	// message's ID; a message already gone is StatusNoop.
	RecallMessages(ctx context.Context, chat ChatRef, msgs []MessageRef, opts ActionOptions) []Result
	// RecentMessages lists up to n of chat's latest messages, newest
	// first, from the platform's own history when it has one Gavel may
	// read (Feishu GET /im/v1/messages); ErrUnsupported otherwise, and the
	// pipeline uses the messages it saw in callbacks.
	RecentMessages(ctx context.Context, chat ChatRef, n int) ([]MessageRef, error)
	// MessageSender returns who sent a message, for a command replying to
	// a message whose sender the event did not carry (Feishu parent_id);
	// ErrBotSender (wrapped) for a bot's message; ErrUnsupported where the
	// platform cannot tell.
	MessageSender(ctx context.Context, chat ChatRef, messageID string) (string, error)
}

// JoinGate answers, from memory, whether a user may join a chat: false
// for a user under an active ban there. It does no I/O: the platform is
// waiting. Adapters whose platform asks before letting a user in (TIM
// Group.CallbackBeforeApplyJoinGroup / BeforeInviteJoinGroup) take one in
// their Options; the pipeline's sanction index implements it.
type JoinGate interface {
	MayJoin(chat ChatRef, userID string) bool
}

// SanctionStore keeps bans and locks (Store embeds it).
type SanctionStore interface {
	// PutSanction records s, replacing the same user's (or the chat's
	// lock's) earlier one of the same verb.
	PutSanction(ctx context.Context, s Sanction) error
	// DeleteSanction ends the sanction of verb for user (empty: the lock)
	// in chat; deleting none is not an error.
	DeleteSanction(ctx context.Context, verb Verb, chat ChatRef, userID string) error
	// ActiveSanction returns the sanction of verb for user (empty: the
	// lock) in chat if it has not ended at now.
	ActiveSanction(ctx context.Context, verb Verb, chat ChatRef, userID string, now time.Time) (Sanction, bool, error)
	// ActiveSanctions returns every sanction (of every chat) not ended at
	// now, for the in-memory index the webhook path reads.
	ActiveSanctions(ctx context.Context, now time.Time) ([]Sanction, error)
	// ExpiredSanctions returns up to limit sanctions whose Until is set
	// and not after now, oldest first.
	ExpiredSanctions(ctx context.Context, now time.Time, limit int) ([]Sanction, error)
}

// EventTimer is Gavel's own event: a sanction's end or a scheduled lock
// coming due. The maintenance loop makes it on every replica with the
// same dedup key (TimerKey), so the durable queue runs it once.
const EventTimer EventKind = "timer"

// Timer is what came due.
type Timer struct {
	// Verb is what to do: VerbUnban or VerbUnlock at a sanction's end,
	// VerbLock or VerbUnlock for a scheduled lock.
	Verb   Verb    `json:"verb"`
	Chat   ChatRef `json:"chat"`
	UserID string  `json:"user_id,omitempty"`
	// Due is when it came due: the sanction's Until, or the scheduled
	// time. A sanction whose Until is no longer Due (it was replaced or
	// lifted since) is left alone.
	Due time.Time `json:"due"`
	// Until, for a scheduled lock, is when it ends.
	Until time.Time `json:"until,omitempty"`
	// Rule names the schedule ("schedule") or is empty at an expiry.
	Rule string `json:"rule,omitempty"`
	// CaseID is the case the timer ends: the held command a
	// confirmation timer (VerbCancel) expires; zero otherwise.
	CaseID int64 `json:"case_id,omitempty"`
}

// TimerKey is the timer's dedup key: the same on every replica.
func (t Timer) TimerKey() string {
	k := "timer:" + string(t.Verb) + ":" + t.Chat.String() + ":" + t.UserID + ":" + t.Due.UTC().Format(time.RFC3339Nano)
	if t.CaseID != 0 {
		k += ":case:" + strconv.FormatInt(t.CaseID, 10)
	}
	return k
}

// TimerEvent wraps t as an Event.
func TimerEvent(t Timer) Event {
	k := t.TimerKey()
	return Event{Kind: EventTimer, Platform: t.Chat.Platform, DeliveryID: k, DedupKeys: []string{k}, Timer: &t}
}
