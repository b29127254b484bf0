package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/store"
)

// CreateOrder creates an order and, when a method is given, asks the channel
// for it. created is false when an order with the same out_trade_no and the
// same parameters already existed: it is returned as it is (after one more
// try at the channel if it never reached one).
func (s *Service) CreateOrder(ctx context.Context, sc Scope, p CreateOrderParams) (o *store.Order, created bool, err error) {
	defer func() {
		if created && err == nil && o != nil {
			s.Metrics.OrderCreated(o.Method, o.Channel, o.Livemode)
		}
	}()
	now := s.now()
	if err := p.Validate(sc.Livemode, now); err != nil {
		return nil, false, err
	}
	if err := s.checkNotifyURL(ctx, p.NotifyURL, sc.Livemode); err != nil {
		return nil, false, err
	}
	plan, err := s.installmentPlan(p)
	if err != nil {
		return nil, false, err
	}
	if p.ExpiresIn == 0 {
		p.ExpiresIn = DefaultExpiresIn
	}
	// A merchant-initiated charge (an agreement or a saved payment method)
	// is checked first and goes to the account holding its source.
	pinned, err := s.chargeSource(ctx, sc, &p)
	if err != nil {
		return nil, false, err
	}
	hash, err := s.paramsHash(withoutCVC(p))
	if err != nil {
		return nil, false, err
	}
	o = &store.Order{
		ID: id.New(id.Order, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		OutTradeNo: p.OutTradeNo, Amount: p.Amount, Currency: p.Currency, Subject: p.Subject,
		Description: p.Description, Method: p.Method, Status: store.OrderPending, Metadata: p.Metadata,
		Payer: p.Payer, NotifyURL: p.NotifyURL, ReturnURL: p.ReturnURL, RequestHash: hash,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(p.ExpiresIn), Risk: noRisk, CustomerID: p.Customer,
		ProfitSharing: p.ProfitSharing,
		FXQuoteID:     p.FXQuote, Installments: plan,
	}
	if p.FXQuote != "" {
		existing, qerr := s.applyQuote(ctx, sc, o, now)
		if qerr != nil {
			return nil, false, qerr
		}
		if existing != nil {
			return s.repeatCreate(ctx, nil, existing, hash, p)
		}
		// A quote taken meanwhile (a concurrent order) fails the insert:
		// the named result err is what the caller gets.
		orderID := o.ID
		defer func() { err = quoteTaken(err, orderID) }()
	}
	// Risk control decides before routing and before any channel is asked
	// (risk.go): a block ends here, a review creates the order waiting.
	var chk *risk.Check
	var early *recorded
	if s.Risk != nil {
		var done bool
		if chk, early, o, done, err = s.riskFirst(ctx, o, p); done || err != nil {
			return o, done && err == nil, err
		}
	}
	rt := pinned
	if rt == nil && p.Method != "" {
		if rt, err = s.route(ctx, sc.MerchantID, sc.Livemode, p.Method, p.Currency, p.Amount); err != nil {
			return nil, false, err
		}
	}
	if rt == nil {
		o.NextAction = mustJSON(channel.NextAction{Type: "redirect", URL: s.CashierURL(o.ID)})
	} else if m, _ := channel.LookupMethod(p.Method); !m.ChargesAtOnce() {
		return s.createAwaitingPayer(ctx, rt, o, p, chk, early)
	} else {
		// The order is recorded before the channel takes the money, with
		// the channel it is about to try; a failover re-stamps it.
		rt.stamp(o)
	}
	o, _, err = s.insertOrder(ctx, o, chk)
	if errors.Is(err, store.ErrConflict) {
		existing, gerr := s.Store.OrderGetByOutTradeNo(ctx, sc.AppID, p.OutTradeNo)
		if gerr != nil {
			return nil, false, gerr
		}
		return s.repeatCreate(ctx, rt, existing, hash, p)
	} else if err != nil {
		return nil, false, err
	}
	created = true
	if o.Status == store.OrderRequiresReview {
		return o, true, nil
	}
	if rt == nil {
		return o, created, nil
	}
	o, err = s.pay(ctx, rt, o, p)
	return o, created, err
}

// createAwaitingPayer creates an order whose payer still has to act (scan a
// QR code, open a page or an app). It asks the channel first and inserts the
// order once, with the channel's trade and next action: one write instead of
// two. That is safe because nothing moves at the channel until the payer
// acts on what only this response carries; a failure or a crash before the
// insert leaves at most an unpaid trade that expires there.
func (s *Service) createAwaitingPayer(ctx context.Context, rt *routed, o *store.Order, p CreateOrderParams, chk *risk.Check, early *recorded) (*store.Order, bool, error) {
	// A repeated create is caught by the insert's unique key, not by a read
	// first: repeats are rare, and the read would cost every create.
	resp, conn, err := s.payAt(ctx, rt, s.payRequest(o, p))
	if refused := channelRefusal(o, err); refused != nil {
		return nil, false, refused
	}
	if err != nil {
		return nil, false, errs.Channel("channel_unavailable", "The payment channel could not take the order; retry the same request.", fmt.Errorf("pay order %s: %w", o.ID, err))
	}
	rt.stamp(o)
	o.ChannelTradeNo = resp.ChannelTradeNo
	switch resp.Status {
	case channel.TradeUserPaying:
		o.Status = store.OrderProcessing
	case channel.TradeNotPay:
		if resp.NextAction != nil {
			o.NextAction = mustJSON(s.nextAction(o.ID, resp.NextAction))
		}
	}
	if early != nil {
		err = s.createAfterRisk(ctx, o, early)
	} else {
		_, _, err = s.insertOrder(ctx, o, chk)
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		// A concurrent create with this out_trade_no won; our trade is an
		// orphan nobody will pay (only this response carried it): close it
		// at the channel, without keeping the merchant waiting. If that
		// fails, the trade expires there with the order's expiry.
		req := channel.CloseRequest{OrderID: o.ID, CreatedAt: o.CreatedAt, ChannelTradeNo: o.ChannelTradeNo, Amount: o.Amount, Livemode: o.Livemode}
		s.goBackground(ctx, "close the orphan trade of a lost create", []any{"order", o.ID, "channel_account", o.ChannelAccountID, "channel_trade_no", o.ChannelTradeNo},
			func(ctx context.Context) error {
				cctx, cancel := s.channelCtx(ctx)
				defer cancel()
				return conn.Close(cctx, req)
			})
		existing, gerr := s.Store.OrderGetByOutTradeNo(ctx, o.AppID, o.OutTradeNo)
		if gerr != nil {
			return nil, false, gerr
		}
		return s.repeatCreate(ctx, rt, existing, o.RequestHash, p)
	case err != nil:
		return nil, false, fmt.Errorf("create order: %w", err)
	}
	if resp.Status == channel.TradeSuccess { // paid before we even answered
		o, err = s.succeed(ctx, o, &channel.QueryResponse{ChannelTradeNo: resp.ChannelTradeNo}, store.OrderPending)
		return o, true, err
	}
	return o, true, nil
}

// repeatCreate answers a create whose out_trade_no exists: the order as it
// is for the same parameters (asking the channel again if it never got the
// order), duplicate_out_trade_no for others.
func (s *Service) repeatCreate(ctx context.Context, rt *routed, existing *store.Order, hash string, p CreateOrderParams) (*store.Order, bool, error) {
	if !sameParams(existing.RequestHash, hash, p) {
		return nil, false, errs.DuplicateOutTradeNo
	}
	if rt == nil || existing.Status != store.OrderPending || existing.ChannelTradeNo != "" {
		return existing, false, nil
	}
	o, err := s.pay(ctx, rt, existing, p)
	return o, false, err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// pay asks the channel to take the payment for a recorded order and
// records its answer. A routed order is re-stamped first with the account
// that answered and the routing decision with its tries.
func (s *Service) pay(ctx context.Context, rt *routed, o *store.Order, p CreateOrderParams) (*store.Order, error) {
	resp, conn, err := s.payAt(ctx, rt, s.payRequest(o, p))
	// Record where the payment went and the tries that led there (a
	// failover moves it to another account than the one stamped at insert).
	if conn != nil && (rt.plan != nil || conn.Name() != o.Channel) {
		t := store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderPending, At: s.now()}
		rt.stampTransition(&t)
		// A stale order moved on through its channel's callback: only the
		// stamped account's callbacks are taken, so it is the right one.
		restamped, terr := s.orCurrent(ctx, o.ID)(s.transition(ctx, t))
		if terr != nil {
			return nil, fmt.Errorf("pay order %s: record the channel that took it: %w", o.ID, terr)
		}
		o = restamped
	}
	var decline *channel.DeclineError
	switch {
	case errors.As(err, &decline):
		s.log().Info("channel declined the payment", "order", o.ID, "channel_account", o.ChannelAccountID, "code", decline.Code, "channel_message", decline.Message)
		return s.finish(ctx, o, store.OrderFailed, decline.Code, store.OrderPending)
	case errors.Is(err, channel.ErrUnknownOutcome):
		// The channel may have taken the money: never guess. The order waits
		// in processing until a query tells (see Worker).
		s.log().Warn("channel outcome unknown; order stays processing", "order", o.ID, "channel", o.Channel, "channel_account", o.ChannelAccountID, "err", err)
		return s.orCurrent(ctx, o.ID)(s.transition(ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: s.now()}))
	case channelRefusal(o, err) != nil:
		return nil, channelRefusal(o, err)
	case err != nil:
		// Nothing happened at the channel; the order stays pending and a
		// repeat of the same create tries again.
		return nil, errs.Channel("channel_unavailable", "The payment channel could not take the order; retry the same request.", fmt.Errorf("pay order %s: %w", o.ID, err))
	}
	switch resp.Status {
	case channel.TradeSuccess:
		paid, err := s.succeed(ctx, o, &channel.QueryResponse{ChannelTradeNo: resp.ChannelTradeNo}, store.OrderPending)
		if err == nil && resp.SavedCard != nil {
			s.saveCard(ctx, paid, p.Card, resp.SavedCard)
		}
		return paid, err
	case channel.TradeUserPaying:
		return s.orCurrent(ctx, o.ID)(s.transition(ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: s.now(), ChannelTradeNo: resp.ChannelTradeNo}))
	default:
		var na json.RawMessage
		if resp.NextAction != nil {
			na = mustJSON(s.nextAction(o.ID, resp.NextAction))
		}
		return s.orCurrent(ctx, o.ID)(s.transition(ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderPending, At: s.now(), ChannelTradeNo: resp.ChannelTradeNo, NextAction: na}))
	}
}

