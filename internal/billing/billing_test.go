package billing_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/store"
)

func TestPeriodBoundaryMonthEnd(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	jan31 := time.Date(2027, 1, 31, 10, 0, 0, 0, utc)
	want := []string{"2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31",
		"2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31", "2028-01-31", "2028-02-29"}
	for k, w := range want {
		got := billing.PeriodBoundary(jan31, billing.IntervalMonth, 1, k, utc)
		if got.Format("2006-01-02") != w || got.Hour() != 10 {
			t.Errorf("boundary %d of 31 Jan: %s, want %s 10:00", k, got, w)
		}
	}
	leap := time.Date(2028, 2, 29, 0, 0, 0, 0, utc)
	for k, w := range []string{"2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"} {
		if got := billing.PeriodBoundary(leap, billing.IntervalYear, 1, k, utc).Format("2006-01-02"); got != w {
			t.Errorf("yearly boundary %d of 29 Feb: %s, want %s", k, got, w)
		}
	}
	if got := billing.PeriodBoundary(jan31, billing.IntervalMonth, 3, 1, utc).Format("2006-01-02"); got != "2027-04-30" {
		t.Errorf("quarterly from 31 Jan: %s", got)
	}
	if got := billing.PeriodBoundary(jan31, billing.IntervalWeek, 2, 2, utc).Format("2006-01-02"); got != "2027-02-28" {
		t.Errorf("four weeks from 31 Jan: %s", got)
	}
	// Month ends are the merchant's: 31 Jan 00:30 in Shanghai is 30 Jan in UTC.
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone data")
	}
	start := time.Date(2027, 1, 31, 0, 30, 0, 0, sh)
	got := billing.PeriodBoundary(start, billing.IntervalMonth, 1, 1, sh)
	if s := got.In(sh).Format("2006-01-02 15:04"); s != "2027-02-28 00:30" {
		t.Errorf("a month from 31 Jan 00:30 Shanghai: %s", s)
	}
}

func TestProrate(t *testing.T) {
	t.Parallel()
	start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0) // 31 days
	for _, c := range []struct {
		amount int64
		now    time.Time
		want   int64
	}{
		{9900, start, 9900},
		{9900, end, 0},
		{9900, start.Add(-time.Hour), 9900},
		{9900, end.Add(time.Hour), 0},
		{3100, start.AddDate(0, 0, 10), 2100},  // 21 of 31 days left
		{10000, start.AddDate(0, 0, 15), 5161}, // 16/31 = 0.516129… → 5161.29 rounds down
		{1, start.AddDate(0, 0, 15), 1},        // 0.516 rounds up
		{-10000, start.AddDate(0, 0, 15), -5161},
		{-1, start.AddDate(0, 0, 15), -1},
		{1_000_000_000_000 * 10000, start.AddDate(0, 0, 15), 5_161_290_322_580_645}, // no overflow
	} {
		if got := billing.Prorate(c.amount, start, end, c.now); got != c.want {
			t.Errorf("Prorate(%d, at %s) = %d, want %d", c.amount, c.now.Format(time.DateTime), got, c.want)
		}
	}
}

func TestCardAgreementLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	cus := must(e.b.CreateCustomer(ctx, e.sc, billing.CustomerParams{Name: "Han Meimei"}))
	a := must(e.b.CreateAgreement(ctx, e.sc, billing.AgreementParams{Method: "card.agreement", Customer: cus.ID,
		Description: "Cloud storage", MaxAmountPerCharge: 5000, Currency: "CNY", Period: "month"}))
	if a.Status != store.AgreementPending || a.Channel != sandbox.Name || len(a.NextAction) == 0 {
		t.Fatalf("new agreement %+v; want pending at the sandbox with a next action", a)
	}
	order := func(no string, amount int64, currency string) payment.CreateOrderParams {
		return payment.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: currency, Subject: "Storage", AgreementID: a.ID}
	}
	_, _, err := e.Payments.CreateOrder(ctx, e.sc, order("pending-1", 100, "CNY"))
	wantCode(t, err, "agreement_not_active", "agreement_id")

	a = must(e.b.TestPayer(ctx, e.sc, a.ID, billing.PayerSign))
	if a.Status != store.AgreementActive || a.ChannelAgreementNo == "" || a.ActivatedAt == nil {
		t.Fatalf("signed agreement %+v", a)
	}
	o, _, err := e.Payments.CreateOrder(ctx, e.sc, order("charge-1", 4999, "CNY"))
	if err != nil || o.Status != store.OrderSucceeded || o.Method != "card.agreement" || o.ChannelAccountID != a.ChannelAccountID {
		t.Fatalf("charge within the limit: %+v, %v", o, err)
	}
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, order("charge-2", 5001, "CNY"))
	wantCode(t, err, "amount_exceeds_agreement_limit", "amount")
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, order("charge-3", 100, "USD"))
	wantCode(t, err, "currency_mismatch", "currency")
	_, other, _ := e.Merchant(t, "Another shop", 60)
	_, _, err = e.Payments.CreateOrder(ctx, other, order("charge-4", 100, "CNY"))
	wantCode(t, err, "agreement_not_found", "agreement_id")
	_, live := e.sc, e.sc
	live.Livemode = true
	_, _, err = e.Payments.CreateOrder(ctx, live, order("charge-5", 100, "CNY"))
	wantCode(t, err, "agreement_not_found", "agreement_id")

	a = must(e.b.TestPayer(ctx, e.sc, a.ID, billing.PayerTerminate))
	if a.Status != store.AgreementTerminated || a.TerminatedBy != channel.TerminatedByPayer {
		t.Fatalf("terminated by the payer: %+v", a)
	}
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, order("charge-6", 100, "CNY"))
	wantCode(t, err, "agreement_terminated", "agreement_id")
	if got := e.eventTypes(t, a.ID); count(got, notify.AgreementActivated) != 1 || count(got, notify.AgreementTerminated) != 1 {
		t.Fatalf("agreement events %v", got)
	}
	// Terminating again (the merchant, now) changes nothing.
	again := must(e.b.TerminateAgreement(ctx, e.sc, a.ID))
	if again.TerminatedBy != channel.TerminatedByPayer {
		t.Fatalf("second termination changed who terminated: %+v", again)
	}
	e.verifyLedger(t)
}

func TestMerchantTerminatesAgreement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	a := e.signedAgreement(t, "", 1000, "CNY")
	a = must(e.b.TerminateAgreement(ctx, e.sc, a.ID))
	if a.Status != store.AgreementTerminated || a.TerminatedBy != channel.TerminatedByMerchant {
		t.Fatalf("terminated: %+v", a)
	}
	_, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "after", Amount: 10, Currency: "CNY", Subject: "x", AgreementID: a.ID})
	wantCode(t, err, "agreement_terminated", "agreement_id")
}

// Twelve monthly renewals through a test clock, from 31 January: each
// period ends on its month's last day, each invoice is paid once by one
// order, and the ledger holds one payment for each.
func TestTwelveRenewalsOnATestClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	start := time.Date(2027, 1, 31, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai, the merchant's zone
	clk, cus := e.clocked(t, start)
	price := e.monthly(t, 9900, 0)
	a := e.signedAgreement(t, cus.ID, 20000, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID}))
	if sub.Status != store.SubscriptionActive || sub.TestClockID != clk.ID || !sub.CurrentPeriodStart.Equal(start) {
		t.Fatalf("new subscription %+v", sub)
	}
	for month := 1; month <= 12; month++ {
		clk = e.advance(t, clk, billing.PeriodBoundary(start, "month", 1, month, e.loc(t)))
	}
	invs := e.invoices(t, sub.ID)
	if len(invs) != 13 {
		t.Fatalf("%d invoices after twelve renewals, want 13", len(invs))
	}
	ends := map[string]bool{}
	for i, inv := range invs {
		if inv.Status != store.InvoicePaid || inv.AmountPaid != 9900 || inv.AttemptCount != 1 || inv.OrderID == "" {
			t.Fatalf("invoice %d: %+v; want paid 9900 in one attempt", i, inv)
		}
		o := must(e.Store.OrderGet(ctx, inv.OrderID))
		if o.Status != store.OrderSucceeded || o.OutTradeNo != inv.ID+"-1" || o.Amount != 9900 {
			t.Fatalf("invoice %d's order %+v", i, o)
		}
		if entries := must(e.Store.LedgerEntries(ctx, o.ID)); len(entries) != 1 {
			t.Fatalf("order %s has %d journal entries", o.ID, len(entries))
		}
		ends[inv.PeriodEnd.In(e.loc(t)).Format("2006-01-02")] = true
	}
	for _, d := range []string{"2027-02-28", "2027-03-31", "2027-04-30", "2027-09-30", "2028-01-31", "2028-02-29"} {
		if !ends[d] {
			t.Errorf("no period ends on %s; ends %v", d, ends)
		}
	}
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	if sub.Status != store.SubscriptionActive || sub.PeriodIndex != 12 {
		t.Fatalf("after a year: %+v", sub)
	}
	if got := e.eventTypes(t, sub.ID); count(got, notify.SubscriptionRenewed) != 12 || count(got, notify.SubscriptionCreated) != 1 {
		t.Fatalf("subscription events %v", got)
	}
	e.verifyLedger(t)
}

