package console

import (
	"sync"
	"time"

	"github.com/paygate/paygate/internal/clock"
)

// limiter counts failed sign-ins per key (an address, an email) in a fixed
// window. It is per process: behind several nodes an attacker gets each
// node's allowance, which argon2id's cost still makes slow.
type limiter struct {
	clock  clock.Clock
	window time.Duration
	max    int

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	start    time.Time
	failures int
}

func newLimiter(c clock.Clock) *limiter {
	return &limiter{clock: c, window: 15 * time.Minute, max: 10, keys: map[string]*window{}}
}

// blocked reports whether key has used up its failures in the window.
func (l *limiter) blocked(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	return w != nil && l.clock.Now().Sub(w.start) < l.window && w.failures >= l.max
}

// fail counts a failure for each key.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if len(l.keys) > 100_000 { // forget old windows rather than grow without end
		for k, w := range l.keys {
			if now.Sub(w.start) >= l.window {
				delete(l.keys, k)
			}
		}
	}
	for _, k := range keys {
		w := l.keys[k]
		if w == nil || now.Sub(w.start) >= l.window {
			w = &window{start: now}
			l.keys[k] = w
		}
		w.failures++
	}
}

// reset forgets key's failures (a successful sign-in).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}
