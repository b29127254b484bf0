package billing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// After dunning runs out, a subscription is canceled or becomes unpaid.
const (
	AfterDunningCancel = "cancel"
	AfterDunningUnpaid = "unpaid"
)

// Proration behaviours of a subscription change.
const (
	ProrationCreate = "create_prorations" // on the next invoice
	ProrationAlways = "always_invoice"    // invoiced and charged at once
	ProrationNone   = "none"
)

// Billing reasons of invoices.
const (
	ReasonCreate = "subscription_create"
	ReasonCycle  = "subscription_cycle"
	ReasonUpdate = "subscription_update"
)

const maxQuantity = 10000

// SubscriptionParams create a subscription.
type SubscriptionParams struct {
	Customer      string
	Price         string
	Quantity      int64 // 0: 1
	Agreement     string
	PaymentMethod string
	AfterDunning  string // "": cancel
	NotifyURL     string
	Metadata      map[string]string
}

func subScope(sub *store.Subscription) Scope {
	return Scope{MerchantID: sub.MerchantID, AppID: sub.AppID, Livemode: sub.Livemode}
}

// CreateSubscription starts a subscription: trialing until the price's
// trial ends, or active with its first invoice, created and charged at once.
func (s *Service) CreateSubscription(ctx context.Context, sc Scope, p SubscriptionParams) (*store.Subscription, error) {
	switch {
	case p.Customer == "":
		return nil, errs.Missing("customer")
	case p.Price == "":
		return nil, errs.Missing("price")
	case p.Agreement == "" && p.PaymentMethod == "":
		return nil, errs.Missingf("agreement", "A subscription is paid through an agreement or a saved payment method: give agreement or payment_method.")
	case p.Agreement != "" && p.PaymentMethod != "":
		return nil, errs.InvalidParam("payment_method", "Give agreement or payment_method, not both.")
	case p.Quantity == 0:
		p.Quantity = 1
	}
	if p.Quantity < 1 || p.Quantity > maxQuantity {
		return nil, errs.InvalidParam("quantity", "quantity must be from 1 to 10000.")
	}
	if p.AfterDunning == "" {
		p.AfterDunning = AfterDunningCancel
	}
	if p.AfterDunning != AfterDunningCancel && p.AfterDunning != AfterDunningUnpaid {
		return nil, errs.InvalidParam("after_dunning", "after_dunning must be cancel or unpaid.")
	}
	if p.NotifyURL != "" {
		if u, err := url.Parse(p.NotifyURL); err != nil || u.Host == "" || (u.Scheme != "https" && (sc.Livemode || u.Scheme != "http")) || len(p.NotifyURL) > 2048 {
			return nil, errs.InvalidParam("notify_url", "notify_url must be an absolute https URL (http too in test mode) of at most 2048 characters.")
		}
	}
	if err := payment.ValidateMetadata(p.Metadata); err != nil {
		return nil, err
	}
	cus, err := s.GetCustomer(ctx, sc, p.Customer)
	if err != nil {
		return nil, withParam(err, "customer")
	}
	price, err := s.GetPrice(ctx, sc, p.Price)
	if err != nil {
		return nil, withParam(err, "price")
	}
	amount, err := lineAmount(price.Amount, p.Quantity)
	if err != nil {
		return nil, err
	}
	if err := s.checkSource(ctx, sc, cus.ID, p.Agreement, p.PaymentMethod, price.Currency, amount); err != nil {
		return nil, err
	}
	loc, err := s.location(ctx, sc.MerchantID)
	if err != nil {
		return nil, err
	}
	now, err := s.clockNow(ctx, cus.TestClockID)
	if err != nil {
		return nil, err
	}
	wall := s.now()
	sub := &store.Subscription{
		ID: id.New(id.Subscription, wall), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode, CustomerID: cus.ID,
		PriceID: price.ID, Quantity: p.Quantity, AgreementID: p.Agreement, PaymentMethodID: p.PaymentMethod, TestClockID: cus.TestClockID,
		AfterDunning: p.AfterDunning, NotifyURL: p.NotifyURL, Metadata: p.Metadata, PendingItems: []store.InvoiceLine{},
		CreatedAt: now, UpdatedAt: now,
	}
	var inv *store.Invoice
	if price.TrialDays > 0 {
		trialEnd := now.In(loc).AddDate(0, 0, price.TrialDays).UTC()
		sub.Status, sub.TrialEnd, sub.BillingCycleAnchor, sub.PeriodIndex = store.SubscriptionTrialing, &trialEnd, trialEnd, -1
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd, sub.RenewsAt = now, trialEnd, &trialEnd
	} else {
		sub.Status, sub.BillingCycleAnchor, sub.PeriodIndex = store.SubscriptionActive, now, 0
		sub.CurrentPeriodStart = now
		sub.CurrentPeriodEnd = PeriodBoundary(now, price.Interval, price.IntervalCount, 1, loc)
		sub.RenewsAt = &sub.CurrentPeriodEnd
		inv = s.newInvoice(sub, price.Currency, ReasonCreate, now, []store.InvoiceLine{periodLine(price, sub)})
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SubscriptionCreate(ctx, sub); err != nil {
			return err
		}
		var ev events
		ev.add(notify.SubscriptionCreated, wall, sc, "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		if inv != nil {
			if err := tx.InvoiceCreate(ctx, inv); err != nil {
				return err
			}
			ev.add(notify.InvoiceCreated, wall, sc, "invoice", inv.ID, sub.NotifyURL, InvoiceObject(inv))
		}
		return ev.write(ctx, tx, wall)
	})
	if err != nil {
		return nil, fmt.Errorf("create subscription: %w", err)
	}
	s.notify()
	if inv != nil {
		if err := s.collect(ctx, inv.ID, now); err != nil {
			s.log().Warn("first invoice not collected yet; the worker retries", "invoice", inv.ID, "err", err)
		}
	}
	return s.Store.SubscriptionGet(ctx, sub.ID)
}

