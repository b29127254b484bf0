package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/sim/simulators"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// TestRestartWithoutSimulators (issue 12, point 2): the demo's simulator
// channel accounts do not outlive the simulators. A plain start after a
// start with simulators disables them, so a wechat.native test order goes
// to the sandbox instead of failing with channel_unavailable; the next
// start with simulators enables them again at the new simulators' ports.
func TestRestartWithoutSimulators(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paygate.db")
	start := func(simulated bool) (*gateway.Gateway, *client.Client, func()) {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		g, err := gateway.OpenWith(context.Background(), gateway.Config{
			Addr: "127.0.0.1:0", AdminToken: adminToken, Simulators: simulated, Clock: clock.NewFake(time.Now()),
			MasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerInterval: time.Hour,
		}, st, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Serve(ctx) }()
		return g, nil, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	}
	g, _, stop := start(true)
	key := g.Demo.SecretKey
	demo, err := client.New(g.URL(), client.WithSecretKey(key))
	if err != nil {
		t.Fatal(err)
	}
	pay := func(c *client.Client, no string) *client.Order {
		t.Helper()
		o, err := c.CreateOrder(context.Background(), client.CreateOrderParams{OutTradeNo: no, Amount: 800, Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
		if err != nil {
			t.Fatalf("%s: create: %v", no, err)
		}
		if o, err = c.TestPayOrder(context.Background(), o.ID, "succeeded"); err != nil {
			t.Fatalf("%s: test pay: %v", no, err)
		}
		if o.Status != "succeeded" {
			o = waitOrder(t, c, o.ID, "succeeded")
		}
		return o
	}
	if o := pay(demo, "with-sims-1"); o.Channel == "sandbox" {
		t.Fatalf("with simulators the order went to %q (%q)", o.Channel, o.ChannelAccount)
	}
	stop()

	g, _, stop = start(false)
	plain, _ := client.New(g.URL(), client.WithSecretKey(key))
	if o := pay(plain, "without-sims"); o.Channel != "sandbox" || o.ChannelAccount != channelaccount.SandboxAccountID {
		t.Fatalf("without simulators the order went to %q (%q), want the sandbox", o.Channel, o.ChannelAccount)
	}
	for _, a := range accountsOf(t, g.Store) {
		if !a.Disabled {
			t.Fatalf("demo simulator account %s (%s) still enabled without simulators", a.ID, a.Name)
		}
	}
	stop()

	g, _, stop = start(true)
	again, _ := client.New(g.URL(), client.WithSecretKey(key))
	if o := pay(again, "with-sims-2"); o.ChannelAccount == "" {
		t.Fatalf("with simulators again the order went to %q", o.Channel)
	}
	as := accountsOf(t, g.Store)
	if len(as) != len(simulators.Providers) {
		t.Fatalf("%d channel accounts, want one per simulator", len(as))
	}
	for _, a := range as {
		if a.Disabled {
			t.Fatalf("account %s stays disabled with simulators running", a.ID)
		}
	}
	stop()
}

func accountsOf(t *testing.T, st store.Store) []*store.ChannelAccount {
	t.Helper()
	as, _, err := st.ChannelAccountList(context.Background(), "", store.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	// The simulators' accounts, not the sandbox's, which every gateway has.
	return slices.DeleteFunc(as, func(a *store.ChannelAccount) bool { return a.ID == channelaccount.SandboxAccountID })
}

// TestCashierTestButtonsPayEveryMethod (issue 12, point 5): with the
// simulators running (serve --simulators), every method the cashier offers
// a test-mode order pays from the page's test button, alipay.page and the
// other page payments included: the test payer opens the channel's page
// before paying, as a payer does.
func TestCashierTestButtonsPayEveryMethod(t *testing.T) {
	e := startWith(t, "sqlite", func(c *gateway.Config) { c.Simulators = true })
	ctx := context.Background()
	probe, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "probe", Amount: 500, Currency: "CNY", Subject: "Probe"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.g.Store.OrderGet(ctx, probe.ID)
	if err != nil {
		t.Fatal(err)
	}
	methods := e.g.Payments.CashierMethods(ctx, o)
	for _, want := range []string{"sandbox", "wechat.native", "alipay.qr", "alipay.page", "alipay.wap", "unionpay.qr"} {
		if !strings.Contains(strings.Join(methods, " "), want) {
			t.Fatalf("the cashier does not offer %s: %v", want, methods)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) string {
		t.Helper()
		res, err := noRedirect.PostForm(e.url+path, form)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
		return res.Header.Get("Location")
	}
	for _, method := range methods {
		t.Run(method, func(t *testing.T) {
			// wechat.h5 needs the payer's IP, which the merchant sends (an
			// order without it cannot pick wechat.h5: the payment layer's
			// business, issue 12 point 3).
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "cashier-" + method, Amount: 1850, Currency: "CNY", Subject: "Flat white",
				Payer: &client.Payer{IP: "203.0.113.9"}})
			if err != nil {
				t.Fatal(err)
			}
			if loc := post("/pay/"+o.ID+"/method", url.Values{"method": {method}}); strings.Contains(loc, "notice=") {
				t.Fatalf("picking %s: back to %s", method, loc)
			}
			if loc := post("/pay/"+o.ID+"/test", url.Values{"outcome": {"succeeded"}}); strings.Contains(loc, "notice=") {
				got, _ := e.demo.GetOrder(ctx, o.ID)
				t.Fatalf("the test button of %s: back to %s (order %s on %s, %s)", method, loc, got.Status, got.Channel, got.FailureMessage)
			}
			paid := waitOrder(t, e.demo, o.ID, "succeeded")
			if method != "sandbox" && paid.ChannelAccount == "" {
				t.Fatalf("%s was paid on %s, not through its simulator", method, paid.Channel)
			}
		})
	}
	// The test helper of the API pays a page payment created with its method too.
	for _, method := range []string{"alipay.page", "alipay.wap", "unionpay.gateway"} {
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "api-" + method, Amount: 990, Currency: "CNY", Subject: "Tea", Method: method})
		if err != nil {
			t.Fatalf("%s: create: %v", method, err)
		}
		if o, err = e.demo.TestPayOrder(ctx, o.ID, "succeeded"); err != nil {
			t.Fatalf("%s: test pay: %v", method, err)
		}
		if o.Status != "succeeded" {
			waitOrder(t, e.demo, o.ID, "succeeded")
		}
	}
	e.verifyLedger()
}

