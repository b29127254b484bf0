package payment_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/store"
)

// The payment service tested directly: real SQLite, the sandbox behind its
// channel account, a fake clock, no HTTP.

func order(no string, amount int64, method string) payment.CreateOrderParams {
	return payment.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: "CNY", Subject: "Coffee", Method: method}
}

func card(number string) *channel.Card {
	return &channel.Card{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123"}
}

// wantCode fails unless err is an *errs.Error with code (and param, when given).
func wantCode(t *testing.T, err error, code, param string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code || (param != "" && e.Param != param) {
		t.Fatalf("error = %v; want %s (param %q)", err, code, param)
	}
}

func events(t *testing.T, env *paymenttest.Env, sc store.Scope, objectID string) []string {
	t.Helper()
	evs, _, err := env.Store.EventList(context.Background(), store.EventFilter{MerchantID: sc.MerchantID, Livemode: sc.Livemode, ObjectID: objectID, ListParams: store.ListParams{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i := len(evs) - 1; i >= 0; i-- { // oldest first
		types = append(types, evs[i].Type)
	}
	return types
}

func verifyLedger(t *testing.T, env *paymenttest.Env) {
	t.Helper()
	rep, err := env.Store.LedgerVerify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("ledger: %+v", rep)
	}
}

func TestSandboxPaymentThroughItsChannelAccount(t *testing.T) {
	t.Parallel()
	env := paymenttest.New(t, paymenttest.Options{})
	ctx := context.Background()
	_, sc, _ := env.Merchant(t, "Shop", 60)

	o, created, err := env.Payments.CreateOrder(ctx, sc, order("A1", 10000, "sandbox"))
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	if o.Status != store.OrderPending || o.ChannelAccountID != channelaccount.SandboxAccountID || o.Channel != sandbox.Name || o.ChannelTradeNo == "" {
		t.Fatalf("created order %+v; want pending on the sandbox account with a trade", o)
	}
	o, err = env.Payments.TestPay(ctx, sc, o.ID, true)
	if err != nil || o.Status != store.OrderSucceeded {
		t.Fatalf("test pay: %v, status %v", err, o.Status)
	}
	b, err := ledger.MerchantBalances(ctx, env.Store, sc.MerchantID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Pending) != 1 || b.Pending[0].Amount != 9940 {
		t.Fatalf("pending balance %+v; want 9940 (10000 less 60 bps)", b.Pending)
	}
	if got := events(t, env, sc, o.ID); len(got) != 1 || got[0] != notify.OrderSucceeded {
		t.Fatalf("events %v; want one order.succeeded", got)
	}
	// A repeat of the create with the same parameters is the same order.
	again, created, err := env.Payments.CreateOrder(ctx, sc, order("A1", 10000, "sandbox"))
	if err != nil || created || again.ID != o.ID {
		t.Fatalf("repeat: %v, created %v, id %s; want the same order", err, created, again.ID)
	}
	_, _, err = env.Payments.CreateOrder(ctx, sc, order("A1", 9999, "sandbox"))
	wantCode(t, err, "duplicate_out_trade_no", "")
	verifyLedger(t, env)
}

func TestDeclineShowsAFixedSentence(t *testing.T) {
	t.Parallel()
	leaky := &channeltest.Fake{ProviderName: "leaky", Caps: channel.Capabilities{Methods: []string{"card"}},
		PayFunc: func(channel.PayRequest) (*channel.PayResponse, error) {
			return nil, &channel.DeclineError{Code: "do_not_honour", Message: "ORA-00942: issuer table BIN_RULES missing for 4000…"}
		}}
	env := paymenttest.New(t, paymenttest.Options{Providers: []channel.Provider{leaky.Provider()}})
	env.Account(t, "leaky", false, "card")
	_, sc, _ := env.Merchant(t, "Shop", 0)
	ctx := context.Background()

	p := order("D1", 500, "card")
	p.Card = card("4242424242424242")
	o, _, err := env.Payments.CreateOrder(ctx, sc, p)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.OrderFailed || o.FailureCode != "do_not_honour" || o.FailureMessage != "The payment channel declined the payment." {
		t.Fatalf("order %s %s %q; want failed with the fixed default sentence", o.Status, o.FailureCode, o.FailureMessage)
	}
	// The sandbox's decline has a sentence of its own.
	p = order("D2", 500, "card")
	p.Card = card(sandbox.CardInsufficientFunds)
	env2 := paymenttest.New(t, paymenttest.Options{})
	_, sc2, _ := env2.Merchant(t, "Shop", 0)
	o, _, err = env2.Payments.CreateOrder(ctx, sc2, p)
	if err != nil {
		t.Fatal(err)
	}
	if o.FailureCode != "insufficient_funds" || o.FailureMessage != "The payer's account has insufficient funds." {
		t.Fatalf("order %s %q", o.FailureCode, o.FailureMessage)
	}
}

func TestMissingPayerInputIsTheMerchantsError(t *testing.T) {
	t.Parallel()
	wechat := &channeltest.Fake{ProviderName: "wx", Caps: channel.Capabilities{Methods: []string{"wechat.h5", "wechat.jsapi"}}}
	env := paymenttest.New(t, paymenttest.Options{Providers: []channel.Provider{wechat.Provider()}})
	env.Account(t, "wx", false, "wechat.h5", "wechat.jsapi")
	_, sc, _ := env.Merchant(t, "Shop", 0)
	ctx := context.Background()

	_, _, err := env.Payments.CreateOrder(ctx, sc, order("H1", 100, "wechat.h5"))
	wantCode(t, err, "parameter_missing", "payer.ip")
	_, _, err = env.Payments.CreateOrder(ctx, sc, order("J1", 100, "wechat.jsapi"))
	wantCode(t, err, "parameter_missing", "payer.id")
	if n := wechat.Pays.Load(); n != 0 {
		t.Fatalf("the channel was asked %d times; want never", n)
	}
	if _, err := env.Store.OrderGetByOutTradeNo(ctx, sc.AppID, "H1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("order H1 was stored (%v); want nothing", err)
	}
}

func TestConcurrentRefundsNeverExceedTheAmount(t *testing.T) {
	t.Parallel()
	env := paymenttest.New(t, paymenttest.Options{})
	_, sc, _ := env.Merchant(t, "Shop", 0)
	ctx := context.Background()
	p := order("R1", 1000, "card")
	p.Card = card(sandbox.CardSuccess)
	o, _, err := env.Payments.CreateOrder(ctx, sc, p)
	if err != nil || o.Status != store.OrderSucceeded {
		t.Fatalf("pay: %v %v", err, o.Status)
	}
	const n = 16
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, results[i] = env.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("r%d", i), Amount: 300})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, errs.RefundExceedsAmount):
		default:
			t.Errorf("refund %d: %v", i, err)
		}
	}
	got, err := env.Store.OrderGet(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 3 || got.AmountRefunded != 900 {
		t.Fatalf("%d refunds of 300 went through, refunded %d; want 3 and 900 of 1000", ok, got.AmountRefunded)
	}
	verifyLedger(t, env)
}

