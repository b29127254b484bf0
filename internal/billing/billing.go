// Package billing is the business layer of recurring payments: customers
// and their saved cards, password-free agreements (免密支付: WeChat Pay's
// 委托代扣, Alipay's 商家扣款, the sandbox's card mandates), products and
// prices, subscriptions and the invoices of their periods, and test clocks.
//
// Money moves only through package payment: an invoice is collected by an
// order charged on the subscription's agreement or saved card, through the
// same path as any payment (the channel account that holds the agreement,
// its connector, a compare-and-set transition with its ledger entry and
// event). Billing's own changes (an agreement signed, a period renewed, an
// invoice paid) are compare-and-set updates on a version, each written
// with its events in one transaction.
//
// # Agreements
//
// POST /v1/agreements asks the channel for a signing page (WeChat's
// papay/entrustweb, Alipay's alipay.user.agreement.page.sign, the
// gateway's test page for the sandbox) and returns the agreement pending,
// with a next_action sending the payer there. The channel's callback (or
// the worker's query of pending agreements) activates it; the payer ending
// it at the channel, or the merchant (POST …/terminate), terminates it.
// An order with agreement_id charges it without the payer, within its
// per-charge limit and currency; an agreement of another merchant or mode
// is not found, a pending or terminated one is refused.
//
// # Subscriptions and invoices
//
// A subscription charges price × quantity each period. Periods are anchored
// on the start (or the trial's end) in the merchant's time zone, each
// boundary computed from the anchor, so 31 January renews on 28/29
// February and 31 March (PeriodBoundary). When a period ends the worker
// renews it: one transaction moves the subscription to its next period
// (compare-and-set, so two nodes renew it once) and creates the period's
// invoice, with the pending prorations. An invoice is collected by
// attempts; attempt n is the order whose out_trade_no is "<invoice id>-n",
// so an attempt repeated after a crash is the same order, and the order id
// is the channel's idempotency key (WeChat deducts once per out_trade_no,
// Alipay answers ACQ.TRADE_HAS_SUCCESS, the sandbox charges once per order).
// The node collecting an invoice holds a claim on it (Store.InvoiceClaim).
// A failed attempt makes the subscription past_due and schedules the next
// on the dunning schedule (DunningSchedule, default 1, 3, 5 and 7 days
// after each failure); when it runs out the invoice is uncollectible and
// the subscription canceled or unpaid (its after_dunning).
//
// A change of price or quantity mid-period prorates: a credit for the
// unused time of the old price and a charge for the rest of the period at
// the new one (Prorate), added to the next invoice (create_prorations) or
// invoiced and charged at once (always_invoice).
//
// # Test clocks
//
// A test-mode clock (clk_…) is a time a merchant moves by hand; customers
// created on it, and their subscriptions and invoices, live on its time.
// Advancing it processes, in time order and before answering, every
// renewal, charge, retry and cancellation due up to the new time (as
// Stripe's does, until it has caught up); the worker finishes an advance a
// crash interrupted.
//
// # Limits
//
//   - A subscription has one price (one item); a price change must keep
//     the currency and the interval, and a credit larger than the next
//     invoice is carried to the invoice after it, never refunded.
//   - An unpaid subscription (after_dunning: unpaid) stops renewing until
//     its invoice is paid (POST /v1/invoices/{id}/pay); then it catches up.
//   - An agreement the payer never signs stays pending: the channels tell
//     nothing of a refused or abandoned signing page (the sandbox's test
//     payer can refuse, which terminates it).
//   - A charge whose channel answers later (WeChat's deductions are
//     accepted, then notified) leaves the invoice open until the order
//     settles; the settling order tells billing at once, and the worker
//     finds what a crash made it miss.
//   - Time in invoices and periods is the test clock's; orders, their
//     ledger entries and events carry the wall clock.
//   - Risk rules see invoice charges as any payment; a rule that would send
//     one to review refuses it (nobody waits for a review), and the refusal
//     is a failed attempt on the dunning schedule.
//   - A renewal pass works on up to Concurrency subscriptions at once
//     (default 8); that is a field, not a setting. Against a real channel's
//     latency a node renews about Concurrency / latency per second.
//   - The worker runs as one job across nodes under a 30-second lease; a
//     node killed mid-pass delays the others' passes by that much, and a
//     claimed invoice by InvoiceClaim's duration (invoice_claim).
//   - No pre-deduction notice (WeChat's 预扣费通知) and no dunning e-mails:
//     the merchant hears of everything through events.
package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
)

// DefaultDunningSchedule is the delay before each retry of a failed
// invoice: 1, 3, 5 and 7 days after each failure (four retries).
var DefaultDunningSchedule = []time.Duration{24 * time.Hour, 3 * 24 * time.Hour, 5 * 24 * time.Hour, 7 * 24 * time.Hour}

// Service runs recurring payments.
type Service struct {
	Store    store.Store
	Clock    clock.Clock
	Log      *slog.Logger
	Payments *payment.Service
	// Channels builds connectors; Router picks where an agreement is signed.
	Channels *channelaccount.Service
	Router   *routing.Router
	// PublicURL is how payers and channels reach the gateway, without a
	// trailing slash (the sandbox's agreement page, callback URLs).
	PublicURL string
	// DunningSchedule is the delay before each retry of a failed invoice
	// charge, one per retry. Default DefaultDunningSchedule.
	DunningSchedule []time.Duration
	// Holder names this node in invoice claims. Default the host name, the
	// process id and the start time.
	Holder string
	// ClaimFor bounds one collection of an invoice: another node may take
	// it over once it passes. Default 2 minutes.
	ClaimFor time.Duration
	// Notify, when set, wakes the notification dispatcher after a commit
	// that wrote events. It must not block.
	Notify func()
	// TestSigner, when set, plays the payer of a test-mode agreement whose
	// channel is a simulator running in this process (serve --simulators):
	// action is sign, refuse or terminate.
	TestSigner func(ctx context.Context, a *store.Agreement, action string) error
	// Concurrency is how many subscriptions a pass over what is due works
	// on at once (each subscription's own steps stay in time order).
	// Default 8.
	Concurrency int

	zones sync.Map // time zone name → *time.Location
}

