// Package money holds amounts as int64 minor units plus an ISO 4217 code.
// Exponents come from the CLDR table maintained in github.com/bojanz/currency;
// no float ever touches an amount, and every arithmetic step checks overflow.
package money

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
)

// MinAmount and MaxAmount bound an order or refund amount in minor units (API.md).
const (
	MinAmount int64 = 1
	MaxAmount int64 = 1_000_000_000_000
)

// ErrOverflow reports an arithmetic result outside int64.
var ErrOverflow = errors.New("money: amount overflow")

// ValidCurrency reports whether code is an upper-case ISO 4217 code we can settle.
func ValidCurrency(code string) bool {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	return currency.IsValid(code)
}

// Exponent returns the number of minor-unit digits of code (CNY 2, JPY 0, BHD 3).
func Exponent(code string) (int, bool) {
	d, ok := currency.GetDigits(code)
	return int(d), ok
}

// ValidAmount reports whether n is within MinAmount..MaxAmount.
func ValidAmount(n int64) bool { return n >= MinAmount && n <= MaxAmount }

// Add returns a+b or ErrOverflow.
func Add(a, b int64) (int64, error) {
	s := a + b
	if (s > a) != (b > 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// Sub returns a-b or ErrOverflow.
func Sub(a, b int64) (int64, error) {
	if b == math.MinInt64 {
		return 0, ErrOverflow
	}
	return Add(a, -b)
}

// Fee returns amount*bps/10000 rounded half up, for 0 <= bps <= 10000 and amount >= 0.
// It uses 128-bit intermediate arithmetic, so it never overflows.
func Fee(amount int64, bps int) (int64, error) {
	if amount < 0 || bps < 0 || bps > 10000 {
		return 0, errors.New("money: fee needs a non-negative amount and 0..10000 bps")
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(bps))
	lo, carry := bits.Add64(lo, 5000, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, 10000)
	return int64(q), nil
}

// Format renders n minor units of code as a decimal string ("12.34", "1200" for JPY).
func Format(n int64, code string) string {
	exp, ok := Exponent(code)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	s := strconv.FormatUint(u, 10)
	if ok && exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
