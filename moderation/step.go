package moderation

import "fmt"

// StepKey names one step of a job whose per-target results the store
// records (Store.RecordResults, Store.Results), so that a job re-run after
// a crash skips what is settled. It is not a Verb: one job may carry out a
// verb in several steps (a rule's action, then the warning ladder's), and
// replies are steps too. The strings are stored: a job half-done by an
// earlier version resumes under the same keys, so they never change.
type StepKey string

// ActionStep is a command's action: the verb ("kick").
func ActionStep(v Verb) StepKey { return StepKey(v) }

// RuleStep is an auto-moderation rule's action: "rule:verb" ("flood:mute").
func RuleStep(rule string, v Verb) StepKey { return StepKey(rule + ":" + string(v)) }

// LadderStep is the warning ladder's escalation: "ladder:verb".
func LadderStep(v Verb) StepKey { return StepKey("ladder:" + string(v)) }

// ReplyStep is the job's n-th reply, from 1: "reply#n".
func ReplyStep(n int) StepKey { return StepKey(fmt.Sprintf("reply#%d", n)) }

// PurgePlanStep records which messages a purge chose (of sender; empty:
// anyone's), before any is recalled, so that a re-run recalls the same
// ones and not older ones: "purge-plan:sender".
func PurgePlanStep(sender string) StepKey { return StepKey("purge-plan:" + sender) }
