package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestAdapterFollowsLatency: while the scheduling latency is over the
// target the bound shrinks by a quarter a window down to Min, and requests
// beyond it are refused; once it is back under half the target the bound
// grows one slot a window back to the maximum; when the Adapter stops every
// slot is given back.
func TestAdapterFollowsLatency(t *testing.T) {
	s := NewShedder(16, 4, 0)
	var lat atomic.Int64
	var busy atomic.Bool
	lat.Store(int64(50 * time.Millisecond))
	// A CPU short while requests are few (another process took it): no
	// shrinking, refusing them would help no one.
	ctxIdle, stopIdle := context.WithCancel(context.Background())
	go s.Adapt(ctxIdle, Adapter{Target: 10 * time.Millisecond, Every: time.Millisecond, Min: 2,
		Latency: func() (time.Duration, bool) { return 50 * time.Millisecond, true }})
	time.Sleep(20 * time.Millisecond)
	if b := s.Bound(); b != 16 {
		t.Fatalf("bound %d with the CPU short but no request kept waiting, want 16", b)
	}
	stopIdle()
	time.Sleep(5 * time.Millisecond)
	busy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Adapt(ctx, Adapter{Target: 10 * time.Millisecond, Every: time.Millisecond, Min: 2, Busy: func() bool { return busy.Load() },
			Latency: func() (time.Duration, bool) { l := lat.Load(); return time.Duration(l), l >= 0 }})
	}()
	waitFor(t, func() bool { return s.Bound() == 2 }, "the bound to shrink to Min")
	if s.InFlight() != 0 {
		t.Fatalf("withheld slots counted in flight: %d", s.InFlight())
	}
	var rels []func()
	for range 2 {
		rel, err := s.Acquire(ctx, false)
		if err != nil {
			t.Fatalf("within the bound: %v", err)
		}
		rels = append(rels, rel)
	}
	if _, err := s.Acquire(ctx, false); !errors.Is(err, ErrShed) {
		t.Fatalf("beyond the shrunk bound: %v, want ErrShed", err)
	}
	// Priority requests keep their reserve.
	rel, err := s.Acquire(ctx, true)
	if err != nil {
		t.Fatalf("priority within the reserve: %v", err)
	}
	rels = append(rels, rel)
	for _, r := range rels {
		r()
	}

	lat.Store(int64(7 * time.Millisecond)) // under the target, not under half: the bound holds
	time.Sleep(20 * time.Millisecond)
	if b := s.Bound(); b != 2 {
		t.Fatalf("bound %d between half the target and the target, want it held at 2", b)
	}
	lat.Store(-1) // an idle window: too little ran to measure
	waitFor(t, func() bool { return s.Bound() == 16 }, "the bound to grow back while idle")
	lat.Store(int64(50 * time.Millisecond))
	waitFor(t, func() bool { return s.Bound() < 16 }, "the bound to shrink again")
	cancel()
	<-done
	if s.Bound() != 16 || s.InFlight() != 0 {
		t.Fatalf("after the adapter stopped: bound %d, in flight %d", s.Bound(), s.InFlight())
	}
}

// TestAdapterTakesSlotsAsTheyFree: slots held by requests are taken for the
// shrunk bound only when the requests give them back.
func TestAdapterTakesSlotsAsTheyFree(t *testing.T) {
	s := NewShedder(4, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rels []func()
	for range 4 {
		rel, err := s.Acquire(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	go s.Adapt(ctx, Adapter{Target: time.Millisecond, Every: time.Millisecond, Min: 1, Busy: func() bool { return true },
		Latency: func() (time.Duration, bool) { return time.Second, true }})
	time.Sleep(10 * time.Millisecond)
	if s.Bound() != 4 || s.InFlight() != 4 {
		t.Fatalf("bound %d in flight %d while every slot is busy, want 4 and 4", s.Bound(), s.InFlight())
	}
	for _, r := range rels {
		r()
	}
	waitFor(t, func() bool { return s.Bound() == 1 }, "the bound to reach Min once slots freed")
	if s.InFlight() != 0 {
		t.Fatalf("in flight %d", s.InFlight())
	}
}

func TestHistogramP99(t *testing.T) {
	buckets := []float64{0, 0.001, 0.01, 0.1, 1}
	prev := []uint64{5, 5, 5, 5}
	// In the window: 990 under 1 ms, 9 between 1 and 10 ms, 1 between 10
	// and 100 ms: 99% took at most 1 ms.
	p, ok := histogramP99(buckets, []uint64{995, 14, 6, 5}, prev)
	if !ok || p != time.Millisecond {
		t.Fatalf("p99 %v %v, want 1ms", p, ok)
	}
	// 989 under 1 ms, 10 to 10 ms: the 990th of 1,000 is in the second bucket.
	if p, _ := histogramP99(buckets, []uint64{994, 15, 6, 5}, prev); p != 10*time.Millisecond {
		t.Fatalf("p99 %v, want 10ms", p)
	}
	if p, _ := histogramP99(buckets, []uint64{980, 14, 16, 5}, prev); p != 100*time.Millisecond {
		t.Fatalf("p99 %v, want 100ms", p)
	}
	if _, ok := histogramP99(buckets, []uint64{50, 5, 5, 5}, prev); ok {
		t.Fatal("a window of 45 samples gave a percentile")
	}
	// The real measure answers once the process has scheduled enough goroutines.
	f := SchedLatencyP99()
	f()
	for range 5000 {
		ch := make(chan struct{})
		go close(ch)
		<-ch
	}
	if _, ok := f(); !ok {
		t.Fatal("the runtime's scheduling latency gave no percentile after 5,000 goroutines (it samples one scheduling in eight)")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
