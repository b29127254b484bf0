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
}

// NewShedder admits max requests at once, and reserve priority requests
// beyond them; a request waits at most queue for a slot.
func NewShedder(max, reserve int, queue time.Duration) *Shedder {
	return &Shedder{slots: make(chan struct{}, max), reserve: make(chan struct{}, reserve), queue: queue}
}

// Shed counts the requests refused.
func (s *Shedder) Shed() int64 { return s.shed.Load() }

// InFlight is the number of requests admitted and not yet released.
func (s *Shedder) InFlight() int { return len(s.slots) + len(s.reserve) - int(s.withheld.Load()) }

// Acquire admits a request, or refuses it with ErrShed (or ctx's error
// when the client leaves while waiting). release must be called once the
// request is done.
func (s *Shedder) Acquire(ctx context.Context, priority bool) (release func(), err error) {
	if r, ok := s.try(priority); ok {
		return r, nil
	}
	s.pressed.Add(1)
	if s.queue <= 0 || s.waiting.Add(1) > int64(s.Bound()) {
		if s.queue > 0 {
			s.waiting.Add(-1)
		}
		s.shed.Add(1)
		return nil, ErrShed
	}
	defer s.waiting.Add(-1)
	t := time.NewTimer(s.queue)
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