func (e *env) loc(t *testing.T) *time.Location {
	loc, err := time.LoadLocation(e.m.Timezone)
	if err != nil {
		t.Skip("no time zone data")
	}
	return loc
}

// The payer terminates the agreement at the channel mid-subscription: the
// next renewal cannot be charged, the subscription is past_due, the
// invoice is retried on the dunning schedule, and after the last retry the
// subscription is canceled and the invoice uncollectible.
func TestTerminationThenDunningCancels(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	start := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	clk, cus := e.clocked(t, start)
	price := e.monthly(t, 2900, 0)
	a := e.signedAgreement(t, cus.ID, 5000, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID}))
	clk = e.advance(t, clk, start.AddDate(0, 1, 0).Add(time.Hour))
	must(e.b.TestPayer(ctx, e.sc, a.ID, billing.PayerTerminate))

	renewal := start.AddDate(0, 2, 0)
	clk = e.advance(t, clk, renewal.Add(time.Minute))
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	invs := e.invoices(t, sub.ID)
	last := invs[len(invs)-1]
	if sub.Status != store.SubscriptionPastDue || last.Status != store.InvoiceOpen || last.AttemptCount != 1 || last.LastFailureCode != "agreement_terminated" {
		t.Fatalf("after the failed renewal: subscription %s, invoice %+v", sub.Status, last)
	}
	if want := renewal.Add(24 * time.Hour); last.NextAttemptAt == nil || !last.NextAttemptAt.Equal(want) {
		t.Fatalf("next attempt %v, want %s (one day later)", last.NextAttemptAt, want)
	}
	// 1, 3, 5 and 7 days after each failure: 16 days in all.
	clk = e.advance(t, clk, renewal.Add(16*24*time.Hour+time.Minute))
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	last = must(e.Store.InvoiceGet(ctx, last.ID))
	if sub.Status != store.SubscriptionCanceled || last.Status != store.InvoiceUncollectible || last.AttemptCount != 5 {
		t.Fatalf("after dunning: subscription %s, invoice %s after %d attempts", sub.Status, last.Status, last.AttemptCount)
	}
	if got := e.eventTypes(t, last.ID); count(got, notify.InvoicePaymentFailed) != 5 {
		t.Fatalf("invoice events %v", got)
	}
	if got := e.eventTypes(t, sub.ID); count(got, notify.SubscriptionPastDue) != 1 || count(got, notify.SubscriptionCanceled) != 1 {
		t.Fatalf("subscription events %v", got)
	}
	// Nothing is due any more: a later advance renews nothing.
	e.advance(t, clk, renewal.AddDate(0, 3, 0))
	if n := len(e.invoices(t, sub.ID)); n != len(invs) {
		t.Fatalf("a canceled subscription made %d more invoices", n-len(invs))
	}
	e.verifyLedger(t)
}

func TestUnpaidAfterDunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	e.b.DunningSchedule = []time.Duration{time.Hour}
	start := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	clk, cus := e.clocked(t, start)
	a := e.signedAgreement(t, cus.ID, 5000, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: e.monthly(t, 2900, 0).ID, Agreement: a.ID, AfterDunning: "unpaid"}))
	// The payer's balance runs out: both attempts of the renewal decline.
	if err := e.Sandbox.SetBalance(a.ID, 0); err != nil {
		t.Fatal(err)
	}
	e.advance(t, clk, start.AddDate(0, 1, 0).Add(2*time.Hour))
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	invs := e.invoices(t, sub.ID)
	last := invs[len(invs)-1]
	if sub.Status != store.SubscriptionUnpaid || last.Status != store.InvoiceUncollectible || last.LastFailureCode != "insufficient_funds" {
		t.Fatalf("subscription %s, invoice %+v", sub.Status, last)
	}
	// The payer tops up; the merchant collects by hand and the subscription is active again.
	if err := e.Sandbox.SetBalance(a.ID, -1); err != nil {
		t.Fatal(err)
	}
	paid := must(e.b.PayInvoice(ctx, e.sc, last.ID))
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	if paid.Status != store.InvoicePaid || sub.Status != store.SubscriptionActive || sub.RenewsAt == nil {
		t.Fatalf("after paying by hand: invoice %s, subscription %+v", paid.Status, sub)
	}
	e.verifyLedger(t)
}

