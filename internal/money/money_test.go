package money

import (
	"errors"
	"math"
	"testing"
)

func TestValidCurrency(t *testing.T) {
	for code, want := range map[string]bool{"CNY": true, "USD": true, "JPY": true, "cny": false, "XXZ": false, "": false, "USDT": false} {
		if got := ValidCurrency(code); got != want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestExponent(t *testing.T) {
	for code, want := range map[string]int{"CNY": 2, "USD": 2, "JPY": 0, "BHD": 3, "KRW": 0} {
		if got, ok := Exponent(code); !ok || got != want {
			t.Errorf("Exponent(%q) = %d,%v want %d", code, got, ok, want)
		}
	}
}

func TestAddOverflow(t *testing.T) {
	if _, err := Add(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("MaxInt64+1: err = %v, want overflow", err)
	}
	if _, err := Sub(math.MinInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("MinInt64-1: err = %v, want overflow", err)
	}
	if s, err := Add(40, 2); err != nil || s != 42 {
		t.Fatalf("40+2 = %d, %v", s, err)
	}
}

func TestFee(t *testing.T) {
	cases := []struct {
		amount int64
		bps    int
		want   int64
	}{
		{10000, 60, 60}, // 0.6%
		{1, 60, 0},      // 0.006 rounds down
		{84, 60, 1},     // 0.504 rounds up
		{83, 60, 0},     // 0.498
		{MaxAmount, 10000, MaxAmount},
		{math.MaxInt64, 10000, math.MaxInt64},
	}
	for _, c := range cases {
		got, err := Fee(c.amount, c.bps)
		if err != nil || got != c.want {
			t.Errorf("Fee(%d, %d) = %d, %v; want %d", c.amount, c.bps, got, err, c.want)
		}
	}
	if _, err := Fee(1, 10001); err == nil {
		t.Error("Fee with 10001 bps: want error")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		n    int64
		code string
		want string
	}{{1234, "CNY", "12.34"}, {5, "USD", "0.05"}, {1200, "JPY", "1200"}, {1, "BHD", "0.001"}, {-150, "EUR", "-1.50"}} {
		if got := Format(c.n, c.code); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.n, c.code, got, c.want)
		}
	}
}
