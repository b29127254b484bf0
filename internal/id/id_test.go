package id

import (
	"testing"
	"time"
)

func TestNewSortsAndValidates(t *testing.T) {
	now := time.Now()
	prev := ""
	for i := 0; i < 1000; i++ {
		s := New(Order, now)
		if !Valid(Order, s) {
			t.Fatalf("Valid(%q) = false", s)
		}
		if s <= prev {
			t.Fatalf("ids not increasing: %q after %q", s, prev)
		}
		prev = s
	}
	if Valid(Refund, prev) {
		t.Fatalf("order id %q accepted as a refund id", prev)
	}
	for _, bad := range []string{"", "ord_", "ord_xyz", "ord_01hzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if Valid(Order, bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}
