package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// The recurring-payment methods send what the API reference says.
func TestRecurringRequests(t *testing.T) {
	t.Parallel()
	g := newGateway(t, reply(200, `{"id":"x","object":"x"}`))
	c := newClient(t, g.URL, client.WithSecretKey("sk_test_abc"))
	ctx := context.Background()
	at := time.Date(2027, 2, 28, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	yes := true
	calls := []struct {
		do           func() error
		method, want string
		body         string
	}{
		{func() error {
			_, err := c.CreateCustomer(ctx, client.CreateCustomerParams{Name: "Li", TestClock: "clk_1"})
			return err
		}, "POST", "/v1/customers", `{"name":"Li","test_clock":"clk_1"}`},
		{func() error {
			_, err := c.ListPaymentMethods(ctx, client.ListParams{Extra: map[string]string{"customer": "cus_1"}})
			return err
		}, "GET", "/v1/payment-methods?customer=cus_1", ""},
		{func() error { _, err := c.DetachPaymentMethod(ctx, "pm_1"); return err }, "POST", "/v1/payment-methods/pm_1/detach", "{}"},
		{func() error {
			_, err := c.CreateAgreement(ctx, client.CreateAgreementParams{Method: "wechat.papay", Plan: client.AgreementPlan{Description: "Pro", MaxAmountPerCharge: 9900, Currency: "CNY", Period: "month"}})
			return err
		}, "POST", "/v1/agreements", `{"method":"wechat.papay","plan":{"description":"Pro","max_amount_per_charge":9900,"currency":"CNY","period":"month"}}`},
		{func() error { _, err := c.TerminateAgreement(ctx, "agr_1"); return err }, "POST", "/v1/agreements/agr_1/terminate", "{}"},
		{func() error { _, err := c.TestAgreementPayer(ctx, "agr_1", "sign"); return err }, "POST", "/v1/test/agreements/agr_1/payer", `{"action":"sign"}`},
		{func() error {
			_, err := c.CreatePrice(ctx, client.CreatePriceParams{Product: "prod_1", Amount: 100, Currency: "CNY", Interval: "month"})
			return err
		}, "POST", "/v1/prices", `{"product":"prod_1","amount":100,"currency":"CNY","interval":"month"}`},
		{func() error {
			_, err := c.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: "cus_1", Price: "price_1", Agreement: "agr_1"})
			return err
		}, "POST", "/v1/subscriptions", `{"customer":"cus_1","price":"price_1","agreement":"agr_1"}`},
		{func() error {
			_, err := c.UpdateSubscription(ctx, "sub_1", client.UpdateSubscriptionParams{Quantity: 2, ProrationBehavior: "always_invoice", CancelAtPeriodEnd: &yes})
			return err
		}, "POST", "/v1/subscriptions/sub_1", `{"quantity":2,"proration_behavior":"always_invoice","cancel_at_period_end":true}`},
		{func() error {
			_, err := c.CancelSubscription(ctx, "sub_1", client.CancelSubscriptionParams{AtPeriodEnd: true})
			return err
		}, "POST", "/v1/subscriptions/sub_1/cancel", `{"at_period_end":true}`},
		{func() error {
			_, err := c.ListInvoices(ctx, client.ListParams{Extra: map[string]string{"subscription": "sub_1"}})
			return err
		}, "GET", "/v1/invoices?subscription=sub_1", ""},
		{func() error { _, err := c.PayInvoice(ctx, "inv_1"); return err }, "POST", "/v1/invoices/inv_1/pay", "{}"},
		{func() error { _, err := c.AdvanceTestClock(ctx, "clk_1", at); return err }, "POST", "/v1/test/clocks/clk_1/advance", `{"frozen_time":"2027-02-28T02:00:00Z"}`},
		{func() error { _, err := c.GetTestClock(ctx, "clk_1"); return err }, "GET", "/v1/test/clocks/clk_1", ""},
	}
	for _, call := range calls {
		if err := call.do(); err != nil {
			t.Fatalf("%s %s: %v", call.method, call.want, err)
		}
		r := g.last(t)
		if r.method != call.method || r.target != call.want || string(r.body) != call.body {
			t.Errorf("sent %s %s %s, want %s %s %s", r.method, r.target, r.body, call.method, call.want, call.body)
		}
	}
	n := len(g.requests())
	if _, err := c.AdvanceTestClock(ctx, "", at); err == nil {
		t.Error("an empty clock id was accepted")
	}
	if len(g.requests()) != n {
		t.Error("an empty id was sent")
	}
}
