package apptest

import (
	"context"
	"testing"
	"time"

	"gavel/store/postgres"
)

// PostgresSchema creates a PostgreSQL schema of its own for one test
// (dropped at its cleanup) and returns dsn (a URL, as GAVEL_TEST_POSTGRES)
// with its search_path, so that replicas given the result share one
// store and no other test's.
func PostgresSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	withPath, drop, err := postgres.TempSchema(ctx, dsn, "gavel_apptest")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("dropping the test schema: %v", err)
		}
	})
	return withPath
}
