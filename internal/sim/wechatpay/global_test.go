package wechatpay

import "testing"

// TestConvertHalfEven: the conversion to CNY fen rounds half to even,
// whatever the currency's minor unit.
func TestConvertHalfEven(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		rate     int64
		want     int64
	}{
		{1, "USD", 50000000, 0},  // 0.5 fen → 0
		{3, "USD", 50000000, 2},  // 1.5 fen → 2
		{5, "USD", 50000000, 2},  // 2.5 fen → 2
		{7, "USD", 50000000, 4},  // 3.5 fen → 4
		{1, "JPY", 50000000, 50}, // ¥1 at 0.5: 50 fen exactly
		{1, "JPY", 4765432, 5},   // 4.765432 fen
		{1999, "USD", 712340000, 14240},
		{1, "KWD", 2300000000, 2}, // 0.001 KWD at 23: 2.3 fen (three decimals)
	} {
		if got := convert(c.amount, c.currency, c.rate); got != c.want {
			t.Errorf("convert(%d %s at %d) = %d, want %d", c.amount, c.currency, c.rate, got, c.want)
		}
	}
}
