// Package jobs runs the gateway's periodic work — reconciliation of
// yesterday's bills, settlement batches, renewals — once across every node
// that shares the database. Each job runs under a lease in the database
// (Store.LeaseAcquire), so one node runs it at a time, and its schedule is
// computed from when it last finished, which the lease keeps: a restart, or
// another node, picks up where the last run left. A job's work must be
// idempotent: a node that dies mid-run loses its lease when it runs out and
// another runs the job again.
//
// Why not River (riverqueue/river), which has SQLite and PostgreSQL drivers,
// periodic jobs and leader election: Paygate's SQLite store writes through
// one connection held by its group committer, and River's SQLite driver
// needs a pool of its own, limited to one connection to avoid SQLITE_BUSY,
// writing beside the committer: every job insert and completion would then
// contend with payments for SQLite's single writer instead of joining a
// group commit, and its SQLite driver is, by its own documentation, in early
// testing and completes jobs one row at a time. Webhook delivery already has
// leased claims with per-target fairness (internal/notify) that a generic
// queue would not keep. What the coming features need is small: run a named
// job on a schedule on one node, and run one named piece of work (an
// account's day) once. That is this package and Store.LeaseAcquire, on the
// store and its conformance suite, with nothing new to operate.
//
// A job holds its lease for as long as it runs (renewed every third of the
// lease), and due jobs run side by side.
//
// Limits: a node paused longer than a job's lease (a stopped process, a
// long GC or VM pause) can find the job taken over; the job is then
// cancelled, and its idempotent work is finished by the other node.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/store"
)

// Job is a piece of periodic work.
type Job struct {
	// Name names the job; its lease is "job:" + Name.
	Name string
	// Next is when the job is next due given when it last finished (nil:
	// never): see Every and Daily.
	Next func(last *time.Time) time.Time
	// Run does the work at now; an error leaves the job due, to run again
	// at the next pass.
	Run func(ctx context.Context, now time.Time) error
	// Lease bounds one run: another node may take the job over once it
	// passes. Default 10 minutes.
	Lease time.Duration
}

// Every is a schedule: due d after the last run finished, and at once the
// first time.
func Every(d time.Duration) func(*time.Time) time.Time {
	return func(last *time.Time) time.Time {
		if last == nil {
			return time.Time{}
		}
		return last.Add(d)
	}
}

// Daily is a schedule: due every day at hour:minute in loc, once the last
// run finished before that day's time (the first time: at once once today's
// time has passed).
func Daily(hour, minute int, loc *time.Location) func(*time.Time) time.Time {
	return func(last *time.Time) time.Time {
		if last == nil {
			return time.Time{}
		}
		l := last.In(loc)
		at := time.Date(l.Year(), l.Month(), l.Day(), hour, minute, 0, 0, loc)
		if !at.After(*last) {
			at = at.AddDate(0, 0, 1)
		}
		return at
	}
}

// Scheduler runs jobs when they are due, on whichever node gets the lease.
type Scheduler struct {
	Store store.Store
	Clock clock.Clock
	// Holder names this node in leases; default the host name, the process
	// id and a random suffix.
	Holder string
	Jobs   []Job
	// Interval between passes in Run. Default 30s.
	Interval time.Duration
	Log      *slog.Logger
	// Metrics records each run (outcome, duration, lag); nil records nothing.
	Metrics *metrics.Metrics
}

// NewHolder names this process as the holder of leases: its host, its pid
// and random bits, so that two nodes, or a process and its restart, never
// share a name.
func NewHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (s *Scheduler) defaults() {
	if s.Holder == "" {
		s.Holder = NewHolder()
	}
	if s.Interval == 0 {
		s.Interval = 30 * time.Second
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
}

// Run runs a pass every Interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	s.defaults()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		s.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs every job that is due and whose lease this node gets, each
// on its own goroutine (a long settlement does not hold renewals up), and
// returns the names of those it ran (whether they succeeded or not), in the
// order of Jobs.
func (s *Scheduler) RunOnce(ctx context.Context) []string {
	s.defaults()
	did := make([]bool, len(s.Jobs))
	var wg sync.WaitGroup
	for i, j := range s.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ran, err := s.run(ctx, j)
			did[i] = ran
			if err != nil && ctx.Err() == nil {
				s.Log.Error("job failed; it stays due", "job", j.Name, "err", err)
			}
		}()
	}
	wg.Wait()
	var ran []string
	for i, j := range s.Jobs {
		if did[i] {
			ran = append(ran, j.Name)
		}
	}
	return ran
}

// run runs j if it is due and the lease is ours, holding the lease for as
// long as the job runs (see hold).
func (s *Scheduler) run(ctx context.Context, j Job) (bool, error) {
	name := "job:" + j.Name
	now := s.Clock.Now().UTC()
	var last *time.Time
	switch l, err := s.Store.LeaseGet(ctx, name); {
	case err == nil:
		last = l.DoneAt
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	due := j.Next(last)
	if now.Before(due) {
		return false, nil
	}
	lease := j.Lease
	if lease == 0 {
		lease = 10 * time.Minute
	}
	l, ok, err := s.Store.LeaseAcquire(ctx, name, s.Holder, now, now.Add(lease))
	if err != nil || !ok {
		return false, err
	}
	if l.DoneAt != nil && now.Before(j.Next(l.DoneAt)) {
		// Another node finished it between our read and our lease.
		return false, s.Store.LeaseRelease(ctx, name, s.Holder, now, time.Time{})
	}
	jctx, cancel := context.WithCancel(ctx)
	held := make(chan struct{})
	go func() { defer close(held); s.hold(jctx, cancel, name, lease) }()
	started := time.Now()
	runErr := j.Run(jctx, now)
	cancel()
	<-held
	s.Metrics.JobRun(j.Name, due, now, time.Since(started), runErr)
	end := s.Clock.Now().UTC()
	done := end
	if runErr != nil {
		done = time.Time{}
	}
	if err := s.Store.LeaseRelease(context.WithoutCancel(ctx), name, s.Holder, end, done); err != nil {
		return true, errors.Join(runErr, fmt.Errorf("release job %s: %w", j.Name, err))
	}
	return true, runErr
}

// hold renews the lease on name every third of its length while the job
// runs, so a job that runs longer than its Lease is not taken over by
// another node; a node that dies stops renewing and its lease runs out.
// When the lease is lost (another node took it after a pause longer than
// the lease), hold cancels the job, whose work is idempotent.
func (s *Scheduler) hold(ctx context.Context, cancel context.CancelFunc, name string, lease time.Duration) {
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.Clock.Now().UTC()
		if _, ok, err := s.Store.LeaseAcquire(ctx, name, s.Holder, now, now.Add(lease)); err == nil && !ok {
			s.Log.Warn("job lost its lease to another node; stopping it", "lease", name)
			cancel()
			return
		}
	}
}
