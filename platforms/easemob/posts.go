package easemob

import (
	"context"
	"fmt"

	"gavel/moderation"
)

// The moderation.Poster half of the contract. Transitional (#17): the
// calls are being written from the platform's documents.

// Post posts p into chat.
func (c *Client) Post(ctx context.Context, chat moderation.ChatRef, p moderation.Post) (string, error) {
	return "", fmt.Errorf("easemob post: %w", moderation.ErrUnsupported)
}

// UpdatePost replaces a posted message's content.
func (c *Client) UpdatePost(ctx context.Context, ref moderation.PostRef, p moderation.Post) error {
	return fmt.Errorf("easemob update: %w", moderation.ErrUnsupported)
}

// Add adds users to chat.
func (c *Client) Add(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	return moderation.FailAll(userIDs, fmt.Errorf("easemob add: %w", moderation.ErrUnsupported))
}
