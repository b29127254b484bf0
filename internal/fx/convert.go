package fx

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/paygate/paygate/internal/money"
)

// ErrRate reports a rate that is not a positive decimal of at most
// MaxRateDigits significant digits.
var ErrRate = errors.New("fx: a rate must be a positive decimal")

// MaxRateDigits bounds a rate's significant digits.
const MaxRateDigits = 20

// decimals is the context of every computation: far more digits than an
// int64 amount times a rate can have, so multiplications are exact and
// only round (and divisions round only beyond any digit that matters).
var decimals = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(60)
	c.Rounding = apd.RoundHalfEven
	return c
}()

var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// ParseRate reads a rate written as a plain decimal ("7.1234", "0.0068").
func ParseRate(s string) (*apd.Decimal, error) {
	s = strings.TrimSpace(s)
	if !plainDecimal.MatchString(s) {
		return nil, fmt.Errorf("%w written as digits with an optional decimal point: %q", ErrRate, s)
	}
	d, _, err := apd.NewFromString(s)
	if err != nil || d.Form != apd.Finite || d.Sign() <= 0 || d.NumDigits() > MaxRateDigits {
		return nil, fmt.Errorf("%w (at most %d significant digits): %q", ErrRate, MaxRateDigits, s)
	}
	d.Reduce(d)
	return d, nil
}

// FormatRate writes a rate as a plain decimal, without exponent.
func FormatRate(d *apd.Decimal) string { return d.Text('f') }

// Round is the one rounding of converted money: x, a number of minor units,
// rounded half to even (banker's rounding) to a whole minor unit. Every
// conversion goes through it, so there is one rule to state and test.
func Round(x *apd.Decimal) (int64, error) {
	var q apd.Decimal
	if _, err := decimals.Quantize(&q, x, 0); err != nil {
		return 0, fmt.Errorf("fx: round %s: %w", x.Text('f'), err)
	}
	n, err := q.Int64()
	if err != nil {
		return 0, fmt.Errorf("fx: %s minor units: %w", q.Text('f'), money.ErrOverflow)
	}
	return n, nil
}

// exponents returns the minor-unit exponents of from and to (CNY 2, JPY 0,
// KWD 3: the CLDR table of internal/money).
func exponents(from, to string) (int32, int32, error) {
	ef, ok := money.Exponent(from)
	if !ok {
		return 0, 0, fmt.Errorf("fx: unknown currency %q", from)
	}
	et, ok := money.Exponent(to)
	if !ok {
		return 0, 0, fmt.Errorf("fx: unknown currency %q", to)
	}
	return int32(ef), int32(et), nil
}

// Convert converts amount minor units of from into minor units of to at
// rate (units of to for one unit of from), exactly, then Round.
func Convert(amount int64, from, to string, rate *apd.Decimal) (int64, error) {
	ef, et, err := exponents(from, to)
	if err != nil {
		return 0, err
	}
	var x apd.Decimal
	if _, err := decimals.Mul(&x, apd.New(amount, 0), rate); err != nil {
		return 0, err
	}
	x.Exponent += et - ef // minor units of from → of to: exact
	return Round(&x)
}

// Invert is the amount of from that Convert turns into toAmount of to at
// rate, rounded with Round: toAmount ÷ rate.
func Invert(toAmount int64, from, to string, rate *apd.Decimal) (int64, error) {
	ef, et, err := exponents(from, to)
	if err != nil {
		return 0, err
	}
	var x apd.Decimal
	if _, err := decimals.Quo(&x, apd.New(toAmount, 0), rate); err != nil {
		return 0, err
	}
	x.Exponent += ef - et
	return Round(&x)
}

// Marked is rate less markupBps basis points: rate × (10000 − bps) ÷ 10000,
// exact.
func Marked(rate *apd.Decimal, markupBps int) (*apd.Decimal, error) {
	if markupBps < 0 || markupBps >= 10000 {
		return nil, fmt.Errorf("fx: markup %d bps is outside 0..9999", markupBps)
	}
	var out apd.Decimal
	if _, err := decimals.Mul(&out, rate, apd.New(int64(10000-markupBps), -4)); err != nil {
		return nil, err
	}
	out.Reduce(&out)
	return &out, nil
}
