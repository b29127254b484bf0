package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var billingTests = []test{
	{"Billing/CatalogAndCustomers", testBillingCatalog},
	{"Billing/PaymentMethods", testBillingPaymentMethods},
	{"Billing/AgreementCAS", testBillingAgreementCAS},
	{"Billing/SubscriptionDueAndCAS", testBillingSubscriptions},
	{"Billing/InvoiceDueClaimAndCAS", testBillingInvoices},
	{"Billing/InvoiceClaimRace", testBillingInvoiceClaimRace},
	{"Billing/TestClocks", testBillingTestClocks},
}

func (b *bundle) customer(clockID string) *store.Customer {
	b.t.Helper()
	c := &store.Customer{ID: id.New(id.Customer, t0), MerchantID: b.merchant.ID, Livemode: b.app.Livemode, Name: "Li Lei",
		Email: "li@example.com", Metadata: map[string]string{"crm": "42"}, TestClockID: clockID, CreatedAt: t0}
	b.must(b.s.CustomerCreate(b.ctx, c), "create customer")
	return c
}

func (b *bundle) price() *store.Price {
	b.t.Helper()
	p := &store.Product{ID: id.New(id.Product, t0), MerchantID: b.merchant.ID, Livemode: b.app.Livemode, Name: "Pro plan",
		Active: true, Metadata: map[string]string{}, CreatedAt: t0}
	b.must(b.s.ProductCreate(b.ctx, p), "create product")
	pr := &store.Price{ID: id.New(id.Price, t0), MerchantID: b.merchant.ID, Livemode: b.app.Livemode, ProductID: p.ID,
		Amount: 9900, Currency: "CNY", Interval: "month", IntervalCount: 1, TrialDays: 7, Active: true, Metadata: map[string]string{}, CreatedAt: t0}
	b.must(b.s.PriceCreate(b.ctx, pr), "create price")
	return pr
}

func (b *bundle) subscription(c *store.Customer, pr *store.Price, renews time.Time) *store.Subscription {
	b.t.Helper()
	s := &store.Subscription{ID: id.New(id.Subscription, t0), MerchantID: b.merchant.ID, AppID: b.app.ID, Livemode: b.app.Livemode,
		CustomerID: c.ID, PriceID: pr.ID, Quantity: 2, Status: store.SubscriptionActive, PaymentMethodID: "pm_x", TestClockID: c.TestClockID,
		BillingCycleAnchor: t0, CurrentPeriodStart: t0, CurrentPeriodEnd: renews, RenewsAt: ptr(renews), AfterDunning: "cancel",
		Metadata: map[string]string{}, CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SubscriptionCreate(b.ctx, s) }), "create subscription")
	return s
}

func (b *bundle) invoice(s *store.Subscription, next time.Time) *store.Invoice {
	b.t.Helper()
	inv := &store.Invoice{ID: id.New(id.Invoice, t0), MerchantID: s.MerchantID, AppID: s.AppID, Livemode: s.Livemode,
		SubscriptionID: s.ID, CustomerID: s.CustomerID, Status: store.InvoiceOpen, Currency: "CNY", AmountDue: 19800,
		Lines:         []store.InvoiceLine{{Description: "2 × Pro plan", Amount: 19800, Quantity: 2, PriceID: s.PriceID, PeriodStart: t0, PeriodEnd: t0.AddDate(0, 1, 0)}},
		BillingReason: "subscription_cycle", PeriodStart: t0, PeriodEnd: t0.AddDate(0, 1, 0), TestClockID: s.TestClockID,
		NextAttemptAt: ptr(next), CreatedAt: t0, UpdatedAt: t0, FinalizedAt: ptr(t0)}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.InvoiceCreate(b.ctx, inv) }), "create invoice")
	return inv
}

