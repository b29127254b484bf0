package alipay_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/alipay"
	"github.com/paygate/paygate/internal/id"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
)

// crossBorderSetup is newSetup with an account that also takes USD and JPY.
func crossBorderSetup(t *testing.T) *setup {
	t.Helper()
	st := newSetup(t)
	st.acct.Currencies = []string{"CNY", "USD", "JPY"}
	conn, err := alipay.New(st.acct)
	if err != nil {
		t.Fatal(err)
	}
	st.conn = conn
	return st
}

// TestCrossBorderAndHuabei sends a USD order settled in CNY with trans_currency
// and settle_currency, and a CNY order in Huabei instalments with hb_fq_num
// and hb_fq_seller_percent in extend_params, to the simulator, which keeps
// them and answers them in the query; bad counts and currencies the
// connector cannot write are refused before any call.
func TestCrossBorderAndHuabei(t *testing.T) {
	st := crossBorderSetup(t)
	ctx := context.Background()
	now := time.Now()
	pay := func(r channel.PayRequest) (string, error) {
		t.Helper()
		r.OrderID, r.CreatedAt, r.Subject, r.ExpiresAt = id.New(id.Order, now), now, "Lamp", now.Add(time.Hour)
		_, err := st.conn.Pay(ctx, r)
		return r.OrderID, err
	}
	no, err := pay(channel.PayRequest{Method: alipay.MethodQR, Amount: 1999, Currency: "USD", SettleCurrency: "CNY"})
	if err != nil {
		t.Fatal(err)
	}
	if terms, ok := st.sim.TradeTerms(no); !ok || terms != (simalipay.Terms{TransCurrency: "USD", SettleCurrency: "CNY"}) {
		t.Fatalf("terms %+v %v", terms, ok)
	}
	// A page pay's trade is made when the payer's browser follows the
	// signed URL.
	now = now.Add(time.Second)
	page := channel.PayRequest{OrderID: id.New(id.Order, now), CreatedAt: now, Subject: "Lamp", Method: alipay.MethodPage, Amount: 60000, Currency: "CNY",
		Installments: &channel.Installments{Count: 6, SellerPays: true}}
	resp, err := st.conn.Pay(ctx, page)
	if err != nil || resp.NextAction == nil {
		t.Fatalf("page pay: %v %+v", err, resp)
	}
	res, err := http.Get(resp.NextAction.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	no = page.OrderID
	if terms, ok := st.sim.TradeTerms(no); !ok || terms != (simalipay.Terms{HbFqNum: "6", HbFqSellerPercent: "100"}) {
		t.Fatalf("terms %+v %v", terms, ok)
	}
	no, err = pay(channel.PayRequest{Method: alipay.MethodQR, Amount: 60000, Currency: "CNY", Installments: &channel.Installments{Count: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.sim.Scan(no); err != nil {
		t.Fatal(err)
	}
	if err := st.sim.PayerPays(no); err != nil {
		t.Fatal(err)
	}
	if terms, _ := st.sim.TradeTerms(no); terms.HbFqNum != "3" || terms.HbFqSellerPercent != "0" {
		t.Fatalf("terms %+v", terms)
	}
	q, err := st.conn.Query(ctx, channel.QueryRequest{OrderID: no, CreatedAt: now, Method: alipay.MethodQR})
	if err != nil || q.Status != channel.TradeSuccess {
		t.Fatalf("query: %v %+v", err, q)
	}

	if _, err := pay(channel.PayRequest{Method: alipay.MethodQR, Amount: 60000, Currency: "CNY", Installments: &channel.Installments{Count: 24}}); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("24 instalments: %v, want ErrInvalidRequest", err)
	}
	if _, err := pay(channel.PayRequest{Method: alipay.MethodQR, Amount: 1000, Currency: "JPY"}); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("JPY: %v, want ErrNotSupported", err)
	}
}

// TestCrossBorderPayerAmount: a paid USD trade's query answer gives the
// order's currency (trans_currency) and what the payer paid in CNY
// (pay_currency, pay_amount) at trans_pay_rate; a CNY trade's gives none.
func TestCrossBorderPayerAmount(t *testing.T) {
	st := crossBorderSetup(t)
	ctx := context.Background()
	now := time.Now()
	for _, c := range []struct {
		currency string
		amount   int64
		want     channel.QueryResponse
	}{
		{"USD", 1999, channel.QueryResponse{Currency: "USD", PayerAmount: 14240, PayerCurrency: "CNY", ExchangeRate: "7.1234"}},
		{"CNY", 1999, channel.QueryResponse{Currency: "CNY"}},
	} {
		r := channel.PayRequest{OrderID: id.New(id.Order, now), CreatedAt: now, Subject: "Lamp", ExpiresAt: now.Add(time.Hour),
			Method: alipay.MethodQR, Amount: c.amount, Currency: c.currency}
		if _, err := st.conn.Pay(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := st.sim.Scan(r.OrderID); err != nil {
			t.Fatal(err)
		}
		if err := st.sim.PayerPays(r.OrderID); err != nil {
			t.Fatal(err)
		}
		q, err := st.conn.Query(ctx, channel.QueryRequest{OrderID: r.OrderID, CreatedAt: now, Method: alipay.MethodQR})
		if err != nil || q.Status != channel.TradeSuccess || q.Amount != c.amount {
			t.Fatalf("query %s: %v %+v", c.currency, err, q)
		}
		if q.Currency != c.want.Currency || q.PayerAmount != c.want.PayerAmount || q.PayerCurrency != c.want.PayerCurrency || q.ExchangeRate != c.want.ExchangeRate {
			t.Fatalf("query %s: %+v, want %+v", c.currency, q, c.want)
		}
		now = now.Add(time.Second)
	}
}
