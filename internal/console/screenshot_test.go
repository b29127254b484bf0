package console_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/web/browsertest"
)

// TestConsoleScreenshots saves screenshots of the console's main pages for
// the README. It runs only when PAYGATE_CONSOLE_SCREENSHOTS names a
// directory:
//
//	PAYGATE_CONSOLE_SCREENSHOTS=docs/images go test ./internal/console -run Screenshots
func TestConsoleScreenshots(t *testing.T) {
	dir := os.Getenv("PAYGATE_CONSOLE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PAYGATE_CONSOLE_SCREENSHOTS=<dir> to save screenshots of the console")
	}
	br := browsertest.New(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "paygate.db"))
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, st)
	ctx := context.Background()
	rc := webhookReceiver(t, g)
	addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)

	// Two weeks of orders for the charts, written straight into the store.
	rng := rand.New(rand.NewPCG(7, 7))
	methods := []string{"alipay.qr", "wechat.native", "unionpay.qr", "card"}
	rate := map[string]int{"alipay.qr": 92, "wechat.native": 88, "unionpay.qr": 75, "card": 81}
	start := time.Now().UTC().AddDate(0, 0, -13).Truncate(24 * time.Hour)
	for i := 0; i < 600; i++ {
		at := start.Add(time.Duration(i) * 13 * 24 * time.Hour / 600)
		m := methods[rng.IntN(len(methods))]
		if rng.IntN(3) == 0 {
			m = methods[0]
		}
		o := &store.Order{ID: id.New(id.Order, at), MerchantID: g.Demo.App.MerchantID, AppID: g.Demo.App.ID,
			OutTradeNo: fmt.Sprintf("2026%06d", i), Amount: int64(500 + rng.IntN(30000)), Currency: "CNY", Subject: "Coffee beans 1kg",
			Method: m, Status: store.OrderFailed, Channel: "sandbox", ChannelAccountID: channelaccount.SandboxAccountID, Metadata: map[string]string{}, RequestHash: "x",
			CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(2 * time.Hour)}
		if rng.IntN(100) < rate[m]-i%5 {
			o.Status, o.ChannelTradeNo = store.OrderSucceeded, fmt.Sprintf("4200%012d", i)
			paid := at.Add(time.Duration(20+rng.IntN(100)) * time.Second)
			o.PaidAt = &paid
		}
		if err := st.OrderCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	o := paidOrder(t, g, "CAFE-20261202-0042", 12800)
	ev := eventOf(t, g, o, "order.succeeded")
	waitDeliveries(t, g, ev.ID, store.DeliveryFailed)
	rc.ok.Store(true)
	if _, err := g.Store.EventRedeliver(ctx, store.Scope{MerchantID: ev.MerchantID, AppID: ev.AppID}, ev.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, g, ev.ID, store.DeliverySucceeded)
	if _, _, err := g.Payments.CreateRefund(ctx, payment.Scope{MerchantID: o.MerchantID, AppID: o.AppID},
		payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: "R-0042-1", Amount: 2500, Reason: "one cup spilt"}); err != nil {
		t.Fatal(err)
	}
	rc.ok.Store(false)
	failing := paidOrder(t, g, "CAFE-20261202-0043", 3600)
	waitDeliveries(t, g, eventOf(t, g, failing, "order.succeeded").ID, store.DeliveryFailed)
	run, _ := reconciledDay(t, g, 4)

	br.Do(10*time.Second, chromedp.EmulateViewport(1360, 900))
	br.Do(20*time.Second, chromedp.Navigate(g.URL()+"/console/login?lang=en"), chromedp.WaitVisible(chromedp.ID("email")))
	shot(t, br, dir, "console-login")
	signIn(br, g.URL(), "ops@example.com")
	for _, p := range []struct{ name, path string }{
		{"console-overview", "/console/?lang=en"},
		{"console-orders", "/console/orders?lang=en"},
		{"console-order", "/console/orders/" + o.ID + "?lang=en"},
		{"console-webhooks", "/console/webhooks?merchant=" + g.Demo.App.MerchantID + "&lang=en"},
		{"console-recon", "/console/recon/" + run.ID + "?lang=en"},
		{"console-channels", "/console/channels?lang=en"},
		{"console-overview-zh", "/console/?lang=zh"},
	} {
		br.Do(20*time.Second, chromedp.Navigate(g.URL()+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
		shot(t, br, dir, p.name)
	}
	br.NoProblems()
}

func shot(t *testing.T, br *browsertest.Browser, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(br.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", file)
}
