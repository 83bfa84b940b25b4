package tim

import (
	"context"
	"time"

	"gavel/moderation"
)

// Placeholder until issue #16 lands here: every sanction verb is
// refused as unsupported, so nothing is silently dropped.

func (c *Client) Ban(ctx context.Context, chat moderation.ChatRef, users []string, d time.Duration, opts moderation.ActionOptions) []moderation.Result {
	return moderation.UnsupportedResults(users, "ban is not implemented on "+Name+" yet")
}

func (c *Client) Unban(ctx context.Context, chat moderation.ChatRef, users []string, opts moderation.ActionOptions) []moderation.Result {
	return moderation.UnsupportedResults(users, "unban is not implemented on "+Name+" yet")
}

func (c *Client) Lock(ctx context.Context, chat moderation.ChatRef, opts moderation.ActionOptions) moderation.Result {
	return moderation.UnsupportedResults([]string{""}, "lock is not implemented on "+Name+" yet")[0]
}

func (c *Client) Unlock(ctx context.Context, chat moderation.ChatRef, opts moderation.ActionOptions) moderation.Result {
	return moderation.UnsupportedResults([]string{""}, "unlock is not implemented on "+Name+" yet")[0]
}

func (c *Client) RecallMessages(ctx context.Context, chat moderation.ChatRef, msgs []moderation.MessageRef, opts moderation.ActionOptions) []moderation.Result {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return moderation.UnsupportedResults(ids, "purge is not implemented on "+Name+" yet")
}

func (c *Client) RecentMessages(ctx context.Context, chat moderation.ChatRef, n int) ([]moderation.MessageRef, error) {
	return nil, moderation.ErrUnsupported
}

func (c *Client) MessageSender(ctx context.Context, chat moderation.ChatRef, messageID string) (string, error) {
	return "", moderation.ErrUnsupported
}
