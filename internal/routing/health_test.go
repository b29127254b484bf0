package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

func TestReportClassifiesEachSentinel(t *testing.T) {
	t.Parallel()
	const (
		success  = "success"
		failure  = "failure"
		excluded = "excluded"
	)
	tests := []struct {
		err  error
		want string
	}{
		{nil, success},
		{fmt.Errorf("http 503: %w", channel.ErrUnavailable), failure},
		{channel.Unknown(context.DeadlineExceeded), failure},
		{channel.ErrUnknownOutcome, failure},
		{&channel.DeclineError{Code: "insufficient_funds"}, success},
		{channel.ErrDeclined, success},
		{channel.ErrInvalidRequest, success},
		{channel.ErrTradeNotFound, success},
		{channel.ErrAlreadyPaid, success},
		{channel.ErrNotSupported, success},
		{channel.ErrBadSignature, failure},
		{errors.New("connector bug"), failure},
		{context.Canceled, excluded},
		{ErrCircuitOpen, excluded},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			t.Parallel()
			r := &Router{FailureThreshold: 3}
			for range 3 {
				r.Report("cha_a", tt.err)
			}
			h := r.Health("cha_a")
			var got string
			switch {
			case h.Samples == 0 && h.Breaker == "closed":
				got = excluded
			case h.Samples == 3 && h.SuccessRate == 1 && h.Breaker == "closed":
				got = success
			case h.Samples == 3 && h.SuccessRate == 0 && h.Breaker == "open":
				got = failure
			default:
				t.Fatalf("health after 3 reports = %+v: neither success, failure nor excluded", h)
			}
			if got != tt.want {
				t.Fatalf("Report counted %v as %s (health %+v), want %s", tt.err, got, h, tt.want)
			}
		})
	}
}

func TestHealthOfUnknownAccount(t *testing.T) {
	t.Parallel()
	r := &Router{}
	if got, want := r.Health("cha_never"), (Health{Breaker: "closed", SuccessRate: 1}); got != want {
		t.Fatalf("Health = %+v, want %+v", got, want)
	}
}

func TestAllowDoneCountsOnce(t *testing.T) {
	t.Parallel()
	r := &Router{}
	done, ok := r.Allow("cha_a")
	if !ok {
		t.Fatal("Allow refused a new account")
	}
	done(channel.ErrUnavailable)
	done(channel.ErrUnavailable)
	if h := r.Health("cha_a"); h.Samples != 1 {
		t.Fatalf("samples = %d after one done called twice, want 1", h.Samples)
	}
}

// waitHalfOpen polls until the account's breaker is half-open. gobreaker
// reads the wall clock, so the open period is real (and short) in these tests.
func waitHalfOpen(t *testing.T, r *Router, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.Health(id).Breaker != "half_open" {
		if time.Now().After(deadline) {
			t.Fatalf("breaker of %s still %q after 5s, want half_open", id, r.Health(id).Breaker)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fail(t *testing.T, r *Router, id string, n int) {
	t.Helper()
	for range n {
		done, ok := r.Allow(id)
		if !ok {
			t.Fatalf("Allow(%s) refused while closed", id)
		}
		done(channel.ErrUnavailable)
	}
}

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.FailureThreshold = 3
	b.router.OpenFor = 50 * time.Millisecond
	b.src.putRoute(route(StrategyPriority, "cha_a", "cha_b"))

	fail(t, b.router, "cha_a", 2)
	if got := ids(mustRoute(t, b.router, liveNative)); !slices.Equal(got, []string{"cha_a", "cha_b"}) {
		t.Fatalf("after 2 failures: %v, want cha_a still first", got)
	}
	fail(t, b.router, "cha_a", 1)
	p := mustRoute(t, b.router, liveNative)
	if got := ids(p); !slices.Equal(got, []string{"cha_b"}) {
		t.Fatalf("after 3 failures: %v, want only cha_b", got)
	}
	if want := []Skip{{"cha_a", ReasonCircuitOpen}}; !slices.Equal(p.Decision.Skipped, want) {
		t.Fatalf("skipped = %v, want %v", p.Decision.Skipped, want)
	}
	if _, ok := b.router.Allow("cha_a"); ok {
		t.Fatal("Allow let a call through an open breaker")
	}

	waitHalfOpen(t, b.router, "cha_a")
	if got := ids(mustRoute(t, b.router, liveNative)); !slices.Equal(got, []string{"cha_a", "cha_b"}) {
		t.Fatalf("half-open: %v, want cha_a admitted for its probe", got)
	}
	probe, ok := b.router.Allow("cha_a")
	if !ok {
		t.Fatal("half-open breaker refused the probe")
	}
	if _, ok := b.router.Allow("cha_a"); ok {
		t.Fatal("half-open breaker let a second call through while the probe is out")
	}
	probe(nil)
	if h := b.router.Health("cha_a"); h.Breaker != "closed" {
		t.Fatalf("after a successful probe: %+v, want closed", h)
	}

	// Trip it again; this time the probe fails and the breaker reopens.
	fail(t, b.router, "cha_a", 3)
	waitHalfOpen(t, b.router, "cha_a")
	probe, ok = b.router.Allow("cha_a")
	if !ok {
		t.Fatal("half-open breaker refused the probe")
	}
	probe(channel.ErrUnavailable)
	if h := b.router.Health("cha_a"); h.Breaker != "open" {
		t.Fatalf("after a failed probe: %+v, want open", h)
	}
	if _, ok := b.router.Allow("cha_a"); ok {
		t.Fatal("Allow let a call through the reopened breaker")
	}
}

func TestRunMovesPastARefusedBreaker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.FailureThreshold = 1
	b.router.OpenFor = time.Hour
	b.src.putRoute(route(StrategyPriority, "cha_a", "cha_b"))
	p := mustRoute(t, b.router, liveNative)
	fail(t, b.router, "cha_a", 1) // opens between Route and the call
	c, ok, err := b.router.Run(context.Background(), p, func(context.Context, Candidate) error { return nil })
	if !ok || err != nil || c.Account.ID != "cha_b" {
		t.Fatalf("Run = %v %v %v, want cha_b", c.Account, ok, err)
	}
	want := []Attempt{{"cha_a", "circuit_open"}, {"cha_b", ""}}
	if !slices.Equal(p.Decision.Attempts, want) {
		t.Fatalf("attempts = %v, want %v", p.Decision.Attempts, want)
	}
}
