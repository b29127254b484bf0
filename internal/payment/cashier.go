package payment

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/paygate/paygate/internal/channel"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Errors of the hosted cashier page.
var (
	// ErrOrderExpired is an unpaid order past its expiry that the worker has
	// not closed yet: nobody may start paying it any more.
	ErrOrderExpired = errs.Conflict("order_expired", "The order has expired.")
	// ErrMethodChosen is a second, different method picked for an order whose
	// channel trade already exists.
	ErrMethodChosen = errs.Conflict("method_already_chosen", "A payment method has already been chosen for this order.")
)

// CashierOrder returns any order by id, for the hosted cashier page: the
// order id in the page's URL is what lets a payer see and pay it.
func (s *Service) CashierOrder(ctx context.Context, orderID string) (*store.Order, error) {
	if !id.Valid(id.Order, orderID) {
		return nil, errs.OrderNotFound
	}
	o, err := s.Store.OrderGet(ctx, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.OrderNotFound
	}
	return o, err
}

// CashierMethods lists the methods the payer of o may pick on the cashier
// page: when o has a method, that one if the page can complete it
// (channel.Method.Cashier); otherwise every such method that a channel
// account takes in o's currency and mode, in the table's order.
func (s *Service) CashierMethods(ctx context.Context, o *store.Order) []string {
	if o.Method != "" {
		if m, ok := channel.LookupMethod(o.Method); ok && m.Cashier {
			return []string{o.Method}
		}
		return nil
	}
	var out []string
	for _, m := range channel.Methods() {
		if !m.Cashier || (o.Installments != nil && !slices.Contains(m.Installments, o.Installments.Count)) {
			continue
		}
		if _, err := s.route(ctx, o.MerchantID, o.Livemode, m.Name, o.Currency, o.Amount); err == nil {
			out = append(out, m.Name)
		}
	}
	return out
}

// OrderExpired reports whether o is unpaid and past its expiry. The worker
// closes such orders (asking the channel first); until it has, the cashier
// lets nobody start paying them.
func (s *Service) OrderExpired(o *store.Order) bool {
	return (o.Status == store.OrderPending || o.Status == store.OrderProcessing) && !s.now().Before(o.ExpiresAt)
}

// SelectMethod records the method the payer picked on the cashier page for
// an order created without one, and asks the channel for the trade. Picking
// the order's method again returns the order as it is (a double click), or
// retries the channel when it was never reached; picking another one once a
// method is set is ErrMethodChosen, since two open trades could both be paid.
//
// payerIP is the address the payer's browser comes from; a method whose
// channel needs the payer's IP (wechat.h5) gets it when the merchant gave none.
//
// Two nodes picking for the same order at the same instant could both reach
// the channel; the cashier serializes picks per order within one process.
func (s *Service) SelectMethod(ctx context.Context, orderID, method, payerIP string) (*store.Order, error) {
	o, err := s.CashierOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if err := payable(o); err != nil {
		return nil, err
	}
	if o.Method != "" {
		if o.Method != method {
			return nil, ErrMethodChosen
		}
		if o.ChannelTradeNo != "" || o.Status != store.OrderPending {
			return o, nil
		}
	}
	if s.OrderExpired(o) {
		return nil, ErrOrderExpired
	}
	if !slices.Contains(s.CashierMethods(ctx, o), method) {
		return nil, errs.InvalidParam("method", fmt.Sprintf("This order cannot be paid with %q here.", method))
	}
	rt, err := s.route(ctx, o.MerchantID, o.Livemode, method, o.Currency, o.Amount)
	if err != nil {
		return nil, err
	}
	if o.Method == "" {
		t := store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderPending, At: s.now(), Method: method}
		rt.stampTransition(&t)
		o, err = s.transition(ctx, t)
		if errors.Is(err, store.ErrStale) {
			cur, gerr := s.Store.OrderGet(ctx, orderID)
			if gerr != nil {
				return nil, gerr
			}
			if err := payable(cur); err != nil {
				return nil, err
			}
			return cur, nil // another request is paying it
		}
		if err != nil {
			return nil, fmt.Errorf("select method %s for order %s: %w", method, orderID, err)
		}
	}
	if o.Payer.IP == "" {
		o.Payer.IP = payerIP
	}
	return s.pay(ctx, rt, o, CreateOrderParams{})
}

