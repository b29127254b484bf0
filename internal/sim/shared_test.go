package sim

import (
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var fs Faults
	if got := fs.Take(Fault5xx); got != FaultNone {
		t.Fatalf("zero Faults: Take = %q", got)
	}
	fs.Set(Fault5xx, 2)
	if got := fs.Take(FaultTimeout); got != FaultNone {
		t.Fatalf("other kind: Take = %q", got)
	}
	for i := range 2 {
		if got := fs.Take(FaultTimeout, Fault5xx); got != Fault5xx {
			t.Fatalf("use %d: Take = %q", i, got)
		}
	}
	if got := fs.Current(); got != FaultNone {
		t.Fatalf("after the count: Current = %q", got)
	}
	for _, count := range []int{0, -1} {
		fs.Set(FaultBadSignature, count)
		for range 5 {
			if got := fs.Take(FaultBadSignature); got != FaultBadSignature {
				t.Fatalf("count %d: Take = %q", count, got)
			}
		}
		fs.Set(FaultNone, 0)
		if got := fs.Take(FaultBadSignature); got != FaultNone {
			t.Fatalf("cleared: Take = %q", got)
		}
	}
}

func TestRetry(t *testing.T) {
	schedule := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	var calls []int
	if Retry(nil, schedule, 1, func(n int) bool { calls = append(calls, n); return false }) {
		t.Fatal("never acknowledged, yet Retry reports true")
	}
	if len(calls) != len(schedule)+1 {
		t.Fatalf("attempts %v, want %d", calls, len(schedule)+1)
	}
	calls = nil
	if !Retry(nil, schedule, 1, func(n int) bool { calls = append(calls, n); return n == 1 }) || len(calls) != 2 {
		t.Fatalf("acknowledged at the second attempt: attempts %v", calls)
	}
	done := make(chan struct{})
	close(done)
	calls = nil
	if Retry(done, []time.Duration{time.Hour}, 1, func(n int) bool { calls = append(calls, n); return false }) || len(calls) != 1 {
		t.Fatalf("done: attempts %v", calls)
	}
}

func TestOptionsWithDefaults(t *testing.T) {
	o := Options{}.WithDefaults()
	if o.Clock == nil || o.Logger == nil || o.HTTPClient == nil || o.RetryScale != 1 || o.Hang != 30*time.Second {
		t.Fatalf("defaults: %+v", o)
	}
	o = Options{RetryScale: 0.001, Hang: time.Second}.WithDefaults()
	if o.RetryScale != 0.001 || o.Hang != time.Second || o.Scaled(time.Second) != time.Millisecond {
		t.Fatalf("set values changed: %+v", o)
	}
}

func TestGenerateRSAKeys(t *testing.T) {
	keys, err := GenerateRSAKeys(2)
	if err != nil || len(keys) != 2 || keys[0].Equal(keys[1]) || keys[0].N.BitLen() != 2048 {
		t.Fatalf("GenerateRSAKeys(2) = %v, %v", keys, err)
	}
}
