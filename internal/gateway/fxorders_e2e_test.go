package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
)

// TestFXOrderOverTheAPI: the operator loads a rate, the demo merchant
// (settling in CNY) takes a USD→CNY quote and an order pays in USD at it;
// the order shows what the merchant is credited, the quote pays for one
// order, an order that disagrees with its quote is refused, a partial
// refund converts at the payment's rate; the ledger verifies.
func TestFXOrderOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rates := map[string]any{"rates": []map[string]any{{"base": "USD", "quote": "CNY", "rate": "7.1234", "source": "boc", "as_of": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
		if st, body := e.admin("POST", "/admin/v1/fx-rates", rates, nil); st != 200 {
			t.Fatalf("import rates: %d %s", st, body)
		}
		q, err := e.demo.CreateFXQuote(ctx, client.CreateFXQuoteParams{From: "USD", To: "CNY", Amount: 10000})
		if err != nil || q.ToAmount != 70878 {
			t.Fatalf("quote: %v %+v", err, q)
		}
		p := client.CreateOrderParams{OutTradeNo: "fx-order", Amount: 10000, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: q.ID}
		o := payNew(t, e.demo, p)
		if o.FXQuote == nil || *o.FXQuote != q.ID || o.SettlementAmount != 70878 || o.SettlementCurrency != "CNY" || o.Currency != "USD" {
			t.Fatalf("order: %+v", o)
		}
		p.OutTradeNo = "fx-order-2"
		_, err = e.demo.CreateOrder(ctx, p)
		apiErr(t, err, 409, "fx_quote_used")
		q2, err := e.demo.CreateFXQuote(ctx, client.CreateFXQuoteParams{From: "USD", To: "CNY", Amount: 500})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "fx-order-3", Amount: 501, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: q2.ID})
		apiErr(t, err, 400, "fx_quote_mismatch")
		_, err = e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "fx-order-4", Amount: 500, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: "fxq_nope"})
		apiErr(t, err, 404, "fx_quote_not_found")

		r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "fx-r1", Amount: 3000})
		if err != nil || r.Status != "succeeded" || r.Currency != "USD" {
			t.Fatalf("refund: %v %+v", err, r)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var cny, usd int64
		for _, a := range bal.Pending {
			switch a.Currency {
			case "CNY":
				cny = a.Amount
			case "USD":
				usd = a.Amount
			}
		}
		// ¥708.78 less the 60 bps fee (¥4.25), less the refund's share ¥212.63.
		if cny != 70878-425-21263 || usd != 0 {
			t.Fatalf("pending CNY %d USD %d: %+v", cny, usd, bal.Pending)
		}
		e.verifyLedger()
	})
}

// TestInstallmentsOverTheAPI: a sandbox card order in 3 instalments whose
// fee the merchant pays (the fee comes out of its net), an Alipay QR order
// in 6 Huabei instalments whose fee the payer pays (hb_fq_num and
// hb_fq_seller_percent reach the simulator, nothing is posted for the
// fee), and instalments refused on a method without them, with a bad
// count or fee payer, and with an FX quote.
func TestInstallmentsOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.channelAccount("alipay", "alipay.qr")
		card := &client.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2040, CVC: "123"}
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "inst-card", Amount: 120000, Currency: "CNY", Subject: "Sofa",
			Method: "card", Card: card, Installments: &client.InstallmentsParams{Count: 3, FeePayer: "merchant"}})
		if err != nil || o.Status != "succeeded" || o.Installments == nil || *o.Installments != (client.Installments{Count: 3, FeePayer: "merchant", FeeRateBps: 230, Fee: 2760}) {
			t.Fatalf("card order: %v %+v", err, o)
		}
		hb, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "inst-huabei", Amount: 60000, Currency: "CNY", Subject: "Bike",
			Method: "alipay.qr", Installments: &client.InstallmentsParams{Count: 6, FeePayer: "payer"}})
		if err != nil || hb.Installments == nil || hb.Installments.Fee != 2700 {
			t.Fatalf("huabei order: %v %+v", err, hb)
		}
		sim := s.sim.(*simalipay.Sim)
		if err := sim.Scan(hb.ID); err != nil {
			t.Fatal(err)
		}
		if err := sim.PayerPays(hb.ID); err != nil {
			t.Fatal(err)
		}
		if hb, err = e.demo.SyncOrder(ctx, hb.ID); err != nil || hb.Status != "succeeded" {
			t.Fatalf("pay huabei: %v %+v", err, hb)
		}
		if terms, ok := sim.TradeTerms(hb.ID); !ok || terms.HbFqNum != "6" || terms.HbFqSellerPercent != "0" {
			t.Fatalf("simulator terms %+v %v", terms, ok)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Card: 120000 less 720 (60 bps) less the plan's 2760; Huabei: 60000
		// less 360, the payer's fee not the merchant's.
		if len(bal.Pending) != 1 || bal.Pending[0].Amount != (120000-720-2760)+(60000-360) {
			t.Fatalf("pending %+v", bal.Pending)
		}

		bad := func(no string, p client.CreateOrderParams, code string) {
			t.Helper()
			p.OutTradeNo, p.Currency, p.Subject = no, "CNY", "Sofa"
			if p.Amount == 0 {
				p.Amount = 10000
			}
			_, err := e.demo.CreateOrder(ctx, p)
			apiErr(t, err, 400, code)
		}
		bad("inst-b1", client.CreateOrderParams{Method: "wechat.native", Installments: &client.InstallmentsParams{Count: 3, FeePayer: "payer"}}, "installments_unsupported")
		bad("inst-b2", client.CreateOrderParams{Method: "alipay.qr", Installments: &client.InstallmentsParams{Count: 24, FeePayer: "payer"}}, "installments_invalid")
		bad("inst-b3", client.CreateOrderParams{Method: "card", Card: card, Installments: &client.InstallmentsParams{Count: 3, FeePayer: "bank"}}, "installments_invalid")
		bad("inst-b4", client.CreateOrderParams{Method: "sandbox", FXQuote: "fxq_x", Installments: &client.InstallmentsParams{Count: 3, FeePayer: "payer"}}, "installments_unsupported")
		e.verifyLedger()
	})
}