// payable is nil for an order that is waiting for its payer, and the
// order's status as an error otherwise.
func payable(o *store.Order) error {
	switch o.Status {
	case store.OrderSucceeded:
		return errs.OrderAlreadyPaid
	case store.OrderClosed:
		return errs.OrderClosed
	case store.OrderFailed:
		return errs.OrderFailed
	case store.OrderRequiresReview:
		return ErrInReview
	}
	return nil
}

// PayWithCard pays a pending order, created without a method, from the
// cashier page with the card its payer entered. save keeps the card for
// the order's customer: the payer ticked the box to agree. The card goes to
// the channel and is never stored; a saved card is kept as the channel's
// token (Sources.SaveCard).
func (s *Service) PayWithCard(ctx context.Context, orderID string, card *channel.Card, save bool) (*store.Order, error) {
	o, err := s.cashierPayable(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if err := validateCard(card, s.now()); err != nil {
		return nil, err
	}
	rt, err := s.route(ctx, o.MerchantID, o.Livemode, "card", o.Currency, o.Amount)
	if err != nil {
		return nil, err
	}
	if o, err = s.chooseMethod(ctx, o, rt, "card"); err != nil {
		return nil, err
	}
	return s.pay(ctx, rt, o, CreateOrderParams{Card: card, SavePaymentMethod: save && o.CustomerID != ""})
}

// PayWithSaved pays a pending order, created without a method for a
// customer, from the cashier page with one of that customer's saved cards.
func (s *Service) PayWithSaved(ctx context.Context, orderID, paymentMethod string) (*store.Order, error) {
	o, err := s.cashierPayable(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.CustomerID == "" || !id.Valid(id.PaymentMethod, paymentMethod) {
		return nil, errs.NotFound("payment_method_not_found", "No such payment method.").WithParam("payment_method")
	}
	p := CreateOrderParams{Amount: o.Amount, Currency: o.Currency, Customer: o.CustomerID, PaymentMethod: paymentMethod}
	rt, err := s.chargeSource(ctx, orderScope(o), &p)
	if err != nil {
		return nil, err
	}
	if o, err = s.chooseMethod(ctx, o, rt, p.Method); err != nil {
		return nil, err
	}
	return s.pay(ctx, rt, o, CreateOrderParams{})
}

// cashierPayable is the order of a cashier page the payer may still pay
// with a method of their choice.
func (s *Service) cashierPayable(ctx context.Context, orderID string) (*store.Order, error) {
	o, err := s.CashierOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if err := payable(o); err != nil {
		return nil, err
	}
	if o.Method != "" {
		return nil, ErrMethodChosen
	}
	if s.OrderExpired(o) {
		return nil, ErrOrderExpired
	}
	return o, nil
}

// chooseMethod records the method and the route of an order the payer pays
// from the cashier page.
func (s *Service) chooseMethod(ctx context.Context, o *store.Order, rt *routed, method string) (*store.Order, error) {
	t := store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderPending, At: s.now(), Method: method}
	rt.stampTransition(&t)
	out, err := s.transition(ctx, t)
	if errors.Is(err, store.ErrStale) {
		return nil, ErrMethodChosen // another request is paying it
	}
	return out, err
}

// CardsServed reports whether a card channel takes o (its currency, mode
// and amount): the cashier then offers the card form for orders made for a
// customer.
func (s *Service) CardsServed(ctx context.Context, o *store.Order) bool {
	_, err := s.route(ctx, o.MerchantID, o.Livemode, "card", o.Currency, o.Amount)
	return err == nil
}
