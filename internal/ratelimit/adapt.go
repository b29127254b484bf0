package ratelimit

import (
	"context"
	"math"
	"runtime/metrics"
	"time"
)

// Adaptive shedding: a bound that follows the CPU.
//
// The Shedder's bound counts the requests inside the handler. It cannot see
// the requests still in socket buffers, in the listener's accept queue, or
// runnable goroutines waiting for a CPU: and that is where an overload
// waits. At twice the maximum rate every refusal also costs a read, a parse
// and a signed answer; once the process is out of CPU, requests queue
// before the shedder sees them, the admitted ones take seconds (measured:
// BENCHMARKS.md, "Load shedding"), and the bound is never reached.
//
// The Go runtime measures that wait: the time goroutines spend runnable
// before they run (/sched/latencies:seconds). Adapt watches its 99th
// percentile over short windows and, when it passes a target while
// requests find every slot taken, takes a quarter of the slots away (held by the controller, so Acquire is
// unchanged); when it is back under half the target it gives one back per
// window. Fewer requests admitted leave CPU to read and refuse the others
// at once, so the queue before the shedder drains and the admitted keep
// their latency. This is additive increase and multiplicative decrease, as
// TCP does with its congestion window, reacting to time spent queued
// rather than to queue length, as CoDel does.
type Adapter struct {
	// Target is the 99th percentile of scheduling latency above which the
	// bound shrinks.
	Target time.Duration
	// Every is the window (100 ms when zero).
	Every time.Duration
	// Min is the lowest bound (1 when zero).
	Min int
	// Busy, when set, replaces the shedder's own account (tests) of whether
	// requests found every slot taken since its last call. The bound
	// shrinks only then: when the CPU is short but the requests are few
	// (another process took it), refusing them would help no one.
	Busy func() bool
	// Latency, when set, replaces the runtime's measure (tests): it returns
	// the 99th percentile of the window since its last call, and false when
	// the window saw too little to say (an idle process: the bound grows).
	Latency func() (time.Duration, bool)
}

// Bound is the number of slots the shedder admits now (its maximum when no
// Adapter runs).
func (s *Shedder) Bound() int { return cap(s.slots) - int(s.withheld.Load()) }

// Adapt runs a until ctx ends, then gives every slot back.
func (s *Shedder) Adapt(ctx context.Context, a Adapter) {
	every := a.Every
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	lowest := max(a.Min, 1)
	latency := a.Latency
	if latency == nil {
		latency = SchedLatencyP99()
	}
	busy := a.Busy
	if busy == nil {
		var seen int64
		busy = func() bool {
			n := s.pressed.Load()
			was := seen
			seen = n
			return n > was
		}
	}
	held := 0
	defer func() {
		for ; held > 0; held-- {
			<-s.slots
		}
		s.withheld.Store(0)
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p99, ok := latency()
		if !ok {
			// Too few goroutines ran to say: the process is not busy, and
			// a bound left low by a burst must come back without traffic.
			p99 = 0
		}
		bound := cap(s.slots) - held
		pressed := busy()
		switch {
		case p99 > a.Target && pressed && bound > lowest:
			want := max(bound*3/4, lowest)
			// Take the slots as requests give them back, within the window.
			deadline := time.NewTimer(every / 2)
		take:
			for held < cap(s.slots)-want {
				select {
				case s.slots <- struct{}{}:
					held++
					s.withheld.Store(int64(held))
				case <-deadline.C:
					break take
				case <-ctx.Done():
					break take
				}
			}
			deadline.Stop()
		case p99 < a.Target/2 && held > 0:
			<-s.slots
			held--
			s.withheld.Store(int64(held))
		}
	}
}

// SchedLatencyP99 returns a function that reports the 99th percentile of
// the Go scheduler's latency (the time goroutines spent runnable before
// they ran) since its previous call; false when fewer than 100 goroutines
// were scheduled in between.
func SchedLatencyP99() func() (time.Duration, bool) {
	sample := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	var prev []uint64
	return func() (time.Duration, bool) {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindFloat64Histogram {
			return 0, false
		}
		h := sample[0].Value.Float64Histogram()
		counts := append([]uint64(nil), h.Counts...)
		defer func() { prev = counts }()
		if len(prev) != len(counts) {
			return 0, false
		}
		return histogramP99(h.Buckets, counts, prev)
	}
}

// histogramP99 is the 99th percentile of the counts added since prev, as
// the upper edge of its bucket (buckets[i] to buckets[i+1] holds counts[i]).
func histogramP99(buckets []float64, counts, prev []uint64) (time.Duration, bool) {
	var total uint64
	for i := range counts {
		total += counts[i] - prev[i]
	}
	if total < 100 {
		return 0, false
	}
	rank := total - total/100 // the first count at or above the 99th percentile
	var seen uint64
	for i := range counts {
		seen += counts[i] - prev[i]
		if seen >= rank {
			edge := buckets[i+1]
			if math.IsInf(edge, 1) {
				edge = buckets[i]
			}
			return time.Duration(edge * float64(time.Second)), true
		}
	}
	return 0, false
}
