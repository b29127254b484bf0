package web_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/web/browsertest"
)

// TestCashierScreenshots saves screenshots of the cashier's states at a
// desktop and a phone width, for a person to look at. It runs only when
// PAYGATE_CASHIER_SCREENSHOTS names a directory:
//
//	PAYGATE_CASHIER_SCREENSHOTS=/tmp go test ./internal/web -run Screenshots
func TestCashierScreenshots(t *testing.T) {
	dir := os.Getenv("PAYGATE_CASHIER_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PAYGATE_CASHIER_SCREENSHOTS=<dir> to save screenshots of the cashier")
	}
	br := browsertest.New(t)
	b := setup(t)
	ctx := context.Background()

	pick := b.order(false, payment.CreateOrderParams{Amount: 1850, Subject: "Flat white × 1", Description: "Oat milk, no sugar"})
	wechat := b.order(false, payment.CreateOrderParams{Amount: 128800, Subject: "Annual membership 年度会员"})
	b.post("/pay/"+wechat.ID+"/method", url.Values{"method": {"wechat.native"}})
	live := b.order(true, payment.CreateOrderParams{Amount: 1200, Currency: "JPY", Subject: "Matcha latte", Method: "alipay.qr"})
	paid := b.order(false, payment.CreateOrderParams{Method: "sandbox", Subject: "Flat white"})
	if _, err := b.payments.TestPay(ctx, b.scope(false), paid.ID, true); err != nil {
		t.Fatal(err)
	}
	failed := b.order(false, payment.CreateOrderParams{Method: "sandbox", ReturnURL: "https://shop.example/return"})
	if _, err := b.payments.TestPay(ctx, b.scope(false), failed.ID, false); err != nil {
		t.Fatal(err)
	}
	expired := b.order(false, payment.CreateOrderParams{Method: "sandbox", ExpiresIn: time.Minute})
	b.clock.Advance(time.Minute)

	pages := []struct{ name, path string }{
		{"methods", "/pay/" + pick.ID + "?lang=en"},
		{"methods-zh", "/pay/" + pick.ID + "?lang=zh"},
		{"qr", "/pay/" + wechat.ID + "?lang=en"},
		{"qr-zh", "/pay/" + wechat.ID + "?lang=zh"},
		{"live-jpy", "/pay/" + live.ID + "?lang=en"},
		{"succeeded", "/pay/" + paid.ID + "?lang=en"},
		{"failed", "/pay/" + failed.ID + "?lang=en"},
		{"expired", "/pay/" + expired.ID + "?lang=en"},
		{"notfound", "/pay/ord_01jn0000000000000000000000?lang=en"},
	}
	for _, size := range []struct {
		name string
		view chromedp.Action[chromedp.Void]
	}{
		{"desktop", chromedp.EmulateViewport(1280, 860)},
		{"phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)},
	} {
		br.Do(10*time.Second, size.view)
		for _, p := range pages {
			br.Do(20*time.Second, chromedp.Navigate(b.url+p.path), chromedp.WaitVisible(chromedp.CSS(".card")),
				chromedp.Poll[chromedp.Void](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(5*time.Second)))
			shotCtx, cancel := context.WithTimeout(br.Ctx, 20*time.Second)
			png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100))
			cancel()
			if err != nil {
				t.Fatalf("screenshot %s: %v", p.name, err)
			}
			file := filepath.Join(dir, "cashier-"+size.name+"-"+p.name+".png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", file)
		}
	}
	br.Forgive(func(p string) bool { // the not-found page's own 404 is expected
		return strings.Contains(p, "404") && strings.Contains(p, "ord_01jn0000000000000000000000")
	})
	br.NoProblems()
}
