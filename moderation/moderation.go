// Package moderation is Gavel's domain: the events that arrive from chat
// platforms, the commands admins type, the decisions policy takes, the
// per-user results platforms report, and the Platform interface every chat
// platform adapter implements.
//
// It imports no other Gavel package; commands/, policy/, platforms/*,
// handlers/ and pipeline/ import it.
package moderation

import (
	"context"
	"time"
)

// ChatRef names one chat on one platform.
type ChatRef struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	// Kind is the platform's own word for the chat's type when the inbound
	// event carries it ("Public", "AVChatRoom" on TIM; "chatroom" or
	// "group" on Easemob; "group" on Feishu). Empty when unknown; the
	// adapter resolves it when it matters.
	Kind string `json:"kind,omitempty"`
	// Thread is the sub-channel inside the chat the event came from, when
	// the platform has one (TIM topic communities: TopicId). Replies and
	// recalls go back to it; empty otherwise.
	Thread string `json:"thread,omitempty"`
}

// String returns "platform:id".
func (c ChatRef) String() string { return c.Platform + ":" + c.ID }

// Mention is one @-mention as it appears in a message's text.
type Mention struct {
	// Token is the mention exactly as it stands in Text, '@' included:
	// "@_user_2" on Feishu, "@Alice" on Easemob, the name card or nickname
	// on TIM ("@John Smith": it may hold spaces). Empty when the adapter
	// could not learn it; commands then refuses the command
	// (commands.ErrUnresolvedMention) rather than guess.
	Token string `json:"token"`
	// UserID is the platform user id the mention resolves to; empty for a
	// mention of everyone (TIM @all), which is never a target.
	UserID string `json:"user_id"`
	// Name is the display name when the platform gives one.
	Name string `json:"name,omitempty"`
}

// Message is a chat message normalised from any platform.
type Message struct {
	Chat      ChatRef `json:"chat"`
	MessageID string  `json:"message_id"`
	SenderID  string  `json:"sender_id"`
	// Text is the plain text of the message. Mention tokens stay in place.
	Text string `json:"text"`
	// Mentions are the message's @-mentions in text order.
	Mentions []Mention `json:"mentions,omitempty"`
	SentAt   time.Time `json:"sent_at"`
	// ReplyTo is the message this one replies to, when the platform says
	// (Feishu parent_id; TIM and Easemob where the client puts a reference
	// in the message). Its SenderID may be empty: the pipeline then asks
	// the platform (Sanctioner.MessageSender) before parsing a command.
	ReplyTo *MessageRef `json:"reply_to,omitempty"`
}

// Join reports users who joined a chat.
type Join struct {
	Chat     ChatRef   `json:"chat"`
	UserIDs  []string  `json:"user_ids"`
	Operator string    `json:"operator,omitempty"`
	At       time.Time `json:"at"`
}

// EventKind tells which field of an Event is set.
type EventKind string

const (
	EventMessage EventKind = "message"
	EventJoin    EventKind = "join"
	// EventRolesChanged reports that who owns or runs a chat changed
	// (admins added or removed, ownership transferred, members left): the
	// pipeline drops the roles it cached for the chat, so the next command
	// is decided on the platform's current answer, not on the cache's.
	EventRolesChanged EventKind = "roles_changed"
)

// RolesChange names a chat whose roles changed and, when the platform
// said, the users whose role changed; no users means every user's.
type RolesChange struct {
	Chat    ChatRef  `json:"chat"`
	UserIDs []string `json:"user_ids,omitempty"`
}

