package wechatpay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/id"
)

// globalSetup is newSetup with the account made a WeChat Pay Global
// (cross-border) one.
func globalSetup(t *testing.T, currencies ...string) *setup {
	t.Helper()
	st := newSetup(t)
	st.acct.Config = cloneConfig(st.acct.Config)
	st.acct.Config["global"], st.acct.Config["merchant_category_code"] = "true", "5812"
	delete(st.acct.Config, "papay_plan_id")
	st.acct.Currencies = currencies
	conn, err := wechatpay.New(st.acct)
	if err != nil {
		t.Fatal(err)
	}
	st.conn = conn
	return st
}

func cloneConfig(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// nextNotice waits for the next callback and reads it with the connector.
func nextNotice(t *testing.T, st *setup) *channel.Notification {
	t.Helper()
	select {
	case req := <-st.rec.C:
		n, err := st.conn.Notify(context.Background(), req)
		if err != nil {
			t.Fatalf("notify: %v", err)
		}
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
		return nil
	}
}

// TestCrossBorderPayments pays a USD order and a JPY order through the
// global API of the simulator: the create carries the currency and the
// minor units, the payer pays in CNY at the simulator's rate (USD 7.1234,
// JPY 0.04765432 CNY; half to even), and the notification, the query, a
// partial refund, its notification and the refund that completes the
// order all carry what the payer paid or gets back.
func TestCrossBorderPayments(t *testing.T) {
	st := globalSetup(t)
	ctx := context.Background()
	for _, c := range []struct {
		currency               string
		total, refund          int64
		payerTotal, payerRefnd int64
		rate                   string
	}{
		// 19.99 USD × 7.1234 = 142.396766 CNY → 14240 fen; 5.00 USD → 35.617 → 3562.
		{"USD", 1999, 500, 14240, 3562, "7.1234"},
		// ¥1000 × 0.04765432 = 47.65432 CNY → 4765 fen; ¥300 → 14.296296 → 1430.
		{"JPY", 1000, 300, 4765, 1430, "0.04765432"},
	} {
		t.Run(c.currency, func(t *testing.T) {
			now := time.Now()
			oid := id.New(id.Order, now)
			resp, err := st.conn.Pay(ctx, channel.PayRequest{OrderID: oid, CreatedAt: now, Subject: "Lamp", Method: wechatpay.MethodNative,
				Amount: c.total, Currency: c.currency, ExpiresAt: now.Add(time.Hour)})
			if err != nil || resp.NextAction == nil || !strings.HasPrefix(resp.NextAction.QRCode, "weixin://") {
				t.Fatalf("pay: %v %+v", err, resp)
			}
			q, err := st.conn.Query(ctx, channel.QueryRequest{OrderID: oid, Method: wechatpay.MethodNative})
			if err != nil || q.Status != channel.TradeNotPay || q.Amount != c.total || q.Currency != c.currency || q.PayerAmount != 0 {
				t.Fatalf("query unpaid: %v %+v", err, q)
			}
			if err := st.sim.PayerPays(oid); err != nil {
				t.Fatal(err)
			}
			n := nextNotice(t, st)
			if n.Kind != channel.NotifyPayment || n.OrderID != oid || n.Status != channel.TradeSuccess || n.Amount != c.total || n.Currency != c.currency ||
				n.PayerAmount != c.payerTotal || n.PayerCurrency != "CNY" || n.ExchangeRate != c.rate || n.ChannelTradeNo == oid || n.ChannelTradeNo == "" {
				t.Fatalf("payment notification %+v", n)
			}
			q, err = st.conn.Query(ctx, channel.QueryRequest{OrderID: oid, Method: wechatpay.MethodNative})
			if err != nil || q.Status != channel.TradeSuccess || q.PayerAmount != c.payerTotal || q.PayerCurrency != "CNY" || q.ExchangeRate != c.rate ||
				q.ChannelTradeNo != n.ChannelTradeNo || q.PaidAt.IsZero() {
				t.Fatalf("query paid: %v %+v", err, q)
			}

			rid := id.New(id.Refund, now)
			rr, err := st.conn.Refund(ctx, channel.RefundRequest{RefundID: rid, OrderID: oid, Amount: c.refund, Total: c.total, Currency: c.currency, Reason: "broken"})
			if err != nil || rr.Status != channel.RefundProcessing || rr.PayerAmount != c.payerRefnd || rr.PayerCurrency != "CNY" || rr.ChannelRefundNo == "" {
				t.Fatalf("refund: %v %+v", err, rr)
			}
			n = nextNotice(t, st)
			if n.Kind != channel.NotifyRefund || n.RefundID != rid || n.RefundStatus != channel.RefundSuccess || n.RefundAmount != c.refund ||
				n.Amount != c.total || n.Currency != c.currency || n.PayerAmount != c.payerRefnd || n.ChannelRefundNo != rr.ChannelRefundNo {
				t.Fatalf("refund notification %+v", n)
			}
			got, err := st.conn.RefundQuery(ctx, channel.RefundQueryRequest{RefundID: rid, OrderID: oid})
			if err != nil || got.Status != channel.RefundSuccess || got.PayerAmount != c.payerRefnd {
				t.Fatalf("refund query: %v %+v", err, got)
			}
			// The rest: the payer gets back what is left of payer_total.
			rest := id.New(id.Refund, now.Add(time.Millisecond))
			rr, err = st.conn.Refund(ctx, channel.RefundRequest{RefundID: rest, OrderID: oid, Amount: c.total - c.refund, Total: c.total, Currency: c.currency})
			if err != nil || rr.PayerAmount != c.payerTotal-c.payerRefnd {
				t.Fatalf("last refund: %v %+v, want payer_refund %d", err, rr, c.payerTotal-c.payerRefnd)
			}
			nextNotice(t, st)
			// A refund in another currency than the order's is refused.
			_, err = st.conn.Refund(ctx, channel.RefundRequest{RefundID: id.New(id.Refund, now.Add(2*time.Millisecond)), OrderID: oid, Amount: 1, Total: c.total, Currency: "EUR"})
			if !errors.Is(err, channel.ErrInvalidRequest) {
				t.Fatalf("refund in EUR: %v, want ErrInvalidRequest", err)
			}
		})
	}
}

// TestCrossBorderRefusals: what a global or domestic account must refuse
// before (or instead of) calling WeChat.
func TestCrossBorderRefusals(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	order := func(method, currency string, amount int64) channel.PayRequest {
		now = now.Add(time.Millisecond)
		return channel.PayRequest{OrderID: id.New(id.Order, now), Subject: "Lamp", Method: method, Amount: amount, Currency: currency, PayerIP: "203.0.113.7", PayerID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
	}

	// A domestic account takes CNY only: a USD order is refused, and an
	// account listing USD is not made.
	dom := newSetup(t)
	if _, err := dom.conn.Pay(ctx, order(wechatpay.MethodNative, "USD", 100)); !errors.Is(err, channel.ErrNotSupported) || !strings.Contains(err.Error(), "global") {
		t.Fatalf("domestic USD: %v, want ErrNotSupported naming the global account", err)
	}
	if _, err := dom.conn.Refund(ctx, channel.RefundRequest{RefundID: "rfd_x", OrderID: "ord_x", Amount: 1, Total: 2, Currency: "USD"}); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("domestic USD refund: %v, want ErrNotSupported", err)
	}
	a := dom.acct
	a.Currencies = []string{"CNY", "USD"}
	if _, err := wechatpay.New(a); err == nil {
		t.Fatal("a domestic account listing USD was made")
	}
	// A global account needs its MCC, takes no micropay and no bill.
	a = dom.acct
	a.Config = cloneConfig(a.Config)
	a.Config["global"] = "true"
	if _, err := wechatpay.New(a); err == nil || !strings.Contains(err.Error(), "merchant_category_code") {
		t.Fatalf("global without MCC: %v", err)
	}
	a.Config["global"] = "yes"
	if _, err := wechatpay.New(a); err == nil {
		t.Fatal("global \"yes\" accepted")
	}
	a.Config["global"], a.Config["merchant_category_code"] = "true", "5812"
	a.Methods = []string{wechatpay.MethodNative, wechatpay.MethodMicropay}
	if _, err := wechatpay.New(a); err == nil {
		t.Fatal("a global account serving micropay was made")
	}

	st := globalSetup(t, "USD", "JPY")
	caps := st.conn.Capabilities()
	if caps.Bill || caps.Reverse || caps.Supports(wechatpay.MethodMicropay, "USD") || !caps.Supports(wechatpay.MethodH5, "JPY") {
		t.Fatalf("global capabilities %+v", caps)
	}
	if _, err := st.conn.Bill(ctx, channel.BillRequest{Date: now}); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("global bill: %v, want ErrNotSupported", err)
	}
	for _, r := range []channel.PayRequest{
		order(wechatpay.MethodNative, "EUR", 100),   // not among the account's
		order(wechatpay.MethodNative, "USD", -100),  // negative
		order(wechatpay.MethodNative, "USD", 0),     // nothing
		order(wechatpay.MethodMicropay, "USD", 100), // not served
	} {
		if _, err := st.conn.Pay(ctx, r); !errors.Is(err, channel.ErrInvalidRequest) && !errors.Is(err, channel.ErrNotSupported) {
			t.Errorf("pay %s %d %s: %v, want a refusal", r.Method, r.Amount, r.Currency, err)
		}
	}
	if _, err := st.conn.Refund(ctx, channel.RefundRequest{RefundID: "rfd_x", OrderID: "ord_x", Amount: -1, Total: 100, Currency: "USD"}); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("negative refund: %v", err)
	}
	// Every kind of create reaches the global API (H5 at …/mweb) and is
	// closed there; the domestic API does not know the trade.
	for _, m := range []string{wechatpay.MethodNative, wechatpay.MethodJSAPI, wechatpay.MethodApp, wechatpay.MethodH5} {
		r := order(m, "JPY", 500)
		if _, err := st.conn.Pay(ctx, r); err != nil {
			t.Fatalf("pay %s: %v", m, err)
		}
		if _, err := dom.conn.Query(ctx, channel.QueryRequest{OrderID: r.OrderID}); err == nil {
			t.Fatalf("%s: a domestic account of another simulator saw the trade", m)
		}
		if _, err := newSetupSharing(t, st).Query(ctx, channel.QueryRequest{OrderID: r.OrderID}); !errors.Is(err, channel.ErrTradeNotFound) {
			t.Fatalf("%s: the domestic API knows a global trade: %v", m, err)
		}
		if err := st.conn.Close(ctx, channel.CloseRequest{OrderID: r.OrderID}); err != nil {
			t.Fatalf("close %s: %v", m, err)
		}
		if q, err := st.conn.Query(ctx, channel.QueryRequest{OrderID: r.OrderID}); err != nil || q.Status != channel.TradeClosed {
			t.Fatalf("after close %s: %v %+v", m, err, q)
		}
	}
}

// newSetupSharing is a domestic connector on st's simulator.
func newSetupSharing(t *testing.T, st *setup) channel.Connector {
	t.Helper()
	a := st.sim.Account(st.srv.URL)
	a.NotifyURL = st.rec.URL
	conn, err := wechatpay.New(a)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestGlobalDefaultHost: a global account left at the provider's default
// base URL (the domestic host, as the admin API fills it in) calls the
// global host; a simulator's address is kept.
func TestGlobalDefaultHost(t *testing.T) {
	st := globalSetup(t)
	var hosts []string
	a := st.acct
	a.BaseURL = wechatpay.DefaultBaseURL
	a.HTTPClient = &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.URL.Host)
		return nil, errors.New("offline")
	})}
	conn, err := wechatpay.New(a)
	if err != nil {
		t.Fatal(err)
	}
	conn.Query(context.Background(), channel.QueryRequest{OrderID: "ord_x"})
	if len(hosts) != 1 || "https://"+hosts[0] != wechatpay.DefaultGlobalBaseURL {
		t.Fatalf("called %v, want %s", hosts, wechatpay.DefaultGlobalBaseURL)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
