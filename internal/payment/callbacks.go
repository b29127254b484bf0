package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/store"
)

// ChannelCallback handles a channel's callback for one of its accounts
// (POST /channels/{provider}/notify/{account}): the connector verifies (and
// decrypts) it, then the order or refund it names moves, once however many
// times the channel repeats itself, through the same compare-and-set as a
// query's answer. It returns the reply the channel expects: success once the
// change (or the fact that there is nothing to change) is durable, failure
// so the channel tries again later otherwise.
//
// A callback that fails verification changes nothing and is logged. A
// callback whose amount or account does not match the order changes
// nothing either and is logged as an error: it is either forged with a
// stolen key or a channel bug, and a person must look.
func (s *Service) ChannelCallback(ctx context.Context, provider, accountID string, req channel.NotifyRequest) channel.NotifyReply {
	log := s.log().With("provider", provider, "channel_account", accountID)
	conn, acct, err := s.Accounts.ConnectorByID(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && acct.Provider != provider) {
		log.Warn("channel callback for an unknown channel account")
		return notFoundReply
	}
	if err != nil {
		log.Error("channel callback: build connector", "err", err)
		return channel.NotifyReply{Status: http.StatusServiceUnavailable, ContentType: "text/plain", Body: []byte("unavailable")}
	}
	n, err := conn.Notify(ctx, req)
	if err != nil {
		log.Warn("channel callback refused", "err", err)
		return conn.NotifyReply(err)
	}
	log = log.With("event", n.EventID, "kind", n.Kind, "order", n.OrderID)
	switch n.Kind {
	case channel.NotifyPayment:
		err = s.paymentCallback(ctx, acct, n)
	case channel.NotifyRefund:
		err = s.refundCallback(ctx, acct, n)
	default:
		err = fmt.Errorf("notification of kind %q", n.Kind)
	}
	if err != nil {
		log.Error("channel callback not applied; the channel will repeat it", "err", err)
		return conn.NotifyReply(err)
	}
	log.Info("channel callback applied", "status", n.Status, "refund", n.RefundID, "refund_status", n.RefundStatus)
	return conn.NotifyReply(nil)
}

var notFoundReply = channel.NotifyReply{Status: http.StatusNotFound, ContentType: "text/plain", Body: []byte("unknown channel account")}

// errMismatch marks a callback that contradicts what the gateway knows.
var errMismatch = errors.New("callback does not match the order")

func (s *Service) paymentCallback(ctx context.Context, acct *store.ChannelAccount, n *channel.Notification) error {
	o, err := s.Store.OrderGet(ctx, n.OrderID)
	if err != nil {
		return fmt.Errorf("order %s: %w", n.OrderID, err)
	}
	if o.ChannelAccountID != acct.ID {
		return fmt.Errorf("%w: order %s is served by channel account %q, not %s", errMismatch, o.ID, o.ChannelAccountID, acct.ID)
	}
	if n.Status.Paid() && (n.Amount != o.Amount || (n.Currency != "" && n.Currency != o.Currency)) {
		return fmt.Errorf("%w: order %s is %d %s, the channel says %d %s were paid", errMismatch, o.ID, o.Amount, o.Currency, n.Amount, n.Currency)
	}
	q := &channel.QueryResponse{ChannelTradeNo: n.ChannelTradeNo, Status: n.Status, Amount: n.Amount, Currency: n.Currency, PaidAt: n.PaidAt,
		PayerAmount: n.PayerAmount, PayerCurrency: n.PayerCurrency, ExchangeRate: n.ExchangeRate}
	if n.Status.Paid() {
		q.Status = channel.TradeSuccess
	}
	if q.Status == channel.TradePayError {
		q.FailureCode, q.FailureMessage = "payment_failed", "The payer's payment failed."
		if n.FailureCode != "" {
			q.FailureCode = n.FailureCode
		}
	}
	_, err = s.settle(ctx, o, q)
	if err == nil {
		s.notify()
	}
	return err
}

func (s *Service) refundCallback(ctx context.Context, acct *store.ChannelAccount, n *channel.Notification) error {
	r, err := s.Store.RefundGet(ctx, n.RefundID)
	if err != nil {
		return fmt.Errorf("refund %s: %w", n.RefundID, err)
	}
	o, err := s.Store.OrderGet(ctx, r.OrderID)
	if err != nil {
		return fmt.Errorf("refund %s: order %s: %w", r.ID, r.OrderID, err)
	}
	if o.ChannelAccountID != acct.ID || (n.OrderID != "" && n.OrderID != o.ID) {
		return fmt.Errorf("%w: refund %s of order %s (channel account %q) reported by %s for order %s", errMismatch, r.ID, o.ID, o.ChannelAccountID, acct.ID, n.OrderID)
	}
	if n.RefundAmount != 0 && n.RefundAmount != r.Amount {
		return fmt.Errorf("%w: refund %s is %d, the channel says %d", errMismatch, r.ID, r.Amount, n.RefundAmount)
	}
	switch n.RefundStatus {
	case channel.RefundSuccess:
		_, err = s.finishRefundPaid(ctx, r, n.ChannelRefundNo, n.PayerAmount, n.PayerCurrency)
	case channel.RefundAbnormal:
		_, err = s.finishRefund(ctx, r, store.RefundFailed, n.ChannelRefundNo, "refund_failed")
	}
	return err
}

// ApplyPaymentNotification applies a verified payment notification that a
// channel posted elsewhere than its payment callback path (WeChat Pay posts
// a deduction's result to the agreement's notification URL), exactly as
// ChannelCallback applies one: acct must be the order's channel account,
// and the amount must match.
func (s *Service) ApplyPaymentNotification(ctx context.Context, acct *store.ChannelAccount, n *channel.Notification) error {
	if n == nil || n.Kind != channel.NotifyPayment {
		return fmt.Errorf("not a payment notification")
	}
	return s.paymentCallback(ctx, acct, n)
}
