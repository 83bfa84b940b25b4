package moderation

// Gate screens a message before the platform delivers it (TIM
// Group.CallbackBeforeSendMsg, Easemob's pre-send callback). It decides
// locally and fast — no I/O — because the platform is waiting for the
// answer (TIM 2 s, Easemob 200 ms by default).
type Gate interface {
	// Screen reports whether a rule matched the message. A matching rule
	// in dry-run reports DryRun: the message is delivered, the hit only
	// recorded.
	Screen(chat ChatRef, senderID, text string) (Screening, bool)
}

// Screening is what a Gate found in a message.
type Screening struct {
	Rule   string `json:"rule"`
	Match  string `json:"match"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// EventScreened reports a message a Gate matched before delivery: blocked
// (or, in dry-run, let through). Event.Message and Event.Screening are set;
// Gavel records a case for it and acts on nothing else.
const EventScreened EventKind = "screened"
