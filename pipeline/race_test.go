//go:build race

package pipeline

// raceEnabled: the race detector slows the SQLite-backed mass tests
// tenfold; they run at full size without it (.ci/run runs them so).
const raceEnabled = true
