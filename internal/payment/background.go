package payment

import (
	"context"
	"sync"
)

// background is the work the service starts and does not wait for (closing
// a trade a lost create left open at the channel). It runs under the
// gateway's lifecycle: Service.Close waits for it, and it is never dropped
// silently: a failure is logged with what it was about.
type background struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

// goBackground runs fn on its own goroutine, detached from the request that
// started it but bounded by ctx's values (no cancellation), and logs its
// error as what. After Close it runs fn on the caller's goroutine instead.
func (s *Service) goBackground(ctx context.Context, what string, attrs []any, fn func(context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	run := func() {
		if err := fn(ctx); err != nil {
			s.log().Warn(what+" failed", append(attrs, "err", err)...)
		}
	}
	s.bg.mu.Lock()
	if s.bg.closed {
		s.bg.mu.Unlock()
		run()
		return
	}
	s.bg.wg.Add(1)
	s.bg.mu.Unlock()
	go func() {
		defer s.bg.wg.Done()
		run()
	}()
}

// Close waits for the background work the service started. Call it when
// the gateway stops, after the HTTP server has drained.
func (s *Service) Close() {
	s.bg.mu.Lock()
	s.bg.closed = true
	s.bg.mu.Unlock()
	s.bg.wg.Wait()
}
