package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/paygate/paygate/internal/store"
)

// What reconciliation (internal/recon) asks of payments when it repairs
// what a channel's bill proves: the same queries and the same
// compare-and-set changes, postings and events as a callback or the
// worker, never a path of its own.

// RecheckOrder asks the channel for an order's trade and records what it
// says, as a callback would: a trade the channel says is paid moves the
// order to succeeded (from pending, processing or closed) with its payment
// entry and order.succeeded event. A succeeded or failed order is returned
// as it is.
func (s *Service) RecheckOrder(ctx context.Context, orderID string) (*store.Order, error) {
	o, err := s.Store.OrderGet(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("recheck order %s: %w", orderID, err)
	}
	return s.sync(ctx, o)
}

// RecheckRefund asks the channel for a pending refund's state and records
// it, as the worker does for refunds left pending. A refund that is not
// pending is returned as it is.
func (s *Service) RecheckRefund(ctx context.Context, refundID string) (*store.Refund, error) {
	r, err := s.Store.RefundGet(ctx, refundID)
	if err != nil {
		return nil, fmt.Errorf("recheck refund %s: %w", refundID, err)
	}
	if r.Status != store.RefundPending {
		return r, nil
	}
	return s.retryRefund(ctx, r)
}

// LateRefundPrefix starts the out_refund_no of the refund that gives back
// a late payment (RefundLatePayment); the order's id follows, so asking
// twice makes one refund.
const LateRefundPrefix = "late_"

// RefundLatePayment refunds what is left of a succeeded order that was
// paid after the gateway had closed it, on behalf of its merchant, through
// CreateRefund (so risk, the refund's entry and its events are the usual
// ones). Its out_refund_no is LateRefundPrefix and the order's id.
func (s *Service) RefundLatePayment(ctx context.Context, orderID, reason string) (*store.Refund, error) {
	o, err := s.Store.OrderGet(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("refund late payment %s: %w", orderID, err)
	}
	sc := Scope{MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode}
	no := LateRefundPrefix + o.ID
	if r, err := s.Store.RefundGetByOutRefundNo(ctx, o.AppID, no); err == nil {
		return r, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	left := o.Amount - o.AmountRefunded
	if left <= 0 {
		return nil, fmt.Errorf("refund late payment %s: nothing left to refund", orderID)
	}
	r, _, err := s.CreateRefund(ctx, sc, CreateRefundParams{OrderID: o.ID, OutRefundNo: no, Amount: left, Reason: reason})
	return r, err
}
