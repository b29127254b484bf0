package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// Recurring payments over HTTP: agreements, subscriptions renewed through
// a test clock, dunning, prorations, and the checks on merchant-initiated
// orders.

// recurring is a merchant's recurring setup on one channel.
type recurring struct {
	t     *testing.T
	c     *client.Client
	clock *client.TestClock
	cus   *client.Customer
	price *client.Price
}

func newRecurring(t *testing.T, c *client.Client, start time.Time, amount int64) *recurring {
	t.Helper()
	ctx := context.Background()
	r := &recurring{t: t, c: c}
	var err error
	if r.clock, err = c.CreateTestClock(ctx, client.CreateTestClockParams{Name: "renewals", FrozenTime: &start}); err != nil {
		t.Fatalf("create test clock: %v", err)
	}
	if r.cus, err = c.CreateCustomer(ctx, client.CreateCustomerParams{Name: "Li Lei", Email: "lilei@example.com", TestClock: r.clock.ID}); err != nil {
		t.Fatalf("create customer: %v", err)
	}
	prod, err := c.CreateProduct(ctx, client.CreateProductParams{Name: "Pro plan"})
	if err != nil {
		t.Fatalf("create product: %v", err)
	}
	if r.price, err = c.CreatePrice(ctx, client.CreatePriceParams{Product: prod.ID, Amount: amount, Currency: "CNY", Interval: "month"}); err != nil {
		t.Fatalf("create price: %v", err)
	}
	return r
}

// advance moves the clock to `to` and checks it is ready there.
func (r *recurring) advance(to time.Time) {
	r.t.Helper()
	c, err := r.c.AdvanceTestClock(context.Background(), r.clock.ID, to)
	if err != nil {
		r.t.Fatalf("advance to %s: %v", to, err)
	}
	if c.Status != "ready" || !c.FrozenTime.Equal(to.UTC()) {
		r.t.Fatalf("advanced clock %+v, want ready at %s", c, to)
	}
}

// invoices lists the subscription's invoices, oldest first.
func (r *recurring) invoices(subID string) []client.Invoice {
	r.t.Helper()
	l, err := r.c.ListInvoices(context.Background(), client.ListParams{Limit: 100, Extra: map[string]string{"subscription": subID}})
	if err != nil {
		r.t.Fatalf("list invoices: %v", err)
	}
	out := make([]client.Invoice, len(l.Data))
	for i, inv := range l.Data {
		out[len(l.Data)-1-i] = inv
	}
	return out
}

// monthEnd is the k-th monthly boundary from start, clamped to month ends.
func monthEnd(start time.Time, k int) time.Time {
	y, m, d := start.Date()
	first := time.Date(y, m+time.Month(k), 1, start.Hour(), start.Minute(), start.Second(), 0, start.Location())
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, start.Location()).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), start.Hour(), start.Minute(), start.Second(), 0, start.Location())
}

// yearOfRenewals subscribes the customer on agreement (or payment method)
// and advances the clock a month at a time for a year: thirteen invoices,
// each paid once.
func (r *recurring) yearOfRenewals(start time.Time, agreement, paymentMethod string, settle func(inv client.Invoice) client.Invoice) *client.Subscription {
	r.t.Helper()
	ctx := context.Background()
	sub, err := r.c.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: r.cus.ID, Price: r.price.ID, Agreement: agreement, PaymentMethod: paymentMethod})
	if err != nil {
		r.t.Fatalf("create subscription: %v", err)
	}
	for month := 1; month <= 12; month++ {
		r.advance(monthEnd(start, month))
	}
	invs := r.invoices(sub.ID)
	if len(invs) != 13 {
		r.t.Fatalf("%d invoices after a year, want 13", len(invs))
	}
	for i, inv := range invs {
		if settle != nil {
			inv = settle(inv)
		}
		if inv.Status != "paid" || inv.AmountPaid != r.price.Amount || inv.AttemptCount != 1 || inv.Order == nil {
			r.t.Fatalf("invoice %d: %+v; want paid once", i, inv)
		}
		o, err := r.c.GetOrder(ctx, *inv.Order)
		if err != nil || o.Status != "succeeded" || o.OutTradeNo != inv.ID+"-1" {
			r.t.Fatalf("invoice %d's order: %+v, %v", i, o, err)
		}
	}
	if sub, err = r.c.GetSubscription(ctx, sub.ID); err != nil || sub.Status != "active" {
		r.t.Fatalf("subscription after a year: %+v, %v", sub, err)
	}
	return sub
}

func TestRecurringSandboxYear(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		start := time.Date(2027, 1, 31, 2, 0, 0, 0, time.UTC)
		r := newRecurring(t, e.demo, start, 9900)
		a, err := e.demo.CreateAgreement(ctx, client.CreateAgreementParams{Method: "card.agreement", Customer: r.cus.ID,
			Plan: client.AgreementPlan{Description: "Pro plan, monthly", MaxAmountPerCharge: 10000, Currency: "CNY", Period: "month"}})
		if err != nil || a.Status != "pending" || a.NextAction == nil || a.NextAction.Type != "redirect" {
			t.Fatalf("create agreement: %+v, %v", a, err)
		}
		if a, err = e.demo.TestAgreementPayer(ctx, a.ID, "sign"); err != nil || a.Status != "active" {
			t.Fatalf("sign: %+v, %v", a, err)
		}
		sub := r.yearOfRenewals(start, a.ID, "", nil)
		if got := len(allEvents(t, e.demo, "subscription.renewed", sub.ID)); got != 12 {
			t.Fatalf("%d subscription.renewed events, want 12", got)
		}
		if got := len(allEvents(t, e.demo, "invoice.paid", "")); got != 13 {
			t.Fatalf("%d invoice.paid events, want 13", got)
		}
		e.verifyLedger()
	})
}

func TestRecurringBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, err := e.demo.CreateAgreement(ctx, client.CreateAgreementParams{Method: "card.agreement",
			Plan: client.AgreementPlan{Description: "Storage", MaxAmountPerCharge: 5000, Currency: "CNY", Period: "month"}})
		if err != nil {
			t.Fatal(err)
		}
		charge := func(c *client.Client, no string, amount int64, currency string) error {
			_, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: currency, Subject: "Storage", AgreementID: a.ID})
			return err
		}
		apiErr(t, charge(e.demo, "pending", 100, "CNY"), 409, "agreement_not_active")
		if _, err := e.demo.TestAgreementPayer(ctx, a.ID, "sign"); err != nil {
			t.Fatal(err)
		}
		apiErr(t, charge(e.demo, "above", 5001, "CNY"), 400, "amount_exceeds_agreement_limit")
		apiErr(t, charge(e.demo, "usd", 100, "USD"), 400, "currency_mismatch")
		other := e.newMerchant("test", false)
		apiErr(t, charge(other.c, "other", 100, "CNY"), 404, "agreement_not_found")
		if err := charge(e.demo, "ok", 5000, "CNY"); err != nil {
			t.Fatalf("a charge at the limit: %v", err)
		}
		_, err = e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "both", Amount: 1, Currency: "CNY", Subject: "x", AgreementID: a.ID, PaymentMethod: "pm_01hwrm0a7t3k9c5x1v8n2e6pqb"})
		apiErr(t, err, 400, "payment_method_invalid")
		_, err = e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "papay", Amount: 1, Currency: "CNY", Subject: "x", Method: "wechat.papay"})
		apiErr(t, err, 400, "parameter_missing")

		// A subscription in another currency than its agreement.
		cus, _ := e.demo.CreateCustomer(ctx, client.CreateCustomerParams{})
		prod, _ := e.demo.CreateProduct(ctx, client.CreateProductParams{Name: "x"})
		usd, err := e.demo.CreatePrice(ctx, client.CreatePriceParams{Product: prod.ID, Amount: 100, Currency: "USD", Interval: "month"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.demo.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: cus.ID, Price: usd.ID, Agreement: a.ID})
		apiErr(t, err, 400, "currency_mismatch")
		_, err = e.demo.CreatePrice(ctx, client.CreatePriceParams{Product: prod.ID, Amount: 100, Currency: "USD", Interval: "decade"})
		apiErr(t, err, 400, "interval_invalid")

		if _, err := e.demo.TerminateAgreement(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		apiErr(t, charge(e.demo, "terminated", 100, "CNY"), 409, "agreement_terminated")
		e.verifyLedger()
	})
}

// Risk control sees merchant-initiated charges as any payment. One that a
// rule would send to review is refused (402 with the rule's name): nobody
// is there to wait for the review, as for a card charged at once. A renewal
// so refused is a failed attempt, retried on the dunning schedule.
func TestRecurringRiskRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.rule(map[string]any{"name": "check_big", "expression": "order.amount >= 10000", "action": "review"})
		start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
		r := newRecurring(t, e.demo, start, 12000)
		a, err := e.demo.CreateAgreement(ctx, client.CreateAgreementParams{Method: "card.agreement", Customer: r.cus.ID,
			Plan: client.AgreementPlan{Description: "Storage", MaxAmountPerCharge: 50000, Currency: "CNY", Period: "month"}})
		if err != nil {
			t.Fatal(err)
		}
		if a, err = e.demo.TestAgreementPayer(ctx, a.ID, "sign"); err != nil {
			t.Fatal(err)
		}
		_, err = e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "big", Amount: 12000, Currency: "CNY", Subject: "Storage", AgreementID: a.ID})
		apiErr(t, err, 402, "check_big")
		if o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "small", Amount: 9000, Currency: "CNY", Subject: "Storage", AgreementID: a.ID}); err != nil || o.Status != "succeeded" {
			t.Fatalf("a charge below the rule: %+v, %v", o, err)
		}
		sub, err := e.demo.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: r.cus.ID, Price: r.price.ID, Agreement: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status != "past_due" {
			t.Fatalf("a subscription whose first charge a rule refused: %s", sub.Status)
		}
		invs := r.invoices(sub.ID)
		if len(invs) != 1 || invs[0].Status != "open" || invs[0].LastFailureCode == nil || *invs[0].LastFailureCode != "check_big" || invs[0].NextAttemptAt == nil {
			t.Fatalf("invoice after a refused charge: %+v", invs)
		}
		e.verifyLedger()
	})
}
