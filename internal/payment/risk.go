package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/store"
)

// Risk is risk control as the payment service uses it (risk.Service): it
// evaluates a payment before any channel is asked and records the attempt
// in the transaction that creates the order. Nil: no rules.
type Risk interface {
	Prepare(ctx context.Context, in risk.PaymentInput) (*risk.Check, error)
	Record(ctx context.Context, c *risk.Check, write func(tx store.Tx, d *risk.Decision) error) (*risk.Decision, error)
	RecordEarly(ctx context.Context, c *risk.Check, write func(tx store.Tx, d *risk.Decision) error) (*risk.Decision, func() error, error)
	CheckRefund(ctx context.Context, in risk.RefundInput) (*risk.Decision, error)
	CardFacts(number string) risk.Card
}

// Errors of the review queue.
var (
	ErrNotInReview = errs.Conflict("order_not_in_review", "The order is not waiting for a risk review.")
	ErrInReview    = errs.Conflict("order_in_review", "The order is waiting for a risk review.")
)

// riskInput is what risk control looks at for a new order. Of a card it
// gets the BIN, the last four digits and a keyed fingerprint, never the number.
func (s *Service) riskInput(o *store.Order, p CreateOrderParams) risk.PaymentInput {
	in := risk.Input{
		MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode, OrderID: o.ID, OutTradeNo: o.OutTradeNo,
		Amount: o.Amount, Currency: o.Currency, Method: o.Method, Subject: o.Subject, Description: o.Description,
		Metadata: o.Metadata, Payer: o.Payer, Now: o.CreatedAt,
	}
	if p.Card != nil {
		in.Card = s.Risk.CardFacts(p.Card.Number)
	}
	m, _ := channel.LookupMethod(o.Method)
	return risk.PaymentInput{Input: in, ChargesAtOnce: m.ChargesAtOnce()}
}

// riskFirst evaluates a new order before routing. done is set when the
// create ends here: a block (err is its risk_error) or a review (o is the
// order, created waiting). Otherwise it returns the check still to record
// with the order's insert (insertOrder), or nil when it is recorded
// already, and the order carrying its decision.
//
// A decision that needs counters is taken in the transaction that counts
// them. For a method whose payer acts later, that transaction comes first,
// on its own, since the channel is asked before such an order is inserted;
// otherwise it is the order's own insert.
func (s *Service) riskFirst(ctx context.Context, o *store.Order, p CreateOrderParams) (chk *risk.Check, early *recorded, out *store.Order, done bool, err error) {
	chk, err = s.Risk.Prepare(ctx, s.riskInput(o, p))
	if err != nil {
		return nil, nil, nil, true, fmt.Errorf("risk: %w", err)
	}
	m, _ := channel.LookupMethod(o.Method)
	awaitsPayer := o.Method != "" && !m.ChargesAtOnce()
	if d := chk.Known(); d != nil && d.Decision == store.RiskAllow {
		return chk, nil, o, false, nil // recorded with the order
	} else if d == nil && !awaitsPayer {
		return chk, nil, o, false, nil // decided in the order's insert
	}
	out, early, err = s.insertOrder(ctx, o, chk)
	switch {
	case err != nil:
		return nil, nil, nil, true, err
	case out == nil: // allowed, recorded: go on
		return nil, early, o, false, nil
	}
	return nil, nil, out, true, nil
}

// recorded is an attempt recorded ahead of its order, its commit perhaps
// not yet durable (risk's RecordEarly).
type recorded struct {
	attempt string
	durable func() error
}

// createAfterRisk inserts o, whose attempt early recorded: in a
// transaction that first checks the attempt is there (its batch may have
// failed meanwhile), then waits for the attempt's own commit.
func (s *Service) createAfterRisk(ctx context.Context, o *store.Order, early *recorded) error {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		ok, err := tx.RiskAttemptExists(ctx, early.attempt)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("create order %s: its risk attempt %s was not recorded", o.ID, early.attempt)
		}
		return tx.OrderCreate(ctx, o)
	})
	if derr := early.durable(); err == nil && derr != nil {
		err = derr
	}
	return err
}