// TestHomePageAndDocs (issue 12, points 7 and 10): a browser at / gets a
// page linking the API reference, which /docs serves; a JSON client still
// gets the JSON 404; the page's cashier demo opens a test order's cashier.
func TestHomePageAndDocs(t *testing.T) {
	e := start(t, "sqlite")
	get := func(path, accept string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.Header.Set("Accept", accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	if res, b := get("/", "text/html"); res.StatusCode != 200 || !strings.Contains(b, `href="/docs"`) || !strings.Contains(b, `action="/demo/cashier"`) {
		t.Fatalf("GET / (browser): %d %.200s", res.StatusCode, b)
	}
	if res, b := get("/", "application/json"); res.StatusCode != 404 || !strings.Contains(b, `"route_not_found"`) {
		t.Fatalf("GET / (JSON): %d %s", res.StatusCode, b)
	}
	if res, b := get("/docs", "text/html"); res.StatusCode != 200 || !strings.Contains(b, "<code>POST /v1/orders</code>") {
		t.Fatalf("GET /docs: %d", res.StatusCode)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(e.url+"/demo/cashier", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/pay/ord_") {
		t.Fatalf("POST /demo/cashier: %d to %q", res.StatusCode, loc)
	}
	if res, b := get(loc, "text/html"); res.StatusCode != 200 || !strings.Contains(b, "Flat white") || !strings.Contains(b, `id="test-pay"`) {
		t.Fatalf("the demo order's cashier: %d", res.StatusCode)
	}
	o, err := e.demo.GetOrder(context.Background(), strings.TrimPrefix(loc, "/pay/"))
	if err != nil || o.Livemode {
		t.Fatalf("the demo order: %+v, %v", o, err)
	}
}
