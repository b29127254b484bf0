package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate/internal/store"
)

var payerAmountTests = []test{
	{"PayerAmount/OrderAndRefund", testPayerAmount},
}

// testPayerAmount: what the payer paid in the channel's currency, and the
// rate, are stored by the transition to succeeded with the order (and read
// back by every scan: get, list, the transition's RETURNING); a later
// transition without them leaves them alone; an order the channel did not
// convert reads back 0 and "". A refund's payer amount likewise.
func testPayerAmount(t *testing.T, b *bundle) {
	o := b.newOrder(t0, func(o *store.Order) { o.Currency, o.Amount = "USD", 10000 })
	paid, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: t0,
		Channel: "wechatpay", ChannelTradeNo: "CH-" + o.ID, PayerAmount: 71234, PayerCurrency: "CNY", ExchangeRate: "7.1234",
		Effects: paymentEffects(t0),
	})
	b.must(err, "pay order")
	check := func(got *store.Order, what string) {
		t.Helper()
		if got.PayerAmount != 71234 || got.PayerCurrency != "CNY" || got.ExchangeRate != "7.1234" {
			t.Fatalf("%s: payer %d %s at %q, want 71234 CNY at 7.1234", what, got.PayerAmount, got.PayerCurrency, got.ExchangeRate)
		}
	}
	check(paid, "transition")
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	check(got, "get")
	list, _, err := b.s.OrderList(b.ctx, store.OrderFilter{MerchantID: b.merchant.ID, Livemode: false, ListParams: store.ListParams{Limit: 10}})
	b.must(err, "list orders")
	if len(list) != 1 {
		t.Fatalf("listed %d orders", len(list))
	}
	check(list[0], "list")
	again, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderSucceeded}, To: store.OrderSucceeded, At: t0.Add(time.Second),
	})
	b.must(err, "transition without payer fields")
	check(again, "a later transition")

	plain := b.pay(b.newOrder(t0), t0)
	if plain.PayerAmount != 0 || plain.PayerCurrency != "" || plain.ExchangeRate != "" {
		t.Fatalf("an order the channel did not convert: payer %d %s at %q", plain.PayerAmount, plain.PayerCurrency, plain.ExchangeRate)
	}

	r := b.refund(paid, t0, 2500)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	done, err := b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending},
		To: store.RefundSucceeded, At: t0, ChannelRefundNo: "RF-" + r.ID, PayerAmount: 17809, PayerCurrency: "CNY", Effects: refundEffects(t0)})
	b.must(err, "refund succeeds")
	gotR, err := b.s.RefundGet(b.ctx, r.ID)
	b.must(err, "get refund")
	for _, x := range []*store.Refund{done, gotR} {
		if x.PayerAmount != 17809 || x.PayerCurrency != "CNY" {
			t.Fatalf("refund payer %d %s, want 17809 CNY", x.PayerAmount, x.PayerCurrency)
		}
	}
	other := b.succeededRefund(plain, t0, 100)
	if other.PayerAmount != 0 || other.PayerCurrency != "" {
		t.Fatalf("a refund the channel did not convert: payer %d %s", other.PayerAmount, other.PayerCurrency)
	}
}
