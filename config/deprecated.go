package config

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"gavel/moderation"
)

// moved is a key that moved to another block: one fact has one key. The
// old key is still accepted (with a warning in Config.Warnings): its value
// is moved to the new key when that is not set, and ignored otherwise.
type moved struct {
	from []string // path under the document's root mapping
	to   []string
	// merge picks the value the new key gets from the old keys' values
	// (several platforms may have had one each).
	merge func([]*yaml.Node) *yaml.Node
}

// movedKeys lists the keys that moved (#15.2, one owner per fact).
var movedKeys = []moved{
	// The adapters no longer cache roles: the pipeline's role cache is the
	// one, and platform events drop its entries when roles change.
	{from: []string{"platforms", "feishu", "role_cache_ttl"}, to: []string{"moderation", "role_cache_ttl"}, merge: shortest},
	{from: []string{"platforms", "tim", "role_cache_ttl"}, to: []string{"moderation", "role_cache_ttl"}, merge: shortest},
	{from: []string{"platforms", "easemob", "role_cache_ttl"}, to: []string{"moderation", "role_cache_ttl"}, merge: shortest},
	// The mute defaults live only under moderation: (the Easemob block had
	// its own pair, which overrode them for Easemob; moved, they apply to
	// every platform, which the warning says).
	{from: []string{"platforms", "easemob", "default_mute"}, to: []string{"moderation", "default_mute"}, merge: first},
	{from: []string{"platforms", "easemob", "allow_permanent_mute"}, to: []string{"moderation", "allow_permanent_mute"}, merge: first},
}

// migrate moves deprecated keys of the document root to their new place
// and returns one warning per key it met.
func migrate(root *yaml.Node) []string {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	doc := root.Content[0]
	type target struct {
		to     []string
		values []*yaml.Node
		from   []string
	}
	var order []string
	targets := map[string]*target{}
	var warnings []string
	for _, m := range movedKeys {
		v := take(doc, m.from)
		if v == nil {
			continue
		}
		key := dotted(m.to)
		t := targets[key]
		if t == nil {
			t = &target{to: m.to}
			targets[key] = t
			order = append(order, key)
		}
		t.values = append(t.values, v)
		t.from = append(t.from, dotted(m.from))
	}
	for _, key := range order {
		t := targets[key]
		var merge func([]*yaml.Node) *yaml.Node
		for _, m := range movedKeys {
			if dotted(m.to) == key {
				merge = m.merge
				break
			}
		}
		for _, from := range t.from {
			if lookup(doc, t.to) != nil {
				warnings = append(warnings, fmt.Sprintf("%s is deprecated and ignored: %s is the one setting", from, key))
			} else {
				warnings = append(warnings, fmt.Sprintf("%s is deprecated: its value now sets %s, for every platform (move it there)", from, key))
			}
		}
		if lookup(doc, t.to) == nil {
			put(doc, t.to, merge(t.values))
		}
	}
	return warnings
}

func first(vs []*yaml.Node) *yaml.Node { return vs[0] }

// shortest picks the shortest duration (the freshest roles any platform
// asked for); a value that does not parse is kept, so that the new key
// reports it.
func shortest(vs []*yaml.Node) *yaml.Node {
	best := vs[0]
	bd, berr := moderation.ParseDuration(best.Value)
	for _, v := range vs[1:] {
		d, err := moderation.ParseDuration(v.Value)
		if err != nil {
			return v
		}
		if berr == nil && d < bd {
			best, bd = v, d
		}
	}
	return best
}

func dotted(path []string) string {
	s := path[0]
	for _, p := range path[1:] {
		s += "." + p
	}
	return s
}

// lookup returns the value at path in mapping m, or nil.
func lookup(m *yaml.Node, path []string) *yaml.Node {
	for _, k := range path {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == k {
				next = m.Content[i+1]
			}
		}
		m = next
	}
	return m
}

// take removes the key at path from its mapping and returns its value, or
// nil when it is absent.
func take(m *yaml.Node, path []string) *yaml.Node {
	parent := lookup(m, path[:len(path)-1])
	if parent == nil || parent.Kind != yaml.MappingNode {
		return nil
	}
	k := path[len(path)-1]
	for i := 0; i+1 < len(parent.Content); i += 2 {
		if parent.Content[i].Value == k {
			v := parent.Content[i+1]
			parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
			return v
		}
	}
	return nil
}

// put sets path in mapping m to v, creating mappings on the way.
func put(m *yaml.Node, path []string, v *yaml.Node) {
	for _, k := range path[:len(path)-1] {
		next := lookup(m, []string{k})
		if next == nil || next.Kind != yaml.MappingNode {
			// Absent, or empty (`moderation:` with nothing under it).
			_ = take(m, []string{k})
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, next)
		}
		m = next
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path[len(path)-1]}, v)
}
