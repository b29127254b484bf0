package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/paygate/paygate/internal/notify"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

// CreateRefund refunds part or all of a succeeded order. The store reserves
// the amount on the order in the refund's own transaction, so concurrent
// refunds can never pass the order's amount. created is false when a refund
// with the same out_refund_no and parameters already existed.
func (s *Service) CreateRefund(ctx context.Context, sc Scope, p CreateRefundParams) (r *store.Refund, created bool, err error) {
	if err := p.Validate(sc.Livemode); err != nil {
		return nil, false, err
	}
	if err := s.checkNotifyURL(ctx, p.NotifyURL, sc.Livemode); err != nil {
		return nil, false, err
	}
	var o *store.Order
	if p.OrderID != "" {
		o, err = s.GetOrder(ctx, sc, p.OrderID)
	} else {
		o, err = s.GetOrderByOutTradeNo(ctx, sc, p.OutTradeNo)
	}
	if err != nil {
		return nil, false, err
	}
	hashed := p
	hashed.OrderID, hashed.OutTradeNo = o.ID, ""
	hash, err := s.paramsHash(hashed)
	if err != nil {
		return nil, false, err
	}
	if existing, err := s.Store.RefundGetByOutRefundNo(ctx, sc.AppID, p.OutRefundNo); err == nil {
		return sameRefund(existing, hash, hashed)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	now := s.now()
	if o.Status != store.OrderSucceeded {
		return nil, false, errs.OrderNotPaid
	}
	if o.PaidAt != nil && now.Sub(*o.PaidAt) > RefundWindow {
		return nil, false, errs.RefundWindowExpired
	}
	if err := s.checkRefund(ctx, o, p); err != nil {
		return nil, false, err
	}
	r = &store.Refund{
		ID: id.New(id.Refund, now), OrderID: o.ID, MerchantID: o.MerchantID, AppID: sc.AppID,
		Livemode: o.Livemode, OutRefundNo: p.OutRefundNo, Amount: p.Amount, Currency: o.Currency,
		Status: store.RefundPending, Channel: o.Channel, Reason: p.Reason, NotifyURL: p.NotifyURL,
		Metadata: p.Metadata, RequestHash: hash, CreatedAt: now, UpdatedAt: now,
	}
	if o.FXQuoteID != "" {
		// A refund converts at the payment's rate (fxorders.go): its share
		// of what the merchant was credited, in the settlement currency.
		q, err := s.orderQuote(ctx, o)
		if err != nil {
			return nil, false, err
		}
		if r.SettleAmount, _, err = refundShare(q, o.AmountRefunded, r.Amount); err != nil {
			return nil, false, err
		}
		r.SettleCurrency = q.To
	}
	create := s.Store.RefundCreate
	atChannel := false
	if o.ProfitSharing {
		reverse := p.ReverseShares == nil || *p.ReverseShares
		create = func(ctx context.Context, r *store.Refund) (err error) {
			atChannel, err = s.createSharedRefund(ctx, o, r, reverse, p.ProfitSharingReturns)
			return err
		}
	}
	switch err := create(ctx, r); {
	case errors.As(err, new(*errs.Error)):
		return nil, false, err
	case errors.Is(err, store.ErrRefundExceeds):
		return nil, false, errs.RefundExceedsAmount
	case errors.Is(err, store.ErrStale):
		return nil, false, errs.OrderNotPaid
	case errors.Is(err, store.ErrConflict):
		existing, gerr := s.Store.RefundGetByOutRefundNo(ctx, sc.AppID, p.OutRefundNo)
		if gerr != nil {
			return nil, false, gerr
		}
		return sameRefund(existing, hash, hashed)
	case err != nil:
		return nil, false, fmt.Errorf("create refund: %w", err)
	}
	if atChannel { // shares come back from account holders at the channel first
		out, done, err := s.channelReturns(ctx, o, r, false)
		if err != nil || !done || out.Status != store.RefundPending {
			if err != nil {
				s.log().Warn("profit sharing returns of a refund: the worker asks again", "refund", r.ID, "err", err)
				return r, true, nil
			}
			return out, true, nil
		}
	}
	r, err = s.refundAtChannel(ctx, o, r)
	return r, true, err
}

func sameRefund(existing *store.Refund, hash string, params CreateRefundParams) (*store.Refund, bool, error) {
	if !sameParams(existing.RequestHash, hash, params) {
		return nil, false, errs.DuplicateOutRefund
	}
	return existing, false, nil
}

// refundAtChannel asks the channel to refund r and records the answer. A
// channel that cannot be reached leaves the refund pending; the Worker asks
// again (channels take a repeated refund of one refund id as one refund).
func (s *Service) refundAtChannel(ctx context.Context, o *store.Order, r *store.Refund) (*store.Refund, error) {
	conn, err := s.connector(ctx, o)
	if err != nil {
		return nil, err
	}
	back, err := s.refundShareReturns(ctx, o, conn, r)
	if err != nil {
		return nil, err
	}
	cctx, cancel := s.channelCtx(ctx)
	resp, err := conn.Refund(cctx, channel.RefundRequest{
		RefundID: r.ID, CreatedAt: r.CreatedAt, OrderID: o.ID, OrderCreatedAt: o.CreatedAt, ChannelTradeNo: o.ChannelTradeNo,
		Amount: r.Amount, Total: o.Amount, Currency: r.Currency, Reason: r.Reason, Livemode: r.Livemode, ReturnShares: back,
	})
	cancel()
	s.report(o, err)
	if err != nil {
		if channel.Retryable(err) {
			s.log().Warn("refund outcome unknown; refund stays pending", "refund", r.ID, "err", err)
			return r, nil
		}
		s.log().Warn("channel refused the refund", "refund", r.ID, "order", o.ID, "channel_account", o.ChannelAccountID, "err", err)
		return s.finishRefund(ctx, r, store.RefundFailed, "", "channel_refused")
	}
	switch resp.Status {
	case channel.RefundSuccess:
		return s.finishRefundPaid(ctx, r, resp.ChannelRefundNo, resp.PayerAmount, resp.PayerCurrency)
	case channel.RefundAbnormal:
		return s.finishRefund(ctx, r, store.RefundFailed, resp.ChannelRefundNo, resp.FailureCode)
	}
	return r, nil
}

// finishRefund moves a pending refund to succeeded (with its ledger entry) or
// failed (giving the amount back to the order), with its event. A failed
// refund without a code is refund_failed; its message is the fixed sentence
// of failures.go.
func (s *Service) finishRefund(ctx context.Context, r *store.Refund, to store.RefundStatus, channelRefundNo, failureCode string) (*store.Refund, error) {
	return s.finishRefundAs(ctx, r, to, channelRefundNo, failureCode, 0, "")
}

// finishRefundPaid moves a pending refund to succeeded as finishRefund
// does, storing with it what went back to the payer when the channel
// converted (payerAmount of payerCurrency; 0 and "" when it did not say).
func (s *Service) finishRefundPaid(ctx context.Context, r *store.Refund, channelRefundNo string, payerAmount int64, payerCurrency string) (*store.Refund, error) {
	if payerCurrency == r.Currency || payerAmount <= 0 { // not converted, or not said
		payerAmount, payerCurrency = 0, ""
	}
	return s.finishRefundAs(ctx, r, store.RefundSucceeded, channelRefundNo, "", payerAmount, payerCurrency)
}

// finishRefundAs is finishRefund with the payer's amount of a converted refund.
func (s *Service) finishRefundAs(ctx context.Context, r *store.Refund, to store.RefundStatus, channelRefundNo, failureCode string, payerAmount int64, payerCurrency string) (*store.Refund, error) {
	failureMsg := ""
	if to == store.RefundFailed {
		if failureCode == "" {
			failureCode = "refund_failed"
		}
		failureMsg = refundFailure(failureCode)
	}
	if o, err := s.Store.OrderGet(ctx, r.OrderID); err != nil {
		return nil, err
	} else if o.ProfitSharing {
		return s.finishSharedRefund(ctx, r, to, channelRefundNo, failureCode, failureMsg)
	}
	var paymentFee int64
	if to == store.RefundSucceeded && s.RefundFeePolicy == settlement.RefundFeeProRata {
		var err error
		if paymentFee, err = s.paymentFee(ctx, r.OrderID, r.Livemode); err != nil {
			return nil, err
		}
	}
	var q *store.FXQuote
	if to == store.RefundSucceeded && r.SettleCurrency != "" {
		o, err := s.Store.OrderGet(ctx, r.OrderID)
		if err != nil {
			return nil, err
		}
		if q, err = s.orderQuote(ctx, o); err != nil {
			return nil, err
		}
	}
	at := s.now()
	out, err := s.Store.RefundTransition(ctx, store.RefundTransition{
		RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: to, At: at,
		ChannelRefundNo: channelRefundNo, FailureCode: failureCode, FailureMessage: failureMsg,
		PayerAmount: payerAmount, PayerCurrency: payerCurrency,
		Effects: func(after *store.Refund, o *store.Order) (store.Effects, error) {
			typ := notify.RefundFailed
			var entries []ledger.Entry
			if to == store.RefundSucceeded {
				typ = notify.RefundSucceeded
				entry, err := s.refundEntry(id.New(id.Entry, at), after, o, q, paymentFee, at)
				if err != nil {
					return store.Effects{}, err
				}
				entries = append(entries, entry)
			}
			ev, err := event(typ, at, Scope{MerchantID: after.MerchantID, AppID: after.AppID, Livemode: after.Livemode}, "refund", after.ID, after.NotifyURL, RefundObject(after))
			if err != nil {
				return store.Effects{}, err
			}
			return store.Effects{Entries: entries, Events: []*store.Event{ev}}, nil
		},
	})
	if errors.Is(err, store.ErrStale) { // someone else finished it first
		return s.Store.RefundGet(ctx, r.ID)
	}
	if err == nil {
		s.notify()
	}
	return out, err
}

// paymentFee is the fee the platform took on an order's payment, read from
// the payment's ledger entry (what was charged, whatever the merchant's
// fee schedule says today).
func (s *Service) paymentFee(ctx context.Context, orderID string, live bool) (int64, error) {
	entries, err := s.Store.LedgerEntries(ctx, orderID)
	if err != nil {
		return 0, fmt.Errorf("fee of order %s: %w", orderID, err)
	}
	for _, e := range entries {
		if e.Kind != ledger.KindPayment {
			continue
		}
		var fee int64
		for _, l := range e.Lines {
			if l.Account == ledger.PlatformFees(live) {
				fee += l.Amount
			}
		}
		return fee, nil
	}
	return 0, fmt.Errorf("fee of order %s: it has no payment entry", orderID)
}

// GetRefund returns a refund the scope may see.
func (s *Service) GetRefund(ctx context.Context, sc Scope, refundID string) (*store.Refund, error) {
	if !id.Valid(id.Refund, refundID) {
		return nil, errs.RefundNotFound
	}
	r, err := s.Store.RefundGetInScope(ctx, sc, refundID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.RefundNotFound
	}
	return r, err
}

// GetRefundByOutRefundNo returns the app's refund with that out_refund_no.
func (s *Service) GetRefundByOutRefundNo(ctx context.Context, sc Scope, outRefundNo string) (*store.Refund, error) {
	r, err := s.Store.RefundGetByOutRefundNo(ctx, sc.AppID, outRefundNo)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.RefundNotFound
	}
	return r, err
}