// An upgrade mid-period: a credit for the unused time of the old price and
// a charge for the rest at the new one, invoiced at once or on the next
// invoice.
func TestProrationOnUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	loc := e.loc(t)
	clk, cus := e.clocked(t, start.In(loc))
	basic := e.monthly(t, 3100, 0)
	pro := must(e.b.CreatePrice(ctx, e.sc, billing.PriceParams{Product: basic.ProductID, Amount: 6200, Currency: "CNY", Interval: "month"}))
	a := e.signedAgreement(t, cus.ID, 100000, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: basic.ID, Agreement: a.ID}))
	periodEnd := sub.CurrentPeriodEnd
	mid := start.AddDate(0, 0, 10) // 21 of 31 days left
	clk = e.advance(t, clk, mid)

	sub = must(e.b.UpdateSubscription(ctx, e.sc, sub.ID, billing.UpdateParams{Price: pro.ID, ProrationBehavior: billing.ProrationAlways}))
	invs := e.invoices(t, sub.ID)
	now := invs[len(invs)-1]
	credit := -billing.Prorate(3100, sub.CurrentPeriodStart, periodEnd, mid)
	charge := billing.Prorate(6200, sub.CurrentPeriodStart, periodEnd, mid)
	if credit != -2100 || charge != 4200 {
		t.Fatalf("prorations %d and %d, want -2100 and 4200 (21 of 31 days)", credit, charge)
	}
	if now.BillingReason != billing.ReasonUpdate || len(now.Lines) != 2 || now.Lines[0].Amount != credit || now.Lines[1].Amount != charge ||
		now.AmountDue != 2100 || now.Status != store.InvoicePaid {
		t.Fatalf("proration invoice %+v", now)
	}

	// A second change, on the next invoice: quantity 2 of pro, ten days later.
	later := mid.AddDate(0, 0, 10)
	clk = e.advance(t, clk, later)
	sub = must(e.b.UpdateSubscription(ctx, e.sc, sub.ID, billing.UpdateParams{Quantity: 2}))
	if len(sub.PendingItems) != 2 || sub.PendingItems[0].Amount != -billing.Prorate(6200, sub.CurrentPeriodStart, periodEnd, later) {
		t.Fatalf("pending prorations %+v", sub.PendingItems)
	}
	e.advance(t, clk, periodEnd)
	invs = e.invoices(t, sub.ID)
	next := invs[len(invs)-1]
	var total int64
	for _, l := range next.Lines {
		total += l.Amount
	}
	want := 2*6200 - billing.Prorate(6200, sub.CurrentPeriodStart, periodEnd, later) + billing.Prorate(12400, sub.CurrentPeriodStart, periodEnd, later)
	if len(next.Lines) != 3 || total != want || next.AmountPaid != want || next.BillingReason != billing.ReasonCycle {
		t.Fatalf("renewal with prorations: %+v; want 3 lines totalling %d", next, want)
	}
	if sub := must(e.Store.SubscriptionGet(ctx, sub.ID)); len(sub.PendingItems) != 0 {
		t.Fatalf("prorations still pending after the renewal: %+v", sub.PendingItems)
	}
	e.verifyLedger(t)
}

func TestSubscriptionBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	cus := must(e.b.CreateCustomer(ctx, e.sc, billing.CustomerParams{}))
	price := e.monthly(t, 9900, 0)
	usd := must(e.b.CreatePrice(ctx, e.sc, billing.PriceParams{Product: price.ProductID, Amount: 990, Currency: "USD", Interval: "month"}))
	a := e.signedAgreement(t, cus.ID, 9900, "CNY")
	_, err := e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: usd.ID, Agreement: a.ID})
	wantCode(t, err, "currency_mismatch", "price")
	_, err = e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID, Quantity: 2})
	wantCode(t, err, "amount_exceeds_agreement_limit", "quantity")
	_, other, _ := e.Merchant(t, "Other", 60)
	_, err = e.b.CreateSubscription(ctx, other, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID})
	wantCode(t, err, "customer_not_found", "customer")
	otherCus := must(e.b.CreateCustomer(ctx, other, billing.CustomerParams{}))
	otherPrice := must(e.b.CreatePrice(ctx, other, billing.PriceParams{Product: must(e.b.CreateProduct(ctx, other, billing.ProductParams{Name: "x"})).ID, Amount: 100, Currency: "CNY", Interval: "month"}))
	_, err = e.b.CreateSubscription(ctx, other, billing.SubscriptionParams{Customer: otherCus.ID, Price: otherPrice.ID, Agreement: a.ID})
	wantCode(t, err, "agreement_not_found", "agreement")
	pending := must(e.b.CreateAgreement(ctx, e.sc, billing.AgreementParams{Method: "card.agreement", Description: "x", MaxAmountPerCharge: 99999, Currency: "CNY", Period: "month"}))
	_, err = e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: pending.ID})
	wantCode(t, err, "agreement_not_active", "agreement")
	_, err = e.b.CreatePrice(ctx, e.sc, billing.PriceParams{Product: price.ProductID, Amount: 100, Currency: "CNY", Interval: "fortnight"})
	wantCode(t, err, "interval_invalid", "interval")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID}))
	_, err = e.b.UpdateSubscription(ctx, e.sc, sub.ID, billing.UpdateParams{Price: usd.ID})
	wantCode(t, err, "currency_mismatch", "price")
	_, err = e.b.AdvanceTestClock(ctx, e.sc, must(e.b.CreateTestClock(ctx, e.sc, "", time.Time{})).ID, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	wantCode(t, err, "frozen_time_invalid", "frozen_time")
	_, err = e.b.CreateTestClock(ctx, store.Scope{MerchantID: e.sc.MerchantID, Livemode: true}, "", time.Time{})
	wantCode(t, err, "test_mode_only", "")
}

// A card saved at a first payment (the payer consented) is kept as the
// sandbox's token and what may be shown; a later order with the customer
// and the payment method pays in one step.
func TestSavedCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	cus := must(e.b.CreateCustomer(ctx, e.sc, billing.CustomerParams{Name: "Wang"}))
	card := &channel.Card{Number: sandbox.CardSuccess, ExpMonth: 12, ExpYear: 2031, CVC: "123"}
	o, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "first", Amount: 1000, Currency: "CNY", Subject: "x",
		Method: "card", Card: card, Customer: cus.ID, SavePaymentMethod: true})
	if err != nil || o.Status != store.OrderSucceeded {
		t.Fatalf("first payment: %+v %v", o, err)
	}
	pms := must(e.b.CustomerMethods(ctx, o))
	if len(pms) != 1 {
		t.Fatalf("%d saved methods", len(pms))
	}
	pm := pms[0]
	if pm.Brand != "visa" || pm.Last4 != "4242" || pm.ExpYear != 2031 || pm.Token == "" || pm.Token == card.Number || pm.Fingerprint == "" {
		t.Fatalf("saved card %+v", pm)
	}
	// The same card again is not saved twice.
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "second", Amount: 1000, Currency: "CNY", Subject: "x",
		Method: "card", Card: card, Customer: cus.ID, SavePaymentMethod: true})
	if err != nil || len(must(e.b.CustomerMethods(ctx, o))) != 1 {
		t.Fatalf("the same card saved twice: %v", err)
	}
	one, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "one-click", Amount: 2500, Currency: "CNY", Subject: "x",
		Customer: cus.ID, PaymentMethod: pm.ID})
	if err != nil || one.Status != store.OrderSucceeded || one.Method != "card" {
		t.Fatalf("one-click payment: %+v %v", one, err)
	}
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "x1", Amount: 1, Currency: "CNY", Subject: "x",
		Customer: must(e.b.CreateCustomer(ctx, e.sc, billing.CustomerParams{})).ID, PaymentMethod: pm.ID})
	wantCode(t, err, "payment_method_invalid", "payment_method")
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "x2", Amount: 1, Currency: "CNY", Subject: "x", SavePaymentMethod: true,
		Method: "card", Card: card})
	wantCode(t, err, "parameter_missing", "customer")

	// A card whose saving works but whose charges are declined.
	bad := &channel.Card{Number: sandbox.CardChargesFail, ExpMonth: 1, ExpYear: 2030}
	o2, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "bad-first", Amount: 1000, Currency: "CNY", Subject: "x",
		Method: "card", Card: bad, Customer: cus.ID, SavePaymentMethod: true})
	if err != nil || o2.Status != store.OrderSucceeded {
		t.Fatalf("first payment of the declining card: %+v %v", o2, err)
	}
	var badPM *store.PaymentMethod
	for _, m := range must(e.b.CustomerMethods(ctx, o2)) {
		if m.Last4 == "0341" {
			badPM = m
		}
	}
	declined, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "bad-again", Amount: 1000, Currency: "CNY", Subject: "x", PaymentMethod: badPM.ID})
	if err != nil || declined.Status != store.OrderFailed || declined.FailureCode != "card_declined" {
		t.Fatalf("charge of the declining saved card: %+v %v", declined, err)
	}
	must(e.b.DetachPaymentMethod(ctx, e.sc, pm.ID))
	_, _, err = e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: "detached", Amount: 1, Currency: "CNY", Subject: "x", PaymentMethod: pm.ID})
	wantCode(t, err, "payment_method_detached", "payment_method")
	e.verifyLedger(t)
}

