package billing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/store"
)

// env is the payment layer of paymenttest with billing on it, wired as the
// gateway wires them: billing resolves payment's merchant-initiated
// charges and hears when orders settle.
type env struct {
	*paymenttest.Env
	b  *billing.Service
	sc store.Scope
	m  *store.Merchant
}

func newEnv(t *testing.T, opts paymenttest.Options) *env {
	t.Helper()
	pe := paymenttest.New(t, opts)
	e := &env{Env: pe}
	e.b = newBilling(pe, "node-a")
	pe.Payments.CardKey = pe.Box.DeriveKey(payment.CardKeyLabel)
	pe.Payments.Sources = e.b
	pe.Payments.OrderSettled = e.b.OrderSettled
	e.m, e.sc, _ = pe.Merchant(t, "Shop", 60)
	return e
}

// newBilling is a billing service on pe's layer, as one node (holder) runs it.
func newBilling(pe *paymenttest.Env, holder string) *billing.Service {
	return &billing.Service{Store: pe.Store, Clock: pe.Clock, Payments: pe.Payments, Channels: pe.Channels, Router: pe.Router,
		PublicURL: "http://gateway.invalid", Holder: holder, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

var ctx = context.Background()

// must returns v, and panics (failing the test run) on an unexpected error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

// wantCode fails unless err is an *errs.Error with code (and param, when given).
func wantCode(t *testing.T, err error, code, param string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code || (param != "" && e.Param != param) {
		t.Fatalf("error = %v; want %s (param %q)", err, code, param)
	}
	return e
}

func (e *env) verifyLedger(t *testing.T) {
	t.Helper()
	rep, err := e.Store.LedgerVerify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("ledger: %+v", rep)
	}
}

// eventTypes lists the types of the scope's events about objectID, oldest first.
func (e *env) eventTypes(t *testing.T, objectID string) []string {
	t.Helper()
	evs, _, err := e.Store.EventList(ctx, store.EventFilter{MerchantID: e.sc.MerchantID, Livemode: e.sc.Livemode, ObjectID: objectID, ListParams: store.ListParams{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Type)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// signedAgreement creates a card.agreement in the sandbox and has its test payer sign it.
func (e *env) signedAgreement(t *testing.T, customer string, limit int64, currency string) *store.Agreement {
	t.Helper()
	a := must(e.b.CreateAgreement(ctx, e.sc, billing.AgreementParams{Method: "card.agreement", Customer: customer,
		Description: "Pro plan, monthly", MaxAmountPerCharge: limit, Currency: currency, Period: "month"}))
	return must(e.b.TestPayer(ctx, e.sc, a.ID, billing.PayerSign))
}

// monthly creates a product and a monthly price of amount CNY.
func (e *env) monthly(t *testing.T, amount int64, trialDays int) *store.Price {
	t.Helper()
	prod := must(e.b.CreateProduct(ctx, e.sc, billing.ProductParams{Name: "Pro plan"}))
	return must(e.b.CreatePrice(ctx, e.sc, billing.PriceParams{Product: prod.ID, Amount: amount, Currency: "CNY", Interval: "month", TrialDays: trialDays}))
}

// clocked creates a test clock at start and a customer on it.
func (e *env) clocked(t *testing.T, start time.Time) (*store.TestClock, *store.Customer) {
	t.Helper()
	clk := must(e.b.CreateTestClock(ctx, e.sc, "year of renewals", start))
	cus := must(e.b.CreateCustomer(ctx, e.sc, billing.CustomerParams{Name: "Li Lei", TestClock: clk.ID}))
	return clk, cus
}

// invoices lists the subscription's invoices, oldest first.
func (e *env) invoices(t *testing.T, subID string) []*store.Invoice {
	t.Helper()
	l, _, err := e.Store.InvoiceList(ctx, e.sc, store.InvoiceFilter{SubscriptionID: subID, ListParams: store.ListParams{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*store.Invoice, len(l))
	for i, inv := range l {
		out[len(l)-1-i] = inv
	}
	return out
}

func (e *env) advance(t *testing.T, clk *store.TestClock, to time.Time) *store.TestClock {
	t.Helper()
	c := must(e.b.AdvanceTestClock(ctx, e.sc, clk.ID, to))
	if c.Status != billing.ClockReady || !c.FrozenTime.Equal(to) {
		t.Fatalf("advanced clock: %+v, want ready at %s", c, to)
	}
	return c
}
