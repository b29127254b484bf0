package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/sim/simulators"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// TestDemoSimulators: serve --simulators routes test orders of WeChat Pay,
// Alipay and UnionPay methods through in-process simulators, and the test
// helper pays (or fails) them there; the channel's answer moves the order.
func TestDemoSimulators(t *testing.T) {
	e := startWith(t, "sqlite", func(c *gateway.Config) { c.Simulators = true })
	ctx := context.Background()
	for _, method := range []string{"wechat.native", "alipay.qr", "unionpay.qr"} {
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "sim-" + method, Amount: 1200, Currency: "CNY", Subject: "Tea", Method: method})
		if err != nil {
			t.Fatalf("%s: create: %v", method, err)
		}
		if o.ChannelAccount == "" || o.Channel == "sandbox" || o.NextAction == nil || o.NextAction.QRCode == "" {
			t.Fatalf("%s: order on %q (%q) with %+v; want a simulator's channel account and QR code", method, o.Channel, o.ChannelAccount, o.NextAction)
		}
		if o, err = e.demo.TestPayOrder(ctx, o.ID, "succeeded"); err != nil {
			t.Fatalf("%s: test pay: %v", method, err)
		}
		if o.Status != "succeeded" {
			waitOrder(t, e.demo, o.ID, "succeeded")
		}
		failing, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "sim-fail-" + method, Amount: 300, Currency: "CNY", Subject: "Tea", Method: method})
		if err != nil {
			t.Fatalf("%s: create: %v", method, err)
		}
		if failing, err = e.demo.TestPayOrder(ctx, failing.ID, "failed"); err != nil {
			t.Fatalf("%s: test pay (failed): %v", method, err)
		}
		// A channel with no failed state (Alipay) closes the trade instead.
		if failing.Status != "failed" && failing.Status != "closed" {
			t.Fatalf("%s: a failed payment left the order %s", method, failing.Status)
		}
	}
	// The sandbox keeps its own methods.
	if o := paidOrder(t, e.demo, "sim-sandbox", 100); o.Channel != "sandbox" {
		t.Fatalf("sandbox order on %s", o.Channel)
	}
	e.verifyLedger()
}

// TestDemoSimulatorsRestart: a restart points the demo's channel accounts at
// the new simulators instead of adding more.
func TestDemoSimulatorsRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paygate.db")
	accounts := func() []*store.ChannelAccount {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		as, _, err := st.ChannelAccountList(context.Background(), "", store.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		// The simulators' accounts, not the sandbox's, which every gateway has.
		return slices.DeleteFunc(as, func(a *store.ChannelAccount) bool { return a.Provider == "sandbox" })
	}
	var urls []string
	for range 2 {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		g, err := gateway.OpenWith(context.Background(), gateway.Config{
			Addr: "127.0.0.1:0", AdminToken: adminToken, Simulators: true, Clock: clock.NewFake(time.Now()),
			MasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerInterval: time.Hour,
			MaxInFlight: 256, MaxQueueTime: time.Second, ShedLatencyTarget: -1, // as the harness: not a test of shedding
		}, st, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		as := accounts()
		if len(as) != len(simulators.Providers) {
			t.Fatalf("%d channel accounts after a start, want %d", len(as), len(simulators.Providers))
		}
		for _, a := range as {
			urls = append(urls, a.BaseURL)
		}
	}
	for i := range len(simulators.Providers) {
		if urls[i] == urls[i+len(simulators.Providers)] {
			t.Fatalf("account still points at the first run's simulator %s", urls[i])
		}
	}
}
