package gateway_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// Recurring payments through the WeChat Pay and Alipay simulators: the
// payer signs at the channel's page, the channel's callback activates the
// agreement, renewals are deducted (WeChat: accepted, then notified;
// Alipay: at once), and a payer's termination at the channel ends it.

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openPage GETs a signing page as the payer's browser does.
func openPage(t *testing.T, u string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatalf("open the signing page: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("signing page %s: %d %s", u, res.StatusCode, body)
	}
}

// activeAgreement creates an agreement of method, has the payer open its
// page and sign (sign is the simulator's hand), and waits for the
// channel's callback to activate it.
func activeAgreement(t *testing.T, c *client.Client, method, customer string, limit int64, sign func(agreementID string) error) *client.Agreement {
	t.Helper()
	ctx := context.Background()
	a, err := c.CreateAgreement(ctx, client.CreateAgreementParams{Method: method, Customer: customer,
		Plan: client.AgreementPlan{Description: "Pro plan, monthly", MaxAmountPerCharge: limit, Currency: "CNY", Period: "month"}})
	if err != nil || a.Status != "pending" || a.NextAction == nil {
		t.Fatalf("create %s agreement: %+v, %v", method, a, err)
	}
	openPage(t, a.NextAction.URL)
	if err := sign(a.ID); err != nil {
		t.Fatalf("payer signs: %v", err)
	}
	eventually(t, "the agreement's activation", func() bool {
		a, err = c.GetAgreement(ctx, a.ID)
		return err == nil && a.Status == "active"
	})
	if a.ChannelAgreementNo == "" || a.ActivatedAt == nil {
		t.Fatalf("active agreement %+v", a)
	}
	return a
}

// settled waits until the invoice is no longer waiting for its order.
func settled(t *testing.T, c *client.Client) func(client.Invoice) client.Invoice {
	return func(inv client.Invoice) client.Invoice {
		t.Helper()
		eventually(t, "invoice "+inv.ID+" to settle", func() bool {
			got, err := c.GetInvoice(context.Background(), inv.ID)
			if err == nil {
				inv = *got
			}
			return err == nil && inv.Status != "open" && inv.Status != "draft"
		})
		return inv
	}
}

func TestRecurringWeChatPayYear(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.channelAccount("wechatpay", "wechat.papay")
		wx := s.sim.(*simwx.Sim)
		start := time.Date(2027, 3, 31, 1, 0, 0, 0, time.UTC)
		r := newRecurring(t, e.demo, start, 9900)
		a := activeAgreement(t, e.demo, "wechat.papay", r.cus.ID, 9900, wx.SignContract)
		if a.Channel != "wechatpay" || a.ChannelAccount != s.account {
			t.Fatalf("agreement signed at %s %s, want the simulator's account %s", a.Channel, a.ChannelAccount, s.account)
		}
		r.yearOfRenewals(start, a.ID, "", settled(t, e.demo))
		if got := wx.ContractDeductions(a.ID); got != 13 {
			t.Fatalf("%d deductions at WeChat, want 13", got)
		}
		e.verifyLedger()
	})
}

func TestRecurringAlipayYear(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.channelAccount("alipay", "alipay.withholding")
		ap := s.sim.(*simalipay.Sim)
		start := time.Date(2027, 1, 31, 1, 0, 0, 0, time.UTC)
		r := newRecurring(t, e.demo, start, 2500)
		a := activeAgreement(t, e.demo, "alipay.withholding", r.cus.ID, 2500, func(id string) error {
			return ap.SignAgreement(strings.Replace(id, "_", "", 1))
		})
		r.yearOfRenewals(start, a.ID, "", nil)
		if got := ap.AgreementCharges(strings.Replace(a.ID, "_", "", 1)); got != 13 {
			t.Fatalf("%d withholdings at Alipay, want 13", got)
		}
		e.verifyLedger()
	})
}

