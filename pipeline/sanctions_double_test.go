package pipeline

import (
	"context"
	"slices"
	"strings"
	"time"

	"gavel/moderation"
)

// The recorder's half of moderation.Sanctioner: calls are recorded like
// the other verbs.

func (r *recorder) Ban(_ context.Context, _ moderation.ChatRef, u []string, d time.Duration, _ moderation.ActionOptions) []moderation.Result {
	return r.act("ban", u, " d="+d.String())
}
func (r *recorder) Unban(_ context.Context, _ moderation.ChatRef, u []string, _ moderation.ActionOptions) []moderation.Result {
	return r.act("unban", u, "")
}
func (r *recorder) Lock(_ context.Context, _ moderation.ChatRef, speakers []string, _ moderation.ActionOptions) moderation.Result {
	extra := ""
	if len(speakers) > 0 {
		extra = "speakers=" + strings.Join(speakers, ",")
	}
	return r.act("lock", []string{""}, extra)[0]
}
func (r *recorder) Unlock(_ context.Context, _ moderation.ChatRef, _ moderation.ActionOptions) moderation.Result {
	return r.act("unlock", []string{""}, "")[0]
}
func (r *recorder) RecallMessages(_ context.Context, _ moderation.ChatRef, msgs []moderation.MessageRef, _ moderation.ActionOptions) []moderation.Result {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return r.act("recall", ids, "")
}
func (r *recorder) RecentMessages(_ context.Context, _ moderation.ChatRef, n int) ([]moderation.MessageRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.history == nil {
		return nil, moderation.ErrUnsupported
	}
	return slices.Clone(r.history[:min(n, len(r.history))]), nil
}
func (r *recorder) MessageSender(_ context.Context, _ moderation.ChatRef, id string) (string, error) {
	if r.sender == nil {
		return "", moderation.ErrUnsupported
	}
	return r.sender(id)
}
