package fx

import (
	"errors"

	"github.com/cockroachdb/apd/v3"

	"github.com/paygate/paygate/internal/store"
)

// Conversion is a quote's arithmetic: Amount of From converts into
// ToAmount of To at Rate less MarkupBps (Applied); Gross is Amount at the
// mid Rate, so Gross − ToAmount is the platform's markup, in To.
type Conversion struct {
	From, To  string
	Amount    int64
	ToAmount  int64
	Gross     int64
	Rate      *apd.Decimal
	Applied   *apd.Decimal
	MarkupBps int
}

// Quote computes a conversion from amount, or, when amount is 0, for
// exactly toAmount: then Amount is the least amount worth at least
// toAmount at the applied rate (cover: the payer of the conversion pays
// less than one minor unit of from beyond the rate), and what that is
// worth beyond toAmount goes to the platform with the markup.
func Quote(from, to string, amount, toAmount int64, rate *apd.Decimal, markupBps int) (Conversion, error) {
	applied, err := Marked(rate, markupBps)
	if err != nil {
		return Conversion{}, err
	}
	c := Conversion{From: from, To: to, Rate: rate, Applied: applied, MarkupBps: markupBps}
	if amount == 0 {
		if amount, err = cover(toAmount, from, to, applied); err != nil {
			return Conversion{}, err
		}
		c.ToAmount = toAmount
	} else if c.ToAmount, err = Convert(amount, from, to, applied); err != nil {
		return Conversion{}, err
	}
	c.Amount = amount
	if c.Gross, err = Convert(amount, from, to, rate); err != nil {
		return Conversion{}, err
	}
	if c.Gross < c.ToAmount {
		return Conversion{}, errors.New("fx: the markup came out negative") // cannot happen: applied ≤ rate and rounding is monotonic
	}
	return c, nil
}

// Part is the share of the conversion of part of Amount (a partial refund
// at the original rate), taken cumulatively so that the parts of a whole
// add up to it exactly: the share of (before, before+part] is the
// conversion of before+part less that of before. It returns the share of
// ToAmount and of Gross. Each is rounded on its own, so one part's markup
// (gross − toAmount) may be a minor unit off either way; the parts' sums
// are exact.
func (c Conversion) Part(before, part int64) (toAmount, gross int64, err error) {
	if before < 0 || part < 0 || before+part > c.Amount {
		return 0, 0, errors.New("fx: part outside the converted amount")
	}
	at := func(n int64) (int64, int64, error) {
		if n == c.Amount {
			return c.ToAmount, c.Gross, nil
		}
		t, err := Convert(n, c.From, c.To, c.Applied)
		if err != nil {
			return 0, 0, err
		}
		g, err := Convert(n, c.From, c.To, c.Rate)
		return t, g, err
	}
	t0, g0, err := at(before)
	if err != nil {
		return 0, 0, err
	}
	t1, g1, err := at(before + part)
	if err != nil {
		return 0, 0, err
	}
	return t1 - t0, g1 - g0, nil
}

// cover is the least amount of from worth at least toAmount of to at rate,
// exactly: toAmount ÷ rate rounded up. It is the one rounding up in this
// package: an amount that must cover another never falls short of it.
func cover(toAmount int64, from, to string, rate *apd.Decimal) (int64, error) {
	ef, et, err := exponents(from, to)
	if err != nil {
		return 0, err
	}
	var x, up apd.Decimal
	if _, err := decimals.Quo(&x, apd.New(toAmount, 0), rate); err != nil {
		return 0, err
	}
	x.Exponent += ef - et
	if _, err := decimals.Ceil(&up, &x); err != nil {
		return 0, err
	}
	return up.Int64()
}

// ConversionOf is the arithmetic of a stored quote, to convert parts of it
// (refunds) at its rate with Part.
func ConversionOf(q *store.FXQuote) (Conversion, error) {
	rate, err := ParseRate(q.Rate)
	if err != nil {
		return Conversion{}, err
	}
	applied, err := Marked(rate, q.MarkupBps)
	if err != nil {
		return Conversion{}, err
	}
	return Conversion{From: q.From, To: q.To, Amount: q.Amount, ToAmount: q.ToAmount, Gross: q.ToAmount + q.MarkupAmount,
		Rate: rate, Applied: applied, MarkupBps: q.MarkupBps}, nil
}
