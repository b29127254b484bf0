package sim

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/clock"
)

// WithDefaults returns o with its zero (or negative) fields set as Options
// documents: the real clock, RetryScale 1, Hang 30 s, a client with a 5 s
// timeout and a logger that discards.
func (o Options) WithDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.RetryScale <= 0 {
		o.RetryScale = 1
	}
	if o.Hang <= 0 {
		o.Hang = 30 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Scaled is d × RetryScale.
func (o Options) Scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.RetryScale)
}

// Faults is a simulator's current fault and how many more uses it has. The
// zero value has none; it is safe for concurrent use (its lock is its own,
// so it may be used with or without the simulator's).
type Faults struct {
	mu    sync.Mutex
	fault Fault
	left  int // uses left; 0 with a fault set: until cleared
}

// Set makes the next count uses of f misbehave (count 0 or less: every use
// until Set(FaultNone, 0)), as Simulator.SetFault.
func (fs *Faults) Set(f Fault, count int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.fault, fs.left = f, max(count, 0)
}

// Take returns the current fault if it is one of kinds, using up one of its
// count (the last use clears it); FaultNone otherwise.
func (fs *Faults) Take(kinds ...Fault) Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.fault == FaultNone {
		return FaultNone
	}
	for _, k := range kinds {
		if k != fs.fault {
			continue
		}
		if fs.left > 0 {
			if fs.left--; fs.left == 0 {
				fs.fault = FaultNone
			}
		}
		return k
	}
	return FaultNone
}

// Current returns the current fault without using it.
func (fs *Faults) Current() Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.fault
}

// GenerateRSAKeys makes n 2048-bit RSA keys concurrently (generation is
// slow; simulators make theirs once per process).
func GenerateRSAKeys(n int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

// Retry makes a notification's attempts: attempt(0) at once, then one more
// after each wait of schedule (× scale), until attempt reports the
// notification acknowledged, the schedule runs out or done is closed. It
// reports whether the notification was acknowledged.
func Retry(done <-chan struct{}, schedule []time.Duration, scale float64, attempt func(n int) (acknowledged bool)) bool {
	for n := 0; ; n++ {
		if attempt(n) {
			return true
		}
		if n >= len(schedule) {
			return false
		}
		t := time.NewTimer(time.Duration(float64(schedule[n]) * scale))
		select {
		case <-done:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
