package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

// errQuoteMismatch is the error of an order whose amount, currency or
// merchant's settlement currency is not its quote's.
func errQuoteMismatch(q *store.FXQuote) *errs.Error {
	e := errs.Invalid("fx_quote_mismatch", fmt.Sprintf("The FX quote converts %s %s into %s; the order's amount and currency must be the quote's amount and from, and to the merchant's settlement currency.",
		money.Format(q.Amount, q.From), q.From, q.To))
	e.Param = "fx_quote"
	return e
}

// applyQuote checks the order's FX quote and stamps o with it: the
// scope's merchant's, unexpired, unused (or used by this very order, a
// repeated create), converting exactly o's amount of o's currency into
// the merchant's settlement currency. The quote is taken for good by the
// order's insert (in the same transaction), which checks again that it
// is unused and unexpired. existing is the order a repeated create made.
func (s *Service) applyQuote(ctx context.Context, sc Scope, o *store.Order, now time.Time) (existing *store.Order, err error) {
	if !id.Valid(id.FXQuote, o.FXQuoteID) {
		return nil, fx.ErrQuoteNotFound
	}
	q, err := s.Store.FXQuoteGetInScope(ctx, sc, o.FXQuoteID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fx.ErrQuoteNotFound
	} else if err != nil {
		return nil, err
	}
	if q.UsedBy != "" {
		prev, err := s.Store.OrderGetByOutTradeNo(ctx, sc.AppID, o.OutTradeNo)
		if err == nil && prev.ID == q.UsedBy {
			return prev, nil
		}
		return nil, fx.ErrQuoteUsed
	}
	if !now.Before(q.ExpiresAt) {
		return nil, fx.ErrQuoteExpired
	}
	m, err := s.Store.MerchantGet(ctx, sc.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("order quote: merchant: %w", err)
	}
	if q.From != o.Currency || q.Amount != o.Amount || q.To != m.SettlementCurrency {
		return nil, errQuoteMismatch(q)
	}
	o.SettleCurrency, o.SettleAmount = q.To, q.ToAmount
	return nil, nil
}

// quoteTaken turns an insert that found its quote taken meanwhile into
// fx_quote_used (a quote that expired between the check and the insert
// is reported the same way: it was taken by time).
func quoteTaken(err error, orderID string) error {
	if err == nil || !errors.Is(err, store.ErrFXQuoteTaken) {
		return err
	}
	return fx.ErrQuoteUsed.Wrap(fmt.Errorf("order %s: %w", orderID, err))
}

// orderQuote reads the quote an order was paid at.
func (s *Service) orderQuote(ctx context.Context, o *store.Order) (*store.FXQuote, error) {
	q, err := s.Store.FXQuoteGetInScope(ctx, orderScope(o), o.FXQuoteID)
	if err != nil {
		return nil, fmt.Errorf("order %s: its fx quote %s: %w", o.ID, o.FXQuoteID, err)
	}
	return q, nil
}

// paymentEntry is the ledger entry of o's payment: in its own currency,
// or, paid at an FX quote q, through the platform's FX position into the
// merchant's settlement currency, the fee taken in that currency.
func paymentEntry(entryID string, o *store.Order, q *store.FXQuote, fees settlement.FeeSchedule, at time.Time) (ledger.Entry, error) {
	if q == nil {
		fee, err := fees.Fee(o.Method, o.Currency, o.Amount)
		if err != nil {
			return ledger.Entry{}, err
		}
		if in := o.Installments; in != nil && in.FeePayer == store.FeePayerMerchant && in.Fee > 0 {
			// installments.go: the lender keeps the plan's fee out of the
			// merchant's share (never more than is left of it).
			return ledger.PaymentWithInstallmentFee(entryID, o.ID, o.MerchantID, receivable(o), o.Livemode, o.Currency, o.Amount, fee, min(in.Fee, o.Amount-fee), at), nil
		}
		if o.ProfitSharing { // held until shared (internal/profitsharing)
			return ledger.PaymentHeld(entryID, o.ID, o.MerchantID, receivable(o), o.Livemode, o.Currency, o.Amount, fee, at), nil
		}
		return ledger.Payment(entryID, o.ID, o.MerchantID, receivable(o), o.Livemode, o.Currency, o.Amount, fee, at), nil
	}
	fee, err := fees.Fee(o.Method, q.To, q.ToAmount)
	if err != nil {
		return ledger.Entry{}, err
	}
	return ledger.PaymentFX(entryID, o.ID, o.MerchantID, receivable(o), o.Livemode, ledger.FXPayment{
		From: q.From, Amount: q.Amount, To: q.To, ToAmount: q.ToAmount, Gross: q.ToAmount + q.MarkupAmount, Fee: fee}, at), nil
}

// refundShare is the part of an order paid at quote q that a refund of
// amount takes back, at the payment's rate: the share of (before,
// before+amount] of the conversion (fx.Conversion.Part), so that the
// refunds of an order, taken in turn, add up to its conversion exactly.
func refundShare(q *store.FXQuote, before, amount int64) (toAmount, gross int64, err error) {
	c, err := fx.ConversionOf(q)
	if err != nil {
		return 0, 0, err
	}
	if before+amount > c.Amount { // refunds are bounded by the order: cannot happen
		before = c.Amount - amount
	}
	return c.Part(before, amount)
}

// refundEntry is the ledger entry of refund r of order o: in the order's
// currency, or, for an order paid at quote q, back through the platform's
// FX position at the payment's rate. paymentFee is the payment's fee
// (under the pro rata policy the refund returns its share of it).
func (s *Service) refundEntry(entryID string, r *store.Refund, o *store.Order, q *store.FXQuote, paymentFee int64, at time.Time) (ledger.Entry, error) {
	if q == nil {
		share, err := settlement.RefundFeeShare(s.RefundFeePolicy, paymentFee, o.Amount, r.Amount)
		if err != nil {
			return ledger.Entry{}, err
		}
		return ledger.RefundWithFee(entryID, r.ID, r.MerchantID, receivable(o), r.Livemode, r.Currency, r.Amount, share, at), nil
	}
	// o.AmountRefunded counts this refund: before it come the others.
	_, gross, err := refundShare(q, o.AmountRefunded-r.Amount, r.Amount)
	if err != nil {
		return ledger.Entry{}, err
	}
	share, err := settlement.RefundFeeShare(s.RefundFeePolicy, paymentFee, q.ToAmount, r.SettleAmount)
	if err != nil {
		return ledger.Entry{}, err
	}
	return ledger.RefundFX(entryID, r.ID, r.MerchantID, receivable(o), r.Livemode, ledger.FXPayment{
		From: r.Currency, Amount: r.Amount, To: r.SettleCurrency, ToAmount: r.SettleAmount, Gross: gross, Fee: share}, at), nil
}

// channelInstallments is the instalment plan a channel is asked for.
func channelInstallments(o *store.Order) *channel.Installments {
	if o.Installments == nil {
		return nil
	}
	return &channel.Installments{Count: o.Installments.Count, SellerPays: o.Installments.FeePayer == store.FeePayerMerchant}
}