// orCurrent resolves a transition that lost its race (the payer, or the
// channel's callback, was quicker) to the order as it now is.
func (s *Service) orCurrent(ctx context.Context, orderID string) func(*store.Order, error) (*store.Order, error) {
	return func(o *store.Order, err error) (*store.Order, error) {
		if errors.Is(err, store.ErrStale) {
			return s.Store.OrderGet(ctx, orderID)
		}
		return o, err
	}
}

// payRequest is what the channel is asked to create for o.
func (s *Service) payRequest(o *store.Order, p CreateOrderParams) channel.PayRequest {
	return channel.PayRequest{
		OrderID: o.ID, CreatedAt: o.CreatedAt, OutTradeNo: o.OutTradeNo, Method: o.Method, Amount: o.Amount, Currency: o.Currency,
		Subject: o.Subject, AuthCode: p.AuthCode, Card: p.Card, PayerID: o.Payer.ID, PayerIP: o.Payer.IP,
		ExpiresAt: o.ExpiresAt, ReturnURL: s.CashierURL(o.ID), CashierURL: s.CashierURL(o.ID), Livemode: o.Livemode,
		SaveCard:       p.SavePaymentMethod && p.Card != nil && o.CustomerID != "",
		SettleCurrency: o.SettleCurrency, Installments: channelInstallments(o),
		ProfitSharing: o.ProfitSharing,
	}
}

