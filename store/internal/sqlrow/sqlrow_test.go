package sqlrow

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

func TestQ(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, sqlite, postgres string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = ? AND b = ?", "a = $1 AND b = $2"},
		{"a = ?2 AND b = ?1 OR c = ?2", "a = ?2 AND b = ?1 OR c = ?2", "a = $2 AND b = $1 OR c = $2"},
		{"LIMIT ?", "LIMIT ?", "LIMIT $1"},
		{"x IN (?, ?, ?)", "x IN (?, ?, ?)", "x IN ($1, $2, $3)"},
		{"?10 ?1", "?10 ?1", "$10 $1"},
	} {
		if got := SQLite.Q(tt.in); got != tt.sqlite {
			t.Errorf("SQLite.Q(%q) = %q, want %q", tt.in, got, tt.sqlite)
		}
		if got := Postgres.Q(tt.in); got != tt.postgres {
			t.Errorf("Postgres.Q(%q) = %q, want %q", tt.in, got, tt.postgres)
		}
	}
}

func FuzzQ(f *testing.F) {
	f.Add("a = ? AND b = ?3")
	f.Fuzz(func(t *testing.T, q string) {
		if got := SQLite.Q(q); got != q {
			t.Fatalf("SQLite.Q changed %q to %q", q, got)
		}
		for _, c := range Postgres.Q(q) {
			if c == '?' {
				t.Fatalf("Postgres.Q(%q) left a ?", q)
			}
		}
	})
}

func TestFreeText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"ok": "ok", "a\x00b": "a\uFFFDb", "x\xffy": "x\uFFFDy", "": ""} {
		if got := FreeText(in); got != want {
			t.Errorf("FreeText(%q) = %q, want %q", in, got, want)
		}
		if got := SQLite.Text(in); got != in {
			t.Errorf("SQLite.Text(%q) = %q, want it unchanged", in, got)
		}
	}
}

// TestForRewritesEveryQuery: a query For forgets to rewrite would reach
// PostgreSQL with ? placeholders.
func TestForRewritesEveryQuery(t *testing.T) {
	t.Parallel()
	q := reflect.ValueOf(For(Postgres))
	for i := range q.NumField() {
		text := q.Field(i).String()
		if text == "" || strings.Contains(text, "?") {
			t.Errorf("Postgres query %s = %q: empty or not rewritten", q.Type().Field(i).Name, text)
		}
	}
}

func TestCasesQuery(t *testing.T) {
	t.Parallel()
	f := moderation.CaseFilter{Platform: "p", ChatID: "c", UserID: "u", Since: time.Unix(1, 0), Limit: 5}
	for _, tt := range []struct {
		d    Dialect
		want string
	}{
		{SQLite, "platform = ? AND chat_id = ? AND id IN (SELECT case_id FROM case_users WHERE user_id = ?) AND at >= ? ORDER BY id DESC LIMIT ?"},
		{Postgres, "platform = $1 AND chat_id = $2 AND id IN (SELECT case_id FROM case_users WHERE user_id = $3) AND at >= $4 ORDER BY id DESC LIMIT $5"},
	} {
		q, args := tt.d.CasesQuery(f)
		if !strings.HasSuffix(q, " WHERE "+tt.want) || len(args) != 5 || args[4] != 5 {
			t.Errorf("CasesQuery = %q, %v; want … WHERE %s and 5 arguments", q, args, tt.want)
		}
	}
	if q, args := Postgres.CasesQuery(moderation.CaseFilter{}); strings.Contains(q, "WHERE") || len(args) != 0 {
		t.Errorf("CasesQuery of no filter = %q, %v", q, args)
	}
}

// TestChatKey: every event that acts on a chat is ordered with the chat's
// other jobs — timers and card presses included (a joiner's deadline must
// not run beside the job that verifies them).
func TestChatKey(t *testing.T) {
	t.Parallel()
	chat := moderation.ChatRef{Platform: "tim", ID: "@TGS#1"}
	tests := []struct {
		name string
		ev   moderation.Event
		want string
	}{
		{"message", moderation.Event{Message: &moderation.Message{Chat: chat}}, "tim:@TGS#1"},
		{"join", moderation.Event{Join: &moderation.Join{Chat: chat}}, "tim:@TGS#1"},
		{"timer", moderation.TimerEvent(moderation.Timer{Verb: moderation.VerbVerify, Chat: chat, UserID: "u"}), "tim:@TGS#1"},
		{"action", moderation.Event{Action: &moderation.Action{Chat: chat}}, "tim:@TGS#1"},
		{"action without chat", moderation.Event{Action: &moderation.Action{}}, ""},
		{"roles changed", moderation.Event{RolesChanged: &moderation.RolesChange{Chat: chat}}, ""},
	}
	for _, tt := range tests {
		got := ""
		if k := ChatKey(tt.ev); k != nil {
			got = *k
		}
		if got != tt.want {
			t.Errorf("%s: ChatKey = %q, want %q", tt.name, got, tt.want)
		}
	}
}
