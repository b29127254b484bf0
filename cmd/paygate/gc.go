package main

import (
	"os"
	"runtime/debug"
)

// The gateway's live heap is small (10–20 MB under full load) and turns
// over fast, so with Go's default GOGC=100 the collector runs every few
// megabytes of requests. serve and bench run it less often: GOGC=400, with
// a soft limit of 1 GiB so that a large live heap does not grow five times
// over. Measured with `paygate bench --scenario create`: +3–13% requests
// per second, peak RSS 48 → 83 MB (BENCHMARKS.md). GOGC and GOMEMLIMIT in
// the environment still win.
const (
	gcPercent   = 400
	memoryLimit = 1 << 30
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