// nextAction adds the cashier page to what the channel asked for.
func (s *Service) nextAction(orderID string, na *channel.NextAction) map[string]any {
	out := map[string]any{"type": na.Type}
	switch na.Type {
	case "qr_code":
		out["qr_code"], out["cashier_url"] = na.QRCode, s.CashierURL(orderID)
	case "redirect":
		if na.URL == "" {
			na.URL = s.CashierURL(orderID)
		}
		out["url"] = na.URL
	case "sdk_params":
		out["params"] = na.Params
	}
	return out
}

// apply records what the channel says of o's trade.
func (s *Service) apply(ctx context.Context, o *store.Order, q *channel.QueryResponse) (*store.Order, error) {
	switch q.Status {
	case channel.TradeSuccess, channel.TradeRefunded:
		// A closed order the channel says is paid is moved to succeeded:
		// the payer's money is real and the merchant must see it to refund it.
		return s.succeed(ctx, o, q, store.OrderPending, store.OrderProcessing, store.OrderClosed)
	case channel.TradePayError:
		code := q.FailureCode
		if code == "" {
			code = "payment_failed"
		}
		if q.FailureMessage != "" {
			s.log().Info("channel says the payment failed", "order", o.ID, "channel_account", o.ChannelAccountID, "code", code, "channel_message", q.FailureMessage)
		}
		return s.finish(ctx, o, store.OrderFailed, code, store.OrderPending, store.OrderProcessing)
	case channel.TradeClosed:
		return s.finish(ctx, o, store.OrderClosed, "", store.OrderPending, store.OrderProcessing)
	case channel.TradeRevoked:
		return s.finish(ctx, o, store.OrderFailed, "payment_reversed", store.OrderPending, store.OrderProcessing)
	case channel.TradeUserPaying:
		out, err := s.transition(ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: s.now()})
		if errors.Is(err, store.ErrStale) {
			return s.Store.OrderGet(ctx, o.ID)
		}
		return out, err
	}
	return o, nil
}