func testBillingCatalog(t *testing.T, b *bundle) {
	c := b.customer("")
	got, err := b.s.CustomerGetInScope(b.ctx, b.scope(), c.ID)
	b.must(err, "get customer")
	equal(t, got, c, "customer round trip")
	other := store.Scope{MerchantID: b.newMerchant().ID, Livemode: false}
	_, err = b.s.CustomerGetInScope(b.ctx, other, c.ID)
	wantErr(t, err, store.ErrNotFound, "another merchant's customer")
	_, err = b.s.CustomerGetInScope(b.ctx, store.Scope{MerchantID: b.merchant.ID, Livemode: true}, c.ID)
	wantErr(t, err, store.ErrNotFound, "the customer in the other mode")
	l, _, err := b.s.CustomerList(b.ctx, b.scope(), store.ListParams{})
	b.must(err, "list customers")
	equal(t, len(l), 1, "customers listed")

	pr := b.price()
	gotPrice, err := b.s.PriceGetInScope(b.ctx, b.scope(), pr.ID)
	b.must(err, "get price")
	equal(t, gotPrice, pr, "price round trip")
	prices, _, err := b.s.PriceList(b.ctx, b.scope(), pr.ProductID, store.ListParams{})
	b.must(err, "list prices of the product")
	equal(t, len(prices), 1, "prices of the product")
	prices, _, err = b.s.PriceList(b.ctx, b.scope(), "prod_none", store.ListParams{})
	b.must(err, "list prices of another product")
	equal(t, len(prices), 0, "prices of another product")
	prod, err := b.s.ProductGetInScope(b.ctx, b.scope(), pr.ProductID)
	b.must(err, "get product")
	equal(t, prod.Name, "Pro plan", "product name")
}

func testBillingPaymentMethods(t *testing.T, b *bundle) {
	c := b.customer("")
	pm := &store.PaymentMethod{ID: id.New(id.PaymentMethod, t0), MerchantID: b.merchant.ID, Livemode: false, CustomerID: c.ID, Type: "card",
		ChannelAccountID: "cha_x", Token: "tok_1", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "h1:ab",
		Status: "active", CreatedAt: t0}
	b.must(b.s.PaymentMethodCreate(b.ctx, pm), "create payment method")
	got, err := b.s.PaymentMethodGet(b.ctx, pm.ID)
	b.must(err, "get payment method")
	equal(t, got, pm, "payment method round trip")
	l, _, err := b.s.PaymentMethodList(b.ctx, b.scope(), c.ID, store.ListParams{})
	b.must(err, "list the customer's methods")
	equal(t, len(l), 1, "the customer's methods")
	at := t0.Add(time.Hour)
	d, err := b.s.PaymentMethodDetach(b.ctx, b.scope(), pm.ID, at)
	b.must(err, "detach")
	if d.Status != "detached" || d.DetachedAt == nil || !d.DetachedAt.Equal(at) {
		t.Fatalf("detached: %+v", d)
	}
	d, err = b.s.PaymentMethodDetach(b.ctx, b.scope(), pm.ID, at.Add(time.Hour))
	b.must(err, "detach again")
	equal(t, d.DetachedAt.Equal(at), true, "a second detach keeps the first time")
	_, err = b.s.PaymentMethodDetach(b.ctx, store.Scope{MerchantID: "mch_other"}, pm.ID, at)
	wantErr(t, err, store.ErrNotFound, "detach another merchant's method")
}

func testBillingAgreementCAS(t *testing.T, b *bundle) {
	a := &store.Agreement{ID: id.New(id.Agreement, t0), MerchantID: b.merchant.ID, AppID: b.app.ID, Livemode: false, Method: "wechat.papay",
		Channel: "wechatpay", ChannelAccountID: "cha_x", Status: store.AgreementPending, Description: "Monthly plan", MaxAmountPerCharge: 5000,
		Currency: "CNY", Period: "month", Payer: store.Payer{ID: "openid-1"}, NextAction: json.RawMessage(`{"type":"redirect","url":"https://x"}`),
		Metadata: map[string]string{}, CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.AgreementCreate(b.ctx, a), "create agreement")
	got, err := b.s.AgreementGetInScope(b.ctx, b.scope(), a.ID)
	b.must(err, "get agreement")
	equal(t, got, a, "agreement round trip")
	pending, err := b.s.AgreementsPending(b.ctx, t0.Add(-time.Hour), t0.Add(time.Second), 10)
	b.must(err, "list pending agreements")
	equal(t, len(pending), 1, "pending agreements")
	pending, err = b.s.AgreementsPending(b.ctx, t0.Add(time.Millisecond), t0.Add(time.Second), 10)
	b.must(err, "list pending agreements updated lately")
	equal(t, len(pending), 0, "pending agreements updated after their last change")

	first, second := *got, *got
	first.Status, first.ChannelAgreementNo, first.ActivatedAt, first.UpdatedAt = store.AgreementActive, "Wx1", ptr(t0.Add(time.Minute)), t0.Add(time.Minute)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.AgreementUpdate(b.ctx, &first) }), "activate")
	equal(t, first.Version, 1, "version after an update")
	second.Status = store.AgreementTerminated
	err = b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.AgreementUpdate(b.ctx, &second) })
	wantErr(t, err, store.ErrStale, "an update from a stale read")
	got, err = b.s.AgreementGet(b.ctx, a.ID)
	b.must(err, "get after")
	equal(t, got, &first, "the winning update is stored")
	missing := first
	missing.ID = "agr_missing"
	err = b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.AgreementUpdate(b.ctx, &missing) })
	wantErr(t, err, store.ErrNotFound, "update of a missing agreement")
}