// Event is one thing that happened on a platform and that Gavel may act on.
type Event struct {
	Kind     EventKind `json:"kind"`
	Platform string    `json:"platform"`
	// DeliveryID identifies the delivery (Feishu event_id, TIM group+MsgSeq,
	// Easemob msg_id). It is the first of DedupKeys.
	DeliveryID string `json:"delivery_id"`
	// DedupKeys are every key under which a re-delivery of this event could
	// arrive; an event any of whose keys was seen before is a duplicate.
	DedupKeys []string `json:"dedup_keys"`
	Message   *Message `json:"message,omitempty"`
	Join      *Join    `json:"join,omitempty"`
	// RolesChanged is set for EventRolesChanged.
	RolesChanged *RolesChange `json:"roles_changed,omitempty"`
	// Screening is set for EventScreened.
	Screening *Screening `json:"screening,omitempty"`
	// Timer is set for EventTimer.
	Timer *Timer `json:"timer,omitempty"`
	// Action is set for EventAction.
	Action *Action `json:"action,omitempty"`
	// Hits are the auto-moderation rules this event matched, decided on
	// the webhook's path and carried into the job.
	Hits []RuleHit `json:"hits,omitempty"`
	// Late marks a genuine, correctly signed delivery that arrived after
	// the replay window (a platform's re-push of an earlier failure). It is
	// still acted on when it can lead to an action, but rate-based rules
	// (flood) do not count it: they count by when messages were sent.
	Late bool `json:"late,omitempty"`
}

// RuleHit is one auto-moderation rule matching an event.
type RuleHit struct {
	Rule string `json:"rule"`
	// Verb is what the rule does: VerbWarn, VerbDelete, VerbKick or
	// VerbMute. Its JSON key is "action", as queued jobs carry it.
	Verb     Verb          `json:"action"`
	Duration time.Duration `json:"duration,omitempty"`
	DryRun   bool          `json:"dry_run,omitempty"`
	// Users are the users to act on: the sender, or a raid's joiners.
	Users     []string `json:"users"`
	MessageID string   `json:"message_id,omitempty"`
	// Match says what matched, truncated: "word \"spam\"", "12 messages in 10s".
	Match string `json:"match"`
}

// Verb is a moderation action a command asks for.
type Verb string

const (
	VerbKick   Verb = "kick"
	VerbMute   Verb = "mute"
	VerbUnmute Verb = "unmute"
	VerbHelp   Verb = "help"
	// VerbCase shows an audit case: /case N.
	VerbCase Verb = "case"
	// VerbWarn adds a warning; VerbUnwarn removes the newest; VerbWarnings
	// lists them.
	VerbWarn     Verb = "warn"
	VerbUnwarn   Verb = "unwarn"
	VerbWarnings Verb = "warnings"
	// VerbDelete recalls a message (auto-moderation).
	VerbDelete Verb = "delete"
	// VerbBlock is a message stopped before delivery (pre-send hooks).
	VerbBlock Verb = "block"
)

