package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/gateway"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// Transfers over HTTP on both stores: the demo merchant is funded by a
// paid, reconciled and settled order; it pays a transfer, is refused one
// its balance does not cover and one in a currency it never held, sees a
// refused payee's money come back, and a lost answer resolved by the
// worker; every response is signed and checked by the client, and the
// ledger verifies.
func TestTransfersOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := paidOrder(t, e.demo, "trf-fund", 10000) // fee 60: 9940 to settle
		e.reconcile(o.ID, "payment", o.ChannelAccount, 30)
		d, _ := time.ParseInLocation(time.DateOnly, dayIn(*o.PaidAt), shanghai)
		e.clock.Set(d.AddDate(0, 0, 1).Add(13 * time.Hour))
		if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": dayIn(*o.PaidAt), "merchant_id": e.g.Demo.App.MerchantID}, nil); st != 200 {
			t.Fatalf("settle: %d %s", st, body)
		}
		e.clock.Set(time.Now()) // signed responses are checked against the wall clock

		p := client.CreateTransferParams{OutTransferNo: "T1", Amount: 4000, Currency: "CNY",
			Destination: client.TransferDestination{Method: "wechatpay", Account: "o-openid-1", Name: "张三"}, Description: "Seller payout"}
		tr, err := e.demo.CreateTransfer(ctx, p)
		if err != nil || tr.Status != "succeeded" || tr.Amount != 4000 || tr.Destination.Name != "张三" || tr.FinishedAt == nil {
			t.Fatalf("transfer: %v %+v", err, tr)
		}
		again, err := e.demo.CreateTransfer(ctx, p)
		if err != nil || again.ID != tr.ID {
			t.Fatalf("repeat: %v %+v", err, again)
		}
		p.Amount = 4001
		_, err = e.demo.CreateTransfer(ctx, p)
		apiErr(t, err, 409, "duplicate_out_transfer_no")

		short := client.CreateTransferParams{OutTransferNo: "T2", Amount: 5941, Currency: "CNY",
			Destination: client.TransferDestination{Method: "alipay", Account: "buyer@example.com"}}
		_, err = e.demo.CreateTransfer(ctx, short)
		apiErr(t, err, 409, "insufficient_balance")
		short.Currency = "USD"
		_, err = e.demo.CreateTransfer(ctx, short)
		apiErr(t, err, 400, "currency_not_held")

		refused, err := e.demo.CreateTransfer(ctx, client.CreateTransferParams{OutTransferNo: "T3", Amount: 1000, Currency: "CNY",
			Destination: client.TransferDestination{Method: "alipay", Account: sandbox.PayeeInvalid}})
		if err != nil || refused.Status != "failed" || refused.FailureCode != "payee_account_invalid" {
			t.Fatalf("refused payee: %v %+v", err, refused)
		}
		lost, err := e.demo.CreateTransfer(ctx, client.CreateTransferParams{OutTransferNo: "T4", Amount: 940, Currency: "CNY",
			Destination: client.TransferDestination{Method: "sandbox", Account: sandbox.PayeeTimeout}})
		if err != nil || lost.Status != "processing" {
			t.Fatalf("lost answer: %v %+v", err, lost)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil || len(bal.Available) != 1 || bal.Available[0].Amount != 5000 || len(bal.InTransit) != 1 || bal.InTransit[0].Amount != 940 {
			t.Fatalf("balance with a transfer in transit: %v %+v", err, bal)
		}
		if _, err := e.g.Transfers.ResolveDue(ctx, time.Now().Add(2*time.Minute), 100); err != nil {
			t.Fatal(err)
		}
		if got, err := e.demo.GetTransfer(ctx, lost.ID); err != nil || got.Status != "succeeded" {
			t.Fatalf("resolved: %v %+v", err, got)
		}
		list, err := e.demo.ListTransfers(ctx, client.ListParams{Status: "succeeded"})
		if err != nil || len(list.Data) != 2 {
			t.Fatalf("list: %v %+v", err, list)
		}
		evs, err := e.demo.ListEvents(ctx, client.ListParams{Extra: map[string]string{"type": "transfer.failed"}})
		if err != nil || len(evs.Data) != 1 {
			t.Fatalf("transfer.failed events: %v %+v", err, evs)
		}
		other := e.newMerchant("test", false)
		_, err = other.c.GetTransfer(ctx, tr.ID)
		apiErr(t, err, 404, "transfer_not_found")
		e.verifyLedger()
	})
}

