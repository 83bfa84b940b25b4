package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gavel/console"
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
	} {
		if out, err := runIt(tt.in, tt.args...); err == nil || !strings.Contains(err.Error()+out, tt.want) {
			t.Errorf("%s: error %v, output %q; want %q", tt.name, err, out, tt.want)
		}
	}
	if out, err := runIt("", "console", "remove-user", "ann"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove-user: %v\n%s", err, out)
	}
}
