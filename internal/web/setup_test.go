package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/web"
)

// bundle is a cashier on a real SQLite store, served on loopback, with one
// merchant that has a test app and a live app.
type bundle struct {
	t        *testing.T
	url      string
	clock    *clock.Fake
	store    store.Store
	payments *payment.Service
	accounts *account.Service
	merchant *store.Merchant
	testApp  *account.NewApp
	liveApp  *account.NewApp
	live     *fakeChannel
	billing  *billing.Service
	http     *http.Client // does not follow redirects
	// onRequest, when set, sees each request as it reaches the cashier.
	onRequest func(r *http.Request)
}

const merchantName = "Lumière Café"

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	live := newFakeChannel()
	env := paymenttest.New(t, paymenttest.Options{
		Start: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
		Providers: []channel.Provider{{Name: live.Name(), Methods: live.Capabilities().Methods,
			New: func(channel.Account) (channel.Connector, error) { return live, nil }}},
	})
	env.Account(t, live.Name(), true, live.Capabilities().Methods...)
	st, fake := env.Store, env.Clock
	b := &bundle{t: t, clock: fake, store: st, live: live, accounts: env.Accounts, payments: env.Payments,
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	var err error
	if b.merchant, err = b.accounts.CreateMerchant(ctx, account.MerchantParams{Name: merchantName, FeeRateBps: 60}); err != nil {
		t.Fatal(err)
	}
	if b.testApp, err = b.accounts.CreateApp(ctx, b.merchant.ID, account.AppParams{Name: "shop", Mode: "test"}); err != nil {
		t.Fatal(err)
	}
	if b.liveApp, err = b.accounts.CreateApp(ctx, b.merchant.ID, account.AppParams{Name: "shop", Mode: "live"}); err != nil {
		t.Fatal(err)
	}
	b.billing = &billing.Service{Store: st, Clock: fake, Payments: env.Payments, Channels: env.Channels, Router: env.Router,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	env.Payments.Sources, env.Payments.OrderSettled = b.billing, b.billing.OrderSettled
	env.Payments.CardKey = env.Box.DeriveKey(payment.CardKeyLabel)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.onRequest != nil {
			b.onRequest(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	b.payments.PublicURL = srv.URL
	b.billing.PublicURL = srv.URL
	h = web.New(web.Config{Payments: b.payments, Billing: b.billing, Store: st, Accounts: b.accounts, Clock: fake, PublicURL: srv.URL,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return b
}

func (b *bundle) scope(live bool) payment.Scope {
	app := b.testApp.App
	if live {
		app = b.liveApp.App
	}
	return payment.Scope{MerchantID: b.merchant.ID, AppID: app.ID, Livemode: live}
}

// order creates an order through the payment service.
func (b *bundle) order(live bool, p payment.CreateOrderParams) *store.Order {
	b.t.Helper()
	if p.Subject == "" {
		p.Subject = "Flat white"
	}
	if p.Currency == "" {
		p.Currency = "CNY"
	}
	if p.Amount == 0 {
		p.Amount = 1850
	}
	if p.OutTradeNo == "" {
		p.OutTradeNo = "T" + strings.ReplaceAll(b.t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000")
	}
	o, _, err := b.payments.CreateOrder(context.Background(), b.scope(live), p)
	if err != nil {
		b.t.Fatalf("create order: %v", err)
	}
	return o
}

func (b *bundle) reload(id string) *store.Order {
	b.t.Helper()
	o, err := b.store.OrderGet(context.Background(), id)
	if err != nil {
		b.t.Fatalf("get order %s: %v", id, err)
	}
	return o
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   string
}

func (b *bundle) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

// get fetches path with the given Accept-Language ("" for none).
func (b *bundle) get(path, lang string) response {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.url+path, nil)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	return b.do(req)
}

// post submits a form to path as the cashier page does.
func (b *bundle) post(path string, form url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// fakeChannel is a live channel: wechat.native and alipay.qr answer with a QR
// code, alipay.page with a page of the channel's own. It counts Pay calls.
type fakeChannel struct {
	pays    atomic.Int32
	PayFunc func(r channel.PayRequest) (*channel.PayResponse, error)
}

func newFakeChannel() *fakeChannel {
	f := &fakeChannel{}
	f.PayFunc = func(r channel.PayRequest) (*channel.PayResponse, error) {
		switch r.Method {
		case "alipay.page":
			return &channel.PayResponse{ChannelTradeNo: "fk_" + r.OrderID, Status: channel.TradeNotPay,
				NextAction: &channel.NextAction{Type: "redirect", URL: "https://openapi.alipay.invalid/gateway.do?trade=" + r.OrderID}}, nil
		}
		return &channel.PayResponse{ChannelTradeNo: "fk_" + r.OrderID, Status: channel.TradeNotPay,
			NextAction: &channel.NextAction{Type: "qr_code", QRCode: "weixin://wxpay/bizpayurl?pr=" + r.OrderID}}, nil
	}
	return f
}

func (f *fakeChannel) Name() string { return "fakelive" }
func (f *fakeChannel) Capabilities() channel.Capabilities {
	return channel.Capabilities{Methods: []string{"card", "wechat.native", "wechat.micropay", "alipay.qr", "alipay.page"}, Query: true, Close: true}
}
func (f *fakeChannel) Pay(ctx context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	f.pays.Add(1)
	return f.PayFunc(r)
}
func (f *fakeChannel) Query(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	return &channel.QueryResponse{ChannelTradeNo: r.ChannelTradeNo, Status: channel.TradeNotPay}, nil
}
func (f *fakeChannel) Close(ctx context.Context, r channel.CloseRequest) error { return nil }
func (f *fakeChannel) Refund(ctx context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	return nil, channel.ErrNotSupported
}
func (f *fakeChannel) RefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	return nil, channel.ErrNotSupported
}
func (f *fakeChannel) Reverse(ctx context.Context, r channel.CloseRequest) error {
	return channel.ErrNotSupported
}
func (f *fakeChannel) Notify(ctx context.Context, r channel.NotifyRequest) (*channel.Notification, error) {
	return nil, channel.ErrNotSupported
}
func (f *fakeChannel) NotifyReply(err error) channel.NotifyReply {
	return channel.NotifyReply{Status: 404}
}
func (f *fakeChannel) Bill(ctx context.Context, r channel.BillRequest) (*channel.Bill, error) {
	return nil, channel.ErrNotSupported
}
