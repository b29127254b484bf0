package gateway_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// TestWeChatPayCrossBorderOverTheAPI: a WeChat Pay Global channel account
// (config global, merchant_category_code, currencies USD and JPY) takes a
// USD and a JPY wechat.native order through the merchant API; the payer
// pays at the simulator in CNY, the callback succeeds each order in its
// own currency, a partial refund goes through the global refund API and
// succeeds; a domestic account refuses a USD order (400
// method_unsupported, not 502: repeating it cannot help); the ledger
// verifies.
func TestWeChatPayCrossBorderOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := newSimulator(t, "wechatpay").(*simwx.Sim)
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		acct := s.Account(srv.URL)
		acct.Config["global"], acct.Config["merchant_category_code"] = "true", "5812"
		delete(acct.Config, "papay_plan_id")
		st, b := e.admin("POST", "/admin/v1/channel-accounts", map[string]any{
			"provider": "wechatpay", "name": "wechatpay global simulator", "livemode": false, "base_url": acct.BaseURL,
			"config": acct.Config, "secrets": acct.Secrets, "methods": []string{"wechat.native"}, "currencies": []string{"USD", "JPY"}, "fee_bps": 38,
		}, nil)
		if st != 201 {
			t.Fatalf("create the global account: %d %s", st, b)
		}
		// A domestic account for H5 only: its USD order is refused.
		e.channelAccount("wechatpay", "wechat.h5")
		_, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "wxg-h5", Amount: 1999, Currency: "USD", Subject: "Lamp", Method: "wechat.h5",
			Payer: &client.Payer{IP: "203.0.113.7"}})
		apiErr(t, err, 400, "method_unsupported")

		for _, c := range []struct {
			currency             string
			amount, refund, paid int64
		}{{"USD", 1999, 500, 14240}, {"JPY", 1000, 300, 4765}} {
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "wxg-" + c.currency, Amount: c.amount, Currency: c.currency, Subject: "Lamp", Method: "wechat.native"})
			if err != nil || o.NextAction == nil || o.NextAction.QRCode == "" {
				t.Fatalf("create %s: %v %+v", c.currency, err, o)
			}
			if err := s.PayerPays(o.ID); err != nil {
				t.Fatal(err)
			}
			o = waitOrder(t, e.demo, o.ID, "succeeded")
			if o.Amount != c.amount || o.Currency != c.currency {
				t.Fatalf("paid order %+v", o)
			}
			if fen, _, ok := s.PayerTotal(o.ID); !ok || fen != c.paid {
				t.Fatalf("the payer paid %d fen, want %d", fen, c.paid)
			}
			r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "r-" + c.currency, Amount: c.refund})
			if err != nil {
				t.Fatalf("refund: %v", err)
			}
			deadline := time.Now().Add(15 * time.Second)
			for r.Status != "succeeded" {
				if time.Now().After(deadline) {
					t.Fatalf("refund %s is %s", r.ID, r.Status)
				}
				e.clock.Advance(10 * time.Second)
				e.g.Worker.RunOnce(ctx)
				time.Sleep(50 * time.Millisecond)
				if r, err = e.demo.GetRefund(ctx, r.ID); err != nil {
					t.Fatal(err)
				}
			}
			if r.Currency != c.currency || r.Amount != c.refund {
				t.Fatalf("refund %+v", r)
			}
		}
		e.verifyLedger()
	})
}
