package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"path"
	"strings"
	"testing"
)

// layer is one row of CONTRIBUTING.md's "Layout and dependency rules":
// the Gavel packages a package may import, and the third-party modules
// only it (and the packages listed in owners) may import.
type layer struct {
	// pattern is a package path relative to the module; "*" matches one
	// path element (platforms/*).
	pattern string
	// may lists the Gavel packages it may import (same pattern syntax);
	// "ALL" allows every Gavel package.
	may []string
}

// layers is CONTRIBUTING.md's table. A package that matches no row fails
// the test, so a new package cannot skip the rules by being new.
var layers = []layer{
	{"moderation", nil},
	{"commands", []string{"moderation"}},
	{"policy", []string{"moderation"}},
	{"automod", []string{"moderation"}},
	{"metrics", []string{"moderation"}},
	{"jobs", []string{"moderation"}},
	{"pipeline", []string{"moderation", "commands", "policy", "automod", "jobs"}},
	{"store", []string{"moderation", "store/sqlite", "store/postgres"}},
	{"store/sqlite", []string{"moderation", "store/internal/*"}},
	{"store/postgres", []string{"moderation", "store/internal/*"}},
	{"store/internal/*", []string{"moderation", "store/internal/*"}},
	{"store/storetest", []string{"moderation"}},
	{"cluster", []string{"moderation", "platforms/egress"}},
	{"handlers", []string{"moderation"}},
	// Helpers every platform shares; they know no platform.
	{"platforms/egress", []string{"moderation"}},
	{"platforms/wirejson", nil},
	{"platforms/pathseg", nil},
	// Scaffolding the platform fakes share; it knows no platform.
	{"platforms/internal/fakekit", nil},
	// A platform never imports another platform.
	{"platforms/*", []string{"moderation", "platforms/egress", "platforms/wirejson", "platforms/pathseg"}},
	{"platforms/*/*test", []string{"moderation", "platforms/pathseg", "platforms/internal/fakekit"}},
	// The web console: net/http and html/template, not gin.
	{"console", []string{"moderation", "policy", "automod"}},
	{"config", []string{"moderation", "commands", "policy", "automod", "pipeline", "store", "cluster", "handlers", "console", "platforms/*"}},
	{"app", []string{"ALL"}},
	{"app/apptest", []string{"ALL"}},
	{"demo", []string{"ALL"}},
	{"bench", []string{"ALL"}},
	{"", []string{"ALL"}}, // package main
}

// exclusive third-party imports: module path prefix → the only packages
// that may import it.
var exclusive = map[string][]string{
	"github.com/gin-gonic/gin":                    {"handlers", "bench"},
	"github.com/jackc/pgx":                        {"store/postgres"},
	"modernc.org/sqlite":                          {"store/sqlite"},
	"github.com/redis/go-redis":                   {"cluster"},
	"github.com/larksuite/oapi-sdk-go":            {"platforms/feishu", "platforms/feishu/feishutest"},
	"github.com/gorilla/websocket":                {"platforms/feishu", "platforms/feishu/feishutest"},
	"github.com/tencentyun/tls-sig-api-v2-golang": {"platforms/tim", "platforms/tim/timtest"},
	"github.com/prometheus/client_golang":         {"metrics"},
	"github.com/chromedp":                         {"console"},
	"golang.org/x/crypto":                         {"console"},
}

func matches(pattern, pkg string) bool {
	if pattern == pkg {
		return true
	}
	ok, err := path.Match(pattern, pkg)
	return err == nil && ok && pattern != ""
}

func layerOf(pkg string) (layer, bool) {
	// Exact rows first, so platforms/egress is not read as platforms/*.
	for _, l := range layers {
		if l.pattern == pkg {
			return l, true
		}
	}
	for _, l := range layers {
		if matches(l.pattern, pkg) {
			return l, true
		}
	}
	return layer{}, false
}

func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		pkg := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, "gavel"), "/")
		l, ok := layerOf(pkg)
		if !ok {
			t.Errorf("package %q is not in the dependency table (deps_test.go and CONTRIBUTING.md)", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if dep, ok := strings.CutPrefix(imp, "gavel/"); ok {
				if !allowed(l, dep) {
					t.Errorf("%s imports %s; CONTRIBUTING.md allows %v", p.ImportPath, imp, l.may)
				}
				continue
			}
			for mod, owners := range exclusive {
				if !strings.HasPrefix(imp, mod) {
					continue
				}
				if !contains(owners, pkg) {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, owners)
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("go list reported %d packages; expected the whole module", seen)
	}
}

func allowed(l layer, dep string) bool {
	for _, m := range l.may {
		if m == "ALL" || matches(m, dep) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestDependencyTableMatching(t *testing.T) {
	tests := []struct {
		pkg, dep string
		want     bool
	}{
		{"platforms/tim", "platforms/egress", true},
		{"platforms/tim", "platforms/easemob", false},
		{"platforms/tim/timtest", "platforms/tim", false},
		{"platforms/egress", "platforms/tim", false},
		{"moderation", "commands", false},
		{"pipeline", "store", false},
		{"pipeline", "jobs", true},
		{"jobs", "pipeline", false},
		{"app", "platforms/tim", true},
	}
	for _, tt := range tests {
		l, ok := layerOf(tt.pkg)
		if !ok {
			t.Fatalf("%s has no layer", tt.pkg)
		}
		if got := allowed(l, tt.dep); got != tt.want {
			t.Errorf("%s → %s allowed = %v, want %v", tt.pkg, tt.dep, got, tt.want)
		}
	}
}