func testBillingSubscriptions(t *testing.T, b *bundle) {
	clk := &store.TestClock{ID: id.New(id.TestClock, t0), MerchantID: b.merchant.ID, Name: "clock", FrozenTime: t0, Status: "ready", CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.TestClockCreate(b.ctx, clk), "create clock")
	pr := b.price()
	real := b.subscription(b.customer(""), pr, t0.Add(time.Hour))
	b.subscription(b.customer(clk.ID), pr, t0.Add(2*time.Hour))
	real.PendingItems = []store.InvoiceLine{}
	got, err := b.s.SubscriptionGetInScope(b.ctx, b.scope(), real.ID)
	b.must(err, "get subscription")
	equal(t, got, real, "subscription round trip")

	due, err := b.s.SubscriptionsDue(b.ctx, "", t0.Add(3*time.Hour), 10)
	b.must(err, "due on real time")
	if len(due) != 1 || due[0].ID != real.ID {
		t.Fatalf("due on real time: %s; want only %s", show(due), real.ID)
	}
	due, err = b.s.SubscriptionsDue(b.ctx, clk.ID, t0.Add(time.Hour), 10)
	b.must(err, "due on the clock before its renewal")
	equal(t, len(due), 0, "subscriptions due on the clock an hour in")
	due, err = b.s.SubscriptionsDue(b.ctx, clk.ID, t0.Add(2*time.Hour), 10)
	b.must(err, "due on the clock")
	equal(t, len(due), 1, "subscriptions due on the clock at its renewal")

	a, c := *got, *got
	a.PeriodIndex, a.CurrentPeriodStart, a.CurrentPeriodEnd, a.RenewsAt = 1, t0.Add(time.Hour), t0.Add(5*time.Hour), ptr(t0.Add(5*time.Hour))
	a.PendingItems = []store.InvoiceLine{{Description: "credit", Amount: -100, Quantity: 1, Proration: true}}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SubscriptionUpdate(b.ctx, &a) }), "renew")
	c.Status = store.SubscriptionCanceled
	wantErr(t, b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SubscriptionUpdate(b.ctx, &c) }), store.ErrStale, "a stale renewal")
	got, err = b.s.SubscriptionGet(b.ctx, real.ID)
	b.must(err, "get after")
	equal(t, got, &a, "the renewal is stored")
	a.RenewsAt, a.Status = nil, store.SubscriptionCanceled
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SubscriptionUpdate(b.ctx, &a) }), "cancel")
	due, err = b.s.SubscriptionsDue(b.ctx, "", t0.AddDate(1, 0, 0), 10)
	b.must(err, "due after cancel")
	equal(t, len(due), 0, "a subscription with nothing due is not listed")
	l, _, err := b.s.SubscriptionList(b.ctx, b.scope(), store.SubscriptionFilter{Status: store.SubscriptionCanceled})
	b.must(err, "list canceled")
	equal(t, len(l), 1, "canceled subscriptions")
}