// TestFXTransferOverTheAPI: the operator loads a rate, the merchant takes a
// quote and pays a CNY payee out of its USD balance through it; the quote
// is used once; the ledger verifies.
func TestFXTransferOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := payNew(t, e.demo, client.CreateOrderParams{OutTradeNo: "fx-fund", Amount: 100000, Currency: "USD", Subject: "Export", Method: "sandbox"}) // fee 600
		e.reconcile(o.ID, "payment", o.ChannelAccount, 0)
		d, _ := time.ParseInLocation(time.DateOnly, dayIn(*o.PaidAt), shanghai)
		e.clock.Set(d.AddDate(0, 0, 1).Add(13 * time.Hour))
		if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": dayIn(*o.PaidAt), "merchant_id": e.g.Demo.App.MerchantID}, nil); st != 200 {
			t.Fatalf("settle: %d %s", st, body)
		}
		e.clock.Set(time.Now())

		var imp client.FXRateImport
		rates := map[string]any{"rates": []map[string]any{{"base": "USD", "quote": "CNY", "rate": "7.1234", "source": "boc", "as_of": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
		if st, body := e.admin("POST", "/admin/v1/fx-rates", rates, &imp); st != 200 || imp.Imported != 1 {
			t.Fatalf("import rates: %d %s", st, body)
		}
		if st, body := e.admin("POST", "/admin/v1/fx-rates", map[string]any{"rates": []map[string]any{{"base": "USD", "quote": "CNY", "rate": "1e3", "source": "x", "as_of": "2026-01-01T00:00:00Z"}}}, nil); st != 400 {
			t.Fatalf("a bad rate: %d %s", st, body)
		}
		var list client.List[client.FXRate]
		if st, body := e.admin("GET", "/admin/v1/fx-rates?base=USD", nil, &list); st != 200 || len(list.Data) != 1 || list.Data[0].Rate != "7.1234" {
			t.Fatalf("rates: %d %s", st, body)
		}

		q, err := e.demo.CreateFXQuote(ctx, client.CreateFXQuoteParams{From: "USD", To: "CNY", ToAmount: 50000})
		if err != nil || q.Amount != 7055 || q.ToAmount != 50000 || q.MarkupAmount != 256 || q.Rate != "7.1234" {
			t.Fatalf("quote: %v %+v", err, q)
		}
		_, err = e.demo.CreateFXQuote(ctx, client.CreateFXQuoteParams{From: "USD", To: "EUR", Amount: 100})
		apiErr(t, err, 409, "fx_rate_unavailable")
		tr, err := e.demo.CreateTransfer(ctx, client.CreateTransferParams{OutTransferNo: "FX1", FXQuote: q.ID,
			Destination: client.TransferDestination{Method: "alipay", Account: "seller@example.com"}})
		if err != nil || tr.Status != "succeeded" || tr.Amount != 50000 || tr.Currency != "CNY" || tr.SourceAmount != 7055 ||
			tr.SourceCurrency != "USD" || tr.FXQuote == nil || *tr.FXQuote != q.ID {
			t.Fatalf("transfer: %v %+v", err, tr)
		}
		_, err = e.demo.CreateTransfer(ctx, client.CreateTransferParams{OutTransferNo: "FX2", FXQuote: q.ID,
			Destination: client.TransferDestination{Method: "alipay", Account: "seller@example.com"}})
		apiErr(t, err, 409, "fx_quote_used")
		if got, err := e.demo.GetFXQuote(ctx, q.ID); err != nil || !got.Used {
			t.Fatalf("quote after use: %v %+v", err, got)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil || len(bal.Available) != 1 || bal.Available[0] != (client.Amount{Currency: "USD", Amount: 99400 - 7055}) {
			t.Fatalf("balance: %v %+v", err, bal)
		}
		e.verifyLedger()
	})
}

// TestTransfersThroughAlipay: with an Alipay channel account (the
// simulator) in test mode, alipay transfers go to it: paid at once, a
// payee Alipay does not know refused, a lost answer resolved by the worker
// by query; the simulator paid each transfer once, with its amount.
func TestTransfersThroughAlipay(t *testing.T) {
	e := start(t, "sqlite")
	ctx := context.Background()
	s := e.channelAccount("alipay", "alipay.qr")
	o := paidOrder(t, e.demo, "ali-fund", 10000) // sandbox, fee 60
	e.reconcile(o.ID, "payment", o.ChannelAccount, 0)
	d, _ := time.ParseInLocation(time.DateOnly, dayIn(*o.PaidAt), shanghai)
	e.clock.Set(d.AddDate(0, 0, 1).Add(13 * time.Hour))
	if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": dayIn(*o.PaidAt), "merchant_id": e.g.Demo.App.MerchantID}, nil); st != 200 {
		t.Fatalf("settle: %d %s", st, body)
	}
	e.clock.Set(time.Now())

	pay := func(no, account string, amount int64) *client.Transfer {
		t.Helper()
		tr, err := e.demo.CreateTransfer(ctx, client.CreateTransferParams{OutTransferNo: no, Amount: amount, Currency: "CNY",
			Destination: client.TransferDestination{Method: "alipay", Account: account}})
		if err != nil {
			t.Fatalf("transfer %s: %v", no, err)
		}
		return tr
	}
	ok := pay("A1", "buyer@example.com", 3000)
	if ok.Status != "succeeded" || ok.ChannelTransferNo == "" {
		t.Fatalf("paid: %+v", ok)
	}
	refused := pay("A2", simalipay.PayeeMissing, 1000)
	if refused.Status != "failed" || refused.FailureCode != "payee_account_invalid" {
		t.Fatalf("refused: %+v", refused)
	}
	lost := pay("A3", simalipay.PayeeLost, 2000)
	if lost.Status != "processing" {
		t.Fatalf("lost answer: %+v", lost)
	}
	if _, err := e.g.Transfers.ResolveDue(ctx, time.Now().Add(2*time.Minute), 100); err != nil {
		t.Fatal(err)
	}
	if got, err := e.demo.GetTransfer(ctx, lost.ID); err != nil || got.Status != "succeeded" {
		t.Fatalf("resolved: %v %+v", err, got)
	}
	paid := s.sim.(*simalipay.Sim).Transfers()
	if len(paid) != 2 || paid[ok.ID] != 3000 || paid[lost.ID] != 2000 {
		t.Fatalf("the simulator paid %v", paid)
	}
	bal, err := e.demo.GetBalance(ctx)
	if err != nil || bal.Available[0].Amount != 9940-5000 {
		t.Fatalf("balance: %v %+v", err, bal)
	}
	e.verifyLedger()
}

