package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite"
)

const adminToken = "op_test_token_for_e2e"

// env is one running gateway on loopback with a fresh database.
type env struct {
	t     testing.TB
	g     *gateway.Gateway
	url   string
	clock *clock.Fake
	demo  *client.Client // the demo merchant's test app, Bearer
}

// storeKinds are the drivers every end-to-end test runs on.
var storeKinds = []string{"sqlite", "postgres"}

// eachStore runs f as a parallel subtest per store driver.
func eachStore(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, start(t, kind))
		})
	}
}

func openStore(t testing.TB, kind string) store.Store {
	t.Helper()
	if kind == "postgres" {
		return postgrestest.Open(t, postgrestest.URL(t))
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "paygate.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	return st
}

// start runs a gateway on 127.0.0.1:0 with a fake clock and the demo merchant.
func start(t testing.TB, kind string) *env {
	t.Helper()
	return startWith(t, kind, nil)
}

// startWith is start with the configuration adjusted by tweak.
func startWith(t testing.TB, kind string, tweak func(*gateway.Config)) *env {
	t.Helper()
	return startOn(t, openStore(t, kind), tweak)
}

// startOn is startWith on a store the test opened.
func startOn(t testing.TB, st store.Store, tweak func(*gateway.Config)) *env {
	t.Helper()
	fake := clock.NewFake(time.Now())
	cfg := gateway.Config{
		Addr: "127.0.0.1:0", Database: "sqlite:" + filepath.Join(t.TempDir(), "unused.db"),
		AdminToken: adminToken, MasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		Clock: fake, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		WorkerInterval: time.Hour, // tests run the worker by hand
		// Tests of concurrency (30 racing refunds) are about the database,
		// not load shedding, which its own tests cover: the defaults' few
		// slots per CPU would shed them on a busy machine.
		MaxInFlight: 256, MaxQueueTime: time.Second, ShedLatencyTarget: -1,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	g, err := gateway.OpenWith(context.Background(), cfg, st, io.Discard)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	if err := g.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	e := &env{t: t, g: g, url: g.URL(), clock: fake}
	e.demo = e.newClient(client.WithSecretKey(g.Demo.SecretKey))
	return e
}

func (e *env) newClient(opts ...client.Option) *client.Client {
	e.t.Helper()
	c, err := client.New(e.url, opts...)
	if err != nil {
		e.t.Fatalf("client: %v", err)
	}
	return c
}

// admin calls the operator API and decodes a 2xx body into out; it returns the status.
func (e *env) admin(method, path string, body, out any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return res.StatusCode, b
}

// merchant is a merchant with one app, made through the operator API.
type merchant struct {
	id  string
	app client.AppCreated
	c   *client.Client // Bearer client of the app
}

func (e *env) newMerchant(mode string, requireSignature bool) merchant {
	e.t.Helper()
	var m client.Merchant
	if st, b := e.admin("POST", "/admin/v1/merchants", map[string]any{"name": "Shop " + mode, "fee_rate_bps": 60}, &m); st != 201 {
		e.t.Fatalf("create merchant: %d %s", st, b)
	}
	var app client.AppCreated
	if st, b := e.admin("POST", "/admin/v1/merchants/"+m.ID+"/apps", map[string]any{"name": "app", "mode": mode, "require_signature": requireSignature}, &app); st != 201 {
		e.t.Fatalf("create app: %d %s", st, b)
	}
	return merchant{id: m.ID, app: app, c: e.newClient(client.WithSecretKey(app.SecretKey))}
}

// apiErr asserts err is an API error with status and code, and returns it.
func apiErr(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	ae, ok := err.(*client.Error)
	if !ok {
		t.Fatalf("want API error %d %s, got %v", status, code, err)
	}
	if ae.StatusCode != status || ae.Code != code {
		t.Fatalf("want %d %s, got %d %s (%s)", status, code, ae.StatusCode, ae.Code, ae.Message)
	}
	return ae
}

func orderParams(outTradeNo string, amount int64) client.CreateOrderParams {
	return client.CreateOrderParams{OutTradeNo: outTradeNo, Amount: amount, Currency: "CNY", Subject: "Coffee", Method: "sandbox"}
}

// paidOrder creates a sandbox order and pays it through the test helper.
func paidOrder(t *testing.T, c *client.Client, outTradeNo string, amount int64) *client.Order {
	t.Helper()
	return payNew(t, c, orderParams(outTradeNo, amount))
}

// payNew creates an order with p and pays it through the test helper.
func payNew(t *testing.T, c *client.Client, p client.CreateOrderParams) *client.Order {
	t.Helper()
	ctx := context.Background()
	o, err := c.CreateOrder(ctx, p)
	if err != nil {
		t.Fatalf("create order: %v", err)
	}
	o, err = c.TestPayOrder(ctx, o.ID, "succeeded")
	if err != nil {
		t.Fatalf("pay order: %v", err)
	}
	if o.Status != "succeeded" {
		t.Fatalf("paid order status = %s, want succeeded", o.Status)
	}
	return o
}

// verifyLedger runs the store's ledger check and fails t on any finding.
func (e *env) verifyLedger() {
	e.t.Helper()
	rep, err := e.g.Store.LedgerVerify(context.Background())
	if err != nil {
		e.t.Fatalf("ledger verify: %v", err)
	}
	if !rep.Clean() {
		e.t.Fatalf("ledger verify found problems: %+v", rep)
	}
}