func testBillingInvoices(t *testing.T, b *bundle) {
	s := b.subscription(b.customer(""), b.price(), t0.Add(time.Hour))
	inv := b.invoice(s, t0)
	got, err := b.s.InvoiceGetInScope(b.ctx, b.scope(), inv.ID)
	b.must(err, "get invoice")
	equal(t, got, inv, "invoice round trip")
	due, err := b.s.InvoicesDue(b.ctx, "", t0, 10)
	b.must(err, "due invoices")
	equal(t, len(due), 1, "due invoices")
	due, err = b.s.InvoicesDue(b.ctx, "clk_other", t0, 10)
	b.must(err, "due invoices of a clock")
	equal(t, len(due), 0, "another clock's due invoices")

	ok, err := b.s.InvoiceClaim(b.ctx, inv.ID, "node-a", t0, t0.Add(time.Minute))
	b.must(err, "claim")
	equal(t, ok, true, "a free invoice is claimed")
	ok, err = b.s.InvoiceClaim(b.ctx, inv.ID, "node-b", t0.Add(time.Second), t0.Add(time.Minute))
	b.must(err, "claim a claimed invoice")
	equal(t, ok, false, "another node cannot claim a held invoice")
	wantErr(t, b.s.InvoiceRelease(b.ctx, inv.ID, "node-b"), store.ErrStale, "release by a node that does not hold it")

	// The claim leaves the version alone: an update from a read before it still applies.
	paid := *got
	paid.Status, paid.AmountPaid, paid.OrderID, paid.AttemptCount, paid.NextAttemptAt, paid.PaidAt = store.InvoicePaid, 19800, "ord_1", 1, nil, ptr(t0)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.InvoiceUpdate(b.ctx, &paid) }), "pay")
	stale := *got
	stale.Status = store.InvoiceUncollectible
	wantErr(t, b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.InvoiceUpdate(b.ctx, &stale) }), store.ErrStale, "a stale update")
	b.must(b.s.InvoiceRelease(b.ctx, inv.ID, "node-a"), "release")
	ok, err = b.s.InvoiceClaim(b.ctx, inv.ID, "node-b", t0.Add(time.Second), t0.Add(time.Minute))
	b.must(err, "claim a released invoice")
	equal(t, ok, true, "a released invoice is claimed")
	ok, err = b.s.InvoiceClaim(b.ctx, inv.ID, "node-c", t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	b.must(err, "claim after the lease ran out")
	equal(t, ok, true, "a claim that ran out is taken over")

	byOrder, err := b.s.InvoiceByOrder(b.ctx, "ord_1")
	b.must(err, "invoice by order")
	equal(t, byOrder, &paid, "invoice by its order")
	due, err = b.s.InvoicesDue(b.ctx, "", t0.AddDate(1, 0, 0), 10)
	b.must(err, "due after paid")
	equal(t, len(due), 0, "a paid invoice is not due")
	l, _, err := b.s.InvoiceList(b.ctx, b.scope(), store.InvoiceFilter{SubscriptionID: s.ID})
	b.must(err, "list the subscription's invoices")
	equal(t, len(l), 1, "the subscription's invoices")

	// An invoice waiting for its attempt's order is listed once the order settles.
	o := b.newOrder(t0)
	waiting := b.invoice(s, t0)
	waiting.OrderID, waiting.AttemptCount, waiting.NextAttemptAt = o.ID, 1, nil
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.InvoiceUpdate(b.ctx, waiting) }), "wait for the order")
	awaiting, err := b.s.InvoicesAwaitingSettledOrders(b.ctx, 10)
	b.must(err, "awaiting settled orders")
	equal(t, len(awaiting), 0, "invoices whose order has not settled")
	b.pay(o, t0.Add(time.Second))
	awaiting, err = b.s.InvoicesAwaitingSettledOrders(b.ctx, 10)
	b.must(err, "awaiting settled orders")
	if len(awaiting) != 1 || awaiting[0].ID != waiting.ID {
		t.Fatalf("invoices whose order settled: %s; want %s", show(awaiting), waiting.ID)
	}
}

func testBillingInvoiceClaimRace(t *testing.T, b *bundle) {
	inv := b.invoice(b.subscription(b.customer(""), b.price(), t0.Add(time.Hour)), t0)
	const n = 8
	won := make([]bool, n)
	errs := race(n, func(i int) error {
		ok, err := b.s.InvoiceClaim(b.ctx, inv.ID, fmt.Sprintf("node-%d", i), t0, t0.Add(time.Minute))
		won[i] = ok
		return err
	})
	winners := 0
	for i, err := range errs {
		b.must(err, "racing claim")
		if won[i] {
			winners++
		}
	}
	equal(t, winners, 1, "nodes that won the invoice")
}

func testBillingTestClocks(t *testing.T, b *bundle) {
	clk := &store.TestClock{ID: id.New(id.TestClock, t0), MerchantID: b.merchant.ID, Name: "clock", FrozenTime: t0, Status: "ready", CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.TestClockCreate(b.ctx, clk), "create clock")
	got, err := b.s.TestClockGetInScope(b.ctx, b.scope(), clk.ID)
	b.must(err, "get clock")
	equal(t, got, clk, "clock round trip")
	moved := *got
	moved.FrozenTime, moved.Status = t0.AddDate(0, 1, 0), "advancing"
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.TestClockUpdate(b.ctx, &moved) }), "advance")
	wantErr(t, b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.TestClockUpdate(b.ctx, got) }), store.ErrStale, "a stale advance")
	adv, err := b.s.TestClocksAdvancing(b.ctx, 10)
	b.must(err, "advancing clocks")
	if len(adv) != 1 || adv[0].ID != clk.ID || !adv[0].FrozenTime.Equal(t0.AddDate(0, 1, 0)) {
		t.Fatalf("advancing clocks: %s", show(adv))
	}
	l, _, err := b.s.TestClockList(b.ctx, b.scope(), store.ListParams{})
	b.must(err, "list clocks")
	equal(t, len(l), 1, "clocks listed")
}