// TestTransfersThroughWeChatPay: with a WeChat Pay channel account (the
// simulator) in test mode, wechatpay transfers go to it as transfer
// batches: accepted (processing), then paid or refused when the worker
// asks; a refused one's money comes back.
func TestTransfersThroughWeChatPay(t *testing.T) {
	e := start(t, "sqlite")
	ctx := context.Background()
	s := e.channelAccount("wechatpay", "wechat.native")
	o := paidOrder(t, e.demo, "wx-fund", 10000) // sandbox, fee 60
	e.reconcile(o.ID, "payment", o.ChannelAccount, 0)
	d, _ := time.ParseInLocation(time.DateOnly, dayIn(*o.PaidAt), shanghai)
	e.clock.Set(d.AddDate(0, 0, 1).Add(13 * time.Hour))
	if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": dayIn(*o.PaidAt), "merchant_id": e.g.Demo.App.MerchantID}, nil); st != 200 {
		t.Fatalf("settle: %d %s", st, body)
	}
	e.clock.Set(time.Now())
	var ids []string
	for i, openid := range []string{"o-payee-1", simwx.PayeeMissing} {
		tr, err := e.demo.CreateTransfer(ctx, client.CreateTransferParams{OutTransferNo: fmt.Sprintf("W%d", i), Amount: 1000, Currency: "CNY",
			Destination: client.TransferDestination{Method: "wechatpay", Account: openid}})
		if err != nil || tr.Status != "processing" || tr.ChannelTransferNo == "" {
			t.Fatalf("transfer %s: %v %+v", openid, err, tr)
		}
		ids = append(ids, tr.ID)
	}
	for range 2 { // the simulator settles a batch once asked
		if _, err := e.g.Transfers.ResolveDue(ctx, time.Now().Add(time.Hour), 100); err != nil {
			t.Fatal(err)
		}
	}
	paid, _ := e.demo.GetTransfer(ctx, ids[0])
	refused, _ := e.demo.GetTransfer(ctx, ids[1])
	if paid.Status != "succeeded" || refused.Status != "failed" || refused.FailureCode != "payee_account_invalid" {
		t.Fatalf("after the worker: %+v / %+v", paid, refused)
	}
	if got := s.sim.(*simwx.Sim).Transfers(); len(got) != 2 {
		t.Fatalf("the simulator's batches: %v", got)
	}
	bal, err := e.demo.GetBalance(ctx)
	if err != nil || bal.Available[0].Amount != 9940-1000 {
		t.Fatalf("balance: %v %+v", err, bal)
	}
	e.verifyLedger()
}

// TestFXRatesFromURL: with fx_rates_url the gateway's job loads the rates a
// URL serves, and quotes carry the configured fx_markup_bps.
func TestFXRatesFromURL(t *testing.T) {
	csv := fmt.Sprintf("base,quote,rate,as_of\nUSD,CNY,7.2,%s\n", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(csv)) }))
	defer srv.Close()
	e := startWith(t, "sqlite", func(c *gateway.Config) { c.FXRatesURL, c.FXMarkupBps = srv.URL+"/rates.csv", 100 })
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := e.demo.CreateFXQuote(ctx, client.CreateFXQuoteParams{From: "USD", To: "CNY", Amount: 10000})
		if err == nil {
			// $100 at 7.2 = ¥720.00, less 100 bps = ¥712.80.
			if q.MarkupBps != 100 || q.ToAmount != 71280 || q.MarkupAmount != 720 || q.RateSource != strings.TrimPrefix(srv.URL, "http://") {
				t.Fatalf("quote = %+v", q)
			}
			return
		}
		apiErr(t, err, 409, "fx_rate_unavailable")
		if time.Now().After(deadline) {
			t.Fatal("the rates job did not load the URL's rates within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
