package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gavel/console"
	"gavel/moderation"
	"gavel/store"
)

// TestConsoleUserCommands: add-user (password on stdin), list-users,
// remove-user, and the usage errors.
func TestConsoleUserCommands(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "gavel.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := "platforms:\n  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: a, callback_token: t}\nstorage: {dsn: " + dsn + "}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	runIt := func(in string, args ...string) (string, error) {
		stdin = strings.NewReader(in)
		t.Cleanup(func() { stdin = os.Stdin })
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--config", cfgPath), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := runIt("a strong password\n", "console", "add-user", "ann", "--chats", "tim:@TGS#1,tim:@TGS#2"); err != nil || !strings.Contains(out, "tim:@TGS#1, tim:@TGS#2") {
		t.Fatalf("add-user: %v\n%s", err, out)
	}
	st, err := store.Open(t.Context(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.ConsoleUser(t.Context(), "ann")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := console.CheckPassword(u.Hash, "a strong password"); err != nil || !ok {
		t.Fatalf("stored hash does not check the password given on stdin: %v", err)
	}
	// Adding ann again replaces her password and grants and ends her
	// sessions.
	st, err = store.Open(t.Context(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.PutConsoleSession(t.Context(), moderation.ConsoleSession{ID: "s1", User: "ann", CSRF: "c", Created: now, Seen: now}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out, err := runIt("another strong password\n", "console", "add-user", "ann", "--chats", "tim:@TGS#1,tim:@TGS#2"); err != nil || !strings.Contains(out, "replaced") {
		t.Fatalf("add-user again: %v\n%s", err, out)
	}
	st, err = store.Open(t.Context(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	_, sessErr := st.ConsoleSession(t.Context(), "s1")
	u, err = st.ConsoleUser(t.Context(), "ann")
	st.Close()
	if !errors.Is(sessErr, moderation.ErrNotFound) {
		t.Errorf("ann's session after add-user replaced her: err %v, want not found", sessErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := console.CheckPassword(u.Hash, "another strong password"); !ok {
		t.Errorf("add-user again kept the old password")
	}
	if out, err := runIt("", "console", "list-users"); err != nil || !strings.Contains(out, "ann") || !strings.Contains(out, "tim:@TGS#1,tim:@TGS#2") {
		t.Fatalf("list-users: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		name string
		in   string
		args []string
		want string
	}{
		{"no grant", "a strong password\n", []string{"console", "add-user", "bob"}, "exactly one of"},
		{"two grants", "a strong password\n", []string{"console", "add-user", "bob", "--all", "--platform", "tim"}, "exactly one of"},
		{"bad chat", "a strong password\n", []string{"console", "add-user", "bob", "--chats", "tim"}, "not platform:chat_id"},
		{"bad name", "a strong password\n", []string{"console", "add-user", "bob smith", "--all"}, "a name is"},
		{"short password", "short\n", []string{"console", "add-user", "bob", "--all"}, "10 to 1024"},
		{"no such user", "", []string{"console", "remove-user", "zed"}, "no console user"},
		{"unknown subcommand", "", []string{"console", "grant"}, "unknown subcommand"},
		{"unknown platform", "a strong password\n", []string{"console", "add-user", "bob", "--platform", "slack"}, `"slack" is not a platform`},
		{"unknown chat platform", "a strong password\n", []string{"console", "add-user", "bob", "--chats", "tim:@TGS#1,slack:C123"}, `"slack" is not a platform`},
	} {
		if out, err := runIt(tt.in, tt.args...); err == nil || !strings.Contains(err.Error()+out, tt.want) {
			t.Errorf("%s: error %v, output %q; want %q", tt.name, err, out, tt.want)
		}
	}
	if out, err := runIt("", "console", "remove-user", "ann"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove-user: %v\n%s", err, out)
	}
}

// TestExitCode: every error is printed once (the flag package prints its
// own), and a command line Gavel cannot run exits 2 — a usage error once
// exited silently, so "gavel console add-user bob" said nothing.
func TestExitCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"ok", nil, 0, ""},
		{"usage", usageError{errors.New("gavel console add-user: give exactly one of --chats, --platform and --all")}, 2,
			"gavel console add-user: give exactly one of --chats, --platform and --all\n"},
		{"usage without a name", usageError{errors.New(`unknown command "frob"`)}, 2, "gavel: unknown command \"frob\"\n"},
		{"flag", flagError{errors.New("flag provided but not defined: -x")}, 2, ""},
		{"other", fmt.Errorf("opening store: %w", errors.New("disk full")), 2, "gavel: opening store: disk full\n"},
	} {
		var out bytes.Buffer
		if code := exitCode(tt.err, &out); code != tt.code || out.String() != tt.want {
			t.Errorf("%s: exit %d, printed %q; want %d, %q", tt.name, code, out.String(), tt.code, tt.want)
		}
	}
}
