package routing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/paygate/paygate/internal/channel"
)

// ringSize is how many recent outcomes are kept per account.
const ringSize = 200

// accountHealth is one channel account's breaker and recent outcomes.
type accountHealth struct {
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]

	mu   sync.Mutex
	at   [ringSize]int64 // outcome times, Unix nanoseconds
	ok   [ringSize]bool
	n    int // outcomes held, up to ringSize
	next int // where the next outcome goes
}

func (h *accountHealth) record(now time.Time, ok bool) {
	h.mu.Lock()
	h.at[h.next] = now.UnixNano()
	h.ok[h.next] = ok
	h.next = (h.next + 1) % ringSize
	h.n = min(h.n+1, ringSize)
	h.mu.Unlock()
}

// rate returns the success rate of the outcomes within window before now
// (1 when there are none) and how many there are.
func (h *accountHealth) rate(now time.Time, window time.Duration) (float64, int) {
	since := now.Add(-window).UnixNano()
	samples, successes := 0, 0
	h.mu.Lock()
	for i := 0; i < h.n; i++ {
		if h.at[i] >= since {
			samples++
			if h.ok[i] {
				successes++
			}
		}
	}
	h.mu.Unlock()
	if samples == 0 {
		return 1, 0
	}
	return float64(successes) / float64(samples), samples
}

// outcome is what a channel call's error says about the channel's health.
type outcome int

const (
	outcomeSuccess  outcome = iota // the channel answered
	outcomeFailure                 // the channel failed or did not answer
	outcomeExcluded                // says nothing about the channel
)

// classify sorts a channel call's error. The payer's and the request's
// errors are successes: the channel answered. A refused breaker and a call
// cancelled by our side say nothing. Everything else, retryable or not
// understood (a bad signature, an unwrapped error), counts as a failure.
func classify(err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(err, ErrCircuitOpen):
		return outcomeExcluded
	case channel.Retryable(err), errors.Is(err, channel.ErrUnavailable):
		return outcomeFailure
	case errors.Is(err, channel.ErrDeclined),
		errors.Is(err, channel.ErrInvalidRequest),
		errors.Is(err, channel.ErrTradeNotFound),
		errors.Is(err, channel.ErrAlreadyPaid),
		errors.Is(err, channel.ErrNotSupported):
		return outcomeSuccess
	case errors.Is(err, context.Canceled):
		return outcomeExcluded
	}
	return outcomeFailure
}

// healthFor returns the account's health, creating it on first use.
func (r *Router) healthFor(accountID string) *accountHealth {
	r.healthMu.RLock()
	h := r.health[accountID]
	r.healthMu.RUnlock()
	if h != nil {
		return h
	}
	r.healthMu.Lock()
	defer r.healthMu.Unlock()
	if h = r.health[accountID]; h != nil {
		return h
	}
	threshold := uint32(r.failureThreshold())
	h = &accountHealth{breaker: gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         accountID,
		MaxRequests:  1,
		Timeout:      r.openFor(),
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsSuccessful: func(err error) bool { return classify(err) == outcomeSuccess },
		IsExcluded:   func(err error) bool { return classify(err) == outcomeExcluded },
	})}
	if r.health == nil {
		r.health = make(map[string]*accountHealth)
	}
	r.health[accountID] = h
	return h
}

// healthOf returns whether the account's breaker is open and its recent
// success rate, without creating anything for an account never called.
func (r *Router) healthOf(now time.Time, accountID string) (open bool, rate float64, samples int) {
	r.healthMu.RLock()
	h := r.health[accountID]
	r.healthMu.RUnlock()
	if h == nil {
		return false, 1, 0
	}
	if h.breaker.State() == gobreaker.StateOpen {
		return true, 0, 0
	}
	rate, samples = h.rate(now, r.window())
	return false, rate, samples
}

// Allow asks the account's circuit breaker for one channel call. When ok,
// the caller makes the call and then calls done exactly once with its error
// (later calls of done are ignored); a done never called holds a half-open
// breaker's only probe for good. When the breaker is open, or half-open with
// its probe out, ok is false and the caller moves to the next candidate.
//
// done classifies the error: nil, and the payer's or the request's errors
// (ErrDeclined, ErrInvalidRequest, ErrTradeNotFound, ErrAlreadyPaid,
// ErrNotSupported) count as successes, since the channel answered;
// retryable errors (ErrUnavailable, ErrUnknownOutcome) and errors it does
// not understand count as failures; context.Canceled and ErrCircuitOpen
// count as neither.
func (r *Router) Allow(accountID string) (done func(err error), ok bool) {
	h := r.healthFor(accountID)
	bdone, err := h.breaker.Allow()
	if err != nil {
		return nil, false
	}
	var called atomic.Bool
	return func(err error) {
		if called.Swap(true) {
			return
		}
		bdone(err)
		if o := classify(err); o != outcomeExcluded {
			h.record(r.now(), o == outcomeSuccess)
		}
	}, true
}

// Report records the outcome of a channel call made on the account without
// Allow (a query, a close, a refund), classified as Allow's done does. It
// feeds the breaker when the breaker would have allowed the call (so it may
// complete a half-open probe) and the success rate always.
func (r *Router) Report(accountID string, err error) {
	h := r.healthFor(accountID)
	if bdone, berr := h.breaker.Allow(); berr == nil {
		bdone(err)
	}
	if o := classify(err); o != outcomeExcluded {
		h.record(r.now(), o == outcomeSuccess)
	}
}

// Health is a channel account's health as the router sees it.
type Health struct {
	Breaker     string  `json:"breaker"`      // closed, open or half_open
	SuccessRate float64 `json:"success_rate"` // over Window; 1 with no samples
	Samples     int     `json:"samples"`      // outcomes within Window
}

// Health returns the account's breaker state and recent success rate. An
// account never called is closed with no samples.
func (r *Router) Health(accountID string) Health {
	r.healthMu.RLock()
	h := r.health[accountID]
	r.healthMu.RUnlock()
	if h == nil {
		return Health{Breaker: "closed", SuccessRate: 1}
	}
	out := Health{Breaker: "closed"}
	switch h.breaker.State() {
	case gobreaker.StateOpen:
		out.Breaker = "open"
	case gobreaker.StateHalfOpen:
		out.Breaker = "half_open"
	}
	out.SuccessRate, out.Samples = h.rate(r.now(), r.window())
	return out
}

// Each calls fn with the health of every account the router has seen (for
// metrics, at scrape time).
func (r *Router) Each(fn func(accountID string, h Health)) {
	r.healthMu.RLock()
	ids := make([]string, 0, len(r.health))
	for id := range r.health {
		ids = append(ids, id)
	}
	r.healthMu.RUnlock()
	for _, id := range ids {
		fn(id, r.Health(id))
	}
}