// checkSource checks that a subscription of the customer may be paid
// through the agreement or payment method, in currency, amount a period.
func (s *Service) checkSource(ctx context.Context, sc Scope, customerID, agreementID, pmID, currency string, amount int64) error {
	if agreementID != "" {
		a, err := s.GetAgreement(ctx, sc, agreementID)
		if err != nil {
			return withParam(err, "agreement")
		}
		if a.CustomerID != "" && a.CustomerID != customerID {
			return errs.InvalidParam("agreement", "The agreement is another customer's.")
		}
		if err := chargeable(a, amount, currency); err != nil {
			var e *errs.Error
			if errors.As(err, &e) && e.Code == "currency_mismatch" {
				return currencyMismatch("price", fmt.Sprintf("The price is in %s but the agreement in %s.", currency, a.Currency))
			}
			if errors.As(err, &e) && e.Code == "amount_exceeds_agreement_limit" {
				return e.WithParam("quantity")
			}
			return withParam(err, "agreement")
		}
		return nil
	}
	pm, err := s.GetPaymentMethod(ctx, sc, pmID)
	if err != nil {
		return withParam(err, "payment_method")
	}
	if pm.Status != "active" {
		return ErrPaymentMethodDetached.WithParam("payment_method")
	}
	if pm.CustomerID != customerID {
		return errs.InvalidParam("payment_method", "The payment method is another customer's.")
	}
	return nil
}

// periodLine is the line of a subscription's current period at its price.
func periodLine(price *store.Price, sub *store.Subscription) store.InvoiceLine {
	return store.InvoiceLine{Description: fmt.Sprintf("%d × %s", sub.Quantity, price.ID), Amount: price.Amount * sub.Quantity,
		Quantity: sub.Quantity, PriceID: price.ID, PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd}
}

// newInvoice is a draft invoice of sub with lines, due at now. A total
// below zero is billed as zero; the credit left is carried to the
// subscription's next invoice by the caller (carry).
func (s *Service) newInvoice(sub *store.Subscription, currency, reason string, now time.Time, ls []store.InvoiceLine) *store.Invoice {
	var total int64
	for _, l := range ls {
		total += l.Amount
	}
	inv := &store.Invoice{
		ID: id.New(id.Invoice, s.now()), MerchantID: sub.MerchantID, AppID: sub.AppID, Livemode: sub.Livemode, SubscriptionID: sub.ID,
		CustomerID: sub.CustomerID, Status: store.InvoiceDraft, Currency: currency, AmountDue: max(total, 0), Lines: ls, BillingReason: reason,
		PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd, TestClockID: sub.TestClockID, NextAttemptAt: &now,
		CreatedAt: now, UpdatedAt: now,
	}
	return inv
}

