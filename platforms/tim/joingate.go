package tim

import (
	"context"
	"fmt"

	"gavel/moderation"
)

// Pre-join callbacks (1047/34370, 1047/34371). They produce no events:
// Gavel only answers them from the JoinGate, in memory.
const (
	cmdBeforeApplyJoin  = "Group.CallbackBeforeApplyJoinGroup"
	cmdBeforeInviteJoin = "Group.CallbackBeforeInviteJoinGroup"
)

// applyRefused answers Group.CallbackBeforeApplyJoinGroup for a user who
// may not join: ErrorCode 1 refuses the request.
var applyRefused = CallbackAnswer{ActionStatus: "OK", ErrorInfo: "", ErrorCode: 1}

// inviteAnswer answers Group.CallbackBeforeInviteJoinGroup: ErrorCode 0
// lets the invitation go on, without the accounts in
// RefusedMembers_Account.
type inviteAnswer struct {
	ActionStatus           string   `json:"ActionStatus"`
	ErrorInfo              string   `json:"ErrorInfo"`
	ErrorCode              int      `json:"ErrorCode"`
	RefusedMembersAccounts []string `json:"RefusedMembers_Account,omitempty"`
}

// beforeApplyJoin refuses a join request of a user the JoinGate keeps
// out; a nil JoinGate allows everyone.
func (c *Client) beforeApplyJoin(ctx context.Context, b *callbackBody) (moderation.Ack, error) {
	if b.GroupID == "" || b.RequestorAccount == "" {
		return moderation.Ack{}, fmt.Errorf("tim: apply-join callback without GroupId or Requestor_Account: %w", moderation.ErrMalformed)
	}
	chat := moderation.ChatRef{Platform: Name, ID: b.GroupID, Kind: b.Type}
	if c.join == nil || c.join.MayJoin(chat, b.RequestorAccount) {
		return moderation.Ack{Response: callbackOKJSON}, nil
	}
	c.log.InfoContext(ctx, "tim join request refused: user is banned", "chat", b.GroupID, "user", b.RequestorAccount)
	return moderation.Ack{Response: applyRefused}, nil
}

// beforeInviteJoin refuses the invitees the JoinGate keeps out and lets
// the others in.
func (c *Client) beforeInviteJoin(ctx context.Context, b *callbackBody) (moderation.Ack, error) {
	if b.GroupID == "" {
		return moderation.Ack{}, fmt.Errorf("tim: invite-join callback without GroupId: %w", moderation.ErrMalformed)
	}
	if c.join == nil {
		return moderation.Ack{Response: callbackOKJSON}, nil
	}
	chat := moderation.ChatRef{Platform: Name, ID: b.GroupID, Kind: b.Type}
	var refused []string
	for _, m := range b.DestinationMembers {
		if m.MemberAccount != "" && !c.join.MayJoin(chat, m.MemberAccount) {
			refused = append(refused, m.MemberAccount)
		}
	}
	if len(refused) == 0 {
		return moderation.Ack{Response: callbackOKJSON}, nil
	}
	c.log.InfoContext(ctx, "tim invitation: banned invitees refused", "chat", b.GroupID, "refused", len(refused))
	return moderation.Ack{Response: inviteAnswer{ActionStatus: "OK", RefusedMembersAccounts: refused}}, nil
}