// Two nodes run the renewals of the same clock at once: every invoice is
// charged by one order, and the ledger has one payment for each.
func TestTwoNodesRenewOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	nodeB := newBilling(e.Env, "node-b")
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clk, cus := e.clocked(t, start)
	price := e.monthly(t, 1000, 0)
	var subs []*store.Subscription
	for range 10 {
		a := e.signedAgreement(t, cus.ID, 1000, "CNY")
		subs = append(subs, must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID})))
	}
	// Move the clock without processing, as a node that died after moving it would.
	to := start.AddDate(0, 6, 0).Add(time.Hour)
	c := must(e.Store.TestClockGet(ctx, clk.ID))
	c.FrozenTime, c.Status = to, billing.ClockAdvancing
	if err := e.Store.InTx(ctx, func(tx store.Tx) error { return tx.TestClockUpdate(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, node := range []*billing.Service{e.b, nodeB, e.b, nodeB} {
		wg.Go(func() {
			w := &billing.Worker{Service: node}
			if err := w.RunOnce(ctx); err != nil {
				t.Errorf("worker: %v", err)
			}
		})
	}
	wg.Wait()
	(&billing.Worker{Service: e.b}).RunOnce(ctx) // whatever a held claim left
	for _, sub := range subs {
		invs := e.invoices(t, sub.ID)
		if len(invs) != 7 {
			for _, inv := range invs {
				t.Logf("%s %s %s..%s %s attempts %d", inv.ID, inv.BillingReason, inv.PeriodStart, inv.PeriodEnd, inv.Status, inv.AttemptCount)
			}
			t.Fatalf("subscription %s has %d invoices, want 7", sub.ID, len(invs))
		}
		for _, inv := range invs {
			if inv.Status != store.InvoicePaid || inv.AttemptCount != 1 {
				t.Fatalf("invoice %+v", inv)
			}
			if _, err := e.Store.OrderGetByOutTradeNo(ctx, e.sc.AppID, fmt.Sprintf("%s-2", inv.ID)); err == nil {
				t.Fatalf("invoice %s was attempted twice", inv.ID)
			}
		}
	}
	if c := must(e.Store.TestClockGet(ctx, clk.ID)); c.Status != billing.ClockReady {
		t.Fatalf("clock %s after the workers", c.Status)
	}
	e.verifyLedger(t)
}

// A node charged an invoice's attempt at the channel and died before it
// recorded anything: the order exists (pending, or paid at the channel),
// the invoice does not name it. The next collection makes the same
// attempt, which is the same order, which the channel charges once.
func TestCrashBetweenChargeAndRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clk, cus := e.clocked(t, start)
	a := e.signedAgreement(t, cus.ID, 1000, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: e.monthly(t, 1000, 0).ID, Agreement: a.ID}))
	// Renew without collecting: the renewal's invoice is a draft, due.
	c := must(e.Store.TestClockGet(ctx, clk.ID))
	c.FrozenTime = sub.CurrentPeriodEnd
	if err := e.Store.InTx(ctx, func(tx store.Tx) error { return tx.TestClockUpdate(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	due := must(e.Store.SubscriptionsDue(ctx, clk.ID, c.FrozenTime, 10))
	if len(due) != 1 {
		t.Fatalf("%d due", len(due))
	}
	// The "crashed" node: it took attempt 1 and charged it, recording nothing on the invoice.
	must(e.b.AdvanceTestClock(ctx, e.sc, clk.ID, c.FrozenTime.Add(time.Second)))
	invs := e.invoices(t, sub.ID)
	inv := invs[len(invs)-1]
	if inv.Status != store.InvoicePaid {
		t.Fatalf("renewal invoice %+v", inv)
	}
	// Replay the crash window on that paid attempt: an invoice back in
	// "attempt 1 started, order unrecorded", as the dead node left it.
	inv.Status, inv.OrderID, inv.AmountPaid, inv.PaidAt, inv.NextAttemptAt = store.InvoiceOpen, "", 0, nil, ptr(c.FrozenTime)
	if err := e.Store.InTx(ctx, func(tx store.Tx) error { return tx.InvoiceUpdate(ctx, inv) }); err != nil {
		t.Fatal(err)
	}
	(&billing.Worker{Service: newBilling(e.Env, "restarted")}).RunOnce(ctx)
	must(e.b.AdvanceTestClock(ctx, e.sc, clk.ID, c.FrozenTime.Add(time.Minute)))
	inv = must(e.Store.InvoiceGet(ctx, inv.ID))
	if inv.Status != store.InvoicePaid || inv.AttemptCount != 1 {
		t.Fatalf("after the restart: %+v", inv)
	}
	o := must(e.Store.OrderGetByOutTradeNo(ctx, e.sc.AppID, inv.ID+"-1"))
	if inv.OrderID != o.ID {
		t.Fatalf("the invoice names order %s, the attempt's is %s", inv.OrderID, o.ID)
	}
	if entries := must(e.Store.LedgerEntries(ctx, o.ID)); len(entries) != 1 {
		t.Fatalf("%d entries for the attempt's order", len(entries))
	}
	e.verifyLedger(t)
}

func ptr[T any](v T) *T { return &v }

func TestTrialThenFirstCharge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	start := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	clk, cus := e.clocked(t, start)
	price := e.monthly(t, 1500, 14)
	a := e.signedAgreement(t, cus.ID, 1500, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: price.ID, Agreement: a.ID}))
	if sub.Status != store.SubscriptionTrialing || sub.TrialEnd == nil || len(e.invoices(t, sub.ID)) != 0 {
		t.Fatalf("trialing subscription %+v", sub)
	}
	e.advance(t, clk, sub.TrialEnd.Add(time.Minute))
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	invs := e.invoices(t, sub.ID)
	if sub.Status != store.SubscriptionActive || len(invs) != 1 || invs[0].Status != store.InvoicePaid || !sub.CurrentPeriodStart.Equal(*sub.TrialEnd) {
		t.Fatalf("after the trial: %+v, invoices %d", sub, len(invs))
	}
}

func TestCancelAtPeriodEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, paymenttest.Options{})
	start := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	clk, cus := e.clocked(t, start)
	a := e.signedAgreement(t, cus.ID, 1500, "CNY")
	sub := must(e.b.CreateSubscription(ctx, e.sc, billing.SubscriptionParams{Customer: cus.ID, Price: e.monthly(t, 1500, 0).ID, Agreement: a.ID}))
	sub = must(e.b.CancelSubscription(ctx, e.sc, sub.ID, true))
	if !sub.CancelAtPeriodEnd || sub.Status != store.SubscriptionActive {
		t.Fatalf("%+v", sub)
	}
	e.advance(t, clk, start.AddDate(0, 3, 0))
	sub = must(e.Store.SubscriptionGet(ctx, sub.ID))
	if sub.Status != store.SubscriptionCanceled || sub.EndedAt == nil || !sub.EndedAt.Equal(sub.CurrentPeriodEnd) || len(e.invoices(t, sub.ID)) != 1 {
		t.Fatalf("after the period: %+v", sub)
	}
}
