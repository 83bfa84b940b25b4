package pipeline

import (
	"context"
	"fmt"

	"gavel/moderation"
)

// The recorder's moderation.Poster half: posts are recorded as
// "post <chat>" and numbered "post-N"; updates as "update <id>"; a failed
// post as "post-failed <chat>".

func (r *recorder) Post(_ context.Context, chat moderation.ChatRef, p moderation.Post) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.postErr != nil {
		r.calls = append(r.calls, "post-failed "+chat.ID)
		return "", r.postErr
	}
	if r.failPermanent {
		r.calls = append(r.calls, "post-failed "+chat.ID)
		return "", &moderation.APIError{Kind: moderation.Permanent, Message: "fake: no"}
	}
	if r.failPosts > 0 {
		r.failPosts--
		r.calls = append(r.calls, "post-failed "+chat.ID)
		return "", &moderation.APIError{Kind: moderation.Transient, Message: "fake: busy"}
	}
	r.posts = append(r.posts, p)
	r.calls = append(r.calls, "post "+chat.ID)
	return fmt.Sprintf("post-%d", len(r.posts)), nil
}

func (r *recorder) UpdatePost(_ context.Context, ref moderation.PostRef, p moderation.Post) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.noUpdate {
		return fmt.Errorf("fake: %w", moderation.ErrUnsupported)
	}
	r.updates = append(r.updates, p)
	r.calls = append(r.calls, "update "+ref.MessageID)
	return nil
}

func (r *recorder) Add(_ context.Context, _ moderation.ChatRef, u []string, _ moderation.ActionOptions) []moderation.Result {
	return r.act("add", u, "")
}
