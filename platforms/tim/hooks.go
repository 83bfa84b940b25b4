package tim

import "gavel/moderation"

// Hooks implements moderation.Receiver: every delivery comes to the one
// webhook, Receive.
func (c *Client) Hooks() []moderation.Hook { return nil }
