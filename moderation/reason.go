package moderation

import "strings"

// Reason is a stable machine code saying why a Decision or a Result is
// what it is. Gavel's own codes are the constants below; a platform's own
// error codes are platform-scoped ("feishu:232076", "easemob:mute_refused"),
// built by PlatformReason or APIError.Reason. The strings are stored (job
// results, cases) and must never change.
type Reason string

// Codes policy decides (per command, then per target).
const (
	ReasonOK               Reason = "ok"
	ReasonChatDisabled     Reason = "chat_disabled"
	ReasonActorRateLimited Reason = "actor_rate_limited"
	ReasonActorNotAdmin    Reason = "actor_not_admin"
	ReasonTooManyTargets   Reason = "too_many_targets"
	ReasonTargetOwner      Reason = "target_owner"
	ReasonTargetBot        Reason = "target_bot"
	ReasonTargetSelf       Reason = "target_self"
	ReasonTargetProtected  Reason = "target_protected"
	ReasonTargetAdmin      Reason = "target_admin"
)

// Codes adapters and the pipeline give a target's Result.
const (
	// ReasonNotMember: the target is not in the chat (a no-op for kick and
	// unmute, a refusal for mute).
	ReasonNotMember Reason = "not_member"
	// ReasonNotMuted: unmute of a user who is not muted.
	ReasonNotMuted Reason = "not_muted"
	// ReasonInvalidUserID: the id cannot name a user on the platform.
	ReasonInvalidUserID Reason = "invalid_user_id"
	// ReasonInvalidDuration: a mute length the platform cannot take.
	ReasonInvalidDuration Reason = "invalid_duration"
	// ReasonUnsupported: the verb is not supported in this chat; Detail
	// says so in a sentence.
	ReasonUnsupported Reason = "unsupported"
	// ReasonGaveUp: the platform never answered usefully; Detail keeps the
	// transport error for the case.
	ReasonGaveUp Reason = "gave_up"
	// ReasonError: a failure FailAll could not classify.
	ReasonError Reason = "error"
	// ReasonNoResult: the adapter reported nothing for this user.
	ReasonNoResult Reason = "no_result"
	// ReasonStore: the store failed recording the action (mute records).
	ReasonStore Reason = "store"
	// ReasonRolesUnavailable: the targets' roles could not be learnt.
	ReasonRolesUnavailable Reason = "roles_unavailable"
	// ReasonRecallFailed: recalling the message failed.
	ReasonRecallFailed Reason = "recall_failed"
	// ReasonDryRun: nothing was called (dry run).
	ReasonDryRun Reason = "dry_run"
	// ReasonBeforeDelivery: a pre-send hook stopped the message.
	ReasonBeforeDelivery Reason = "before_delivery"
	// ReasonNewcomer: a report by a user who joined recently, recorded
	// but not counted towards a report threshold.
	ReasonNewcomer Reason = "newcomer"
)

// Reasons returns every Reason constant of this package (those above and
// ReasonBatchTooLarge). A test checks it against the declarations, and the
// pipeline's tests check each has a reply text in every language.
func Reasons() []Reason {
	return []Reason{
		ReasonOK, ReasonChatDisabled, ReasonActorRateLimited, ReasonActorNotAdmin, ReasonTooManyTargets,
		ReasonTargetOwner, ReasonTargetBot, ReasonTargetSelf, ReasonTargetProtected, ReasonTargetAdmin,
		ReasonNotMember, ReasonNotMuted, ReasonInvalidUserID, ReasonInvalidDuration, ReasonUnsupported,
		ReasonGaveUp, ReasonError, ReasonNoResult, ReasonStore, ReasonRolesUnavailable,
		ReasonRecallFailed, ReasonDryRun, ReasonBeforeDelivery, ReasonNewcomer, ReasonBatchTooLarge,
	}
}

// PlatformReason is a platform's own code: "platform:code".
func PlatformReason(platform, code string) Reason { return Reason(platform + ":" + code) }

// Platform splits a platform-scoped reason into the platform and its code;
// ok is false for Gavel's own codes.
func (r Reason) Platform() (platform, code string, ok bool) {
	platform, code, ok = strings.Cut(string(r), ":")
	if !ok {
		return "", "", false
	}
	return platform, code, true
}
