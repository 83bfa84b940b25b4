package easemob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gavel/moderation"
	"gavel/platforms/pathseg"
)

// chatPath is "/{collection}/{id}[/rest…]", every segment built by pathseg:
// a chat id that is a dot segment or holds a separator cannot change the
// resource a request names.
func chatPath(op, kind, id string, rest ...string) (string, error) {
	p, err := pathseg.Join(append([]string{collection(kind), id}, rest...)...)
	if err != nil {
		return "", badPath(op, "chat", err)
	}
	return p, nil
}

// badPath is the permanent error of an id that cannot be a path segment;
// nothing is sent.
func badPath(op, what string, err error) error {
	return fmt.Errorf("%w (%w)", &moderation.APIError{
		Platform: Name, Op: op, Name: "invalid_" + what + "_id",
		Message: "The " + what + " ID cannot be used in a request.", Kind: moderation.Permanent,
	}, err)
}

// collection is the REST collection of a chat kind.
func collection(kind string) string {
	if kind == KindGroup {
		return "chatgroups"
	}
	return "chatrooms"
}

// normKind maps the words a config, event or test may use to a Kind.
func normKind(k string) string {
	switch strings.ToLower(strings.TrimSpace(k)) {
	case "chatroom", "chatrooms", "room", "chat_room":
		return KindChatRoom
	case "group", "groups", "chatgroup", "chatgroups":
		return KindGroup
	}
	return ""
}

// kind returns whether chat is a chat room or a group: from chat.Kind (set
// from what the callback said: content_type chat:room:/chat:group:, the
// pre-send chat_type, the operation event's type), the cache, or by asking
// GET /chatgroups/{id} first — a missing group is documented (404
// "grpID XX does not exist!") and a group answers the documented array —
// and then GET /chatrooms/{id}, whose answer must have the room shape (an
// object). What GET /chatrooms/{group id} answers is not documented, so
// neither its 404 nor its 200 is taken as "group" or "room" by itself.
func (c *Client) kind(ctx context.Context, chat moderation.ChatRef) (string, error) {
	if k := normKind(chat.Kind); k != "" {
		return k, nil
	}
	if chat.ID == "" {
		return "", &moderation.APIError{Platform: Name, Op: "resolve_chat", Message: "No chat room or group ID.", Kind: moderation.Permanent}
	}
	if v, ok := c.kinds.Get(chat.ID); ok {
		return v.(string), nil
	}
	for _, k := range []string{KindGroup, KindChatRoom} {
		_, err := c.fetchRoles(ctx, k, chat.ID)
		if err == nil {
			c.kinds.SetDefault(chat.ID, k)
			return k, nil
		}
		if !isNotFound(err) {
			return "", err
		}
	}
	return "", &moderation.APIError{
		Platform: Name, Op: "resolve_chat", HTTPStatus: http.StatusNotFound, Name: "resource_not_found",
		Message: "Unknown chat room or group.", Kind: moderation.Permanent,
	}
}

func isNotFound(err error) bool {
	var apiErr *moderation.APIError
	return errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusNotFound
}

// rememberKind records a chat's kind learned from a callback.
func (c *Client) rememberKind(id, kind string) {
	if id != "" && kind != "" {
		c.kinds.SetDefault(id, kind)
	}
}

// roleSet is one chat's owner, admins and members.
type roleSet struct {
	owner    string
	admins   map[string]bool
	members  map[string]bool
	complete bool // members lists every member
}

type detailsData struct {
	ID                string              `json:"id"`
	Owner             string              `json:"owner"`
	AffiliationsCount int                 `json:"affiliations_count"`
	Affiliations      []map[string]string `json:"affiliations"`
}

// fetchRoles reads GET …/{id} (owner, affiliations) and GET …/{id}/admin.
func (c *Client) fetchRoles(ctx context.Context, kind, id string) (*roleSet, error) {
	rs, err := c.fetchMembers(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	base, err := chatPath(kind+".admins", kind, id)
	if err != nil {
		return nil, err
	}
	var adm envelope
	if err := c.call(ctx, kind+".admins", http.MethodGet, base+"/admin", nil, &adm); err != nil {
		return nil, err
	}
	var admins []string
	if len(adm.Data) > 0 && string(adm.Data) != "null" {
		if err := json.Unmarshal(adm.Data, &admins); err != nil {
			return nil, fmt.Errorf("easemob %s.admins: %w: %w", kind, moderation.ErrMalformed, err)
		}
	}
	for _, a := range admins {
		rs.admins[strings.ToLower(a)] = true
		rs.members[strings.ToLower(a)] = true
	}
	return rs, nil
}

// fetchMembers reads GET …/{id}: the owner and the members (admins are
// listed as members there); rs.admins is left empty.
func (c *Client) fetchMembers(ctx context.Context, kind, id string) (*roleSet, error) {
	base, err := chatPath(kind+".details", kind, id)
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := c.call(ctx, kind+".details", http.MethodGet, base, nil, &env); err != nil {
		return nil, err
	}
	var d detailsData
	// Chat-room details answer an object, group details an array; the
	// other shape is not a documented answer for this kind.
	trimmed := strings.TrimSpace(string(env.Data))
	notFound := &moderation.APIError{
		Platform: Name, Op: kind + ".details", HTTPStatus: http.StatusNotFound, Name: "resource_not_found",
		Message: "Unknown chat room or group.", Kind: moderation.Permanent,
	}
	switch {
	case strings.HasPrefix(trimmed, "[") != (kind == KindGroup):
		return nil, notFound
	case strings.HasPrefix(trimmed, "["):
		var arr []detailsData
		if err := json.Unmarshal(env.Data, &arr); err != nil {
			return nil, fmt.Errorf("easemob %s.details: %w: %w", kind, moderation.ErrMalformed, err)
		}
		for _, a := range arr {
			if a.ID == id {
				d = a
				break
			}
		}
	case strings.HasPrefix(trimmed, "{"):
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return nil, fmt.Errorf("easemob %s.details: %w: %w", kind, moderation.ErrMalformed, err)
		}
	}
	if d.Owner == "" && len(d.Affiliations) == 0 {
		return nil, notFound
	}
	rs := &roleSet{owner: d.Owner, admins: map[string]bool{}, members: map[string]bool{}}
	for _, a := range d.Affiliations {
		if o := a["owner"]; o != "" {
			if rs.owner == "" {
				rs.owner = o
			}
			rs.members[strings.ToLower(o)] = true
		}
		if m := a["member"]; m != "" {
			rs.members[strings.ToLower(m)] = true
		}
	}
	rs.complete = d.AffiliationsCount == 0 || len(rs.members) >= d.AffiliationsCount
	return rs, nil
}
