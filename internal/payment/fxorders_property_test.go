package payment_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

// propRates are mid rates into CNY (the merchants' settlement currency)
// from currencies of 0, 2 and 3 decimals.
var propRates = []fx.RateInput{
	{Base: "USD", Quote: "CNY", Rate: "7.1234"},
	{Base: "JPY", Quote: "CNY", Rate: "0.047531"},
	{Base: "KWD", Quote: "CNY", Rate: "23.1645"},
	{Base: "EUR", Quote: "CNY", Rate: "7.7021"},
}

// TestFXOrdersConserveMoney is a property test on SQLite and PostgreSQL:
// a CNY merchant takes random payments in USD, JPY, KWD, EUR and CNY, some
// at an FX quote (for an amount or an exact to_amount) and some without,
// refunds random parts of them, and settles the day, batches in other
// currencies converting into CNY at the day's rate. After each run no
// currency gains or loses money over the whole ledger; the merchant's CNY
// is exactly what the quotes credited less fees and the refunds' shares;
// and an order refunded in full gives back exactly its quote's to_amount;
// ledger verify is clean.
func TestFXOrdersConserveMoney(t *testing.T) {
	onBothStores(t, func(t *testing.T, env *paymenttest.Env) {
		ctx := context.Background()
		fxs := &fx.Service{Store: env.Store, Clock: env.Clock}
		n, converted := 0, 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			day := fxStart.AddDate(0, 0, n) // each run a day of its own
			env.Clock.Set(day)
			rates := make([]fx.RateInput, len(propRates))
			for i, r := range propRates {
				r.Source, r.AsOf = "prop", day.Add(-time.Minute)
				rates[i] = r
			}
			if _, err := fxs.ImportRates(ctx, rates); err != nil {
				rt.Fatal(err)
			}
			feeBps := rapid.IntRange(0, 200).Draw(rt, "fee_bps")
			m, sc, _ := env.Merchant(t, fmt.Sprintf("Shop %d", n), feeBps)
			wantCNY := int64(0) // what the merchant's CNY pending must hold
			for i := range rapid.IntRange(1, 5).Draw(rt, "orders") {
				cur := rapid.SampledFrom([]string{"USD", "JPY", "KWD", "EUR", "CNY"}).Draw(rt, "currency")
				p := payment.CreateOrderParams{OutTradeNo: fmt.Sprintf("P%d", i), Currency: cur, Subject: "Goods", Method: "sandbox",
					Amount: rapid.Int64Range(1, 5_000_000).Draw(rt, "amount")}
				var q *store.FXQuote
				if cur != "CNY" && rapid.Bool().Draw(rt, "quoted") {
					qp := fx.QuoteParams{From: cur, To: "CNY", Amount: p.Amount}
					if rapid.Bool().Draw(rt, "exact_to_amount") {
						qp = fx.QuoteParams{From: cur, To: "CNY", ToAmount: rapid.Int64Range(100, 5_000_000).Draw(rt, "to_amount")}
					}
					var err error
					if q, err = fxs.CreateQuote(ctx, sc, qp); err != nil {
						continue // converts into less than a minor unit: refused, nothing made
					}
					p.Amount, p.FXQuote = q.Amount, q.ID
				}
				o, _, err := env.Payments.CreateOrder(ctx, sc, p)
				if err != nil {
					rt.Fatalf("create %+v: %v", p, err)
				}
				if o, err = env.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
					rt.Fatalf("pay: %v %+v", err, o)
				}
				reconciled(t, env, o.ID, "payment", cur)
				fee := int64(0)
				if q != nil {
					fee = paymentFeeOf(rt, env, o)
					wantCNY += q.ToAmount - fee
				} else if cur == "CNY" {
					fee = paymentFeeOf(rt, env, o)
					wantCNY += o.Amount - fee
				}
				refunded, back := int64(0), int64(0)
				for j := range rapid.IntRange(0, 3).Draw(rt, "refunds") {
					left := o.Amount - refunded
					if left == 0 {
						break
					}
					amount := left
					if j < 2 && rapid.Bool().Draw(rt, "partial") {
						amount = rapid.Int64Range(1, left).Draw(rt, "refund")
					}
					r, _, err := env.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("R%d-%d", i, j), Amount: amount})
					if err != nil || r.Status != store.RefundSucceeded {
						rt.Fatalf("refund: %v %+v", err, r)
					}
					reconciled(t, env, r.ID, "refund", cur)
					refunded += amount
					switch {
					case q != nil:
						back += r.SettleAmount
					case cur == "CNY":
						back += amount
					}
				}
				wantCNY -= back
				if q != nil && refunded == o.Amount && back != q.ToAmount {
					rt.Fatalf("order %s refunded in full gave back %d CNY, its quote credited %d", o.ID, back, q.ToAmount)
				}
			}
			if got := balanceOf(t, env, ledger.MerchantPending(m.ID, false), "CNY"); got != wantCNY {
				rt.Fatalf("CNY pending %d, want %d", got, wantCNY)
			}
			// Settle the day (everything is reconciled): batches in other
			// currencies than CNY that pay out convert at the day's rate.
			env.Clock.Set(day.AddDate(0, 0, 1).Add(6 * time.Hour))
			stl := &settlement.Service{Store: env.Store, Clock: env.Clock, Holder: "node-a", FX: fxs}
			rep, err := stl.Run(ctx, settlement.RunParams{Day: day.In(shanghaiZone).Format("2006-01-02"), MerchantID: m.ID})
			if err != nil {
				rt.Fatal(err)
			}
			for _, b := range rep.Settlements {
				// Only a pending batch in another currency converts (one whose
				// net is worth less than a fen stays as it is).
				converts := b.Currency != "CNY" && b.Status == store.SettlementPending
				if (b.FX != nil && (!converts || b.FX.Currency != "CNY" || b.FX.Net <= 0 || b.FX.Markup < 0)) ||
					(b.FX == nil && converts && b.Net > 1000) {
					rt.Fatalf("batch %s %s %s net %d: fx %+v", b.ID, b.Currency, b.Status, b.Net, b.FX)
				}
				if b.FX != nil {
					converted++
				}
			}
			all, err := env.Store.Balances(ctx, "")
			if err != nil {
				rt.Fatal(err)
			}
			sums := map[string]int64{}
			for _, b := range all {
				sums[b.Currency] += b.Amount
			}
			for cur, sum := range sums {
				if sum != 0 {
					rt.Fatalf("%s sums to %d over the ledger", cur, sum)
				}
			}
			vrep, err := env.Store.LedgerVerify(ctx)
			if err != nil || !vrep.Clean() {
				rt.Fatalf("ledger verify: %v %+v", err, vrep)
			}
		})
		if converted == 0 {
			t.Fatal("no settlement batch was converted: the property never met a conversion")
		}
	})
}

var shanghaiZone = time.FixedZone("CST", 8*3600)

// paymentFeeOf is the platform's fee in an order's payment entry.
func paymentFeeOf(t interface{ Fatal(...any) }, env *paymenttest.Env, o *store.Order) int64 {
	entries, err := env.Store.LedgerEntries(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var fee int64
	for _, e := range entries {
		for _, l := range e.Lines {
			if e.Kind == ledger.KindPayment && l.Account == ledger.PlatformFees(o.Livemode) {
				fee += l.Amount
			}
		}
	}
	return fee
}