// settle is apply with lost races resolved to the order as it now is.
func (s *Service) settle(ctx context.Context, o *store.Order, q *channel.QueryResponse) (*store.Order, error) {
	out, err := s.apply(ctx, o, q)
	if errors.Is(err, store.ErrStale) {
		return out, nil
	}
	return out, err
}

// SyncOrder asks the channel for the order's state now (主动查单) and records it.
func (s *Service) SyncOrder(ctx context.Context, sc Scope, orderID string) (*store.Order, error) {
	o, err := s.GetOrder(ctx, sc, orderID)
	if err != nil {
		return nil, err
	}
	return s.sync(ctx, o)
}

func (s *Service) sync(ctx context.Context, o *store.Order) (*store.Order, error) {
	if o.Channel == "" || o.Status == store.OrderSucceeded || o.Status == store.OrderFailed {
		return o, nil
	}
	conn, err := s.connector(ctx, o)
	if err != nil {
		return nil, err
	}
	cctx, cancel := s.channelCtx(ctx)
	q, err := conn.Query(cctx, channel.QueryRequest{OrderID: o.ID, CreatedAt: o.CreatedAt, ChannelTradeNo: o.ChannelTradeNo, Livemode: o.Livemode, Method: o.Method})
	cancel()
	s.report(o, err)
	if errors.Is(err, channel.ErrTradeNotFound) {
		return o, nil // the channel never got the trade: nothing to learn
	}
	if err != nil {
		return nil, errs.Channel("channel_unavailable", "The payment channel could not be queried; retry later.", fmt.Errorf("query order %s: %w", o.ID, err))
	}
	return s.settle(ctx, o, q)
}

// CloseOrder closes an unpaid order, telling the channel first. If the
// channel says the trade is paid, the order becomes succeeded and the close
// fails with order_already_paid.
func (s *Service) CloseOrder(ctx context.Context, sc Scope, orderID string) (*store.Order, error) {
	o, err := s.GetOrder(ctx, sc, orderID)
	if err != nil {
		return nil, err
	}
	return s.close(ctx, o)
}

