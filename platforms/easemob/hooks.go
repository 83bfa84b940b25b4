package easemob

import "gavel/moderation"

// HookPreSend names the pre-send rule's webhook: POST
// /webhook/easemob/presend (ReceivePreSend).
const HookPreSend = "presend"

// Hooks implements moderation.Receiver: Easemob's pre-send rule posts to a
// URL of its own.
func (c *Client) Hooks() []moderation.Hook {
	return []moderation.Hook{{Name: HookPreSend, Receive: c.ReceivePreSend}}
}
