// Package money holds amounts as int64 minor units plus an ISO 4217 code.
// Exponents come from the CLDR table maintained in github.com/bojanz/currency;
// no float ever touches an amount, and every arithmetic step checks overflow.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
)

// MinAmount and MaxAmount bound an order or refund amount in minor units (docs/api.md).
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
	if !ok {
		exp = 0
	}
	return FormatMinor(n, exp)
}

// MaxExponent is the largest exponent ParseMinor and FormatMinor take.
const MaxExponent = 18

// FormatMinor renders n minor units as a decimal with exactly exponent
// digits after the point ("-12.34" for -1234 and 2, "0.05" for 5 and 2,
// "1200" for 1200 and 0), using integer arithmetic only. An exponent outside
// 0..MaxExponent is taken as 0.
func FormatMinor(n int64, exponent int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u // two's complement: right for math.MinInt64 too
	}
	s := strconv.FormatUint(u, 10)
	if exponent > 0 && exponent <= MaxExponent {
		if len(s) <= exponent {
			s = strings.Repeat("0", exponent-len(s)+1) + s
		}
		s = s[:len(s)-exponent] + "." + s[len(s)-exponent:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseMinor reads a decimal amount into minor units exactly: an optional
// "-", one or more ASCII digits, and optionally "." followed by one to
// exponent digits ("12.34", "12.3", "12", "-0.05" with exponent 2 are 1234,
// 1230, 1200 and -5). Anything else (a "+", spaces, a bare or trailing ".",
// more decimals than exponent, exponents, separators) is an error, and so is
// an amount outside int64 (wrapping ErrOverflow). Callers that accept less
// (a range, fewer digits) check the result or the text themselves.
func ParseMinor(s string, exponent int) (int64, error) {
	if exponent < 0 || exponent > MaxExponent {
		return 0, fmt.Errorf("money: exponent %d is outside 0..%d", exponent, MaxExponent)
	}
	digits, neg := strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(digits, ".")
	if whole == "" || (dot && (frac == "" || len(frac) > exponent)) || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("money: %q is not a decimal amount with at most %d decimals", s, exponent)
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -math.MinInt64
	}
	var u uint64
	for i := range len(whole) + exponent {
		d := uint64(0)
		if i < len(whole) {
			d = uint64(whole[i] - '0')
		} else if j := i - len(whole); j < len(frac) {
			d = uint64(frac[j] - '0')
		}
		if u > (limit-d)/10 {
			return 0, fmt.Errorf("money: %q: %w", s, ErrOverflow)
		}
		u = u*10 + d
	}
	if neg {
		return int64(-u), nil
	}
	return int64(u), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
