// Package config loads config.yaml: it expands ${VAR} references in values
// from the environment (so secrets never sit in the file), rejects unknown
// keys, and composes the Config types owned by each package.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/automod"
	"gavel/cluster"
	"gavel/commands"
	"gavel/console"
	"gavel/handlers"
	"gavel/pipeline"
	"gavel/platforms/easemob"
	"gavel/platforms/feishu"
	"gavel/platforms/tim"
	"gavel/policy"
	"gavel/store"
)

// Config is the whole of config.yaml.
type Config struct {
	Server handlers.Config `yaml:"server"`
	// Language of chat replies: "en" (default) or "zh".
	Language   string          `yaml:"language"`
	Log        Log             `yaml:"log"`
	Commands   commands.Config `yaml:"commands"`
	Moderation pipeline.Config `yaml:"moderation"`
	Platforms  Platforms       `yaml:"platforms"`
	Policy     policy.Config   `yaml:"policy"`
	// Automod configures auto-moderation rules.
	Automod automod.Config `yaml:"automod"`
	// ModLog names the chats every case is posted to (the mod-log).
	ModLog  pipeline.ModLogConfig `yaml:"modlog"`
	Storage store.Config          `yaml:"storage"`
	// Redis, when its addr is set, shares de-duplication and rate limits
	// between replicas.
	Redis cluster.Config `yaml:"redis"`
	// Console is the web console; off unless console.listen is set.
	Console console.Config `yaml:"console"`
	// Warnings name the deprecated keys the file used (see deprecated.go);
	// `gavel serve` logs them and `gavel check-config` prints them.
	Warnings []string `yaml:"-"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json, text, or auto (default: text on a terminal, else json).
	Format string `yaml:"format"`
}

// Platforms holds one block per platform; a platform is enabled when its
// block is present.
type Platforms struct {
	Feishu  *feishu.Config  `yaml:"feishu"`
	TIM     *tim.Config     `yaml:"tim"`
	Easemob *easemob.Config `yaml:"easemob"`
}

// configured reports whether the platform's block is present.
func (p Platforms) configured(name string) bool {
	switch name {
	case "feishu":
		return p.Feishu != nil
	case "tim":
		return p.TIM != nil
	case "easemob":
		return p.Easemob != nil
	}
	return false
}

// Validate reports the first bad key, naming it.
func (c Config) Validate() error {
	switch c.Language {
	case "", "en", "zh":
	default:
		return fmt.Errorf("language: %q is not en or zh", c.Language)
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "auto", "json", "text":
	default:
		return fmt.Errorf("log.format: %q is not json, text or auto", c.Log.Format)
	}
	if c.Platforms.Feishu == nil && c.Platforms.TIM == nil && c.Platforms.Easemob == nil {
		return errors.New("platforms: no platform configured (add a feishu, tim or easemob block)")
	}
	checks := []func() error{c.Server.Validate, c.Commands.Validate, c.Moderation.Validate, c.Policy.Validate, c.Storage.Validate, c.Redis.Validate, c.Automod.Validate,
		c.Console.Validate, c.checkListeners, c.ModLog.Validate, func() error { return c.ModLog.CheckPlatforms(c.Platforms.configured) },
		c.checkVerificationPlatforms}
	if p := c.Platforms.Feishu; p != nil {
		fc := *p
		fc.DedupTTL = c.Server.DedupTTL // zero: the default, which suffices
		checks = append(checks, fc.Validate)
	}
	if p := c.Platforms.TIM; p != nil {
		checks = append(checks, p.Validate)
	}
	if p := c.Platforms.Easemob; p != nil {
		checks = append(checks, p.Validate)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// Load reads, expands and validates the file at path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Storage defaults when config.yaml has no storage block.
const (
	DefaultDSN       = "gavel.db"
	DefaultRetention = 90 * 24 * time.Hour
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse expands ${VAR} in scalar values through lookup, decodes data
// rejecting unknown keys, and validates the result. An unset variable
// expands to the empty string (and Validate then names the key if it was
// required).
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, fmt.Errorf("parsing YAML: %w", err)
	}
	var unset []string
	expand(&root, lookup, &unset)
	warnings := migrate(&root)
	if err := normalizeDurations(&root, reflect.TypeFor[Config](), ""); err != nil {
		return Config{}, err
	}
	expanded, err := yaml.Marshal(&root)
	if err != nil {
		return Config{}, fmt.Errorf("re-encoding YAML: %w", err)
	}
	cfg := Config{Storage: store.Config{Driver: store.DriverSQLite, DSN: DefaultDSN, Retention: DefaultRetention}}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("decoding config: %w", err)
	}
	cfg = cfg.WithCanonicalIDs()
	if err := cfg.Validate(); err != nil {
		if len(unset) > 0 { // the likely cause of a missing secret
			return Config{}, fmt.Errorf("%w\n(not set in the environment, so empty: %s)", err, strings.Join(unset, ", "))
		}
		return Config{}, err
	}
	cfg.Warnings = append(warnings, cfg.unusedKeys()...)
	return cfg, nil
}

// expand replaces ${VAR} in n's scalars, adding the names of unset
// variables to unset (once each).
func expand(n *yaml.Node, lookup func(string) (string, bool), unset *[]string) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := ref[2 : len(ref)-1]
			v, ok := lookup(name)
			if !ok && !slices.Contains(*unset, name) {
				*unset = append(*unset, name)
			}
			return v
		})
		// Let the value resolve afresh (a number for sdk_app_id, a string
		// for a secret); the encoder quotes it if it would read as syntax.
		n.Tag, n.Style = "", 0
		return
	}
	for _, c := range n.Content {
		expand(c, lookup, unset)
	}
}
