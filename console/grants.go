package console

import (
	"fmt"
	"strings"
)

// MaxNameLen bounds a console user's name.
const MaxNameLen = 64

// ValidName reports whether name is a console user name: 1 to 64 of
// letters, digits, '.', '_', '-'. The actor of its actions is
// "console:NAME".
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// ParseGrants builds a user's grants from add-user's flags: exactly one
// of chats ("platform:chat_id,…"), platform or all.
func ParseGrants(chats, platform string, all bool) ([]string, error) {
	set := 0
	for _, b := range []bool{chats != "", platform != "", all} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("give exactly one of --chats, --platform and --all")
	}
	switch {
	case all:
		return []string{"*"}, nil
	case platform != "":
		if !validPart(platform) {
			return nil, fmt.Errorf("--platform %q: not a platform name", platform)
		}
		return []string{platform + ":*"}, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range strings.Split(chats, ",") {
		c = strings.TrimSpace(c)
		p, id, ok := strings.Cut(c, ":")
		if !ok || !validPart(p) || id == "" || id == "*" || strings.ContainsAny(id, " \t\r\n") {
			return nil, fmt.Errorf("--chats: %q is not platform:chat_id", c)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func validPart(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
