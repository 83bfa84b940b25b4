package tim

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/patrickmn/go-cache"

	"gavel/moderation"
	"gavel/platforms/egress"
)

// Group type IDs, new names first; TIM still reports legacy IDs in places.
const (
	typeWork       = "Work"
	typePrivate    = "Private" // legacy name of Work
	typePublic     = "Public"
	typeMeeting    = "Meeting"
	typeChatRoom   = "ChatRoom" // legacy name of Meeting
	typeAVChatRoom = "AVChatRoom"
	typeCommunity  = "Community"
)

type roleReq struct {
	GroupID  string   `json:"GroupId"`
	Accounts []string `json:"User_Account"`
}

type roleResp struct {
	UserIDList []struct {
		MemberAccount string `json:"Member_Account"`
		Role          string `json:"Role"`
	} `json:"UserIdList"`
}

type groupInfoReq struct {
	GroupIDList    []string            `json:"GroupIdList"`
	ResponseFilter groupInfoRespFilter `json:"ResponseFilter"`
}

type groupInfoRespFilter struct {
	GroupBaseInfoFilter []string `json:"GroupBaseInfoFilter"`
}

type groupInfoResp struct {
	GroupInfo []struct {
		GroupID      string `json:"GroupId"`
		ErrorCode    int    `json:"ErrorCode"`
		ErrorInfo    string `json:"ErrorInfo"`
		Type         string `json:"Type"`
		OwnerAccount string `json:"Owner_Account"`
	} `json:"GroupInfo"`
}

// groupInfo is what Gavel keeps about a group.
type groupInfo struct {
	Type  string
	Owner string
}

// Roles returns each user's role with get_role_in_group (at most 500 per
// call), as TIM tells it now: the pipeline's role cache is the only one.
// The App admin Gavel acts as has owner
// rights in every group and is reported as RoleOwner. AVChatRoom groups do
// not support get_role_in_group; there the owner comes from get_group_info
// and everyone else is a member.
func (c *Client) Roles(ctx context.Context, chat moderation.ChatRef, userIDs []string) (map[string]moderation.Role, error) {
	out := make(map[string]moderation.Role, len(userIDs))
	var missing []string
	for _, u := range userIDs {
		if _, seen := out[u]; seen {
			continue
		}
		if u == c.cfg.AdminIdentifier {
			out[u] = moderation.RoleOwner
			continue
		}
		out[u] = moderation.RoleUnknown
		missing = append(missing, u)
	}
	if len(missing) == 0 {
		return out, nil
	}
	if kindOf(chat.Kind, c.cachedType(chat.ID)) == typeAVChatRoom {
		return c.avRoles(ctx, chat, missing, out)
	}
	for _, batch := range egress.Chunk(missing, maxRolePerCall) {
		var resp roleResp
		err := c.call(ctx, opRoleInGroup, roleReq{GroupID: chat.ID, Accounts: batch}, &resp)
		var apiErr *moderation.APIError
		if errors.As(err, &apiErr) && apiErr.Code == 10007 {
			// 10007 is also what AVChatRoom groups answer; check the type.
			info, ierr := c.groupInfo(ctx, chat.ID)
			if ierr == nil && info.Type == typeAVChatRoom {
				return c.avRoles(ctx, chat, missing, out)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("tim roles in %s: %w", chat.ID, err)
		}
		got := make(map[string]moderation.Role, len(resp.UserIDList))
		for _, item := range resp.UserIDList {
			got[item.MemberAccount] = parseRole(item.Role)
		}
		for _, u := range batch {
			r, ok := got[u]
			if !ok || r == moderation.RoleUnknown {
				r = moderation.RoleNotMember
			}
			out[u] = r
		}
	}
	return out, nil
}

func (c *Client) avRoles(ctx context.Context, chat moderation.ChatRef, users []string, out map[string]moderation.Role) (map[string]moderation.Role, error) {
	info, err := c.fetchGroupInfo(ctx, chat.ID) // the owner may have changed
	if err != nil {
		return nil, fmt.Errorf("tim roles in %s: %w", chat.ID, err)
	}
	for _, u := range users {
		r := moderation.RoleMember
		if u == info.Owner {
			r = moderation.RoleOwner
		}
		out[u] = r
	}
	return out, nil
}

func parseRole(s string) moderation.Role {
	switch strings.TrimSpace(s) { // the docs' own sample has "Member "
	case "Owner":
		return moderation.RoleOwner
	case "Admin":
		return moderation.RoleAdmin
	case "Member":
		return moderation.RoleMember
	case "NotMember":
		return moderation.RoleNotMember
	default:
		return moderation.RoleUnknown
	}
}

func groupKey(chatID string) string { return "group\x00" + chatID }

// groupInfo returns the group's type and owner from get_group_info, cached
// for GroupInfoTTL (read the owner with fetchGroupInfo).
func (c *Client) groupInfo(ctx context.Context, groupID string) (groupInfo, error) {
	if v, ok := c.cache.Get(groupKey(groupID)); ok {
		return v.(groupInfo), nil
	}
	return c.fetchGroupInfo(ctx, groupID)
}

// fetchGroupInfo asks get_group_info and caches the answer.
func (c *Client) fetchGroupInfo(ctx context.Context, groupID string) (groupInfo, error) {
	var resp groupInfoResp
	req := groupInfoReq{
		GroupIDList:    []string{groupID},
		ResponseFilter: groupInfoRespFilter{GroupBaseInfoFilter: []string{"Type", "Owner_Account"}},
	}
	if err := c.call(ctx, opGroupInfo, req, &resp); err != nil {
		return groupInfo{}, err
	}
	for _, g := range resp.GroupInfo {
		if g.GroupID != groupID {
			continue
		}
		if g.ErrorCode != 0 {
			return groupInfo{}, codeError(opGroupInfo, 200, g.ErrorCode, g.ErrorInfo)
		}
		info := groupInfo{Type: g.Type, Owner: g.OwnerAccount}
		c.cache.Set(groupKey(groupID), info, cache.DefaultExpiration)
		return info, nil
	}
	return groupInfo{}, &moderation.APIError{Platform: Name, Op: opGroupInfo, HTTPStatus: 200,
		Message: "TIM's answer did not describe the group", Kind: moderation.Permanent}
}

// cachedType returns the group type when get_group_info was cached.
func (c *Client) cachedType(groupID string) string {
	if v, ok := c.cache.Get(groupKey(groupID)); ok {
		return v.(groupInfo).Type
	}
	return ""
}

func kindOf(kinds ...string) string {
	for _, k := range kinds {
		if k != "" {
			return k
		}
	}
	return ""
}

func isWork(kind string) bool { return kind == typeWork || kind == typePrivate }
