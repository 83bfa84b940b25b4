// Command gavel is a chat-moderation bot for Feishu/Lark, Tencent Cloud
// Chat and Easemob.
//
//	gavel serve [--config config.yaml]
//	gavel check-config [--config config.yaml]
//	gavel cases [--config config.yaml] [--chat platform:chat_id] [--user id] [--since 24h] [--limit 50]
//	gavel console add-user NAME (--chats platform:chat_id,… | --platform NAME | --all)
//	gavel console remove-user NAME | list-users
//	gavel demo [-console]
//	gavel version   (version, VCS revision and Go version of this build)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"gavel/app"
	"gavel/config"
	"gavel/demo"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code := exitCode(err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// usageError is a command line Gavel cannot run: exit status 2, and its
// message is printed like any error's.
type usageError struct{ error }

// flagError is a flag the flag package refused; it has printed the
// message and the flags itself.
type flagError struct{ error }

// exitCode prints err (unless the flag package already did) and returns
// the exit status: 0 without an error, else 2.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var f flagError
	if !errors.As(err, &f) {
		msg := err.Error()
		if !strings.HasPrefix(msg, "gavel ") { // "gavel console add-user: …" names itself
			msg = "gavel: " + msg
		}
		fmt.Fprintln(stderr, msg)
	}
	return 2
}

const usage = `usage:
  gavel serve [--config config.yaml]         run the bot
  gavel check-config [--config config.yaml]  validate the config and exit
  gavel cases [--config config.yaml] [--chat platform:chat_id] [--user id] [--since 24h|2006-01-02] [--limit 50]
                                             list audit cases, newest first
  gavel console add-user|remove-user|list-users …  manage web console accounts (gavel console for details)
  gavel demo [-console]                      run a scripted demo against built-in platform fakes, with the console
  gavel version                              print the version`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{errors.New("no command")}
	}
	cmd, rest := args[0], args[1:]
	if cmd == "console" {
		return runConsoleCmd(ctx, rest, stdout, stderr)
	}
	// Each subcommand has its own flag set: a flag another subcommand
	// owns (gavel serve --chat x) is an error, not silently ignored.
	fs := flag.NewFlagSet("gavel "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfgPath           = new(string)
		verbose           = new(bool)
		keepConsole       = new(bool)
		chat, user, since = new(string), new(string), new(string)
		limit             = new(int)
	)
	switch cmd {
	case "serve", "check-config":
		fs.StringVar(cfgPath, "config", "config.yaml", "path to the config file")
	case "cases":
		fs.StringVar(cfgPath, "config", "config.yaml", "path to the config file")
		fs.StringVar(chat, "chat", "", "only this chat (platform:chat_id)")
		fs.StringVar(user, "user", "", "only cases with this user as actor or target")
		fs.StringVar(since, "since", "", "only cases since a duration ago (24h) or a date (2006-01-02 or RFC 3339)")
		fs.IntVar(limit, "limit", 50, "at most this many (0: all)")
	case "demo":
		fs.BoolVar(verbose, "v", false, "also print Gavel's own log lines")
		fs.BoolVar(keepConsole, "console", false, "keep the console open after the demo, until Ctrl-C")
	}
	if err := fs.Parse(rest); err != nil {
		return flagError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("gavel %s: unexpected argument %q", cmd, fs.Arg(0))}
	}
	switch cmd {
	case "serve":
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		log := newLogger(cfg.Log, stderr)
		for _, w := range cfg.Warnings {
			log.Warn("config: " + w)
		}
		a, err := app.New(ctx, cfg, app.Options{Logger: log})
		if err != nil {
			return err
		}
		defer a.Close()
		return a.Serve(ctx)
	case "check-config":
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintf(stdout, "%s: warning: %s\n", *cfgPath, w)
		}
		if f := cfg.Platforms.Feishu; f != nil {
			fmt.Fprintf(stdout, "%s: %s\n", *cfgPath, f.ModeSummary())
		}
		fmt.Fprintf(stdout, "%s: OK\n", *cfgPath)
		return nil
	case "cases":
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		f, err := caseFilter(*chat, *user, *since, *limit, time.Now())
		if err != nil {
			return usageError{err}
		}
		return printCases(ctx, cfg, f, stdout)
	case "demo":
		return demo.Run(ctx, stdout, demo.Options{Verbose: *verbose, KeepConsole: *keepConsole})
	case "version":
		fmt.Fprintln(stdout, "gavel", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.Format
	if format == "" || format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionLine(version, bi)
}

// versionLine describes a build: the version stamped with -ldflags (or the
// module version when built with go install …@vX), the VCS revision and
// time the go tool recorded, and the Go version. A build with neither says
// so instead of pretending to be a release.
func versionLine(stamped string, bi *debug.BuildInfo) string {
	v := stamped
	var rev, at, goVersion string
	dirty := false
	if bi != nil {
		goVersion = bi.GoVersion
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	var parts []string
	switch {
	case rev != "":
		r := rev
		if len(r) > 12 {
			r = r[:12]
		}
		if dirty {
			r += "+dirty"
		}
		parts = append(parts, "revision "+r)
		if at != "" {
			parts = append(parts, at)
		}
	case v == "devel":
		parts = append(parts, "no VCS revision recorded (build with -buildvcs=true or -ldflags -X main.version=…)")
	}
	if goVersion != "" {
		parts = append(parts, goVersion)
	}
	if len(parts) == 0 {
		return v
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}
