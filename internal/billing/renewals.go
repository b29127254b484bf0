package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// renew moves a subscription due at now to its next period, with the period's
// invoice (the price for the period and the pending prorations), or ends
// it when it was to cancel at the period's end. One compare-and-set
// transaction: two nodes renewing it at once renew it once. It reports
// whether it changed anything.
func (s *Service) renew(ctx context.Context, subID string, now time.Time) (bool, error) {
	sub, err := s.Store.SubscriptionGet(ctx, subID)
	if err != nil {
		return false, err
	}
	if sub.RenewsAt == nil || sub.RenewsAt.After(now) {
		return false, nil // not due (any more: another node renewed it)
	}
	price, err := s.Store.PriceGet(ctx, sub.PriceID)
	if err != nil {
		return false, err
	}
	loc, err := s.location(ctx, sub.MerchantID)
	if err != nil {
		return false, err
	}
	version := sub.Version
	changed := false
	_, err = s.mutate(ctx, subID, func(tx store.Tx, sub *store.Subscription, ev *events, wall time.Time) error {
		if sub.Version != version || sub.RenewsAt == nil {
			return errUnchanged // another node renewed it meanwhile
		}
		t := *sub.RenewsAt
		sc := subScope(sub)
		if sub.Status == store.SubscriptionCanceled || sub.Status == store.SubscriptionUnpaid {
			sub.RenewsAt = nil
			changed = true
			return nil
		}
		if sub.CancelAtPeriodEnd && !t.Before(sub.CurrentPeriodEnd) {
			end(sub, store.SubscriptionCanceled, t)
			ev.add(notify.SubscriptionCanceled, wall, sc, "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
			changed = true
			return nil
		}
		if sub.Status == store.SubscriptionTrialing {
			sub.Status = store.SubscriptionActive
		}
		sub.PeriodIndex++
		sub.CurrentPeriodStart = PeriodBoundary(sub.BillingCycleAnchor, price.Interval, price.IntervalCount, sub.PeriodIndex, loc)
		sub.CurrentPeriodEnd = PeriodBoundary(sub.BillingCycleAnchor, price.Interval, price.IntervalCount, sub.PeriodIndex+1, loc)
		sub.RenewsAt, sub.UpdatedAt = &sub.CurrentPeriodEnd, t
		ls := append([]store.InvoiceLine{periodLine(price, sub)}, sub.PendingItems...)
		sub.PendingItems = []store.InvoiceLine{}
		if c := carry(ls, t); c != nil {
			sub.PendingItems = append(sub.PendingItems, *c)
		}
		inv := s.newInvoice(sub, price.Currency, ReasonCycle, t, ls)
		if err := tx.InvoiceCreate(ctx, inv); err != nil {
			return err
		}
		ev.add(notify.SubscriptionRenewed, wall, sc, "subscription", sub.ID, sub.NotifyURL, SubscriptionObject(sub))
		ev.add(notify.InvoiceCreated, wall, sc, "invoice", inv.ID, sub.NotifyURL, InvoiceObject(inv))
		changed = true
		return nil
	})
	return changed, err
}

// dueItem is a subscription to renew or an invoice to collect, at its time.
type dueItem struct {
	at      time.Time
	sub     string // the subscription to renew, or the invoice's
	invoice string
}

// maxRounds bounds one pass over what is due on one clock; what is left
// is for the next pass.
const maxRounds = 200

func (s *Service) concurrency() int {
	if s.Concurrency > 0 {
		return s.Concurrency
	}
	return 8
}

// ProcessDue renews the subscriptions and collects the invoices of clockID
// ("" for real time) due at or before now, each at its own time (a renewal
// at its period's end, a retry when the dunning schedule says): what a test
// clock's advance does before it answers, and what the worker does on real
// time. A subscription's own steps run in time order; up to Concurrency
// subscriptions are worked on at once. It returns how many steps it made.
func (s *Service) ProcessDue(ctx context.Context, clockID string, now time.Time) (int, error) {
	var steps atomic.Int64
	for range maxRounds {
		subs, err := s.Store.SubscriptionsDue(ctx, clockID, now, 200)
		if err != nil {
			return int(steps.Load()), err
		}
		invs, err := s.Store.InvoicesDue(ctx, clockID, now, 200)
		if err != nil {
			return int(steps.Load()), err
		}
		bySub := map[string][]dueItem{}
		var order []string
		add := func(it dueItem) {
			if _, ok := bySub[it.sub]; !ok {
				order = append(order, it.sub)
			}
			bySub[it.sub] = append(bySub[it.sub], it)
		}
		for _, sub := range subs {
			add(dueItem{at: *sub.RenewsAt, sub: sub.ID})
		}
		for _, inv := range invs {
			add(dueItem{at: *inv.NextAttemptAt, sub: inv.SubscriptionID, invoice: inv.ID})
		}
		var progress atomic.Bool
		sem := make(chan struct{}, s.concurrency())
		var wg sync.WaitGroup
		for _, subID := range order {
			items := bySub[subID]
			slices.SortStableFunc(items, func(a, b dueItem) int { return a.at.Compare(b.at) })
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				for _, it := range items {
					if ctx.Err() != nil {
						return
					}
					var changed bool
					var err error
					if it.invoice == "" {
						changed, err = s.renew(ctx, it.sub, now)
					} else {
						changed, err = s.collectChanged(ctx, it.invoice, it.at)
					}
					if err != nil {
						if ctx.Err() == nil {
							s.log().Error("recurring payment step failed; it stays due", "subscription", it.sub, "invoice", it.invoice, "err", err)
						}
						return // the subscription's later steps wait for this one
					}
					if changed {
						steps.Add(1)
						progress.Store(true)
					}
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return int(steps.Load()), err
		}
		if !progress.Load() {
			break
		}
	}
	return int(steps.Load()), nil
}

// Worker does the recurring payments' background work: renewals, charges
// and retries due on real time, test clocks whose advance a crash
// interrupted, invoices whose order settled while nobody listened, and
// pending agreements whose channel has not called back.
type Worker struct {
	Service *Service
	// AgreementSyncAfter is how long an agreement stays pending before the
	// worker asks its channel; AgreementSyncFor how long it keeps asking.
	// Defaults 30s and 24h.
	AgreementSyncAfter, AgreementSyncFor time.Duration
}

// Job is the worker as a job of the gateway's scheduler, run every interval.
// Its lease is short (30s) because it only spares two nodes the same pass:
// every step is a compare-and-set on its subscription or runs under its
// invoice's claim, so a pass that outlives its lease is safe beside
// another, and a node that dies mid-pass holds the others' passes up for
// 30 seconds, not minutes.
func (w *Worker) Job(interval time.Duration) jobs.Job {
	return jobs.Job{Name: "billing", Next: jobs.Every(interval), Lease: 30 * time.Second,
		Run: func(ctx context.Context, _ time.Time) error { return w.RunOnce(ctx) }}
}

// RunOnce does one pass of every kind of work.
func (w *Worker) RunOnce(ctx context.Context) error {
	s := w.Service
	var errs []error
	if _, err := s.ProcessDue(ctx, "", s.now()); err != nil {
		errs = append(errs, fmt.Errorf("process due: %w", err))
	}
	clocks, err := s.Store.TestClocksAdvancing(ctx, 100)
	if err != nil {
		errs = append(errs, err)
	}
	for _, c := range clocks {
		if err := s.finishAdvance(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("test clock %s: %w", c.ID, err))
		}
	}
	invs, err := s.Store.InvoicesAwaitingSettledOrders(ctx, 100)
	if err != nil {
		errs = append(errs, err)
	}
	for _, inv := range invs {
		now, err := s.clockNow(ctx, inv.TestClockID)
		if err == nil {
			err = s.collect(ctx, inv.ID, now)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("invoice %s: %w", inv.ID, err))
		}
	}
	after, span := w.AgreementSyncAfter, w.AgreementSyncFor
	if after == 0 {
		after = 30 * time.Second
	}
	if span == 0 {
		span = 24 * time.Hour
	}
	now := s.now()
	pending, err := s.Store.AgreementsPending(ctx, now.Add(-span), now.Add(-after), 100)
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range pending {
		if _, err := s.SyncAgreement(ctx, a); err != nil {
			s.log().Warn("query a pending agreement", "agreement", a.ID, "err", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}
