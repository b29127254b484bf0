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

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in   string
		exp  int
		want int64
		err  bool
	}{
		{"12.34", 2, 1234, false},
		{"12.3", 2, 1230, false},
		{"12", 2, 1200, false},
		{"0.01", 2, 1, false},
		{"0", 2, 0, false},
		{"-0", 2, 0, false},
		{"-0.05", 2, -5, false},
		{"-12.34", 2, -1234, false},
		{"007.50", 2, 750, false},
		{"1200", 0, 1200, false},
		{"1.234", 3, 1234, false},
		{"1.2", 3, 1200, false},
		{"9223372036854775807", 0, math.MaxInt64, false},
		{"-9223372036854775808", 0, math.MinInt64, false},
		{"92233720368547758.07", 2, math.MaxInt64, false},
		{"-92233720368547758.08", 2, math.MinInt64, false},
		{"0.000000000000000001", 18, 1, false},
		// missing or extra decimals
		{"1.234", 2, 0, true},
		{"1.", 2, 0, true},
		{".5", 2, 0, true},
		{".", 2, 0, true},
		{"1.0", 0, 0, true},
		{"1.", 0, 0, true},
		// signs
		{"+1", 2, 0, true},
		{"--1", 2, 0, true},
		{"-+1", 2, 0, true},
		{"+-1", 2, 0, true},
		{"-", 2, 0, true},
		{"1-", 2, 0, true},
		{"-.5", 2, 0, true},
		// garbage
		{"", 2, 0, true},
		{" 1", 2, 0, true},
		{"1 ", 2, 0, true},
		{"1e2", 2, 0, true},
		{"1,00", 2, 0, true},
		{"1_000", 2, 0, true},
		{"0x10", 2, 0, true},
		{"NaN", 2, 0, true},
		{"Inf", 2, 0, true},
		{"１２", 2, 0, true}, // full-width digits
		{"1.2.3", 2, 0, true},
		{"12.3a", 2, 0, true},
		{"abc", 2, 0, true},
		// exponent out of range
		{"1", -1, 0, true},
		{"1", 19, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.in, tt.exp)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMinor(%q, %d) = %d, %v; want %d, error %v", tt.in, tt.exp, got, err, tt.want, tt.err)
		}
	}
	// overflow
	for _, tt := range []struct {
		in  string
		exp int
	}{
		{"9223372036854775808", 0},
		{"-9223372036854775809", 0},
		{"92233720368547758.08", 2},
		{"-92233720368547758.09", 2},
		{"92233720368547759", 2},
		{"99999999999999999999", 2},
		{"10", 18},
		{"100000000000000000000000000000", 0},
	} {
		if got, err := ParseMinor(tt.in, tt.exp); !errors.Is(err, ErrOverflow) {
			t.Errorf("ParseMinor(%q, %d) = %d, %v; want overflow", tt.in, tt.exp, got, err)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		n    int64
		exp  int
		want string
	}{
		{1234, 2, "12.34"},
		{-1234, 2, "-12.34"},
		{5, 2, "0.05"},
		{-5, 2, "-0.05"},
		{0, 2, "0.00"},
		{100, 2, "1.00"},
		{10000000000, 2, "100000000.00"},
		{1200, 0, "1200"},
		{-1200, 0, "-1200"},
		{1, 3, "0.001"},
		{math.MaxInt64, 2, "92233720368547758.07"},
		{math.MinInt64, 2, "-92233720368547758.08"},
		{math.MinInt64, 0, "-9223372036854775808"},
		{1, 18, "0.000000000000000001"},
		{7, -1, "7"},
		{7, 19, "7"},
	}
	for _, tt := range tests {
		got := FormatMinor(tt.n, tt.exp)
		if got != tt.want {
			t.Errorf("FormatMinor(%d, %d) = %q, want %q", tt.n, tt.exp, got, tt.want)
		}
		if tt.exp < 0 || tt.exp > MaxExponent {
			continue
		}
		if back, err := ParseMinor(got, tt.exp); err != nil || back != tt.n {
			t.Errorf("ParseMinor(FormatMinor(%d, %d)) = %d, %v", tt.n, tt.exp, back, err)
		}
	}
}
