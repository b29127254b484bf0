package billing

import (
	"math/big"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/money"
)

// Billing intervals.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// maxIntervalCount bounds interval_count per unit (at most about three
// years a period, as Stripe allows one year).
var maxIntervalCount = map[string]int{IntervalDay: 1095, IntervalWeek: 156, IntervalMonth: 36, IntervalYear: 3}

// validInterval checks an interval and its count.
func validInterval(unit string, count int) error {
	max, ok := maxIntervalCount[unit]
	if !ok {
		return errs.InvalidParam("interval", "interval must be one of day, week, month, year.")
	}
	if count < 1 || count > max {
		return errs.InvalidParam("interval_count", "interval_count must be from 1 to "+itoa(max)+" for "+unit+".")
	}
	return nil
}

// PeriodBoundary is the start of the k-th period after anchor (k ≥ 0) of
// an interval of count units, in loc (the merchant's time zone): every
// boundary is computed from the anchor, never from the previous one, so a
// subscription started on 31 January renews on 28 (or 29) February, 31
// March, 30 April. Days and weeks are calendar days in loc.
func PeriodBoundary(anchor time.Time, unit string, count, k int, loc *time.Location) time.Time {
	a := anchor.In(loc)
	switch unit {
	case IntervalDay:
		return a.AddDate(0, 0, count*k).UTC()
	case IntervalWeek:
		return a.AddDate(0, 0, 7*count*k).UTC()
	case IntervalYear:
		return addMonthsClamped(a, 12*count*k).UTC()
	default:
		return addMonthsClamped(a, count*k).UTC()
	}
}

// addMonthsClamped adds n months to t, keeping its day of the month, or the
// month's last day when the month is shorter (31 Jan + 1 month = 28/29 Feb).
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	if last := daysIn(first.Year(), first.Month()); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Prorate is amount × the share of the period [start, end) that is left at
// now, in minor units rounded half away from zero: the credit for unused
// time, or the charge for the rest, of a change at now. now before start
// is the whole amount, at or after end nothing. Exact for any amount (the
// arithmetic is in big integers).
func Prorate(amount int64, start, end, now time.Time) int64 {
	total := end.Sub(start).Microseconds()
	left := end.Sub(now).Microseconds()
	switch {
	case total <= 0 || left <= 0:
		return 0
	case left >= total:
		return amount
	}
	num := new(big.Int).Mul(big.NewInt(amount), big.NewInt(left))
	den := big.NewInt(total)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: |2r| ≥ den moves q one step from zero.
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

// lineAmount is price × quantity, refused when it leaves the API's range.
func lineAmount(price, quantity int64) (int64, error) {
	if price <= 0 || quantity <= 0 || price > money.MaxAmount/quantity {
		return 0, errs.InvalidParam("quantity", "price amount × quantity must be at most 1000000000000.")
	}
	return price * quantity, nil
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