func (s *Service) close(ctx context.Context, o *store.Order) (*store.Order, error) {
	switch o.Status {
	case store.OrderSucceeded:
		return nil, errs.OrderAlreadyPaid
	case store.OrderFailed:
		return nil, errs.OrderFailed
	case store.OrderClosed:
		return o, nil // closing twice is harmless, as WeChat's close is
	}
	// The channel is asked even without a trade number: some create trades
	// whose number comes only when the payer acts (Alipay's precreate), and
	// close by the order id.
	if o.Channel != "" {
		conn, err := s.connector(ctx, o)
		if err != nil {
			return nil, err
		}
		cctx, cancel := s.channelCtx(ctx)
		err = conn.Close(cctx, channel.CloseRequest{OrderID: o.ID, CreatedAt: o.CreatedAt, ChannelTradeNo: o.ChannelTradeNo, Amount: o.Amount, Livemode: o.Livemode})
		cancel()
		s.report(o, err)
		switch {
		case errors.Is(err, channel.ErrAlreadyPaid):
			cctx, cancel := s.channelCtx(ctx)
			q, qerr := conn.Query(cctx, channel.QueryRequest{OrderID: o.ID, CreatedAt: o.CreatedAt, ChannelTradeNo: o.ChannelTradeNo, Livemode: o.Livemode, Method: o.Method})
			cancel()
			if qerr == nil {
				if _, err := s.settle(ctx, o, q); err != nil {
					return nil, err
				}
			}
			return nil, errs.OrderAlreadyPaid
		case err != nil && !errors.Is(err, channel.ErrTradeNotFound):
			return nil, errs.Channel("channel_unavailable", "The payment channel could not close the order; retry later.", fmt.Errorf("close order %s: %w", o.ID, err))
		}
	}
	out, err := s.finish(ctx, o, store.OrderClosed, "", store.OrderPending, store.OrderProcessing, store.OrderRequiresReview)
	if errors.Is(err, store.ErrStale) {
		switch out.Status {
		case store.OrderSucceeded:
			return nil, errs.OrderAlreadyPaid
		case store.OrderFailed:
			return nil, errs.OrderFailed
		}
		return out, nil
	}
	return out, err
}

