package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// The cashier of an order made for a customer offers the card form with a
// box to save the card, and the customer's saved cards.
func TestCashierSavesCardsWithConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cus, err := b.billing.CreateCustomer(ctx, b.scope(false), billing.CustomerParams{Name: "Zhang San"})
	if err != nil {
		t.Fatal(err)
	}
	saved := func() []*store.PaymentMethod {
		pms, _, err := b.store.PaymentMethodList(ctx, store.Scope{MerchantID: b.merchant.ID}, cus.ID, store.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		return pms
	}
	pay := func(o *store.Order, save bool) response {
		t.Helper()
		form := url.Values{"number": {"4242 4242 4242 4242"}, "exp_month": {"12"}, "exp_year": {"2031"}, "cvc": {"123"}}
		if save {
			form.Set("save", "on")
		}
		return b.post("/pay/"+o.ID+"/card", form)
	}

	// Without consent the card pays and is not saved.
	first := b.order(false, payment.CreateOrderParams{Customer: cus.ID})
	page := b.get("/pay/"+first.ID, "en")
	for _, want := range []string{`id="card-form"`, `name="save"`, "Save this card for future payments"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the cashier of an order for a customer has no %q", want)
		}
	}
	if strings.Contains(page.body, `id="saved-cards"`) {
		t.Fatal("saved cards offered before any was saved")
	}
	if res := pay(first, false); res.status != http.StatusSeeOther {
		t.Fatalf("pay by card: %d %s", res.status, res.body)
	}
	if o := b.reload(first.ID); o.Status != store.OrderSucceeded || o.Method != "card" {
		t.Fatalf("order paid by card: %+v", o)
	}
	if n := len(saved()); n != 0 {
		t.Fatalf("%d cards saved without consent", n)
	}

	// With consent it is saved; the next order offers it and pays with it.
	second := b.order(false, payment.CreateOrderParams{Customer: cus.ID})
	pay(second, true)
	pms := saved()
	if len(pms) != 1 || pms[0].Last4 != "4242" || pms[0].Brand != "visa" {
		t.Fatalf("saved cards %+v", pms)
	}
	third := b.order(false, payment.CreateOrderParams{Customer: cus.ID})
	page = b.get("/pay/"+third.ID, "zh")
	if !strings.Contains(page.body, `id="saved-`+pms[0].ID+`"`) || !strings.Contains(page.body, "•••• 4242") {
		t.Fatalf("the saved card is not offered:\n%s", page.body)
	}
	if strings.Contains(page.body, sandbox.CardSuccess) {
		t.Fatal("the page shows a card number")
	}
	if res := b.post("/pay/"+third.ID+"/saved", url.Values{"payment_method": {pms[0].ID}}); res.status != http.StatusSeeOther {
		t.Fatalf("pay with the saved card: %d %s", res.status, res.body)
	}
	if o := b.reload(third.ID); o.Status != store.OrderSucceeded {
		t.Fatalf("paid with the saved card: %+v", o)
	}

	// An order without a customer offers neither.
	plain := b.order(false, payment.CreateOrderParams{})
	if page := b.get("/pay/"+plain.ID, "en"); strings.Contains(page.body, `id="card-form"`) {
		t.Fatal("the card form is offered on an order without a customer")
	}
	// Another customer's saved card cannot pay.
	other, _ := b.billing.CreateCustomer(ctx, b.scope(false), billing.CustomerParams{})
	foreign := b.order(false, payment.CreateOrderParams{Customer: other.ID})
	res := b.post("/pay/"+foreign.ID+"/saved", url.Values{"payment_method": {pms[0].ID}})
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "notice=payment_method_invalid") {
		t.Fatalf("another customer's card: %d %s", res.status, res.header.Get("Location"))
	}
	if o := b.reload(foreign.ID); o.Status != store.OrderPending || o.Method != "" {
		t.Fatalf("order after a refused saved card: %+v", o)
	}
}

// The sandbox's agreements are signed on the gateway's page by the test payer.
func TestAgreementPageTestPayer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a, err := b.billing.CreateAgreement(ctx, b.scope(false), billing.AgreementParams{Method: "card.agreement", Description: "Gym membership",
		MaxAmountPerCharge: 9900, Currency: "CNY", Period: "month", ReturnURL: "https://shop.example/after"})
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/pay/"+a.ID, "en")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Gym membership") || !strings.Contains(page.body, `id="test-sign"`) {
		t.Fatalf("agreement page: %d\n%s", page.status, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("agreement page CSP %q", csp)
	}
	if res := b.post("/pay/"+a.ID+"/test", url.Values{"outcome": {"signed"}}); res.status != http.StatusSeeOther {
		t.Fatalf("sign: %d %s", res.status, res.body)
	}
	got, err := b.store.AgreementGet(ctx, a.ID)
	if err != nil || got.Status != store.AgreementActive {
		t.Fatalf("after signing: %+v, %v", got, err)
	}
	page = b.get("/pay/"+a.ID, "en")
	if !strings.Contains(page.body, "Agreement signed") || !strings.Contains(page.body, "https://shop.example/after") {
		t.Fatalf("signed agreement page:\n%s", page.body)
	}
	if res := b.get("/pay/agr_nope", "en"); res.status != http.StatusNotFound {
		t.Fatalf("unknown agreement: %d", res.status)
	}
}
