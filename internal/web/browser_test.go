package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/web/browsertest"
)

// returnReceiver is the merchant's return page: it records each request.
type returnReceiver struct {
	url string
	got chan *http.Request
}

func newReturnReceiver(t *testing.T) *returnReceiver {
	rr := &returnReceiver{got: make(chan *http.Request, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path != "/shop/return" {
			http.NotFound(w, r)
			return
		}
		rr.got <- r
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>Back at the shop</title><p id="back">Thank you</p>`)
	}))
	t.Cleanup(srv.Close)
	rr.url = srv.URL + "/shop/return"
	return rr
}

// wait returns the next return request, within d.
func (rr *returnReceiver) wait(t *testing.T, d time.Duration) *http.Request {
	t.Helper()
	select {
	case r := <-rr.got:
		return r
	case <-time.After(d):
		t.Fatalf("the browser did not come back to the return URL within %s", d)
		return nil
	}
}

// startGateway runs a whole gateway (real clock, SQLite, demo merchant) on loopback.
func startGateway(t *testing.T) *gateway.Gateway {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "paygate.db"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.OpenWith(context.Background(), gateway.Config{
		Addr: "127.0.0.1:0", Database: "sqlite:" + filepath.Join(dir, "paygate.db"), AdminToken: "op_browser_test",
		MasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerInterval: time.Hour,
	}, st, io.Discard)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && err != http.ErrServerClosed {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("gateway did not stop within 30 s")
		}
	})
	return g
}

// checkReturn verifies the return request's signature and parameters.
func checkReturn(t *testing.T, r *http.Request, secret string, o *client.Order) url.Values {
	t.Helper()
	q := r.URL.Query()
	if err := client.VerifyReturnURL(q, secret); err != nil {
		t.Errorf("return URL %s does not verify: %v", r.URL, err)
	}
	for k, v := range map[string]string{"order_id": o.ID, "out_trade_no": o.OutTradeNo, "status": "succeeded", "cart": "42"} {
		if q.Get(k) != v {
			t.Errorf("return parameter %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		t.Errorf("return request leaked Referer %q", ref)
	}
	tampered, _ := url.ParseQuery(q.Encode())
	tampered.Set("status", "failed")
	if client.VerifyReturnURL(tampered, secret) == nil {
		t.Error("a tampered return URL verifies")
	}
	return q
}

// TestBrowserPaysAndReturns drives the cashier in headless Chromium: the
// payer picks WeChat Pay, sees the QR code, pays with the test button and
// lands on the merchant's return URL with parameters whose signature verifies.
// A second order is paid behind the page's back, and the page's polling
// sends the payer back.
func TestBrowserPaysAndReturns(t *testing.T) {
	br := browsertest.New(t)
	g := startGateway(t)
	rr := newReturnReceiver(t)
	ctx := context.Background()
	c, err := client.New(g.URL(), client.WithSecretKey(g.Demo.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	secret := g.Demo.WebhookSecret

	t.Run("click", func(t *testing.T) {
		br.T = t
		o, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "browser-1", Amount: 2599, Currency: "CNY",
			Subject: "Pour-over coffee", ReturnURL: rr.url + "?cart=42"})
		if err != nil {
			t.Fatal(err)
		}
		if o.NextAction == nil || o.NextAction.Type != "redirect" || !strings.HasSuffix(o.NextAction.URL, "/pay/"+o.ID) {
			t.Fatalf("next_action %+v, want a redirect to the cashier", o.NextAction)
		}
		br.Do(20*time.Second,
			chromedp.Navigate(o.NextAction.URL),
			chromedp.WaitVisible(chromedp.CSS(`button[value="wechat.native"]`)),
		)
		if amount := browsertest.Eval[string](br, `document.getElementById('amount').textContent`); amount != "CN¥25.99CNY" {
			t.Errorf("amount reads %q", amount)
		}
		// The countdown is live: it moves without a reload.
		first := browsertest.Eval[string](br, `document.getElementById('countdown').textContent`)
		br.Do(10*time.Second, chromedp.Poll[chromedp.Void](
			fmt.Sprintf(`document.getElementById('countdown').textContent !== %q`, first), chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))

		br.Do(20*time.Second,
			chromedp.Click(chromedp.CSS(`button[value="wechat.native"]`)),
			chromedp.WaitVisible(chromedp.ID("qr")),
		)
		br.Do(10*time.Second, chromedp.Poll[chromedp.Void](
			`document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))
		if got, err := c.GetOrder(ctx, o.ID); err != nil || got.Method != "wechat.native" || got.NextAction == nil || got.NextAction.Type != "qr_code" {
			t.Fatalf("after the pick: %+v %v", got, err)
		}

		br.Do(20*time.Second, chromedp.Click(chromedp.ID("test-pay")))
		r := rr.wait(t, 20*time.Second)
		checkReturn(t, r, secret, o)
		br.Do(10*time.Second, chromedp.WaitVisible(chromedp.ID("back")))
		loc, _ := chromedp.Run(br.Ctx, chromedp.Location())
		if !strings.HasPrefix(loc, rr.url+"?") {
			t.Errorf("browser is at %s", loc)
		}
		if ref := browsertest.Eval[string](br, `document.referrer`); ref != "" {
			t.Errorf("return page sees referrer %q", ref)
		}
		if got, err := c.GetOrder(ctx, o.ID); err != nil || got.Status != "succeeded" {
			t.Fatalf("order after the browser paid: %+v %v", got, err)
		}
		br.NoProblems()
	})

	t.Run("poll", func(t *testing.T) {
		br.T = t
		o, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "browser-2", Amount: 1200, Currency: "JPY",
			Subject: "Matcha", Method: "sandbox", ReturnURL: rr.url + "?cart=42"})
		if err != nil {
			t.Fatal(err)
		}
		if o.NextAction == nil || o.NextAction.CashierURL == "" {
			t.Fatalf("next_action %+v, want a cashier_url", o.NextAction)
		}
		br.Do(20*time.Second, chromedp.Navigate(o.NextAction.CashierURL), chromedp.WaitVisible(chromedp.ID("qr")))
		if amount := browsertest.Eval[string](br, `document.getElementById('amount').textContent`); amount != "¥1,200JPY" {
			t.Errorf("amount reads %q", amount)
		}
		// The payer pays on another device; the page notices by polling.
		if _, err := c.TestPayOrder(ctx, o.ID, "succeeded"); err != nil {
			t.Fatal(err)
		}
		r := rr.wait(t, 20*time.Second)
		checkReturn(t, r, secret, o)
		br.NoProblems()
	})
}