// carry is the credit an invoice of lines leaves over (its total, when
// below zero), as a line for the next invoice; nil when there is none.
func carry(ls []store.InvoiceLine, now time.Time) *store.InvoiceLine {
	var total int64
	for _, l := range ls {
		total += l.Amount
	}
	if total >= 0 {
		return nil
	}
	return &store.InvoiceLine{Description: "Credit carried from a previous invoice", Amount: total, Quantity: 1, PeriodStart: now, PeriodEnd: now, Proration: true}
}

// GetSubscription returns the scope's subscription.
func (s *Service) GetSubscription(ctx context.Context, sc Scope, subID string) (*store.Subscription, error) {
	if !id.Valid(id.Subscription, subID) {
		return nil, ErrSubscriptionNotFound
	}
	sub, err := s.Store.SubscriptionGetInScope(ctx, sc, subID)
	return lookup(sub, err, ErrSubscriptionNotFound, "")
}

// ListSubscriptions lists the scope's subscriptions.
func (s *Service) ListSubscriptions(ctx context.Context, sc Scope, f store.SubscriptionFilter) ([]*store.Subscription, bool, error) {
	return s.Store.SubscriptionList(ctx, sc, f)
}

// UpdateParams change a subscription; zero fields are left as they are.
type UpdateParams struct {
	Price             string
	Quantity          int64
	ProrationBehavior string // "": create_prorations
	CancelAtPeriodEnd *bool
	Metadata          map[string]string
}

