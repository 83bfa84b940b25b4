package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"gavel/config"
	"gavel/console"
	"gavel/moderation"
	"gavel/store"
)

// passwordEnv gives add-user the password in scripts.
const passwordEnv = "GAVEL_CONSOLE_PASSWORD"

const consoleUsage = `usage:
  gavel console add-user NAME (--chats platform:chat_id,… | --platform NAME | --all) [--config config.yaml]
      the password is read from $GAVEL_CONSOLE_PASSWORD, else asked twice on a terminal, else read as one line of stdin
  gavel console remove-user NAME [--config config.yaml]
  gavel console list-users [--config config.yaml]`

// stdin is where add-user reads a password from; tests replace it.
var stdin io.Reader = os.Stdin

// runConsoleCmd runs `gavel console …`.
// knownPlatforms are the platforms' config keys, which grants name.
var knownPlatforms = []string{"feishu", "tim", "easemob"}

func runConsoleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, consoleUsage)
		return usageError{errors.New("gavel console: no subcommand")}
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("gavel console "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.yaml", "path to the config file")
	var chats, platform string
	var all bool
	var name string
	switch sub {
	case "add-user":
		fs.StringVar(&chats, "chats", "", "the chats the user sees and acts on: platform:chat_id,…")
		fs.StringVar(&platform, "platform", "", "every chat of one platform")
		fs.BoolVar(&all, "all", false, "every chat")
		fallthrough
	case "remove-user":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintln(stderr, consoleUsage)
			return usageError{fmt.Errorf("gavel console %s: give the user's NAME first", sub)}
		}
		name, rest = rest[0], rest[1:]
		if !console.ValidName(name) {
			return usageError{fmt.Errorf("gavel console %s: %q: a name is 1 to %d letters, digits, '.', '_' or '-'", sub, name, console.MaxNameLen)}
		}
	case "list-users":
	default:
		fmt.Fprintln(stderr, consoleUsage)
		return usageError{fmt.Errorf("gavel console: unknown subcommand %q", sub)}
	}
	if err := fs.Parse(rest); err != nil {
		return flagError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("gavel console %s: unexpected argument %q", sub, fs.Arg(0))}
	}
	var grants []string
	if sub == "add-user" {
		var err error
		if grants, err = console.ParseGrants(chats, platform, all); err != nil {
			return usageError{fmt.Errorf("gavel console add-user: %w", err)}
		}
		for _, g := range grants {
			// A grant of a platform Gavel does not know could never
			// match a chat: a typo, refused rather than stored.
			if p, _, ok := strings.Cut(g, ":"); ok && !slices.Contains(knownPlatforms, p) {
				return usageError{fmt.Errorf("gavel console add-user: %q is not a platform (one of %s)", p, strings.Join(knownPlatforms, ", "))}
			}
		}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer st.Close()
	switch sub {
	case "add-user":
		pw, err := readPassword(stderr)
		if err != nil {
			return err
		}
		hash, err := console.HashPassword(pw)
		if err != nil {
			return err
		}
		// Adding a name that exists replaces its password and grants;
		// its sessions end (a new password is often a leaked old one).
		replaced, err := st.DeleteConsoleUser(ctx, name)
		if err != nil {
			return err
		}
		if err := st.PutConsoleUser(ctx, moderation.ConsoleUser{Name: name, Hash: hash, Grants: grants, CreatedAt: time.Now()}); err != nil {
			return err
		}
		if replaced {
			fmt.Fprintf(stdout, "console user %s replaced (new password; its sessions ended)\n", name)
		}
		fmt.Fprintf(stdout, "console user %s may see and act on %s\n", name, strings.Join(grants, ", "))
	case "remove-user":
		ok, err := st.DeleteConsoleUser(ctx, name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no console user %q", name)
		}
		fmt.Fprintf(stdout, "console user %s removed; its sessions ended\n", name)
	case "list-users":
		users, err := st.ConsoleUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCHATS\tCREATED (UTC)")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, strings.Join(u.Grants, ","), u.CreatedAt.UTC().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	return nil
}

// readPassword takes the password from the environment, a terminal
// (asked twice, not echoed) or the first line of stdin.
func readPassword(prompt io.Writer) (string, error) {
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, console.MaxPassword+2)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
