package ratelimit

import (
	"context"
	"sync/atomic"
	"time"
)

// Shedder bounds the requests in flight. A request waits at most Queue for
// a slot, and none waits when as many are waiting as there are slots:
// refusing at once is better than answering late, for the client and for
// the requests already admitted.
type Shedder struct {
	slots   chan struct{} // Max: every request
	reserve chan struct{} // Reserve: priority requests only, when slots are full
	queue   time.Duration
	waiting atomic.Int64
	shed    atomic.Int64
	// withheld is how many slots an Adapter holds (adapt.go).
	withheld atomic.Int64
	// pressed counts the requests that found no slot free at once.
	pressed atomic.Int64
	// lastPressed is when a request last found every slot taken (unix ns).
	lastPressed atomic.Int64
	// stale counts the requests refused for what they waited before the
	// process saw them (AcquireWaited).
	stale atomic.Int64
}

// NewShedder admits max requests at once, and reserve priority requests
// beyond them; a request waits at most queue for a slot.
func NewShedder(max, reserve int, queue time.Duration) *Shedder {
	return &Shedder{slots: make(chan struct{}, max), reserve: make(chan struct{}, reserve), queue: queue}
}

// Shed counts the requests refused.
func (s *Shedder) Shed() int64 { return s.shed.Load() }

// StaleWindow is how long after a request found every slot taken the
// node counts as under pressure (AcquireWaited).
const StaleWindow = time.Second

// UnderPressure reports whether, within the last StaleWindow, a request
// found every slot taken or was refused for what it had waited.
func (s *Shedder) UnderPressure() bool {
	last := s.lastPressed.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < StaleWindow
}

// Stale counts the requests refused because they had waited the queue
// time out before the process saw them (a part of Shed).
func (s *Shedder) Stale() int64 { return s.stale.Load() }

// InFlight is the number of requests admitted and not yet released.
func (s *Shedder) InFlight() int { return len(s.slots) + len(s.reserve) - int(s.withheld.Load()) }

// Acquire admits a request, or refuses it with ErrShed (or ctx's error
// when the client leaves while waiting). release must be called once the
// request is done.
func (s *Shedder) Acquire(ctx context.Context, priority bool) (release func(), err error) {
	return s.AcquireWaited(ctx, priority, 0)
}

// AcquireWaited is Acquire for a request that has already waited (before
// the process could see it, see Waited). While the node is under pressure
// (UnderPressure), that time counts against the queue time: a request
// other than a priority one that waited the queue time out is refused at
// once, since it could only be answered late. Otherwise, and for priority
// requests (shed last), what a request waited outside is not held against
// it: a node that is not overloaded serves a request its machine delayed
// rather than refuse it.
func (s *Shedder) AcquireWaited(ctx context.Context, priority bool, waited time.Duration) (release func(), err error) {
	queue := s.queue
	if !priority && s.queue > 0 && waited > 0 && s.UnderPressure() {
		if waited >= s.queue {
			// A refusal for staleness is pressure too: it keeps the check on
			// while it keeps the slots free.
			s.lastPressed.Store(time.Now().UnixNano())
			s.stale.Add(1)
			s.shed.Add(1)
			return nil, ErrShed
		}
		queue -= waited
	}
	if r, ok := s.try(priority); ok {
		return r, nil
	}
	s.pressed.Add(1)
	s.lastPressed.Store(time.Now().UnixNano())
	if s.queue <= 0 || s.waiting.Add(1) > int64(s.Bound()) {
		if s.queue > 0 {
			s.waiting.Add(-1)
		}
		s.shed.Add(1)
		return nil, ErrShed
	}
	defer s.waiting.Add(-1)
	t := time.NewTimer(queue)
	defer t.Stop()
	reserve := s.reserve
	if !priority {
		reserve = nil // a nil channel never sends
	}
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case reserve <- struct{}{}:
		return func() { <-s.reserve }, nil
	case <-t.C:
		s.shed.Add(1)
		return nil, ErrShed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Shedder) try(priority bool) (func(), bool) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, true
	default:
	}
	if priority {
		select {
		case s.reserve <- struct{}{}:
			return func() { <-s.reserve }, true
		default:
		}
	}
	return nil, false
}