// UpdateSubscription changes a subscription's price or quantity (prorated
// as ProrationBehavior says), its cancellation at period end, or its
// metadata. The new price must be in the same currency and interval.
func (s *Service) UpdateSubscription(ctx context.Context, sc Scope, subID string, p UpdateParams) (*store.Subscription, error) {
	if p.ProrationBehavior == "" {
		p.ProrationBehavior = ProrationCreate
	}
	if p.ProrationBehavior != ProrationCreate && p.ProrationBehavior != ProrationAlways && p.ProrationBehavior != ProrationNone {
		return nil, errs.InvalidParam("proration_behavior", "proration_behavior must be create_prorations, always_invoice or none.")
	}
	if p.Quantity != 0 && (p.Quantity < 1 || p.Quantity > maxQuantity) {
		return nil, errs.InvalidParam("quantity", "quantity must be from 1 to 10000.")
	}
	if p.Metadata != nil {
		if err := payment.ValidateMetadata(p.Metadata); err != nil {
			return nil, err
		}
	}
	cur, err := s.GetSubscription(ctx, sc, subID)
	if err != nil {
		return nil, err
	}
	if cur.Status == store.SubscriptionCanceled {
		return nil, ErrSubscriptionCanceled
	}
	oldPrice, err := s.Store.PriceGet(ctx, cur.PriceID)
	if err != nil {
		return nil, err
	}
	newPrice := oldPrice
	if p.Price != "" && p.Price != cur.PriceID {
		if newPrice, err = s.GetPrice(ctx, sc, p.Price); err != nil {
			return nil, withParam(err, "price")
		}
		if newPrice.Currency != oldPrice.Currency {
			return nil, currencyMismatch("price", fmt.Sprintf("The subscription is billed in %s; the new price is in %s.", oldPrice.Currency, newPrice.Currency))
		}
		if newPrice.Interval != oldPrice.Interval || newPrice.IntervalCount != oldPrice.IntervalCount {
			return nil, errs.InvalidParam("price", "The new price must have the subscription's interval ("+itoa(oldPrice.IntervalCount)+" "+oldPrice.Interval+").").WithParam("price")
		}
	}
	qty := cur.Quantity
	if p.Quantity != 0 {
		qty = p.Quantity
	}
	newAmount, err := lineAmount(newPrice.Amount, qty)
	if err != nil {
		return nil, err
	}
	if (newPrice.ID != cur.PriceID || qty != cur.Quantity) && cur.AgreementID != "" {
		if a, err := s.Store.AgreementGet(ctx, cur.AgreementID); err == nil && a.MaxAmountPerCharge > 0 && newAmount > a.MaxAmountPerCharge {
			e := errs.Invalid("amount_exceeds_agreement_limit", fmt.Sprintf("The subscription's agreement allows at most %d per charge.", a.MaxAmountPerCharge))
			e.Param = "quantity"
			return nil, e
		}
	}
	now, err := s.clockNow(ctx, cur.TestClockID)
	if err != nil {
		return nil, err
	}
	var inv *store.Invoice
	out, err := s.mutate(ctx, cur.ID, func(tx store.Tx, sub *store.Subscription, ev *events, wall time.Time) error {
		if sub.Status == store.SubscriptionCanceled {
			return ErrSubscriptionCanceled
		}
		changedPlan := newPrice.ID != sub.PriceID || qty != sub.Quantity
		var prorations []store.InvoiceLine
		if changedPlan && sub.Status != store.SubscriptionTrialing && p.ProrationBehavior != ProrationNone {
			prorations = prorationLines(oldPrice, sub.Quantity, newPrice, qty, sub.CurrentPeriodStart, sub.CurrentPeriodEnd, now)
		}
		sub.PriceID, sub.Quantity = newPrice.ID, qty
		if p.CancelAtPeriodEnd != nil {
			sub.CancelAtPeriodEnd = *p.CancelAtPeriodEnd
		}
		if p.Metadata != nil {
			sub.Metadata = p.Metadata
		}
		sub.UpdatedAt = now
		switch {
		case len(prorations) == 0:
		case p.ProrationBehavior == ProrationAlways:
			ls := append(append([]store.InvoiceLine{}, sub.PendingItems...), prorations...)
			sub.PendingItems = []store.InvoiceLine{}
			if c := carry(ls, now); c != nil {
				sub.PendingItems = append(sub.PendingItems, *c)
			}
			inv = s.newInvoice(sub, newPrice.Currency, ReasonUpdate, now, ls)
			if err := tx.InvoiceCreate(ctx, inv); err != nil {
				return err
			}
			ev.add(notify.InvoiceCreated, wall, subScope(sub), "invoice", inv.ID, sub.NotifyURL, InvoiceObject(inv))
		default:
			sub.PendingItems = append(sub.PendingItems, prorations...)
		}
		ev.add(notify.SubscriptionUpdated, wall, subScope(sub), "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if inv != nil {
		if err := s.collect(ctx, inv.ID, now); err != nil {
			s.log().Warn("proration invoice not collected yet; the worker retries", "invoice", inv.ID, "err", err)
		}
		return s.Store.SubscriptionGet(ctx, out.ID)
	}
	return out, nil
}

// prorationLines are the credit for the unused time of the old price and
// quantity and the charge for the rest of [start, end) at the new ones.
func prorationLines(oldPrice *store.Price, oldQty int64, newPrice *store.Price, newQty int64, start, end, now time.Time) []store.InvoiceLine {
	credit := -Prorate(oldPrice.Amount*oldQty, start, end, now)
	charge := Prorate(newPrice.Amount*newQty, start, end, now)
	var out []store.InvoiceLine
	if credit != 0 {
		out = append(out, store.InvoiceLine{Description: fmt.Sprintf("Unused time on %d × %s", oldQty, oldPrice.ID), Amount: credit,
			Quantity: oldQty, PriceID: oldPrice.ID, PeriodStart: now, PeriodEnd: end, Proration: true})
	}
	if charge != 0 {
		out = append(out, store.InvoiceLine{Description: fmt.Sprintf("Remaining time on %d × %s", newQty, newPrice.ID), Amount: charge,
			Quantity: newQty, PriceID: newPrice.ID, PeriodStart: now, PeriodEnd: end, Proration: true})
	}
	return out
}

// CancelSubscription cancels now, or at the end of the current period.
// Canceling now voids the subscription's invoices that have no charge in
// flight; a canceled subscription stays canceled.
func (s *Service) CancelSubscription(ctx context.Context, sc Scope, subID string, atPeriodEnd bool) (*store.Subscription, error) {
	cur, err := s.GetSubscription(ctx, sc, subID)
	if err != nil {
		return nil, err
	}
	if cur.Status == store.SubscriptionCanceled {
		return cur, nil
	}
	now, err := s.clockNow(ctx, cur.TestClockID)
	if err != nil {
		return nil, err
	}
	if atPeriodEnd {
		return s.mutate(ctx, cur.ID, func(tx store.Tx, sub *store.Subscription, ev *events, wall time.Time) error {
			if sub.Status == store.SubscriptionCanceled || sub.CancelAtPeriodEnd {
				return errUnchanged
			}
			sub.CancelAtPeriodEnd, sub.UpdatedAt = true, now
			ev.add(notify.SubscriptionUpdated, wall, subScope(sub), "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
			return nil
		})
	}
	out, err := s.mutate(ctx, cur.ID, func(tx store.Tx, sub *store.Subscription, ev *events, wall time.Time) error {
		if sub.Status == store.SubscriptionCanceled {
			return errUnchanged
		}
		end(sub, store.SubscriptionCanceled, now)
		ev.add(notify.SubscriptionCanceled, wall, subScope(sub), "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.voidOpen(ctx, out)
	return out, nil
}

// end ends sub in status (canceled or unpaid) at now: nothing is due any more.
func end(sub *store.Subscription, status store.SubscriptionStatus, now time.Time) {
	sub.Status, sub.RenewsAt, sub.UpdatedAt = status, nil, now
	if status == store.SubscriptionCanceled {
		sub.CanceledAt, sub.EndedAt = &now, &now
	}
}

// voidOpen voids a canceled subscription's draft and open invoices that
// have no charge in flight.
func (s *Service) voidOpen(ctx context.Context, sub *store.Subscription) {
	invs, _, err := s.Store.InvoiceList(ctx, subScope(sub), store.InvoiceFilter{SubscriptionID: sub.ID, ListParams: store.ListParams{Limit: 100}})
	if err != nil {
		s.log().Error("void the invoices of a canceled subscription", "subscription", sub.ID, "err", err)
		return
	}
	for _, inv := range invs {
		if inv.Status != store.InvoiceDraft && inv.Status != store.InvoiceOpen || inFlight(inv) {
			continue
		}
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			cur, err := tx.InvoiceGet(ctx, inv.ID)
			if err != nil || (cur.Status != store.InvoiceDraft && cur.Status != store.InvoiceOpen) || inFlight(cur) {
				return err
			}
			cur.Status, cur.NextAttemptAt, cur.UpdatedAt = store.InvoiceVoid, nil, s.now()
			return tx.InvoiceUpdate(ctx, cur)
		})
		if err != nil {
			s.log().Warn("void an invoice of a canceled subscription", "invoice", inv.ID, "err", err)
		}
	}
}

// errUnchanged ends a mutation that has nothing to change.
var errUnchanged = errors.New("unchanged")

// mutate runs fn on the subscription as stored, inside a transaction, and
// stores it (compare-and-set) with the events fn added, retrying a lost
// race. fn returning errUnchanged stores nothing.
func (s *Service) mutate(ctx context.Context, subID string, fn func(tx store.Tx, sub *store.Subscription, ev *events, wall time.Time) error) (*store.Subscription, error) {
	for range 5 {
		var out *store.Subscription
		wrote := false
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			sub, err := tx.SubscriptionGet(ctx, subID)
			if err != nil {
				return err
			}
			out = sub
			wall := s.now()
			var ev events
			if err := fn(tx, sub, &ev, wall); err != nil {
				return err
			}
			if err := tx.SubscriptionUpdate(ctx, sub); err != nil {
				return err
			}
			wrote = len(ev.list) > 0
			return ev.write(ctx, tx, wall)
		})
		switch {
		case errors.Is(err, errUnchanged):
			return s.Store.SubscriptionGet(ctx, subID)
		case errors.Is(err, store.ErrStale):
			continue
		case err != nil:
			return nil, err
		}
		if wrote {
			s.notify()
		}
		return out, nil
	}
	return nil, ErrBusy
}