// Scope is who is asking: a merchant in one mode, through one app.
type Scope = store.Scope

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) holder() string {
	if s.Holder == "" {
		s.Holder = jobs.NewHolder()
	}
	return s.Holder
}

func (s *Service) claimFor() time.Duration {
	if s.ClaimFor > 0 {
		return s.ClaimFor
	}
	return 2 * time.Minute
}

func (s *Service) dunning() []time.Duration {
	if s.DunningSchedule != nil {
		return s.DunningSchedule
	}
	return DefaultDunningSchedule
}

// notify wakes the dispatcher after a commit that wrote events.
func (s *Service) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

// Errors merchants see.
var (
	ErrCustomerNotFound      = errs.NotFound("customer_not_found", "No such customer.")
	ErrPaymentMethodNotFound = errs.NotFound("payment_method_not_found", "No such payment method.")
	ErrAgreementNotFound     = errs.NotFound("agreement_not_found", "No such agreement.")
	ErrProductNotFound       = errs.NotFound("product_not_found", "No such product.")
	ErrPriceNotFound         = errs.NotFound("price_not_found", "No such price.")
	ErrSubscriptionNotFound  = errs.NotFound("subscription_not_found", "No such subscription.")
	ErrInvoiceNotFound       = errs.NotFound("invoice_not_found", "No such invoice.")
	ErrTestClockNotFound     = errs.NotFound("test_clock_not_found", "No such test clock.")

	ErrAgreementNotActive    = errs.Conflict("agreement_not_active", "The agreement has not been signed by the payer yet.")
	ErrAgreementTerminated   = errs.Conflict("agreement_terminated", "The agreement has been terminated.")
	ErrPaymentMethodDetached = errs.Conflict("payment_method_detached", "The payment method has been detached.")
	ErrSubscriptionCanceled  = errs.Conflict("subscription_canceled", "The subscription is canceled.")
	ErrInvoiceNotPayable     = errs.Conflict("invoice_not_payable", "The invoice is not open, or a charge of it is in flight.")
	ErrTestClockAdvancing    = errs.Conflict("test_clock_advancing", "The test clock is still advancing; retry when it is ready.")
	ErrBusy                  = errs.Conflict("concurrent_update", "The object changed while the request ran; retry it.")
)

// currencyMismatch is the 400 of a price or charge in another currency
// than the agreement's or the subscription's.
func currencyMismatch(param, msg string) *errs.Error {
	e := errs.Invalid("currency_mismatch", msg)
	e.Param = param
	return e
}

// lookup maps a store miss to notFound, in scope.
func lookup[T any](v T, err error, notFound *errs.Error, param string) (T, error) {
	if errors.Is(err, store.ErrNotFound) {
		var zero T
		if param != "" {
			return zero, notFound.WithParam(param)
		}
		return zero, notFound
	}
	return v, err
}

// event builds an event of typ about obj, rendered as the API renders it.
func event(typ string, at time.Time, sc Scope, objectType, objectID, notifyURL string, obj any) (*store.Event, error) {
	data, err := json.Marshal(map[string]any{"object": obj})
	if err != nil {
		return nil, err
	}
	return &store.Event{
		ID: id.New(id.Event, at), Type: typ, MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		ObjectType: objectType, ObjectID: objectID, Data: data, NotifyURL: notifyURL, CreatedAt: at,
	}, nil
}

// events collects the events of one transaction.
type events struct {
	list []*store.Event
	err  error
}

func (e *events) add(typ string, at time.Time, sc Scope, objectType, objectID, notifyURL string, obj any) {
	if e.err != nil {
		return
	}
	ev, err := event(typ, at, sc, objectType, objectID, notifyURL, obj)
	if err != nil {
		e.err = err
		return
	}
	e.list = append(e.list, ev)
}

// write adds the collected events in tx at at (the wall clock: events are
// delivered in real time, whatever clock their object lives on).
func (e *events) write(ctx context.Context, tx store.Tx, at time.Time) error {
	if e.err != nil {
		return e.err
	}
	if len(e.list) == 0 {
		return nil
	}
	return tx.EventAdd(ctx, at, e.list...)
}

// location is the merchant's time zone (periods are counted in it).
func (s *Service) location(ctx context.Context, merchantID string) (*time.Location, error) {
	m, err := s.Store.MerchantGet(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("merchant %s: %w", merchantID, err)
	}
	if loc, ok := s.zones.Load(m.Timezone); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		loc = time.UTC
	}
	s.zones.Store(m.Timezone, loc)
	return loc, nil
}

// clockNow is the time an object on clockID lives on: the test clock's, or
// the gateway's.
func (s *Service) clockNow(ctx context.Context, clockID string) (time.Time, error) {
	if clockID == "" {
		return s.now(), nil
	}
	c, err := s.Store.TestClockGet(ctx, clockID)
	if err != nil {
		return time.Time{}, fmt.Errorf("test clock %s: %w", clockID, err)
	}
	return c.FrozenTime, nil
}

func ptr[T any](v T) *T { return &v }
