package gateway_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/paygate/paygate/client"
)

// TestAlipayCrossBorderPayerAmountOverTheAPI: an Alipay channel account
// that lists USD takes USD alipay.qr orders (sent with trans_currency); the
// payer pays at the simulator in CNY, and the order (and its
// order.succeeded event) shows payer_amount, the CNY paid (pay_amount) at
// the channel's trans_pay_rate, whether the callback or a query (the
// callback dropped) paid it. A CNY order shows none. The ledger verifies.
func TestAlipayCrossBorderPayerAmountOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := newSimulator(t, "alipay")
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		acct := s.Account(srv.URL)
		st, b := e.admin("POST", "/admin/v1/channel-accounts", map[string]any{
			"provider": "alipay", "name": "alipay cross-border simulator", "livemode": false, "base_url": acct.BaseURL,
			"config": acct.Config, "secrets": acct.Secrets, "methods": []string{"alipay.qr"}, "currencies": []string{"CNY", "USD"}, "fee_bps": 38,
		}, nil)
		if st != 201 {
			t.Fatalf("create the account: %d %s", st, b)
		}
		for _, c := range []struct {
			name, currency string
			amount, paid   int64 // paid: CNY fen, 0 when not converted
			query          bool
		}{
			{"usd", "USD", 1999, 14240, false},
			{"usd-query", "USD", 2500, 17808, true},
			{"cny", "CNY", 1000, 0, false},
		} {
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "alix-" + c.name, Amount: c.amount, Currency: c.currency, Subject: "Lamp", Method: "alipay.qr"})
			if err != nil {
				t.Fatalf("create %s: %v", c.name, err)
			}
			o = payAtSimulator(t, e, s, o.ID, c.query)
			var paidEvent struct{ Object client.Order }
			if ev := e.eventOf(e.demo, o.ID, "order.succeeded"); json.Unmarshal(ev.Data, &paidEvent) != nil {
				t.Fatalf("no order.succeeded event for %s", o.ID)
			}
			if c.paid == 0 {
				if o.PayerAmount != nil || paidEvent.Object.PayerAmount != nil {
					t.Fatalf("a %s order shows payer_amount %+v", c.currency, o.PayerAmount)
				}
				continue
			}
			wantPayerAmount(t, o.PayerAmount, c.paid, "CNY", "7.1234")
			wantPayerAmount(t, paidEvent.Object.PayerAmount, c.paid, "CNY", "7.1234")
		}
		e.verifyLedger()
	})
}