// The payer terminates the agreement in WeChat mid-subscription: the
// gateway learns it from WeChat's DELETE notification, the next renewal
// cannot be charged (past_due), and after dunning the subscription is
// canceled; WeChat deducted exactly what was paid.
func TestRecurringPayerTerminatesAtWeChat(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.channelAccount("wechatpay", "wechat.papay")
		wx := s.sim.(*simwx.Sim)
		start := time.Date(2027, 5, 10, 2, 0, 0, 0, time.UTC)
		r := newRecurring(t, e.demo, start, 4900)
		a := activeAgreement(t, e.demo, "wechat.papay", r.cus.ID, 4900, wx.SignContract)
		sub, err := e.demo.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: r.cus.ID, Price: r.price.ID, Agreement: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		r.advance(monthEnd(start, 1).Add(time.Hour))
		for _, inv := range r.invoices(sub.ID) {
			if inv = settled(t, e.demo)(inv); inv.Status != "paid" {
				t.Fatalf("invoice before the termination: %+v", inv)
			}
		}
		if err := wx.TerminateContract(a.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the agreement's termination", func() bool {
			a, err = e.demo.GetAgreement(ctx, a.ID)
			return err == nil && a.Status == "terminated"
		})
		if a.TerminatedBy == nil || *a.TerminatedBy != "payer" {
			t.Fatalf("terminated by %v, want payer", a.TerminatedBy)
		}
		renewal := monthEnd(start, 2)
		r.advance(renewal.Add(time.Minute))
		if sub, err = e.demo.GetSubscription(ctx, sub.ID); err != nil || sub.Status != "past_due" {
			t.Fatalf("after the failed renewal: %+v, %v", sub, err)
		}
		r.advance(renewal.Add(17 * 24 * time.Hour))
		if sub, err = e.demo.GetSubscription(ctx, sub.ID); err != nil || sub.Status != "canceled" {
			t.Fatalf("after dunning: %+v, %v", sub, err)
		}
		invs := r.invoices(sub.ID)
		last := invs[len(invs)-1]
		if last.Status != "uncollectible" || last.AttemptCount != 5 || last.LastFailureCode == nil || *last.LastFailureCode != "agreement_terminated" {
			t.Fatalf("the last invoice: %+v", last)
		}
		if got := wx.ContractDeductions(a.ID); got != 2 {
			t.Fatalf("%d deductions at WeChat, want the 2 paid", got)
		}
		for _, typ := range []string{"subscription.past_due", "subscription.canceled", "agreement.terminated"} {
			if len(allEvents(t, e.demo, typ, "")) != 1 {
				t.Errorf("want one %s event", typ)
			}
		}
		e.verifyLedger()
	})
}

// Charges WeChat refuses: above the template's per-deduction limit (the
// merchant's agreement allowed more), and a payer whose balance is short
// (accepted, then failed by the notification).
func TestRecurringWeChatRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.channelAccount("wechatpay", "wechat.papay")
		wx := s.sim.(*simwx.Sim)
		a := activeAgreement(t, e.demo, "wechat.papay", "", 100000, wx.SignContract)
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "above-plan", Amount: simwx.PlanMaxAmount + 1, Currency: "CNY", Subject: "x", AgreementID: a.ID})
		if err != nil || o.Status != "failed" || o.FailureCode != "amount_exceeds_agreement_limit" {
			t.Fatalf("a charge above WeChat's limit: %+v, %v", o, err)
		}
		if err := wx.SetBalance(a.ID, 10); err != nil {
			t.Fatal(err)
		}
		o, err = e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "short", Amount: 500, Currency: "CNY", Subject: "x", AgreementID: a.ID})
		if err != nil || (o.Status != "processing" && o.Status != "failed") {
			t.Fatalf("a deduction WeChat accepts, then fails: %+v, %v", o, err)
		}
		o = waitOrder(t, e.demo, o.ID, "failed") // its notification may have come before the answer
		if o.FailureCode != "insufficient_funds" {
			t.Fatalf("failed deduction: %+v", o)
		}
		e.verifyLedger()
	})
}

// With serve --simulators, the test helper plays the payer of an agreement
// at the simulator: it opens the signing page and signs there, and the
// channel tells the gateway.
func TestRecurringTestPayerAtDemoSimulators(t *testing.T) {
	e := startWith(t, "sqlite", func(c *gateway.Config) { c.Simulators = true })
	ctx := context.Background()
	for _, method := range []string{"wechat.papay", "alipay.withholding"} {
		a, err := e.demo.CreateAgreement(ctx, client.CreateAgreementParams{Method: method,
			Plan: client.AgreementPlan{Description: "Demo plan", MaxAmountPerCharge: 990, Currency: "CNY", Period: "month"}})
		if err != nil || a.Channel == "sandbox" {
			t.Fatalf("%s agreement: %+v, %v", method, a, err)
		}
		if a, err = e.demo.TestAgreementPayer(ctx, a.ID, "sign"); err != nil || a.Status != "active" {
			t.Fatalf("%s: sign at the simulator: %+v, %v", method, a, err)
		}
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "demo-" + method, Amount: 990, Currency: "CNY", Subject: "Demo", AgreementID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitOrder(t, e.demo, o.ID, "succeeded")
		if a, err = e.demo.TestAgreementPayer(ctx, a.ID, "terminate"); err != nil || a.Status != "terminated" {
			t.Fatalf("%s: terminate at the simulator: %+v, %v", method, a, err)
		}
	}
	e.verifyLedger()
}