func TestWorkerExpiresAndResolves(t *testing.T) {
	t.Parallel()
	env := paymenttest.New(t, paymenttest.Options{})
	_, sc, _ := env.Merchant(t, "Shop", 0)
	ctx := context.Background()
	w := &payment.Worker{Service: env.Payments}

	qr, _, err := env.Payments.CreateOrder(ctx, sc, order("E1", 100, "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	lost := order("E2", 100, "card")
	lost.Card = card(sandbox.CardTimeout) // charged, but the answer was lost
	unknown, _, err := env.Payments.CreateOrder(ctx, sc, lost)
	if err != nil || unknown.Status != store.OrderProcessing {
		t.Fatalf("card timeout: %v %v; want processing", err, unknown.Status)
	}

	w.RunOnce(ctx) // nothing is due yet
	if o, _ := env.Store.OrderGet(ctx, unknown.ID); o.Status != store.OrderProcessing {
		t.Fatalf("processing order moved to %s before it was due", o.Status)
	}
	env.Clock.Advance(10 * time.Second)
	w.RunOnce(ctx)
	if o, _ := env.Store.OrderGet(ctx, unknown.ID); o.Status != store.OrderSucceeded {
		t.Fatalf("lost card answer: %s after the worker asked; want succeeded", o.Status)
	}
	env.Clock.Advance(payment.DefaultExpiresIn)
	w.RunOnce(ctx)
	o, err := env.Store.OrderGet(ctx, qr.ID)
	if err != nil || o.Status != store.OrderClosed {
		t.Fatalf("expired order %v %v; want closed", err, o.Status)
	}
	if got := events(t, env, sc, qr.ID); len(got) != 1 || got[0] != notify.OrderClosed {
		t.Fatalf("events of the expired order %v; want order.closed", got)
	}
	verifyLedger(t, env)
}

func TestOtherTenantsOrdersAreNotFound(t *testing.T) {
	t.Parallel()
	env := paymenttest.New(t, paymenttest.Options{})
	_, mine, myLive := env.Merchant(t, "Mine", 0)
	_, theirs, _ := env.Merchant(t, "Theirs", 0)
	ctx := context.Background()
	o, _, err := env.Payments.CreateOrder(ctx, mine, order("T1", 100, "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	for name, sc := range map[string]store.Scope{"another merchant": theirs, "live mode": myLive} {
		if _, err := env.Payments.GetOrder(ctx, sc, o.ID); !errors.Is(err, errs.OrderNotFound) {
			t.Errorf("get from %s: %v; want order_not_found", name, err)
		}
		if _, err := env.Payments.CloseOrder(ctx, sc, o.ID); !errors.Is(err, errs.OrderNotFound) {
			t.Errorf("close from %s: %v; want order_not_found", name, err)
		}
	}
	if got, err := env.Payments.GetOrder(ctx, mine, o.ID); err != nil || got.Status != store.OrderPending {
		t.Fatalf("get from its merchant: %v", err)
	}
}

// TestOrphanTradeIsClosedUnderTheServicesLifecycle: two creates of one
// out_trade_no race; the one whose insert loses closes its channel trade in
// the background, and Close waits for that close.
func TestOrphanTradeIsClosedUnderTheServicesLifecycle(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var pays sync.WaitGroup
	pays.Add(2)
	qr := &channeltest.Fake{ProviderName: "qr", Caps: channel.Capabilities{Methods: []string{"alipay.qr"}, Close: true},
		PayFunc: func(r channel.PayRequest) (*channel.PayResponse, error) {
			pays.Done()
			<-release // both creates reach the channel before either inserts
			return &channel.PayResponse{ChannelTradeNo: "T" + r.OrderID, Status: channel.TradeNotPay,
				NextAction: &channel.NextAction{Type: "qr_code", QRCode: "https://qr.example/" + r.OrderID}}, nil
		},
		CloseFunc: func(channel.CloseRequest) error { time.Sleep(50 * time.Millisecond); return nil },
	}
	env := paymenttest.New(t, paymenttest.Options{Providers: []channel.Provider{qr.Provider()}})
	env.Account(t, "qr", false, "alipay.qr")
	_, sc, _ := env.Merchant(t, "Shop", 0)
	ctx := context.Background()

	ids := make([]string, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := env.Payments.CreateOrder(ctx, sc, order("O1", 100, "alipay.qr"))
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			ids[i] = o.ID
		}()
	}
	pays.Wait()
	close(release)
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("the two creates answered %v; want the same order", ids)
	}
	env.Payments.Close()
	if n := qr.Closes.Load(); n != 1 {
		t.Fatalf("%d closes at the channel once Close returned; want the orphan's one", n)
	}
}

// TestCashierPickGivesWeChatH5ThePayersIP: an order made without payer.ip
// can still be paid with wechat.h5 from the cashier, which passes the
// browser's address to the channel, as WeChat's H5 payment needs.
func TestCashierPickGivesWeChatH5ThePayersIP(t *testing.T) {
	t.Parallel()
	var got channel.PayRequest
	wx := &channeltest.Fake{ProviderName: "wx", Caps: channel.Capabilities{Methods: []string{"wechat.h5"}},
		PayFunc: func(r channel.PayRequest) (*channel.PayResponse, error) {
			got = r
			return &channel.PayResponse{ChannelTradeNo: "wx-" + r.OrderID, Status: channel.TradeNotPay,
				NextAction: &channel.NextAction{Type: "redirect", URL: "https://wx.example/h5"}}, nil
		}}
	env := paymenttest.New(t, paymenttest.Options{Providers: []channel.Provider{wx.Provider()}})
	env.Account(t, "wx", false, "wechat.h5")
	_, sc, _ := env.Merchant(t, "Shop", 0)
	ctx := context.Background()
	o, _, err := env.Payments.CreateOrder(ctx, sc, order("C1", 100, ""))
	if err != nil {
		t.Fatal(err)
	}
	if o, err = env.Payments.SelectMethod(ctx, o.ID, "wechat.h5", "203.0.113.7"); err != nil {
		t.Fatalf("pick wechat.h5: %v", err)
	}
	if got.PayerIP != "203.0.113.7" || o.ChannelTradeNo == "" {
		t.Fatalf("channel asked with payer IP %q, order trade %q; want the browser's IP and a trade", got.PayerIP, o.ChannelTradeNo)
	}
}