// ListRefunds lists the scope's refunds.
func (s *Service) ListRefunds(ctx context.Context, sc Scope, f store.RefundFilter) ([]*store.Refund, bool, error) {
	f.MerchantID, f.Livemode = sc.MerchantID, sc.Livemode
	return s.Store.RefundList(ctx, f)
}

// retryRefund asks the channel again about a refund left pending: first
// what became of it, and only when the channel never got it, the refund
// again (channels take a repeated out_refund_no as the same refund).
func (s *Service) retryRefund(ctx context.Context, r *store.Refund) (*store.Refund, error) {
	o, err := s.Store.OrderGet(ctx, r.OrderID)
	if err != nil {
		return nil, err
	}
	if o.ProfitSharing {
		// A refund waiting for shares back at the channel is sent only
		// once they are all back.
		out, done, err := s.channelReturns(ctx, o, r, true)
		if err != nil || !done || out.Status != store.RefundPending {
			return out, err
		}
	}
	conn, err := s.connector(ctx, o)
	if err != nil {
		return nil, err
	}
	cctx, cancel := s.channelCtx(ctx)
	resp, err := conn.RefundQuery(cctx, channel.RefundQueryRequest{
		RefundID: r.ID, CreatedAt: r.CreatedAt, OrderID: o.ID, OrderCreatedAt: o.CreatedAt,
		ChannelTradeNo: o.ChannelTradeNo, Amount: r.Amount, Livemode: r.Livemode,
	})
	cancel()
	s.report(o, err)
	switch {
	case errors.Is(err, channel.ErrTradeNotFound):
		return s.refundAtChannel(ctx, o, r)
	case err != nil:
		return r, fmt.Errorf("query refund %s: %w", r.ID, err)
	}
	switch resp.Status {
	case channel.RefundSuccess:
		return s.finishRefundPaid(ctx, r, resp.ChannelRefundNo, resp.PayerAmount, resp.PayerCurrency)
	case channel.RefundAbnormal:
		return s.finishRefund(ctx, r, store.RefundFailed, resp.ChannelRefundNo, resp.FailureCode)
	}
	return r, nil
}
