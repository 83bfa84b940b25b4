package easemob

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"

	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/pathseg"
)

// userList is the path segment for a batch: each ID escaped by pathseg,
// joined by an escaped comma ("%2C"), as the chat-room pages prescribe.
func userList(op string, users []string) (string, error) {
	l, err := pathseg.List("%2C", users)
	if err != nil {
		return "", badPath(op, "user", err)
	}
	return l, nil
}

// badUserResult is the result of a target whose id can never name a user
// in a request path ("", ".", ".."): refused before any call.
func badUserResult(u string) moderation.Result {
	return moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonInvalidUserID, Detail: "Not a valid Easemob user ID."}
}

// memberResult is one entry of a batch answer's data.
type memberResult struct {
	Result bool   `json:"result"`
	User   string `json:"user"`
	Reason string `json:"reason"`
	Expire int64  `json:"expire"`
}

// decodeResults accepts data as an array (batch) or an object (single).
func decodeResults(raw json.RawMessage) ([]memberResult, error) {
	t := strings.TrimSpace(string(raw))
	if strings.HasPrefix(t, "{") {
		var one memberResult
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, err
		}
		return []memberResult{one}, nil
	}
	var many []memberResult
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// notMembersRE extracts the names from "users [a, b] are not members of
// this group!".
var notMembersRE = regexp.MustCompile(`users \[([^\]]*)\] are not members`)

func notMembers(err error) map[string]bool {
	m := notMembersRE.FindStringSubmatch(errDescription(err))
	if m == nil {
		return nil
	}
	out := map[string]bool{}
	for _, u := range strings.Split(m[1], ",") {
		if u = strings.TrimSpace(u); u != "" {
			out[strings.ToLower(u)] = true
		}
	}
	return out
}

// batchFunc performs one call for users and returns data[] of the answer.
type batchFunc func(ctx context.Context, users []string) ([]memberResult, error)

// interpret maps one per-user entry to a Result.
type interpretFunc func(r memberResult) moderation.Result

// runBatches calls fn for users, at most size of them (the callers refuse
// more: the pipeline batches), and returns one Result per user in request
// order. A batch refused because some users are not members is retried
// once without them.
func (c *Client) runBatches(ctx context.Context, action string, chat moderation.ChatRef, users []string, size int, fn batchFunc, interp interpretFunc, notMember moderation.Result) []moderation.Result {
	results := make(map[string]moderation.Result, len(users))
	// An id that can never be a path segment is refused before any call;
	// the rest of the batch goes on.
	valid := make([]string, 0, len(users))
	for _, u := range users {
		if pathseg.Check(u) != nil {
			results[u] = badUserResult(u)
			continue
		}
		valid = append(valid, u)
	}
	for _, batch := range egress.Chunk(valid, size) {
		data, err := fn(ctx, batch)
		if err != nil {
			if nm := notMembers(err); len(nm) > 0 {
				var rest []string
				for _, u := range batch {
					if nm[strings.ToLower(u)] {
						r := notMember
						r.UserID = u
						results[u] = r
					} else {
						rest = append(rest, u)
					}
				}
				batch = rest
				if len(rest) == 0 {
					continue
				}
				data, err = fn(ctx, rest)
			}
		}
		if err != nil {
			c.log.WarnContext(ctx, "batch failed", slog.String("action", action), slog.String("chat", chat.ID), slog.Int("users", len(batch)), slog.Any("error", err))
			for _, r := range moderation.FailAll(batch, err) {
				results[r.UserID] = r
			}
			continue
		}
		byUser := make(map[string]memberResult, len(data))
		for _, d := range data {
			byUser[strings.ToLower(d.User)] = d
		}
		for _, u := range batch {
			d, ok := byUser[strings.ToLower(u)]
			if !ok && len(batch) == 1 && len(data) == 1 {
				d, ok = data[0], true
			}
			if !ok {
				results[u] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.PlatformReason(Name, "no_result"), Detail: "Easemob did not report a result for this user."}
				continue
			}
			r := interp(d)
			r.UserID = u
			results[u] = r
		}
	}
	out := make([]moderation.Result, len(users))
	for i, u := range users {
		out[i] = results[u]
	}
	return out
}

// failAllEarly reports err for every user (used when the chat cannot be
// resolved, so no batch is attempted).
func failAllEarly(users []string, err error) []moderation.Result {
	return moderation.FailAll(users, err)
}

func reasonOr(reason, fallback string) string {
	if reason != "" {
		return reason
	}
	return fallback
}
