package transfer_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/transfer"
)

var propCurrencies = []string{"CNY", "USD", "JPY", "KWD"}

// Mid rates among the test currencies, each pair loaded one way (quotes
// the other way invert it).
var propRates = []fx.RateInput{
	{Base: "USD", Quote: "CNY", Rate: "7.1234"},
	{Base: "USD", Quote: "JPY", Rate: "149.87"},
	{Base: "KWD", Quote: "USD", Rate: "3.2519"},
	{Base: "CNY", Quote: "JPY", Rate: "21.0391"},
	{Base: "KWD", Quote: "CNY", Rate: "23.1645"},
	{Base: "JPY", Quote: "KWD", Rate: "0.0020521"},
}

// TestMoneyIsConserved is a property test on SQLite and PostgreSQL: a
// merchant's random payments in several currencies, partial refunds, a
// settlement, then random transfers, each in its own currency or through an
// FX quote (for an amount or an exact to_amount), to payees that are paid,
// refuse, answer late or lose the answer, resolved by the worker. After
// each run: every currency sums to zero over all the ledger's accounts (no
// money made or lost in any currency), the merchant's available balance
// per currency is what it was after settlement less exactly the source
// amounts of the transfers that succeeded (refused ones undone, at their
// quote's rate), no balance went negative, the platform's markup income is
// never negative, and ledger verify is clean.
func TestMoneyIsConserved(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		day := time.Date(2026, 3, 14, 0, 0, 0, 0, shanghai)
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			m, sc, _ := e.Merchant(t, fmt.Sprintf("Shop %d", n), rapid.IntRange(0, 100).Draw(rt, "fee_bps"))
			e.Clock.Set(day.Add(9 * time.Hour))

			// Payments and partial refunds, reconciled.
			var orders []*store.Order
			for i := range rapid.IntRange(1, 6).Draw(rt, "payments") {
				cur := rapid.SampledFrom(propCurrencies).Draw(rt, "currency")
				amount := rapid.Int64Range(100, 5_000_000).Draw(rt, "amount")
				o, _, err := e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: fmt.Sprintf("P%d", i), Amount: amount, Currency: cur, Subject: "Goods", Method: "sandbox"})
				if err != nil {
					rt.Fatal(err)
				}
				if o, err = e.Payments.TestPay(ctx, sc, o.ID, true); err != nil {
					rt.Fatal(err)
				}
				e.reconciled(rt, o.ID, "payment", cur)
				orders = append(orders, o)
			}
			for i := range rapid.IntRange(0, 4).Draw(rt, "refunds") {
				o := rapid.SampledFrom(orders).Draw(rt, "refunded")
				cur, _ := e.Store.OrderGet(ctx, o.ID)
				if cur.AmountRefunded >= cur.Amount {
					continue
				}
				amount := rapid.Int64Range(1, cur.Amount-cur.AmountRefunded).Draw(rt, "refund")
				r, _, err := e.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("R%d", i), Amount: amount})
				if err != nil || r.Status != store.RefundSucceeded {
					rt.Fatalf("refund: %v %+v", err, r)
				}
				e.reconciled(rt, r.ID, "refund", o.Currency)
			}
			e.Clock.Set(day.AddDate(0, 0, 1).Add(13 * time.Hour))
			if _, err := e.settle.Run(ctx, settlement.RunParams{Day: day.Format(time.DateOnly), MerchantID: m.ID}); err != nil {
				rt.Fatal(err)
			}
			day = day.AddDate(0, 0, 1)
			rates := make([]fx.RateInput, len(propRates))
			for i, r := range propRates {
				r.Source, r.AsOf = "prop", e.Clock.Now().Add(-time.Minute)
				rates[i] = r
			}
			e.rates(rates...)

			want := map[string]int64{}
			for _, a := range e.balance(m, false).Available {
				want[a.Currency] = a.Amount
			}
			// Transfers: the outcome of those left processing is known
			// only after the worker, so their source amounts are counted
			// when they end.
			for i := range rapid.IntRange(1, 8).Draw(rt, "transfers") {
				to := rapid.SampledFrom(propCurrencies).Draw(rt, "to")
				p := transfer.CreateParams{OutTransferNo: fmt.Sprintf("T%d", i),
					Destination: client.TransferDestination{Method: "wechatpay", Account: rapid.SampledFrom([]string{
						"o-payee", "o-payee-2", sandbox.PayeeInvalid, sandbox.PayeeTimeout, sandbox.PayeeSlow}).Draw(rt, "payee")}}
				if from := rapid.SampledFrom(propCurrencies).Draw(rt, "from"); from == to {
					p.Amount, p.Currency = rapid.Int64Range(1, 3_000_000).Draw(rt, "transfer_amount"), to
				} else {
					qp := fx.QuoteParams{From: from, To: to}
					if rapid.Bool().Draw(rt, "exact_to_amount") {
						qp.ToAmount = rapid.Int64Range(1, 3_000_000).Draw(rt, "to_amount")
					} else {
						qp.Amount = rapid.Int64Range(1, 3_000_000).Draw(rt, "from_amount")
					}
					q, err := e.fx.CreateQuote(ctx, sc, qp)
					if errs.Code(err) == "amount_invalid" {
						continue // converts into less than a minor unit
					} else if err != nil {
						rt.Fatal(err)
					}
					if q.Amount < 1 || q.ToAmount < 1 || q.MarkupAmount < 0 || (qp.ToAmount != 0 && q.ToAmount != qp.ToAmount) {
						rt.Fatalf("quote %+v for %+v", q, qp)
					}
					p.FXQuote = q.ID
				}
				_, _, err := e.svc.Create(ctx, sc, p)
				if c := errs.Code(err); c != "" && c != "insufficient_balance" && c != "currency_not_held" {
					rt.Fatalf("transfer %+v: %v", p, err)
				}
				e.conserved(rt, m)
			}
			for range 3 {
				e.Clock.Advance(2 * time.Hour)
				if _, err := e.svc.ResolveDue(ctx, e.Clock.Now(), 100); err != nil {
					rt.Fatal(err)
				}
			}
			list, _, err := e.Store.TransferList(ctx, store.TransferFilter{MerchantID: m.ID, ListParams: store.ListParams{Limit: 100}})
			if err != nil {
				rt.Fatal(err)
			}
			for _, tr := range list {
				switch tr.Status {
				case store.TransferSucceeded:
					want[tr.SourceCurrency] -= tr.SourceAmount
				case store.TransferProcessing:
					rt.Fatalf("transfer %s still processing after the worker", tr.ID)
				}
			}
			got := map[string]int64{}
			for _, a := range e.balance(m, false).Available {
				got[a.Currency] = a.Amount
			}
			for _, cur := range propCurrencies {
				if got[cur] != want[cur] {
					rt.Fatalf("%s available = %d, want %d", cur, got[cur], want[cur])
				}
			}
			e.conserved(rt, m)
			rep, err := e.Store.LedgerVerify(ctx)
			if err != nil || !rep.Clean() {
				rt.Fatalf("ledger verify: %v %+v", err, rep)
			}
		})
	})
}

