package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/moderation"
)

var durationType = reflect.TypeFor[time.Duration]()

// normalizeDurations rewrites, in place, every scalar of n that decodes
// into a time.Duration field of t from Gavel's duration grammar
// (moderation.ParseDuration: "1d", "1.5h", "10分钟", "250ms") into the form
// yaml.v3 hands to time.ParseDuration, so that config.yaml reads durations
// exactly like chat commands and rules do. A value it cannot parse is
// reported with its key path and line.
func normalizeDurations(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if err := normalizeDurations(c, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind == yaml.AliasNode || n.Kind == 0 {
		return nil
	}
	if t == durationType {
		if n.Kind != yaml.ScalarNode {
			return nil
		}
		d, err := moderation.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("%s (line %d): %w", path, n.Line, err)
		}
		n.Value, n.Tag, n.Style = d.String(), "!!str", 0
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := yamlField(t, n.Content[i].Value); ok {
				if err := normalizeDurations(n.Content[i+1], ft, join(path, n.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := normalizeDurations(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := normalizeDurations(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlField finds the type of the field that key decodes into, following
// yaml.v3's rules: the tag's name, else the lower-cased field name, and
// fields of ",inline" structs.
func yamlField(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if inner, ok := yamlField(ft, key); ok {
					return inner, true
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
