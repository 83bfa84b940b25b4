package app_test

import (
	"testing"
	"time"

	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
)

// fake is the test-facing API every platform fake shares (fakekit): one
// signature each, whichever platform a test drives.
type fake interface {
	FailNext(op string, n int, code int)
	SetFailRate(op string, p float64, code int)
	SetDelay(op string, d time.Duration)
	SetRate(op string, perSecond int)
	Throttled(op string) int
	Reset()
	Close()
}

var (
	_ fake = (*feishutest.Server)(nil)
	_ fake = (*timtest.Server)(nil)
	_ fake = (*easemobtest.Server)(nil)
)

func TestFakesShareOneAPI(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]fake{"feishu": feishutest.NewServer(), "tim": timtest.NewServer(), "easemob": easemobtest.NewServer()} {
		f.SetRate("*", 0)
		f.FailNext("op", 1, 500)
		if n := f.Throttled("op"); n != 0 {
			t.Errorf("%s: Throttled = %d before any call", name, n)
		}
		f.Close()
	}
}
