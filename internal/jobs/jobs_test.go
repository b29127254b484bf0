package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

func TestJobRunsOnceAcrossNodesOnItsSchedule(t *testing.T) {
	t.Parallel()
	st := sqlitetest.Open(t)
	c := clock.NewFake(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC))
	shanghai := time.FixedZone("CST", 8*3600)
	var runs atomic.Int32
	job := jobs.Job{Name: "recon", Next: jobs.Daily(10, 0, shanghai), Run: func(context.Context, time.Time) error {
		runs.Add(1)
		return nil
	}}
	nodes := []*jobs.Scheduler{
		{Store: st, Clock: c, Holder: "a", Jobs: []jobs.Job{job}},
		{Store: st, Clock: c, Holder: "b", Jobs: []jobs.Job{job}},
	}
	pass := func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.RunOnce(context.Background()) }()
		}
		wg.Wait()
	}
	pass() // never ran: due at once, on one node
	if n := runs.Load(); n != 1 {
		t.Fatalf("first pass ran the job %d times; want once", n)
	}
	pass()
	c.Advance(10 * time.Hour) // 2026-12-01 17:00 in Shanghai: today's 10:00 was after the last run
	pass()
	if n := runs.Load(); n != 2 {
		t.Fatalf("after the next day's 10:00 the job ran %d times in all; want 2", n)
	}
	c.Advance(12 * time.Hour) // 05:00 the day after: not yet
	pass()
	if n := runs.Load(); n != 2 {
		t.Fatalf("before 10:00 the job ran %d times in all; want still 2", n)
	}
	c.Advance(6 * time.Hour)
	pass()
	if n := runs.Load(); n != 3 {
		t.Fatalf("after 10:00 the job ran %d times in all; want 3", n)
	}
}

func TestFailedJobStaysDueAndDeadNodesLeaseRunsOut(t *testing.T) {
	t.Parallel()
	st := sqlitetest.Open(t)
	c := clock.NewFake(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	fail := true
	var runs int
	s := &jobs.Scheduler{Store: st, Clock: c, Holder: "a", Jobs: []jobs.Job{{
		Name: "settle", Next: jobs.Every(time.Hour), Lease: time.Minute,
		Run: func(context.Context, time.Time) error {
			runs++
			if fail {
				return errors.New("bank unreachable")
			}
			return nil
		},
	}}}
	s.RunOnce(context.Background())
	fail = false
	s.RunOnce(context.Background())
	if runs != 2 {
		t.Fatalf("a failed job ran again %d times; want at the next pass", runs-1)
	}
	s.RunOnce(context.Background())
	if runs != 2 {
		t.Fatal("a job that succeeded ran again before its next time")
	}
	// A node that took the lease and died: the job waits for the lease to run out.
	c.Advance(time.Hour)
	if _, ok, err := st.LeaseAcquire(context.Background(), "job:settle", "dead", c.Now(), c.Now().Add(time.Minute)); err != nil || !ok {
		t.Fatalf("dead node's lease: %v %v", ok, err)
	}
	s.RunOnce(context.Background())
	if runs != 2 {
		t.Fatal("the job ran while another node held its lease")
	}
	c.Advance(2 * time.Minute)
	s.RunOnce(context.Background())
	if runs != 3 {
		t.Fatal("the job did not run once the dead node's lease ran out")
	}
}

// TestLongJobKeepsItsLease: a job that runs longer than its lease keeps it
// (the scheduler renews it), so another node does not start it meanwhile.
// In a synctest bubble, so the lease's minutes pass without waiting.
func TestLongJobKeepsItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := sqlitetest.Open(t)
		c := clock.Real{} // the bubble's clock
		started, release := make(chan struct{}), make(chan struct{})
		var runs atomic.Int32
		job := jobs.Job{Name: "long", Next: jobs.Every(time.Hour), Lease: time.Minute,
			Run: func(ctx context.Context, _ time.Time) error {
				if runs.Add(1) == 1 {
					close(started)
					<-release
				}
				return nil
			}}
		a := &jobs.Scheduler{Store: st, Clock: c, Holder: "a", Jobs: []jobs.Job{job}}
		b := &jobs.Scheduler{Store: st, Clock: c, Holder: "b", Jobs: []jobs.Job{job}}
		done := make(chan struct{})
		go func() { defer close(done); a.RunOnce(context.Background()) }()
		<-started
		// Five lease lengths pass while a runs; b finds the lease held each time.
		for range 10 {
			time.Sleep(30 * time.Second)
			synctest.Wait()
			if ran := b.RunOnce(context.Background()); len(ran) != 0 {
				t.Fatalf("node b ran %v while node a held the job", ran)
			}
		}
		close(release)
		<-done
		if n := runs.Load(); n != 1 {
			t.Fatalf("the job ran %d times; want once", n)
		}
	})
}

// TestQueryBackoff: the delays never shrink and settle at an hour, also for
// attempts past the schedule and a negative count.
func TestQueryBackoff(t *testing.T) {
	prev := time.Duration(0)
	for n := range 12 {
		d := jobs.QueryBackoff(n)
		if d < prev || d <= 0 || d > time.Hour {
			t.Fatalf("jobs.QueryBackoff(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
	if jobs.QueryBackoff(100) != time.Hour || jobs.QueryBackoff(-1) != time.Hour {
		t.Fatalf("past the schedule: %v, %v", jobs.QueryBackoff(100), jobs.QueryBackoff(-1))
	}
}
