package settlement

import (
	"context"
	"errors"
	"fmt"
	"math/bits"

	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// RefundFeePolicy says what a refund does with the platform's fee on the
// payment it refunds. It is a platform setting (refund_fee_policy).
type RefundFeePolicy string

// Refund fee policies.
const (
	// RefundFeeKeep: the platform keeps the whole fee, as Stripe does. The
	// default.
	RefundFeeKeep RefundFeePolicy = "keep"
	// RefundFeeProRata: a refund returns the share of the fee its amount is
	// of the payment (rounded down), as WeChat Pay does.
	RefundFeeProRata RefundFeePolicy = "pro_rata"
)

// ParseRefundFeePolicy reads a policy's name; "" is RefundFeeKeep.
func ParseRefundFeePolicy(s string) (RefundFeePolicy, error) {
	switch p := RefundFeePolicy(s); p {
	case "":
		return RefundFeeKeep, nil
	case RefundFeeKeep, RefundFeeProRata:
		return p, nil
	}
	return "", fmt.Errorf("refund fee policy %q: want keep or pro_rata", s)
}

// FeeSchedule is a merchant's fees on payments: a rate in basis points and
// a fixed fee per payment, per method where the merchant has a rule for
// the method and its defaults otherwise. It is the one place a payment's
// fee is computed (payment calls Fee when an order succeeds).
type FeeSchedule struct {
	// RateBps is the default rate: the merchant's fee_rate_bps.
	RateBps int
	// FixedFee is the default fixed fee per payment, in minor units of
	// Currency.
	FixedFee int64
	// Currency is the merchant's settlement currency: fixed fees apply to
	// payments in it only (a fixed amount means nothing in another
	// currency's minor units).
	Currency string
	// Methods are the merchant's rules by method.
	Methods map[string]store.MethodFee
}

// SettingsReader reads merchants' settlement settings (store.Store does).
type SettingsReader interface {
	SettlementSettingsGet(ctx context.Context, merchantID string) (*store.SettlementSettings, error)
}

// ScheduleOf reads merchant m's fee schedule.
func ScheduleOf(ctx context.Context, r SettingsReader, m *store.Merchant) (FeeSchedule, error) {
	f := FeeSchedule{RateBps: m.FeeRateBps, Currency: m.SettlementCurrency}
	st, err := r.SettlementSettingsGet(ctx, m.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return f, nil
	case err != nil:
		return f, fmt.Errorf("fee schedule of %s: %w", m.ID, err)
	}
	f.FixedFee = st.FixedFee
	if len(st.MethodFees) > 0 {
		f.Methods = make(map[string]store.MethodFee, len(st.MethodFees))
		for _, mf := range st.MethodFees {
			f.Methods[mf.Method] = mf
		}
	}
	return f, nil
}

// Fee is the platform's fee on a payment of amount in currency by method:
// the rate (rounded half up) plus the fixed fee when the payment is in the
// schedule's currency, and never more than the amount.
func (f FeeSchedule) Fee(method, currency string, amount int64) (int64, error) {
	rate, fixed := f.RateBps, f.FixedFee
	if mf, ok := f.Methods[method]; ok {
		rate, fixed = mf.FeeRateBps, mf.FixedFee
	}
	fee, err := money.Fee(amount, rate)
	if err != nil {
		return 0, fmt.Errorf("fee of %d at %d bps: %w", amount, rate, err)
	}
	if currency == f.Currency && fixed > 0 {
		if fee, err = money.Add(fee, fixed); err != nil {
			return 0, fmt.Errorf("fee of %d: %w", amount, err)
		}
	}
	return min(fee, amount), nil
}

// RefundFeeShare is the part of a payment's fee a refund returns under
// policy: none when the platform keeps fees; under pro rata, fee ×
// refund ÷ payment rounded down, so that the shares of several partial
// refunds never add up to more than the fee (a payment refunded in full
// at once returns its whole fee).
func RefundFeeShare(policy RefundFeePolicy, fee, payment, refund int64) (int64, error) {
	if policy != RefundFeeProRata || fee <= 0 {
		return 0, nil
	}
	if payment <= 0 || refund < 0 || refund > payment || fee > payment {
		return 0, fmt.Errorf("refund fee share: refund %d of a payment of %d with fee %d", refund, payment, fee)
	}
	return mulDiv(fee, refund, payment), nil
}

// mulDiv is a×b÷c rounded down, for 0 ≤ a, b and 0 < c with a×b÷c in
// int64 (a ≤ c or b ≤ c); the product is taken in 128 bits.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}
