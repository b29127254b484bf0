package notify

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// job is a claimed delivery waiting for, or in, its attempt.
type job struct {
	d       *store.Delivery
	target  string
	claimed time.Time // when the claim returned, on this process's monotonic clock
}

// pool runs attempts within the Dispatcher's limits: at most Concurrency in
// flight, at most PerTarget per target, targets served round robin.
type pool struct {
	d *Dispatcher
	// ctx is the Dispatcher's context: when it ends no attempt starts. An
	// attempt in flight runs on (up to Timeout) and is recorded.
	ctx context.Context
	// bounded parks deliveries of a target whose queue is full, instead of
	// queueing them (Run); RunOnce queues everything it claimed.
	bounded bool

	mu        sync.Mutex
	running   int
	perTarget map[string]int
	queues    map[string][]job
	order     []string                 // targets with queued jobs, in the order they are served
	took      map[string]time.Duration // moving average of each target's attempts
	queued    int
	wg        sync.WaitGroup
	freed     chan struct{}
	attempted atomic.Int64
	parked    atomic.Int64
}

func newPool(d *Dispatcher, ctx context.Context, bounded bool) *pool {
	return &pool{d: d, ctx: ctx, bounded: bounded, perTarget: map[string]int{}, queues: map[string][]job{},
		took: map[string]time.Duration{}, freed: make(chan struct{}, 1)}
}

// Bounds of a bounded pool.
const (
	maxQueued        = 4096 // claimed deliveries waiting, over all targets
	maxTrackedTarget = 10000
)

// window is how long after its claim an attempt may still start.
func (p *pool) window() time.Duration { return p.d.Lease - p.d.Timeout - leaseMargin }

// maxQueue is how many claimed deliveries of target t may wait: as many as
// its PerTarget slots can attempt before their leases run out, judged by
// how long its attempts have taken (no bound but maxQueued until one has
// finished). A slow target so keeps few deliveries leased, and the rest of
// each claim is parked, so claims move past its backlog to other targets.
func (p *pool) maxQueue(t string) int {
	took, ok := p.took[t]
	if !ok {
		return maxQueued
	}
	n := int(p.window()/max(took, time.Millisecond)) * p.d.PerTarget
	return min(max(n, p.d.PerTarget), maxQueued)
}

// wantsMore reports whether Run should claim: a slot is free (pump has
// started everything it could) and a whole batch fits in the queue.
func (p *pool) wantsMore() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running < p.d.Concurrency && p.queued+p.d.Batch <= maxQueued
}

// sweep parks the queued deliveries that can no longer start before their
// lease runs out (those of targets whose slots stay busy).
func (p *pool) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < len(p.order); {
		t := p.order[i]
		q := p.queues[t]
		n := 0
		for n < len(q) && time.Since(q[n].claimed) > p.window() {
			n++
		}
		p.queued -= n
		p.parked.Add(int64(n))
		if n == len(q) {
			delete(p.queues, t)
			p.order = append(p.order[:i], p.order[i+1:]...)
			continue
		}
		p.queues[t] = q[n:]
		i++
	}
}

// targetOf names what PerTarget bounds: the endpoint, or for a notify_url
// the app and host (one merchant's server).
func targetOf(d *store.Delivery) string {
	if d.EndpointID != "" {
		return d.EndpointID
	}
	host := d.URL
	if u, err := url.Parse(d.URL); err == nil {
		host = strings.ToLower(u.Host)
	}
	return d.AppID + " " + host
}

// add queues a claimed delivery. In a bounded pool it returns false, and
// leaves the delivery parked until its lease ends, when the target's queue
// is full.
func (p *pool) add(d *store.Delivery, claimed time.Time) bool {
	t := targetOf(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queues[t]
	if p.bounded && len(q) >= p.maxQueue(t) {
		p.parked.Add(1)
		return false
	}
	if len(q) == 0 {
		p.order = append(p.order, t)
	}
	p.queues[t] = append(q, job{d: d, target: t, claimed: claimed})
	p.queued++
	return true
}

// pump starts queued jobs while there is room.
func (p *pool) pump() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	for progress := true; progress && p.running < p.d.Concurrency; {
		progress = false
		for i := 0; i < len(p.order) && p.running < p.d.Concurrency; {
			t := p.order[i]
			if p.perTarget[t] >= p.d.PerTarget {
				i++
				continue
			}
			q := p.queues[t]
			j := q[0]
			if len(q) == 1 {
				delete(p.queues, t)
				p.order = append(p.order[:i], p.order[i+1:]...)
			} else {
				p.queues[t] = q[1:]
				i++
			}
			p.queued--
			progress = true
			// Never start an attempt that could outlast the lease: another
			// node may claim the delivery once it ends. Left alone, the
			// delivery comes back when the lease runs out.
			if time.Since(j.claimed) > p.window() {
				p.parked.Add(1)
				continue
			}
			p.running++
			p.perTarget[t]++
			p.wg.Add(1)
			go p.run(j)
		}
	}
}

// run attempts j and records it. The target's slot is freed as soon as
// the attempt is answered: PerTarget bounds the requests a merchant's
// server sees, and recording is the database's business, not the
// merchant's. The attempt keeps its Concurrency slot until it is recorded,
// which so also bounds the recordings in flight.
func (p *pool) run(j job) {
	defer p.wg.Done()
	ctx := context.WithoutCancel(p.ctx)
	start := time.Now()
	res := p.d.attempt(ctx, j.d)
	took := time.Since(start)
	p.attempted.Add(1)
	p.mu.Lock()
	if len(p.took) >= maxTrackedTarget {
		clear(p.took)
	}
	if avg, ok := p.took[j.target]; ok {
		p.took[j.target] = (3*avg + took) / 4
	} else {
		p.took[j.target] = took
	}
	// A target found slow keeps only what it can attempt in time; the
	// deliveries claimed last are parked.
	if q, limit := p.queues[j.target], p.maxQueue(j.target); len(q) > limit {
		p.parked.Add(int64(len(q) - limit))
		p.queued -= len(q) - limit
		p.queues[j.target] = q[:limit]
	}
	if p.perTarget[j.target]--; p.perTarget[j.target] == 0 {
		delete(p.perTarget, j.target)
	}
	p.mu.Unlock()
	p.pump()

	p.d.record(ctx, j.d, res)
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	p.pump()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// wait waits for the attempts in flight.
func (p *pool) wait() { p.wg.Wait() }
