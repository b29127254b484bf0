package fx

import (
	"errors"
	"math/big"

	"github.com/cockroachdb/apd/v3"

	"github.com/paygate/paygate/internal/money"
	"testing"

	"pgregory.net/rapid"
)

func rate(t testing.TB, s string) *apd.Decimal {
	t.Helper()
	d, err := ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConvertRoundsHalfToEven: exact halves go to the even minor unit,
// everything else to the nearest; exponents come from the currency table
// (JPY 0, KWD 3).
func TestConvertRoundsHalfToEven(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		from, to string
		rate     string
		want     int64
	}{
		{100, "USD", "CNY", "7.1", 710},   // exact
		{1, "USD", "JPY", "150.5", 2},     // 1.505 → 2
		{1, "USD", "JPY", "150.4", 2},     // 1.504 → 2
		{25, "CNY", "USD", "0.1", 2},      // 2.5 → 2 (even)
		{35, "CNY", "USD", "0.1", 4},      // 3.5 → 4 (even)
		{-25, "CNY", "USD", "0.1", -2},    // −2.5 → −2
		{100, "JPY", "USD", "0.0067", 67}, // ¥100 = $0.67
		{1000, "KWD", "USD", "3.25", 325}, // 1.000 KWD = $3.25
		{1, "USD", "KWD", "0.3075", 3},    // 0.003075 KWD = 3.075 fils → 3
		{50, "USD", "KWD", "0.307", 154},  // 0.1535 KWD = 153.5 fils → 154 (even)
		{999999999999, "USD", "JPY", "150", 1499999999998},
	} {
		got, err := Convert(c.amount, c.from, c.to, rate(t, c.rate))
		if err != nil || got != c.want {
			t.Errorf("Convert(%d %s→%s at %s) = %d, %v; want %d", c.amount, c.from, c.to, c.rate, got, err, c.want)
		}
	}
	if _, err := Convert(1<<62, "USD", "JPY", rate(t, "1000")); err == nil {
		t.Error("an overflowing conversion did not fail")
	}
	for _, bad := range []string{"0", "-1", "abc", "1e400", "NaN", "Infinity", "1.000000000000000000001"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) took it", bad)
		}
	}
}

// reference converts with math/big rationals and rounds half to even by
// hand: an independent statement of the rule.
func reference(amount int64, expFrom, expTo int, rate *big.Rat) *big.Int {
	x := new(big.Rat).Mul(new(big.Rat).SetInt64(amount), rate)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(expTo-expFrom))), nil)
	if expTo >= expFrom {
		x.Mul(x, new(big.Rat).SetInt(scale))
	} else {
		x.Quo(x, new(big.Rat).SetInt(scale))
	}
	q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2))
	switch twice.Cmp(x.Denom()) {
	case 1:
		q.Add(q, big.NewInt(int64(x.Sign())))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(int64(x.Sign())))
		}
	}
	return q
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestConvertMatchesReference checks Convert against math/big on random
// amounts, rates and currency pairs of every exponent.
func TestConvertMatchesReference(t *testing.T) {
	currencies := []string{"CNY", "USD", "JPY", "KWD", "EUR", "KRW", "BHD"}
	rapid.Check(t, func(t *rapid.T) {
		from := rapid.SampledFrom(currencies).Draw(t, "from")
		to := rapid.SampledFrom(currencies).Draw(t, "to")
		amount := rapid.Int64Range(-1_000_000_000_000, 1_000_000_000_000).Draw(t, "amount")
		num := rapid.Int64Range(1, 1_000_000_000).Draw(t, "num")
		scale := rapid.IntRange(0, 9).Draw(t, "scale")
		r := new(big.Rat).SetFrac(big.NewInt(num), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
		d, err := ParseRate(r.FloatString(scale))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Convert(amount, from, to, d)
		ef, et, _ := exponents(from, to)
		want := reference(amount, int(ef), int(et), r)
		if !want.IsInt64() { // beyond int64: Convert must say so
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("Convert(%d %s→%s at %s) = %d, %v; want overflow (%s)", amount, from, to, r.FloatString(scale), got, err, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("Convert(%d %s→%s at %s) = %d, %v; want %s", amount, from, to, r.FloatString(scale), got, err, want)
		}
	})
}

// TestPartsAddUp: the parts of a conversion (partial refunds at the
// original rate) add up to the whole, exactly, and none is negative.
func TestPartsAddUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		amount := rapid.Int64Range(1, 10_000_000).Draw(t, "amount")
		r, _ := ParseRate(rapid.SampledFrom([]string{"7.1234", "0.1404", "150.25", "0.0066", "3.2511"}).Draw(t, "rate"))
		c, err := Quote("USD", "JPY", amount, 0, r, rapid.IntRange(0, 300).Draw(t, "bps"))
		if err != nil {
			t.Fatal(err)
		}
		var before, toSum, grossSum int64
		for before < amount {
			part := rapid.Int64Range(1, amount-before).Draw(t, "part")
			to, gross, err := c.Part(before, part)
			if err != nil || to < 0 || gross < 0 {
				t.Fatalf("part (%d, %d]: %d %d %v", before, before+part, to, gross, err)
			}
			before += part
			toSum += to
			grossSum += gross
		}
		if toSum != c.ToAmount || grossSum != c.Gross {
			t.Fatalf("parts sum to %d/%d, want %d/%d", toSum, grossSum, c.ToAmount, c.Gross)
		}
	})
}

// TestQuoteToAmount: a quote for an amount to receive gives exactly it,
// for the least amount that covers it at the applied rate.
func TestQuoteToAmount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r, _ := ParseRate(rapid.SampledFrom([]string{"7.1234", "0.1404", "150.25", "0.0066", "3.2511", "1"}).Draw(t, "rate"))
		pair := rapid.SampledFrom([][2]string{{"USD", "CNY"}, {"CNY", "JPY"}, {"JPY", "KWD"}, {"KWD", "USD"}}).Draw(t, "pair")
		want := rapid.Int64Range(1, 1_000_000_000).Draw(t, "to_amount")
		c, err := Quote(pair[0], pair[1], 0, want, r, rapid.IntRange(0, 300).Draw(t, "bps"))
		if err != nil {
			t.Fatal(err)
		}
		// Exactly: Amount × rate ≥ want > (Amount − 1) × rate.
		ef, et, _ := exponents(pair[0], pair[1])
		r2 := new(big.Rat)
		r2.SetString(c.Applied.Text('f'))
		value := func(a int64) *big.Rat {
			v := new(big.Rat).Mul(new(big.Rat).SetInt64(a), r2)
			scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(int(et-ef)))), nil))
			if et >= ef {
				return v.Mul(v, scale)
			}
			return v.Quo(v, scale)
		}
		w := new(big.Rat).SetInt64(want)
		if c.ToAmount != want || value(c.Amount).Cmp(w) < 0 || value(c.Amount-1).Cmp(w) >= 0 || c.Gross < c.ToAmount {
			t.Fatalf("quote for %d = %+v", want, c)
		}
	})
}
