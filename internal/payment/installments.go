package payment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Instalments (分期)
//
// An order may ask to be paid in instalments: installments {count,
// fee_payer} on a method that has them (channel.Method.Installments:
// Alipay Huabei's 3, 6 and 12 through hb_fq_num, the sandbox's card and
// QR methods), refused with 400 installments_unsupported on others and
// with an FX quote. The order's amount is the price of the goods and is
// what the channel charges; the plan's fee is FeeRateBps of it (the
// operator's table, DefaultInstallmentFees), rounded half up:
//
//   - fee_payer "payer" (Huabei's hb_fq_seller_percent 0): the payer owes
//     the lender the amount plus the fee over the instalments. The fee
//     never passes through the platform, so the ledger has nothing to post
//     for it; the order shows the plan.
//   - fee_payer "merchant" (hb_fq_seller_percent 100): the lender keeps the
//     fee out of what it settles for the trade, so it comes out of the
//     merchant's net: the payment's entry posts it from the merchant's
//     pending account to ledger.InstallmentFees of the channel account
//     (money owed to the lender). A refund does not give it back (the
//     lender's charge for the credit, as the platform keeps its own fee).
//
// Limits: reconciliation does not yet match a lender's deduction against
// the installment_fees account (a bill that nets the fee shows as a
// difference); the fee table is one per platform (Service.InstallmentFees),
// not per merchant or channel account; the plan is chosen by the merchant
// at create, and the cashier shows it but does not let the payer pick
// another count; instalments and FX quotes do not combine.

// InstallmentsParams ask for an instalment plan.
type InstallmentsParams struct {
	Count    int    `json:"count"`
	FeePayer string `json:"fee_payer"`
}

// DefaultInstallmentFees is the fee of a plan by its count, in basis points
// of the amount: Huabei's published buyer rates (2.3 %, 4.5 %, 7.5 %) and
// 12.5 % for the sandbox's 24-month card plans. Service.InstallmentFees
// overrides it.
var DefaultInstallmentFees = map[int]int{3: 230, 6: 450, 12: 750, 24: 1250}

var (
	errInstallmentsUnsupported = errs.Invalid("installments_unsupported", "This payment method cannot be paid in instalments.")
	errInstallmentsWithQuote   = errs.Invalid("installments_unsupported", "An order paid at an FX quote cannot be paid in instalments.")
)

func (s *Service) installmentFees() map[int]int {
	if s.InstallmentFees != nil {
		return s.InstallmentFees
	}
	return DefaultInstallmentFees
}

// installmentCounts are the counts any method offers.
func installmentCounts() []int {
	var out []int
	for _, m := range channel.Methods() {
		for _, n := range m.Installments {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// installmentPlan checks p's instalments and returns the plan to store,
// nil when p asks for none.
func (s *Service) installmentPlan(p CreateOrderParams) (*store.Installments, error) {
	in := p.Installments
	if in == nil {
		return nil, nil
	}
	if in.FeePayer != store.FeePayerPayer && in.FeePayer != store.FeePayerMerchant {
		return nil, installmentsInvalid("installments.fee_payer", "installments.fee_payer must be payer or merchant.")
	}
	counts := installmentCounts()
	if p.Method != "" {
		m, _ := channel.LookupMethod(p.Method)
		if len(m.Installments) == 0 {
			e := *errInstallmentsUnsupported
			e.Param = "installments"
			return nil, &e
		}
		counts = m.Installments
	}
	if !slices.Contains(counts, in.Count) {
		words := make([]string, len(counts))
		for i, n := range counts {
			words[i] = strconv.Itoa(n)
		}
		return nil, installmentsInvalid("installments.count", "installments.count must be one of "+strings.Join(words, ", ")+" for this method.")
	}
	if p.FXQuote != "" {
		e := *errInstallmentsWithQuote
		e.Param = "installments"
		return nil, &e
	}
	bps, ok := s.installmentFees()[in.Count]
	if !ok {
		return nil, installmentsInvalid("installments.count", fmt.Sprintf("No instalment fee is set for %d instalments.", in.Count))
	}
	fee, err := money.Fee(p.Amount, bps)
	if err != nil {
		return nil, errs.InvalidParam("amount", "The amount is too large for an instalment plan.").Wrap(err)
	}
	return &store.Installments{Count: in.Count, FeePayer: in.FeePayer, FeeRateBps: bps, Fee: fee}, nil
}

// InstallmentPlan is a plan as the cashier shows it: Count instalments of
// Each (the first also takes Remainder), the fee, and what the payer
// repays in all (the amount, plus the fee when the payer pays it).
type InstallmentPlan struct {
	Count     int
	Each      int64
	First     int64
	Fee       int64
	Total     int64
	PayerFee  bool
	FeeRate   int
	Remainder int64
}

// PlanOf is the schedule of o's instalment plan, nil when it has none.
// The instalments are equal, the first one taking what does not divide.
func PlanOf(o *store.Order) *InstallmentPlan {
	in := o.Installments
	if in == nil || in.Count <= 0 {
		return nil
	}
	total := o.Amount
	if in.FeePayer == store.FeePayerPayer {
		total += in.Fee
	}
	each, rem := total/int64(in.Count), total%int64(in.Count)
	return &InstallmentPlan{Count: in.Count, Each: each, First: each + rem, Remainder: rem, Fee: in.Fee, Total: total,
		PayerFee: in.FeePayer == store.FeePayerPayer, FeeRate: in.FeeRateBps}
}

// installmentsInvalid is the 400 installments_invalid of a bad plan field.
func installmentsInvalid(param, msg string) *errs.Error {
	e := errs.Invalid("installments_invalid", msg)
	e.Param = param
	return e
}