// insertOrder inserts o. With a check, it records the attempt and decides
// in the same transaction: a block inserts nothing and returns its
// risk_error; a review inserts o waiting for review, with its event; an
// allow inserts o with its decision, or, when o's method awaits the payer
// and its channel was not asked yet, inserts nothing and returns a nil order
// (the caller asks the channel, then inserts).
func (s *Service) insertOrder(ctx context.Context, o *store.Order, chk *risk.Check) (*store.Order, *recorded, error) {
	if chk == nil {
		if err := s.Store.OrderCreate(ctx, o); err != nil {
			return nil, nil, fmt.Errorf("create order: %w", err)
		}
		return o, nil, nil
	}
	m, _ := channel.LookupMethod(o.Method)
	deferInsert := o.Method != "" && !m.ChargesAtOnce() && o.ChannelTradeNo == "" && o.Channel == ""
	var review bool
	d, durable, err := s.Risk.RecordEarly(ctx, chk, func(tx store.Tx, d *risk.Decision) error {
		o.Risk = d.JSON()
		switch d.Decision {
		case store.RiskBlock:
			return nil
		case store.RiskReview:
			review = true
			o.Status, o.NextAction = store.OrderRequiresReview, nil
			o.Channel, o.ChannelAccountID, o.Route = "", "", nil
			if err := tx.OrderCreate(ctx, o); err != nil {
				return err
			}
			ev, err := event(notify.RiskReviewOpened, o.CreatedAt, orderScope(o), "order", o.ID, o.NotifyURL, OrderObject(o))
			if err != nil {
				return err
			}
			return tx.EventAdd(ctx, o.CreatedAt, ev)
		}
		if deferInsert {
			return nil
		}
		return tx.OrderCreate(ctx, o)
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("create order: %w", err)
	}
	if deferInsert && d.Decision == store.RiskAllow {
		// The channel is asked while the attempt's commit is made durable.
		return nil, &recorded{attempt: d.Attempt, durable: durable}, nil
	}
	if err := durable(); err != nil {
		return nil, nil, fmt.Errorf("create order: %w", err)
	}
	if review {
		s.notify()
		return o, nil, nil
	}
	if err := d.Err(); err != nil {
		return nil, nil, err
	}
	return o, nil, nil
}

// ApproveOrder lets an order out of review: it goes on as a create would
// have (routed, the channel asked, its answer recorded).
func (s *Service) ApproveOrder(ctx context.Context, orderID string) (*store.Order, error) {
	o, err := s.CashierOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status != store.OrderRequiresReview {
		return nil, ErrNotInReview
	}
	if !s.now().Before(o.ExpiresAt) {
		return nil, ErrOrderExpired
	}
	t := store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderRequiresReview}, To: store.OrderPending, At: s.now()}
	if o.Method == "" {
		t.NextAction = mustJSON(channel.NextAction{Type: "redirect", URL: s.CashierURL(o.ID)})
	}
	o, err = s.transition(ctx, t)
	if errors.Is(err, store.ErrStale) {
		return nil, ErrNotInReview
	} else if err != nil {
		return nil, err
	}
	s.log().Info("risk review approved", "order", o.ID)
	if o.Method == "" {
		return o, nil
	}
	rt, err := s.route(ctx, o.MerchantID, o.Livemode, o.Method, o.Currency, o.Amount)
	if err != nil {
		return nil, err
	}
	return s.pay(ctx, rt, o, CreateOrderParams{})
}

// RejectOrder closes an order in review: failure_code risk_rejected, with
// its order.closed event.
func (s *Service) RejectOrder(ctx context.Context, orderID string) (*store.Order, error) {
	o, err := s.CashierOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status != store.OrderRequiresReview {
		return nil, ErrNotInReview
	}
	out, err := s.finish(ctx, o, store.OrderClosed, "risk_rejected", store.OrderRequiresReview)
	if errors.Is(err, store.ErrStale) {
		return nil, ErrNotInReview
	}
	if err == nil {
		s.log().Info("risk review rejected", "order", o.ID)
	}
	return out, err
}

// checkRefund asks risk control about a refund of o.
func (s *Service) checkRefund(ctx context.Context, o *store.Order, p CreateRefundParams) error {
	if s.Risk == nil {
		return nil
	}
	d, err := s.Risk.CheckRefund(ctx, risk.RefundInput{Input: risk.Input{
		MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode, OrderID: o.ID, OutTradeNo: o.OutTradeNo,
		Amount: o.Amount, Currency: o.Currency, Method: o.Method, Subject: o.Subject, Description: o.Description,
		Metadata: o.Metadata, Payer: o.Payer, RefundAmount: p.Amount, RefundReason: p.Reason,
	}})
	if err != nil {
		return fmt.Errorf("risk: %w", err)
	}
	return d.Err()
}