// TestSettlementFXOverTheAPI: a USD order without a quote for the demo
// merchant (settling in CNY) settles in a USD batch converted at the day's
// rate: the settlement says the rate, the balance is in CNY, the payout is
// in CNY; the ledger verifies.
func TestSettlementFXOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := payNew(t, e.demo, client.CreateOrderParams{OutTradeNo: "usd-1", Amount: 10000, Currency: "USD", Subject: "Lamp", Method: "sandbox"}) // fee 60
		e.reconcile(o.ID, "payment", o.ChannelAccount, 0)
		d, _ := time.ParseInLocation(time.DateOnly, dayIn(*o.PaidAt), shanghai)
		at := d.AddDate(0, 0, 1).Add(13 * time.Hour)
		rates := map[string]any{"rates": []map[string]any{{"base": "USD", "quote": "CNY", "rate": "7.1234", "source": "boc", "as_of": at.Add(-time.Hour).UTC().Format(time.RFC3339)}}}
		e.clock.Set(at) // the rate is of the settlement day
		if st, body := e.admin("POST", "/admin/v1/fx-rates", rates, nil); st != 200 {
			t.Fatalf("import rates: %d %s", st, body)
		}
		if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": dayIn(*o.PaidAt), "merchant_id": e.g.Demo.App.MerchantID}, nil); st != 200 {
			t.Fatalf("settle: %d %s", st, body)
		}
		e.clock.Set(time.Now())
		list, err := e.demo.ListSettlements(ctx, client.ListParams{})
		if err != nil || len(list.Data) != 1 {
			t.Fatalf("settlements: %v %+v", err, list)
		}
		s := list.Data[0]
		// 9940 cents at 7.1234 less 50 bps → ¥704.53, ¥3.54 of markup.
		if s.Currency != "USD" || s.Net != 9940 || s.FX == nil || s.FX.Currency != "CNY" || s.FX.Net != 70453 || s.FX.Rate != "7.1234" || s.FX.Markup != 354 {
			t.Fatalf("settlement %+v fx %+v", s, s.FX)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil || len(bal.Available) != 2 {
			t.Fatalf("balance: %v %+v", err, bal)
		}
		for _, a := range bal.Available {
			if (a.Currency == "CNY" && a.Amount != 70453) || (a.Currency == "USD" && a.Amount != 0) {
				t.Fatalf("available %+v", bal.Available)
			}
		}
		var paid client.Settlement
		if st, body := e.admin("POST", "/admin/v1/settlements/"+s.ID+"/pay", map[string]any{"bank_reference": "BANK-FX"}, &paid); st != 200 || paid.Status != "paid" {
			t.Fatalf("pay: %d %s", st, body)
		}
		e.verifyLedger()
	})
}
