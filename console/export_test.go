package console

import (
	"context"
	"testing"
)

// BrowserContext and Artifacts serve the end-to-end browser test
// (package console_test, which may import the app).
func BrowserContext(t *testing.T) context.Context { return browser(t) }

func Artifacts(t *testing.T) string { return artifacts(t) }
