package gateway_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/sim"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// TestWeChatPayCrossBorderOverTheAPI: a WeChat Pay Global channel account
// (config global, merchant_category_code, currencies USD and JPY) takes a
// USD and a JPY wechat.native order through the merchant API; the payer
// pays at the simulator in CNY, the callback succeeds each order in its
// own currency, a partial refund goes through the global refund API and
// succeeds; a domestic account refuses a USD order (400
// method_unsupported, not 502: repeating it cannot help); the ledger
// verifies. The order (and its order.succeeded event) shows payer_amount,
// what the payer paid in CNY and the channel's rate, whether the
// notification or a query (the notification dropped) paid it; the refund
// shows what went back to the payer in CNY.
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
			name, currency                    string
			amount, refund, paid, payerRefund int64
			rate                              string
			query                             bool // the notification is dropped: a query pays the order
		}{
			{"USD", "USD", 1999, 500, 14240, 3562, "7.1234", false},
			{"JPY", "JPY", 1000, 300, 4765, 1430, "0.04765432", false},
			{"USD-query", "USD", 2500, 2500, 17808, 17808, "7.1234", true},
		} {
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "wxg-" + c.name, Amount: c.amount, Currency: c.currency, Subject: "Lamp", Method: "wechat.native"})
			if err != nil || o.NextAction == nil || o.NextAction.QRCode == "" {
				t.Fatalf("create %s: %v %+v", c.name, err, o)
			}
			o = payAtSimulator(t, e, s, o.ID, c.query)
			wantPayerAmount(t, o.PayerAmount, c.paid, "CNY", c.rate)
			var paidEvent struct { // the signed webhook payload's data
				Object client.Order `json:"object"`
			}
			if ev := e.eventOf(e.demo, o.ID, "order.succeeded"); json.Unmarshal(ev.Data, &paidEvent) != nil {
				t.Fatalf("no order.succeeded event for %s", o.ID)
			}
			wantPayerAmount(t, paidEvent.Object.PayerAmount, c.paid, "CNY", c.rate)
			if o.Amount != c.amount || o.Currency != c.currency {
				t.Fatalf("paid order %+v", o)
			}
			if fen, _, ok := s.PayerTotal(o.ID); !ok || fen != c.paid {
				t.Fatalf("the payer paid %d fen, want %d", fen, c.paid)
			}
			r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "r-" + c.name, Amount: c.refund})
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
			wantPayerAmount(t, r.PayerAmount, c.payerRefund, "CNY", "")
		}
		e.verifyLedger()
	})
}

// wantPayerAmount fails t unless got is amount of currency at rate.
func wantPayerAmount(t *testing.T, got *client.PayerAmount, amount int64, currency, rate string) {
	t.Helper()
	if got == nil || got.Amount != amount || got.Currency != currency || got.ExchangeRate != rate {
		t.Fatalf("payer_amount %+v, want %d %s at %q", got, amount, currency, rate)
	}
}

// payAtSimulator has the payer pay order id at s and waits for the order to
// succeed. With dropNotify the channel's notification is lost: the order
// must stay unpaid until a sync asks the channel (the query path).
func payAtSimulator(t *testing.T, e *env, s sim.Simulator, id string, dropNotify bool) *client.Order {
	t.Helper()
	if dropNotify {
		s.SetFault(sim.FaultDropNotify, 0)
	}
	if err := s.PayerPays(id); err != nil {
		t.Fatal(err)
	}
	if dropNotify {
		time.Sleep(100 * time.Millisecond)
		if got, err := e.demo.GetOrder(context.Background(), id); err != nil || got.Status == "succeeded" {
			t.Fatalf("order %s paid with its notification dropped: %v %+v", id, err, got)
		}
		s.SetFault(sim.FaultNone, 0)
		if _, err := e.demo.SyncOrder(context.Background(), id); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
	return waitOrder(t, e.demo, id, "succeeded")
}
