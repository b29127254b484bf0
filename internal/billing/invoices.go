package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// Collecting an invoice. An invoice is in one of these states while open:
//
//   - no attempt yet, or the last one failed and was recorded
//     (LastFailureCode set): the next attempt starts when NextAttemptAt is
//     due;
//   - an attempt started (AttemptCount counts it, LastFailureCode is
//     empty) whose order is not recorded yet (OrderID empty): a crash came
//     before; the attempt is made again with the same out_trade_no, which
//     finds the order if it exists, and the channel charges an order id
//     once;
//   - an attempt whose order is recorded: it is read, and the invoice
//     follows it (paid, failed, or waiting for it with NextAttemptAt nil).

// unavailableRetry is how long to wait after a channel could not be
// reached before trying the same attempt again.
const unavailableRetry = time.Hour

// attemptNo is the out_trade_no of an invoice's attempt n.
func attemptNo(invoiceID string, n int) string { return invoiceID + "-" + strconv.Itoa(n) }

// inFlight reports whether inv has an attempt started and not failed.
func inFlight(inv *store.Invoice) bool { return inv.AttemptCount > 0 && inv.LastFailureCode == "" }

type collectingKey struct{}

// collect moves an invoice as far as it can at now (the time of its
// clock): finalizes a draft, starts an attempt when one is due, charges
// it, and records the outcome. It works under the invoice's claim; when
// another node holds the claim it does nothing, that node is collecting.
func (s *Service) collect(ctx context.Context, invoiceID string, now time.Time) error {
	_, err := s.collectChanged(ctx, invoiceID, now)
	return err
}

// collectChanged is collect that also reports whether it changed the invoice.
func (s *Service) collectChanged(ctx context.Context, invoiceID string, now time.Time) (bool, error) {
	if v, _ := ctx.Value(collectingKey{}).(string); v == invoiceID {
		return false, nil // an order of this collection settled inside it
	}
	ctx = context.WithValue(ctx, collectingKey{}, invoiceID)
	wall := s.now()
	held, err := s.Store.InvoiceClaim(ctx, invoiceID, s.holder(), wall, wall.Add(s.claimFor()))
	if err != nil || !held {
		return false, err
	}
	defer func() {
		if err := s.Store.InvoiceRelease(context.WithoutCancel(ctx), invoiceID, s.holder()); err != nil {
			s.log().Warn("release an invoice's claim", "invoice", invoiceID, "err", err)
		}
	}()
	changed := false
	for range 6 {
		inv, err := s.Store.InvoiceGet(ctx, invoiceID)
		if err != nil {
			return changed, err
		}
		step, err := s.step(ctx, inv, now)
		if errors.Is(err, store.ErrStale) {
			continue // the order's hook or a merchant's request changed it: look again
		}
		if err != nil {
			return changed, err
		}
		if !step {
			return changed, nil
		}
		changed = true
	}
	return changed, nil
}

// step makes one move of an invoice and reports whether it made one.
func (s *Service) step(ctx context.Context, inv *store.Invoice, now time.Time) (bool, error) {
	switch inv.Status {
	case store.InvoiceDraft:
		return true, s.finalize(ctx, inv, now)
	case store.InvoiceOpen:
	default:
		return false, nil
	}
	sub, err := s.Store.SubscriptionGet(ctx, inv.SubscriptionID)
	if err != nil {
		return false, err
	}
	switch {
	case !inFlight(inv):
		if inv.NextAttemptAt == nil || inv.NextAttemptAt.After(now) {
			return false, nil
		}
		if sub.Status == store.SubscriptionCanceled {
			return true, s.save(ctx, inv, func(inv *store.Invoice, _ *store.Subscription, _ *events, _ time.Time) {
				inv.Status, inv.NextAttemptAt, inv.UpdatedAt = store.InvoiceVoid, nil, now
			})
		}
		return true, s.save(ctx, inv, func(inv *store.Invoice, _ *store.Subscription, _ *events, _ time.Time) {
			inv.AttemptCount++
			inv.LastFailureCode, inv.OrderID, inv.NextAttemptAt, inv.UpdatedAt = "", "", &now, now
		})
	case inv.OrderID == "":
		return s.charge(ctx, inv, sub, now)
	}
	o, err := s.Store.OrderGet(ctx, inv.OrderID)
	if err != nil {
		return false, err
	}
	switch o.Status {
	case store.OrderSucceeded:
		return true, s.paid(ctx, inv, o, now)
	case store.OrderFailed, store.OrderClosed:
		code := o.FailureCode
		if code == "" {
			code = "payment_failed"
		}
		return true, s.failed(ctx, inv, code, now)
	case store.OrderPending:
		if o.ChannelTradeNo == "" {
			// Recorded, never answered by the channel (a crash or an
			// outage): the same attempt again, which the channel takes once.
			return s.charge(ctx, inv, sub, now)
		}
	}
	if inv.NextAttemptAt == nil {
		return false, nil // waiting for the order; its settling tells us
	}
	return true, s.save(ctx, inv, func(inv *store.Invoice, _ *store.Subscription, _ *events, _ time.Time) {
		inv.NextAttemptAt, inv.UpdatedAt = nil, now
	})
}

