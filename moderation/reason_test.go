package moderation

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestReasonsListsEveryConstant: every Reason constant declared in this
// package is in Reasons(), so the reply-text test sees it too.
func TestReasonsListsEveryConstant(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Reason" {
					for _, n := range vs.Names {
						declared = append(declared, n.Name)
					}
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no Reason constants")
	}
	var listed []string
	for _, r := range Reasons() {
		listed = append(listed, string(r))
	}
	if len(listed) != len(declared) {
		t.Errorf("Reasons() has %d codes, %d Reason constants are declared: %v", len(listed), len(declared), declared)
	}
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Errorf("Reasons() lists %q twice", r)
		}
		seen[r] = true
		if _, _, scoped := r.Platform(); scoped {
			t.Errorf("Gavel's own code %q looks platform-scoped", r)
		}
	}
}

func TestPlatformReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		r            Reason
		platform     string
		code         string
		platformWide bool
	}{
		{"built", PlatformReason("easemob", "mute_refused"), "easemob", "mute_refused", true},
		{"api error code", (&APIError{Platform: "feishu", Code: 232076}).Reason(), "feishu", "232076", true},
		{"api error name", (&APIError{Platform: "easemob", Name: "forbidden_op"}).Reason(), "easemob", "forbidden_op", true},
		{"api error status", (&APIError{Platform: "tim", HTTPStatus: 502}).Reason(), "tim", "http_502", true},
		{"own code", ReasonNotMember, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, c, ok := tt.r.Platform()
			if p != tt.platform || c != tt.code || ok != tt.platformWide {
				t.Errorf("%q.Platform() = %q, %q, %v; want %q, %q, %v", tt.r, p, c, ok, tt.platform, tt.code, tt.platformWide)
			}
		})
	}
}
