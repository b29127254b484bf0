package console

import (
	"context"
	"time"

	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/store"
)

// RollupDays is how far back the rollup job fills missing days, and
// RollupRedo how many of the latest closed days it sums again on every run
// (an order can still change status for a while after its day: it expires
// within hours, a review waits until its expiry).
const (
	RollupDays = 40
	RollupRedo = 3
)

// RollupJob sums the orders of each day that is over (every day before
// yesterday, UTC) into the overview's daily table, so the overview reads a
// few rows per past day. It runs every interval under the scheduler's lease.
func RollupJob(st store.Store, interval time.Duration) jobs.Job {
	return jobs.Job{
		Name:  "console-rollup",
		Next:  jobs.Every(interval),
		Lease: 30 * time.Minute,
		Run: func(ctx context.Context, now time.Time) error {
			return Rollup(ctx, st, now)
		},
	}
}

// Rollup sums the closed days that are missing among the last RollupDays,
// and the last RollupRedo again.
func Rollup(ctx context.Context, st store.Store, now time.Time) error {
	edge := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1) // the start of yesterday: days before it are over
	from := edge.AddDate(0, 0, -RollupDays)
	done, err := st.ConsoleRolledDays(ctx, from, edge)
	if err != nil {
		return err
	}
	have := map[time.Time]bool{}
	for _, d := range done {
		have[d] = true
	}
	for d := from; d.Before(edge); d = d.AddDate(0, 0, 1) {
		if have[d] && d.Before(edge.AddDate(0, 0, -RollupRedo)) {
			continue
		}
		if err := st.ConsoleRollupDay(ctx, d, now); err != nil {
			return err
		}
	}
	return nil
}

// rolledUp reports whether every day of [from, to) is rolled up.
func rolledUp(ctx context.Context, st store.Store, from, to time.Time) bool {
	days, err := st.ConsoleRolledDays(ctx, from, to)
	return err == nil && len(days) == int(to.Sub(from)/(24*time.Hour))
}