// Command is a parsed moderation command.
type Command struct {
	Verb    Verb     `json:"verb"`
	Targets []string `json:"targets"`
	// Duration is how long a mute lasts; zero when the command gave none.
	Duration time.Duration `json:"duration,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	// Silent asks the platform not to notify the chat (TIM Silence).
	Silent bool `json:"silent,omitempty"`
	// CaseID is the case /case asks for.
	CaseID int64 `json:"case_id,omitempty"`
	// Count is how many messages /purge recalls (at most the configured
	// maximum); for /kick -p and /ban -p, how many of the target's.
	Count int `json:"count,omitempty"`
	// Purge asks /kick and /ban to recall the targets' recent messages
	// too (-p).
	Purge bool `json:"purge,omitempty"`
}

// Role is a user's standing in a chat.
type Role string

const (
	RoleUnknown   Role = ""
	RoleOwner     Role = "owner"
	RoleAdmin     Role = "admin" // Feishu "manager", TIM "Admin", Easemob "admin"
	RoleMember    Role = "member"
	RoleNotMember Role = "not_member"
)

// Support says how a platform carries out an action in a chat.
type Support string

const (
	Unsupported Support = "unsupported"
	Native      Support = "native"
	// Emulated means Gavel carries the action out itself (Feishu mute:
	// Gavel records the mute and recalls every message the user sends).
	Emulated Support = "emulated"
)

// MuteForever asks for a mute with no end: Easemob -1, TIM its maximum
// MuteTime, Feishu an emulated mute until /unmute.
const MuteForever = Forever

// Capabilities says, per verb, how a platform supports it in one chat.
type Capabilities map[Verb]Support

// Status is the outcome of an action for one target.
type Status string

const (
	// StatusDone: the platform carried the action out.
	StatusDone Status = "done"
	// StatusNoop: nothing to do (not a member, not muted); counts as success.
	StatusNoop Status = "noop"
	// StatusRefused: policy or the platform refused this target for good.
	StatusRefused Status = "refused"
	// StatusFailed: the call failed after retries.
	StatusFailed Status = "failed"
	// StatusSkipped: dry run; nothing was called.
	StatusSkipped Status = "skipped"
)

// Succeeded reports whether s leaves the target in the requested state.
func (s Status) Succeeded() bool { return s == StatusDone || s == StatusNoop }

// Result is what happened to one target.
type Result struct {
	UserID string `json:"user_id"`
	Status Status `json:"status"`
	// Reason is a stable machine code (ReasonNotMember,
	// ReasonTargetOwner, "feishu:232076", …).
	Reason Reason `json:"reason,omitempty"`
	// Detail is a human-readable explanation, already free of secrets.
	Detail string `json:"detail,omitempty"`
}

// ActionOptions carry what a command adds to a platform call.
type ActionOptions struct {
	// ActionID is stable across retries of the same action; adapters that
	// can pass an idempotency key to the platform use it.
	ActionID string
	Reason   string
	Silent   bool
}

// Platform is everything Gavel needs from a chat platform adapter; the
// compile-time guard `var _ moderation.Platform = (*Client)(nil)` checks the
// whole contract. Every action method returns exactly one Result per
// requested user, in request order. The pipeline batches: it hands an
// action method at most Limits().Batch[verb] users, and the adapter makes
// one platform call per invocation (paced to the rate limit, transient
// errors retried).
type Platform interface {
	// Receiver: Name, Receive and the named extra Hooks.
	Receiver
	// Sanctioner: Ban, Unban, Lock, Unlock, RecallMessages,
	// RecentMessages, MessageSender.
	Sanctioner
	// Poster: Post, UpdatePost (the mod-log, confirmations, challenges)
	// and Add (how /undo reverses a kick).
	Poster
	// BotID is the user id the bot acts and replies as, in canonical form.
	BotID(ctx context.Context) (string, error)
	// CanonicalUserID returns the one form of a user id Gavel compares,
	// stores and caches on this platform (Easemob: lower case, its ids
	// being case-insensitive; Feishu and TIM: the id unchanged). Every id
	// an adapter puts in an event is canonical already; ids from commands
	// and config are canonicalised with it.
	CanonicalUserID(id string) string
	// Capabilities says how each verb is supported in chat.
	Capabilities(ctx context.Context, chat ChatRef) (Capabilities, error)
	// Roles returns the role of each user in chat. Users the platform does
	// not know are RoleNotMember.
	Roles(ctx context.Context, chat ChatRef, userIDs []string) (map[string]Role, error)
	Remove(ctx context.Context, chat ChatRef, userIDs []string, opts ActionOptions) []Result
	// Mute silences users for d. d is positive, or MuteForever (the
	// pipeline applies the configured default when a command gives none).
	// For an Emulated mute the adapter checks the bot may recall messages
	// and reports StatusRefused if not.
	Mute(ctx context.Context, chat ChatRef, userIDs []string, d time.Duration, opts ActionOptions) []Result
	Unmute(ctx context.Context, chat ChatRef, userIDs []string, opts ActionOptions) []Result
	// Recall deletes one message from the chat.
	Recall(ctx context.Context, chat ChatRef, messageID string) error
	// Reply posts text into the chat of msg, as a reply to it where the
	// platform supports replies.
	Reply(ctx context.Context, msg *Message, text string) error
	// Limits are the platform's per-call limits (batch sizes per verb,
	// role batch, reply size) and mute settings.
	Limits() Limits
}