// charge makes the invoice's current attempt: an order charged on the
// subscription's agreement or saved card, whose out_trade_no names the
// attempt (so repeating it is the same order).
func (s *Service) charge(ctx context.Context, inv *store.Invoice, sub *store.Subscription, now time.Time) (bool, error) {
	subject := "Subscription"
	if price, err := s.Store.PriceGet(ctx, sub.PriceID); err == nil {
		if prod, err := s.Store.ProductGetInScope(ctx, subScope(sub), price.ProductID); err == nil && prod.Name != "" {
			subject = truncate(prod.Name, 128)
		}
	}
	p := payment.CreateOrderParams{
		OutTradeNo: attemptNo(inv.ID, inv.AttemptCount), Amount: inv.AmountDue, Currency: inv.Currency, Subject: subject,
		Description: "Invoice " + inv.ID, Customer: sub.CustomerID, AgreementID: sub.AgreementID, PaymentMethod: sub.PaymentMethodID,
		Metadata: map[string]string{"invoice": inv.ID, "subscription": sub.ID},
	}
	o, _, err := s.Payments.CreateOrder(ctx, subScope(sub), p)
	if err != nil {
		var e *errs.Error
		switch {
		case errors.As(err, &e) && (e.Kind == errs.KindInvalid || e.Kind == errs.KindConflict || e.Kind == errs.KindNotFound || e.Kind == errs.KindRisk):
			// Refused before any channel (the agreement was terminated, the
			// card detached, a limit): the attempt failed.
			s.log().Info("invoice charge refused before the channel", "invoice", inv.ID, "attempt", inv.AttemptCount, "code", e.Code)
			return true, s.failed(ctx, inv, e.Code, now)
		case errors.As(err, &e) && (e.Kind == errs.KindChannel || e.Kind == errs.KindUnavailable):
			s.log().Warn("invoice charge: channel unavailable; the attempt is made again later", "invoice", inv.ID, "attempt", inv.AttemptCount, "err", err)
			return true, s.save(ctx, inv, func(inv *store.Invoice, _ *store.Subscription, _ *events, _ time.Time) {
				inv.NextAttemptAt, inv.UpdatedAt = ptr(now.Add(unavailableRetry)), now
			})
		}
		return false, fmt.Errorf("charge invoice %s: %w", inv.ID, err)
	}
	switch o.Status {
	case store.OrderSucceeded:
		return true, s.paid(ctx, inv, o, now)
	case store.OrderFailed, store.OrderClosed:
		inv.OrderID = o.ID
		code := o.FailureCode
		if code == "" {
			code = "payment_failed"
		}
		return true, s.failed(ctx, inv, code, now)
	}
	// The channel answers later: the invoice waits for the order (its
	// settling tells billing), or, when the channel was never reached,
	// looks again at once.
	return true, s.save(ctx, inv, func(inv *store.Invoice, _ *store.Subscription, _ *events, _ time.Time) {
		inv.OrderID, inv.UpdatedAt = o.ID, now
		if o.Status == store.OrderProcessing || o.ChannelTradeNo != "" {
			inv.NextAttemptAt = nil
		}
	})
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// finalize opens a draft invoice and starts its first attempt, due now;
// one of nothing due is paid at once.
func (s *Service) finalize(ctx context.Context, inv *store.Invoice, now time.Time) error {
	return s.save(ctx, inv, func(inv *store.Invoice, sub *store.Subscription, ev *events, wall time.Time) {
		inv.Status, inv.FinalizedAt, inv.UpdatedAt = store.InvoiceOpen, &now, now
		if inv.AmountDue > 0 && inv.AttemptCount == 0 {
			inv.AttemptCount, inv.LastFailureCode, inv.OrderID, inv.NextAttemptAt = 1, "", "", &now
		}
		if inv.AmountDue == 0 {
			inv.Status, inv.PaidAt, inv.NextAttemptAt = store.InvoicePaid, &now, nil
			ev.add(notify.InvoicePaid, wall, subScope(sub), "invoice", inv.ID, sub.NotifyURL, InvoiceObject(inv))
		}
	})
}

// paid records that the invoice's order succeeded; a past-due or unpaid
// subscription is active again.
func (s *Service) paid(ctx context.Context, inv *store.Invoice, o *store.Order, now time.Time) error {
	return s.saveSub(ctx, inv, func(inv *store.Invoice, sub *store.Subscription, ev *events, wall time.Time) bool {
		inv.Status, inv.AmountPaid, inv.PaidAt, inv.NextAttemptAt, inv.OrderID, inv.UpdatedAt = store.InvoicePaid, o.Amount, &now, nil, o.ID, now
		ev.add(notify.InvoicePaid, wall, subScope(sub), "invoice", inv.ID, sub.NotifyURL, InvoiceObject(inv))
		switch sub.Status {
		case store.SubscriptionPastDue:
			sub.Status, sub.UpdatedAt = store.SubscriptionActive, now
		case store.SubscriptionUnpaid:
			sub.Status, sub.RenewsAt, sub.UpdatedAt = store.SubscriptionActive, ptr(sub.CurrentPeriodEnd), now
		default:
			return false
		}
		ev.add(notify.SubscriptionUpdated, wall, subScope(sub), "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		return true
	})
}

// failed records a failed attempt: the next one is scheduled on the
// dunning schedule and the subscription is past_due; when the schedule has
// run out, the invoice is uncollectible and the subscription canceled or
// unpaid, as its after_dunning says.
func (s *Service) failed(ctx context.Context, inv *store.Invoice, code string, now time.Time) error {
	schedule := s.dunning()
	return s.saveSub(ctx, inv, func(inv *store.Invoice, sub *store.Subscription, ev *events, wall time.Time) bool {
		inv.LastFailureCode, inv.UpdatedAt = code, now
		sc := subScope(sub)
		ended := sub.Status == store.SubscriptionCanceled || sub.Status == store.SubscriptionUnpaid
		if n := inv.AttemptCount; n <= len(schedule) && !ended {
			inv.NextAttemptAt = ptr(now.Add(schedule[n-1]))
		} else {
			inv.Status, inv.NextAttemptAt = store.InvoiceUncollectible, nil
		}
		ev.add(notify.InvoicePaymentFailed, wall, sc, "invoice", inv.ID, sub.NotifyURL, InvoiceObject(inv))
		switch {
		case ended:
			return false
		case inv.Status == store.InvoiceUncollectible && sub.AfterDunning == AfterDunningUnpaid:
			end(sub, store.SubscriptionUnpaid, now)
			ev.add(notify.SubscriptionUpdated, wall, sc, "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		case inv.Status == store.InvoiceUncollectible:
			end(sub, store.SubscriptionCanceled, now)
			ev.add(notify.SubscriptionCanceled, wall, sc, "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		case sub.Status != store.SubscriptionPastDue:
			sub.Status, sub.UpdatedAt = store.SubscriptionPastDue, now
			ev.add(notify.SubscriptionPastDue, wall, sc, "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		default:
			return false
		}
		return true
	})
}

// save stores a change fn makes to inv (compare-and-set on the version
// inv was read with) with the events it adds, in one transaction.
func (s *Service) save(ctx context.Context, inv *store.Invoice, fn func(inv *store.Invoice, sub *store.Subscription, ev *events, wall time.Time)) error {
	return s.saveSub(ctx, inv, func(inv *store.Invoice, sub *store.Subscription, ev *events, wall time.Time) bool {
		fn(inv, sub, ev, wall)
		return false
	})
}

// saveSub is save for a change that may also change the invoice's
// subscription (fn reports whether it did): both are stored
// compare-and-set, with the events, in one transaction.
func (s *Service) saveSub(ctx context.Context, inv *store.Invoice, fn func(inv *store.Invoice, sub *store.Subscription, ev *events, wall time.Time) bool) error {
	wrote := false
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		sub, err := tx.SubscriptionGet(ctx, inv.SubscriptionID)
		if err != nil {
			return err
		}
		wall := s.now()
		next := *inv
		var ev events
		subChanged := fn(&next, sub, &ev, wall)
		if err := tx.InvoiceUpdate(ctx, &next); err != nil {
			return err
		}
		if subChanged {
			if err := tx.SubscriptionUpdate(ctx, sub); err != nil {
				return err
			}
		}
		wrote = len(ev.list) > 0
		return ev.write(ctx, tx, wall)
	})
	if err == nil && wrote {
		s.notify()
	}
	return err
}

// OrderSettled is payment's hook: an order reached a final status. When it
// is an invoice's attempt, the invoice follows it now.
func (s *Service) OrderSettled(ctx context.Context, o *store.Order) {
	if !strings.HasPrefix(o.OutTradeNo, id.Invoice) {
		return // only invoices' attempts are named after them
	}
	inv, err := s.Store.InvoiceByOrder(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return // not recorded yet: the collection recording it reads the order
	}
	if err == nil {
		var now time.Time
		if now, err = s.clockNow(ctx, inv.TestClockID); err == nil {
			err = s.collect(ctx, inv.ID, now)
		}
	}
	if err != nil {
		s.log().Warn("settle the invoice of an order; the worker retries", "order", o.ID, "err", err)
	}
}

// GetInvoice returns the scope's invoice.
func (s *Service) GetInvoice(ctx context.Context, sc Scope, invoiceID string) (*store.Invoice, error) {
	if !id.Valid(id.Invoice, invoiceID) {
		return nil, ErrInvoiceNotFound
	}
	inv, err := s.Store.InvoiceGetInScope(ctx, sc, invoiceID)
	return lookup(inv, err, ErrInvoiceNotFound, "")
}

// ListInvoices lists the scope's invoices.
func (s *Service) ListInvoices(ctx context.Context, sc Scope, f store.InvoiceFilter) ([]*store.Invoice, bool, error) {
	return s.Store.InvoiceList(ctx, sc, f)
}

// PayInvoice tries to collect an open (or uncollectible) invoice now,
// whatever its dunning schedule says; an invoice with a charge in flight is
// refused. Paying the invoice of an unpaid subscription makes it active
// again.
func (s *Service) PayInvoice(ctx context.Context, sc Scope, invoiceID string) (*store.Invoice, error) {
	inv, err := s.GetInvoice(ctx, sc, invoiceID)
	if err != nil {
		return nil, err
	}
	if (inv.Status != store.InvoiceOpen && inv.Status != store.InvoiceUncollectible && inv.Status != store.InvoiceDraft) || inFlight(inv) {
		return nil, ErrInvoiceNotPayable
	}
	if sub, err := s.Store.SubscriptionGet(ctx, inv.SubscriptionID); err != nil {
		return nil, err
	} else if sub.Status == store.SubscriptionCanceled {
		return nil, ErrSubscriptionCanceled
	}
	now, err := s.clockNow(ctx, inv.TestClockID)
	if err != nil {
		return nil, err
	}
	if inv.Status != store.InvoiceDraft {
		err = s.save(ctx, inv, func(inv *store.Invoice, _ *store.Subscription, _ *events, _ time.Time) {
			inv.Status, inv.NextAttemptAt, inv.UpdatedAt = store.InvoiceOpen, &now, now
		})
		if errors.Is(err, store.ErrStale) {
			return nil, ErrBusy
		}
		if err != nil {
			return nil, err
		}
	}
	if err := s.collect(ctx, inv.ID, now); err != nil {
		return nil, err
	}
	return s.Store.InvoiceGet(ctx, inv.ID)
}
