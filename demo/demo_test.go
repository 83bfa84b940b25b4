package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs the README's main command in-process: every scripted step
// on every platform must behave as expected.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), &out, Options{}); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{"== Feishu/Lark", "== Tencent Cloud Chat", "== Easemob", ", 0 failed.",
		"ban, lock, purge", "(time passes)", "waited", "joiner verification", "rule reports",
		"long connection (platforms.feishu.mode: websocket)", "answered 200"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, out.String())
		}
	}
}