// reconciled writes the row reconciliation writes for a matched transaction.
func (e *env) reconciled(rt *rapid.T, refID, kind, currency string) {
	if _, err := e.Store.(rawExec).ExecRaw(ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, ?, 'cha_00000000000000000000sandbx', '2026-03-14', 0, ?, 'matched', 'rcn_test', ?)`, refID, kind, currency, e.Clock.Now().UnixMicro()); err != nil {
		rt.Fatalf("reconcile %s: %v", refID, err)
	}
}

// conserved checks that every currency sums to zero over every account,
// that none of the merchant's accounts is negative, and that the
// platform's markup income is not.
func (e *env) conserved(rt *rapid.T, m *store.Merchant) {
	all, err := e.Store.Balances(ctx, "")
	if err != nil {
		rt.Fatal(err)
	}
	sums := map[string]int64{}
	for _, b := range all {
		sums[b.Currency] += b.Amount
		if b.Amount < 0 && (b.Account == ledger.PlatformFXMarkup(false) || b.Account == ledger.MerchantAvailable(m.ID, false) ||
			b.Account == ledger.MerchantPayout(m.ID, false)) {
			rt.Fatalf("%s is %d %s", b.Account, b.Amount, b.Currency)
		}
	}
	for cur, s := range sums {
		if s != 0 {
			rt.Fatalf("%s sums to %d over the ledger", cur, s)
		}
	}
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()
