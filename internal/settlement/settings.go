package settlement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Defaults and bounds of a merchant's settlement settings.
const (
	// DefaultSettleDays is N of T+N for a merchant without settings.
	DefaultSettleDays = 1
	// MaxSettleDays bounds N.
	MaxSettleDays = 30
	// MaxReserveDays bounds how long a rolling reserve is held.
	MaxReserveDays = 365
)

// Defaults are the settlement settings of a merchant that has none: T+1,
// no reserve, no fixed fee, no per-method fees (its fee_rate_bps applies).
func Defaults(merchantID string) *store.SettlementSettings {
	return &store.SettlementSettings{MerchantID: merchantID, SettleDays: DefaultSettleDays, MethodFees: []store.MethodFee{}}
}

// Settings returns merchant merchantID's settlement settings, the defaults
// when it has none.
func (s *Service) Settings(ctx context.Context, merchantID string) (*store.Merchant, *store.SettlementSettings, error) {
	m, err := s.merchant(ctx, merchantID)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.settings(ctx, merchantID)
	return m, st, err
}

func (s *Service) merchant(ctx context.Context, merchantID string) (*store.Merchant, error) {
	m, err := s.Store.MerchantGet(ctx, merchantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, account.ErrMerchantNotFound
	}
	return m, err
}

func (s *Service) settings(ctx context.Context, merchantID string) (*store.SettlementSettings, error) {
	st, err := s.Store.SettlementSettingsGet(ctx, merchantID)
	if errors.Is(err, store.ErrNotFound) {
		return Defaults(merchantID), nil
	}
	if err != nil {
		return nil, err
	}
	if st.MethodFees == nil {
		st.MethodFees = []store.MethodFee{}
	}
	return st, nil
}

// SettingsParams change a merchant's settlement settings; nil fields are
// left as they are, and MethodFees, when not nil, replaces the list.
type SettingsParams struct {
	SettleDays  *int
	ReserveBps  *int
	ReserveDays *int
	FixedFee    *int64
	MethodFees  []store.MethodFee
}

// UpdateSettings validates p and stores the merchant's settings. Fee
// changes apply to payments that succeed afterwards; settle_days to the
// next day settled; a reserve to batches made afterwards.
func (s *Service) UpdateSettings(ctx context.Context, merchantID string, p SettingsParams) (*store.Merchant, *store.SettlementSettings, error) {
	m, st, err := s.Settings(ctx, merchantID)
	if err != nil {
		return nil, nil, err
	}
	if p.SettleDays != nil {
		if *p.SettleDays < 1 || *p.SettleDays > MaxSettleDays {
			return nil, nil, errs.InvalidParam("settle_days", fmt.Sprintf("settle_days must be 1 to %d.", MaxSettleDays))
		}
		st.SettleDays = *p.SettleDays
	}
	if p.ReserveBps != nil {
		if *p.ReserveBps < 0 || *p.ReserveBps > 10000 {
			return nil, nil, errs.InvalidParam("reserve_bps", "reserve_bps must be 0 to 10000.")
		}
		st.ReserveBps = *p.ReserveBps
	}
	if p.ReserveDays != nil {
		if *p.ReserveDays < 0 || *p.ReserveDays > MaxReserveDays {
			return nil, nil, errs.InvalidParam("reserve_days", fmt.Sprintf("reserve_days must be 0 to %d.", MaxReserveDays))
		}
		st.ReserveDays = *p.ReserveDays
	}
	if st.ReserveBps > 0 && st.ReserveDays == 0 {
		return nil, nil, errs.InvalidParam("reserve_days", "A rolling reserve needs reserve_days of at least 1.")
	}
	if p.FixedFee != nil {
		if *p.FixedFee < 0 || *p.FixedFee > money.MaxAmount {
			return nil, nil, errs.InvalidParam("fixed_fee", "fixed_fee must be 0 to 10^12 minor units.")
		}
		st.FixedFee = *p.FixedFee
	}
	if p.MethodFees != nil {
		fees := make([]store.MethodFee, 0, len(p.MethodFees))
		for i, mf := range p.MethodFees {
			at := fmt.Sprintf("method_fees[%d].", i)
			if _, ok := channel.LookupMethod(mf.Method); !ok {
				return nil, nil, errs.InvalidParam("method_fees", "method_fees: unknown method "+clip(mf.Method)+".").WithParam(at + "method")
			}
			if slices.ContainsFunc(fees, func(f store.MethodFee) bool { return f.Method == mf.Method }) {
				return nil, nil, errs.InvalidParam("method_fees", "method_fees: "+mf.Method+" is listed twice.").WithParam(at + "method")
			}
			if mf.FeeRateBps < 0 || mf.FeeRateBps > 10000 {
				return nil, nil, errs.InvalidParam("method_fees", "method_fees: fee_rate_bps must be 0 to 10000.").WithParam(at + "fee_rate_bps")
			}
			if mf.FixedFee < 0 || mf.FixedFee > money.MaxAmount {
				return nil, nil, errs.InvalidParam("method_fees", "method_fees: fixed_fee must be 0 to 10^12 minor units.").WithParam(at + "fixed_fee")
			}
			fees = append(fees, mf)
		}
		slices.SortFunc(fees, func(a, b store.MethodFee) int { return strings.Compare(a.Method, b.Method) })
		st.MethodFees = fees
	}
	now := s.now()
	if st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	st.UpdatedAt = now
	if err := s.Store.SettlementSettingsPut(ctx, st); err != nil {
		return nil, nil, fmt.Errorf("update settlement settings of %s: %w", merchantID, err)
	}
	return m, st, nil
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