// ReverseOrder (撤销) closes an unpaid order, or refunds a paid one in full.
func (s *Service) ReverseOrder(ctx context.Context, sc Scope, orderID string) (*store.Order, error) {
	o, err := s.GetOrder(ctx, sc, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status == store.OrderProcessing || o.Status == store.OrderPending {
		// Learn the truth first: a micropay may have gone through meanwhile.
		if synced, err := s.sync(ctx, o); err == nil {
			o = synced
		}
	}
	if o.Status != store.OrderSucceeded {
		return s.close(ctx, o)
	}
	if remaining := o.Amount - o.AmountRefunded; remaining > 0 {
		_, _, err := s.CreateRefund(ctx, Scope{MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode}, CreateRefundParams{
			OrderID: o.ID, OutRefundNo: "reverse-" + o.ID, Amount: remaining, Reason: "reversed",
		})
		if err != nil && !errors.Is(err, errs.DuplicateOutRefund) {
			return nil, err
		}
	}
	return s.Store.OrderGet(ctx, o.ID)
}

// errOrderNotPayable: the test channel would not let the payer act on the
// order's trade; the channel's reason is logged, not shown.
var errOrderNotPayable = errs.Conflict("order_not_payable", "The test channel refused to pay this order.")

// Payer is a channel that can play the payer in test mode (the sandbox).
type Payer interface {
	PayerActs(tradeNo string, paid bool) error
}

// TestPay acts as the payer of a test-mode order: outcome "succeeded" or "failed".
func (s *Service) TestPay(ctx context.Context, sc Scope, orderID string, succeeded bool) (*store.Order, error) {
	if sc.Livemode {
		return nil, errs.TestModeOnly
	}
	o, err := s.GetOrder(ctx, sc, orderID)
	if err != nil {
		return nil, err
	}
	switch o.Status {
	case store.OrderSucceeded:
		return nil, errs.OrderAlreadyPaid
	case store.OrderClosed:
		return nil, errs.OrderClosed
	case store.OrderFailed:
		return nil, errs.OrderFailed
	case store.OrderRequiresReview:
		return nil, ErrInReview
	}
	if o.Method == "" {
		// The payer picks a method on the cashier page; the test payer
		// picks the sandbox's own.
		if o, err = s.SelectMethod(ctx, o.ID, "sandbox", ""); err != nil {
			return nil, err
		}
		if o.Status != store.OrderPending && o.Status != store.OrderProcessing {
			return o, nil
		}
	}
	conn, err := s.connector(ctx, o)
	if err != nil {
		return nil, err
	}
	payer, ok := channel.Unwrap(conn).(Payer)
	if !ok {
		// A simulated channel: the payer acts there, and the channel's
		// callback (or this query, whichever is first) moves the order.
		if s.TestPayer == nil {
			return nil, errs.Invalid("method_unsupported", "This order's channel cannot be paid from the test helper.")
		}
		if err := s.TestPayer(ctx, o, succeeded); err != nil {
			return nil, errOrderNotPayable.Wrap(err)
		}
		return s.sync(ctx, o)
	}
	if o.ChannelTradeNo == "" {
		// The create never reached the channel (it was down): try now.
		rt, err := s.route(ctx, o.MerchantID, o.Livemode, o.Method, o.Currency, o.Amount)
		if err != nil {
			return nil, err
		}
		if o, err = s.pay(ctx, rt, o, CreateOrderParams{}); err != nil {
			return nil, err
		}
		if o.Status != store.OrderPending && o.Status != store.OrderProcessing {
			return o, nil
		}
	}
	if err := payer.PayerActs(o.ChannelTradeNo, succeeded); err != nil && !errors.Is(err, channel.ErrAlreadyPaid) {
		return nil, errOrderNotPayable.Wrap(err)
	}
	if succeeded {
		return s.settle(ctx, o, &channel.QueryResponse{ChannelTradeNo: o.ChannelTradeNo, Status: channel.TradeSuccess})
	}
	return s.settle(ctx, o, &channel.QueryResponse{ChannelTradeNo: o.ChannelTradeNo, Status: channel.TradePayError, FailureCode: "payment_failed", FailureMessage: "The payer's payment failed."})
}

// ListOrders lists the scope's orders.
func (s *Service) ListOrders(ctx context.Context, sc Scope, f store.OrderFilter) ([]*store.Order, bool, error) {
	f.MerchantID, f.Livemode = sc.MerchantID, sc.Livemode
	return s.Store.OrderList(ctx, f)
}

func (s *Service) micropayDeadline() time.Duration {
	if s.MicropayDeadline > 0 {
		return s.MicropayDeadline
	}
	return 60 * time.Second
}

// reverseUnconfirmed reverses a micropay trade whose payer never confirmed
// (撤销): the channel cancels it, refunding the payer if the payment went
// through at the last instant, and the order fails. A channel that says the
// trade is paid and cannot be reversed leaves it to the next query.
func (s *Service) reverseUnconfirmed(ctx context.Context, o *store.Order) (*store.Order, error) {
	conn, err := s.connector(ctx, o)
	if err != nil {
		return nil, err
	}
	req := channel.CloseRequest{OrderID: o.ID, CreatedAt: o.CreatedAt, ChannelTradeNo: o.ChannelTradeNo, Amount: o.Amount, Livemode: o.Livemode}
	cctx, cancel := s.channelCtx(ctx)
	if conn.Capabilities().Reverse {
		err = conn.Reverse(cctx, req)
	} else {
		err = conn.Close(cctx, req)
	}
	cancel()
	s.report(o, err)
	switch {
	case errors.Is(err, channel.ErrAlreadyPaid):
		return s.sync(ctx, o)
	case err != nil && !errors.Is(err, channel.ErrTradeNotFound):
		return o, fmt.Errorf("reverse order %s: %w", o.ID, err)
	}
	s.log().Warn("micropay not confirmed in time; reversed", "order", o.ID, "channel", o.Channel)
	out, err := s.finish(ctx, o, store.OrderFailed, "payer_timeout", store.OrderPending, store.OrderProcessing)
	if errors.Is(err, store.ErrStale) {
		return out, nil
	}
	return out, err
}

// channelRefusal is the merchant's error when the channel account the
// order was routed to cannot take it at all (channel.ErrNotSupported: a
// domestic WeChat Pay account given a USD order, say): method_unsupported,
// as when no account is routed, since repeating the request cannot help.
// nil for any other error.
func channelRefusal(o *store.Order, err error) error {
	if err == nil || !errors.Is(err, channel.ErrNotSupported) {
		return nil
	}
	e := errs.Invalid("method_unsupported", fmt.Sprintf("No channel takes this %s payment of %d %s for this merchant.", o.Method, o.Amount, o.Currency))
	e.Param = "method"
	return e.Wrap(fmt.Errorf("pay order %s: %w", o.ID, err))
}
