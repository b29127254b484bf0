package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// attr returns the value of the first HTML attribute name in body, unescaped.
func attr(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s attribute in page:\n%s", name, body)
	}
	return html.UnescapeString(m[1])
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, body)
		}
	}
}

func mustNotContain(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("page has %q but should not", w)
		}
	}
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body:\n%s", r.status, status, r.body)
	}
}

func TestPageShowsOrderInCNY(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{Amount: 123456, Currency: "CNY", Subject: "Flat white 拿铁", Method: "sandbox"})

	r := b.get("/pay/"+o.ID, "en-US,en;q=0.9")
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	mustContain(t, r.body,
		`<h1 class="merchant-name" id="merchant">`+merchantName+`</h1>`,
		`<p class="subject" id="subject">Flat white 拿铁</p>`,
		`<span class="sym">CN¥</span><span class="num">1,234.56</span><span class="code">CNY</span>`,
		`data-value="1234.56"`,
		`<time id="countdown">15:00</time>`,
		`<img id="qr" src="/pay/`+o.ID+`/qr.png"`,
		`id="test-pay"`, `id="test-fail"`, "Test mode",
		o.OutTradeNo,
	)
	if got := attr(t, r.body, "data-seconds-left"); got != "900" {
		t.Errorf("data-seconds-left = %s, want 900 (expires_in default)", got)
	}
	if got := attr(t, r.body, "data-state"); got != "pending" {
		t.Errorf("data-state = %s, want pending", got)
	}

	// Time moves: the countdown follows the server's clock.
	b.clock.Advance(14*time.Minute + 30*time.Second)
	r = b.get("/pay/"+o.ID, "en")
	mustContain(t, r.body, `<time id="countdown">0:30</time>`)
	if got := attr(t, r.body, "data-seconds-left"); got != "30" {
		t.Errorf("data-seconds-left = %s, want 30", got)
	}

	// A Chinese payer reads Chinese, and CNY is plain ¥.
	r = b.get("/pay/"+o.ID, "zh-CN,zh;q=0.9,en;q=0.5")
	mustContain(t, r.body, `<html lang="zh-CN">`, `<span class="sym">¥</span><span class="num">1,234.56</span>`, "收款方", "模拟支付成功")
	// ?lang= overrides Accept-Language, and the page links to the other language.
	r = b.get("/pay/"+o.ID+"?lang=en", "zh-CN")
	mustContain(t, r.body, `<html lang="en">`, `href="/pay/`+o.ID+`?lang=zh"`)
}

func TestPageShowsJPYWithoutDecimals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{Amount: 1200, Currency: "JPY", Subject: "Matcha", Method: "sandbox", ExpiresIn: 2 * time.Hour})
	r := b.get("/pay/"+o.ID, "en")
	wantStatus(t, r, 200)
	mustContain(t, r.body, `<span class="sym">¥</span><span class="num">1,200</span><span class="code">JPY</span>`,
		`data-value="1200"`, `<time id="countdown">2:00:00</time>`)
	mustNotContain(t, r.body, "1,200.00", "12.00")
	r = b.get("/pay/"+o.ID, "zh")
	mustContain(t, r.body, `<span class="sym">JP¥</span><span class="num">1,200</span>`)
}

func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{Method: "sandbox"})
	for _, path := range []string{"/pay/" + o.ID, "/pay/" + o.ID + "/status", "/pay/" + o.ID + "/qr.png", "/pay/ord_unknown"} {
		r := b.get(path, "")
		h := r.header
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "http") {
			t.Errorf("%s: CSP %q allows inline code or another origin", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	r := b.get("/pay/"+o.ID, "")
	if h := r.header.Get("Cache-Control"); h != "no-store" {
		t.Errorf("page Cache-Control = %q, want no-store", h)
	}
	scripts := regexp.MustCompile(`<script[^>]*>[^<]*</script>`).FindAllString(r.body, -1)
	if len(scripts) != 1 || !regexp.MustCompile(`^<script src="/pay/assets/[0-9a-f]+/cashier\.js" defer></script>$`).MatchString(scripts[0]) ||
		strings.Count(r.body, "<script") != 1 {
		t.Errorf("page scripts %q: want only the embedded cashier.js, nothing inline", scripts)
	}
	if regexp.MustCompile(`\sstyle=|<style|\son[a-z]+=`).MatchString(r.body) {
		t.Errorf("page has inline style or event handlers:\n%s", r.body)
	}
	if regexp.MustCompile(`(?:src|href)="(?:https?:)?//`).MatchString(r.body) {
		t.Errorf("page loads something from another origin:\n%s", r.body)
	}

	// The assets the page names are embedded, served with their type, cached for good.
	for _, name := range []string{"cashier.css", "cashier.js"} {
		m := regexp.MustCompile(`"(/pay/assets/[0-9a-f]+/` + regexp.QuoteMeta(name) + `)"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("page does not link %s", name)
		}
		a := b.get(m[1], "")
		wantStatus(t, a, 200)
		if !strings.HasPrefix(a.header.Get("Content-Type"), map[string]string{"cashier.css": "text/css", "cashier.js": "text/javascript"}[name]) ||
			!strings.Contains(a.header.Get("Cache-Control"), "immutable") || len(a.body) < 100 {
			t.Errorf("%s: %d %v (%d bytes)", m[1], a.status, a.header, len(a.body))
		}
	}
	wantStatus(t, b.get("/pay/assets/000000000000/cashier.css", ""), 404)
}

func TestPayerPicksMethod(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{})
	if o.Method != "" {
		t.Fatalf("order method = %q, want none", o.Method)
	}
	r := b.get("/pay/"+o.ID, "en")
	wantStatus(t, r, 200)
	var offered []string
	for _, m := range regexp.MustCompile(`name="method" value="([^"]+)"`).FindAllStringSubmatch(r.body, -1) {
		offered = append(offered, m[1])
	}
	want := []string{"sandbox", "wechat.native", "wechat.h5", "alipay.qr", "alipay.page", "alipay.wap", "unionpay.qr", "unionpay.gateway"}
	if strings.Join(offered, " ") != strings.Join(want, " ") {
		t.Errorf("offered methods %v, want %v (no card, micropay, app or jsapi)", offered, want)
	}
	mustContain(t, r.body, "WeChat Pay", "Alipay", "UnionPay", "Choose how to pay")

	r = b.post("/pay/"+o.ID+"/method", url.Values{"method": {"wechat.native"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != "/pay/"+o.ID {
		t.Errorf("Location = %q", loc)
	}
	got := b.reload(o.ID)
	if got.Method != "wechat.native" || got.Channel != "sandbox" || got.ChannelTradeNo == "" || got.Status != store.OrderPending {
		t.Fatalf("after pick: method %q channel %q trade %q status %s", got.Method, got.Channel, got.ChannelTradeNo, got.Status)
	}
	r = b.get("/pay/"+o.ID, "en")
	mustContain(t, r.body, `<img id="qr"`, "Open WeChat Pay and scan the QR code to pay.")
	mustNotContain(t, r.body, `name="method"`)

	// The same pick again (a double click) keeps the trade; another is refused with a notice.
	wantStatus(t, b.post("/pay/"+o.ID+"/method", url.Values{"method": {"wechat.native"}}), http.StatusSeeOther)
	if again := b.reload(o.ID); again.ChannelTradeNo != got.ChannelTradeNo {
		t.Errorf("repeat pick made trade %s, had %s", again.ChannelTradeNo, got.ChannelTradeNo)
	}
	r = b.post("/pay/"+o.ID+"/method", url.Values{"method": {"alipay.qr"}, "lang": {"zh"}})
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.header.Get("Location")
	if loc != "/pay/"+o.ID+"?lang=zh&notice=method_already_chosen" {
		t.Fatalf("Location = %q", loc)
	}
	r = b.get(loc, "")
	mustContain(t, r.body, `id="notice"`, "该订单已选择支付方式。")

	// A method the page does not offer is refused.
	o2 := b.order(false, payment.CreateOrderParams{})
	r = b.post("/pay/"+o2.ID+"/method", url.Values{"method": {"card"}})
	if loc := r.header.Get("Location"); loc != "/pay/"+o2.ID+"?notice=method_invalid" {
		t.Errorf("card pick: %d Location %q", r.status, loc)
	}
	if b.reload(o2.ID).Method != "" {
		t.Error("refused pick set the method")
	}
}

func TestConcurrentPicksOpenOneTrade(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(true, payment.CreateOrderParams{})
	const n = 5
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	b.onRequest = func(r *http.Request) {
		if r.Method == "POST" {
			arrived.Done()
		}
	}
	pay := b.live.PayFunc
	b.live.PayFunc = func(r channel.PayRequest) (*channel.PayResponse, error) {
		select { // hold the first trade open until every pick has reached the cashier
		case <-all:
		case <-time.After(10 * time.Second):
			return nil, errors.New("not every pick arrived")
		}
		return pay(r)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if r := b.post("/pay/"+o.ID+"/method", url.Values{"method": {"wechat.native"}}); r.status != http.StatusSeeOther {
				t.Errorf("pick: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	if got := b.live.pays.Load(); got != 1 {
		t.Errorf("%d concurrent picks made %d channel trades, want 1", n, got)
	}
}

func TestQRCodeImage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name   string
		live   bool
		method string
	}{{"sandbox", false, "sandbox"}, {"live wechat", true, "wechat.native"}} {
		o := b.order(tc.live, payment.CreateOrderParams{Method: tc.method})
		var na client.NextAction
		if err := json.Unmarshal(o.NextAction, &na); err != nil || na.Type != "qr_code" || na.QRCode == "" {
			t.Fatalf("%s: next_action %s", tc.name, o.NextAction)
		}
		if na.CashierURL != b.url+"/pay/"+o.ID {
			t.Errorf("%s: cashier_url = %q", tc.name, na.CashierURL)
		}
		r := b.get("/pay/"+o.ID+"/qr.png", "")
		wantStatus(t, r, 200)
		if ct := r.header.Get("Content-Type"); ct != "image/png" {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
		img, err := png.Decode(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", tc.name, err)
		}
		if sz := img.Bounds().Size(); sz.X != sz.Y || sz.X < 200 {
			t.Errorf("%s: image is %v, want a square of at least 200 px", tc.name, sz)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("%s: QR does not decode: %v", tc.name, err)
		}
		if res.GetText() != na.QRCode {
			t.Errorf("%s: QR says %q, want next_action.qr_code %q", tc.name, res.GetText(), na.QRCode)
		}
	}

	// No QR for an order whose next step is not one, nor for a paid one.
	noQR := b.order(false, payment.CreateOrderParams{})
	r := b.get("/pay/"+noQR.ID+"/qr.png", "")
	wantStatus(t, r, 404)
	paid := b.order(false, payment.CreateOrderParams{Method: "sandbox"})
	if _, err := b.payments.TestPay(context.Background(), b.scope(false), paid.ID, true); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, b.get("/pay/"+paid.ID+"/qr.png", ""), 404)
}

func TestLiveOrderRefusesTestPayments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(true, payment.CreateOrderParams{Method: "wechat.native"})
	r := b.get("/pay/"+o.ID, "en")
	wantStatus(t, r, 200)
	mustContain(t, r.body, `<img id="qr"`)
	mustNotContain(t, r.body, "test-banner", `id="test-pay"`, "/test")

	r = b.post("/pay/"+o.ID+"/test", url.Values{"outcome": {"succeeded"}})
	wantStatus(t, r, http.StatusForbidden)
	mustContain(t, r.body, "Test payments are only available for test-mode orders.")
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("refusal is %q, want an HTML page", r.header.Get("Content-Type"))
	}
	if got := b.reload(o.ID); got.Status != store.OrderPending {
		t.Errorf("live order is %s after a refused test payment", got.Status)
	}

	// A live order without a method offers what the live channels take, and
	// a page method sends the payer to the channel's own page.
	o = b.order(true, payment.CreateOrderParams{})
	r = b.get("/pay/"+o.ID, "en")
	var offered []string
	for _, m := range regexp.MustCompile(`name="method" value="([^"]+)"`).FindAllStringSubmatch(r.body, -1) {
		offered = append(offered, m[1])
	}
	if strings.Join(offered, " ") != "wechat.native alipay.qr alipay.page" {
		t.Errorf("live methods offered %v", offered)
	}
	wantStatus(t, b.post("/pay/"+o.ID+"/method", url.Values{"method": {"alipay.page"}}), http.StatusSeeOther)
	r = b.get("/pay/"+o.ID, "en")
	mustContain(t, r.body, `<a class="btn primary" id="continue" href="https://openapi.alipay.invalid/gateway.do?trade=`+o.ID+`" rel="noreferrer">Continue to Alipay</a>`)
}

func TestTestPaymentReturnsSignedURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{Method: "sandbox", ReturnURL: "https://shop.example/return?cart=7&note=a%26b"})

	r := b.post("/pay/"+o.ID+"/test", url.Values{"outcome": {"succeeded"}})
	wantStatus(t, r, http.StatusSeeOther)
	if got := b.reload(o.ID); got.Status != store.OrderSucceeded {
		t.Fatalf("order is %s after the test payment", got.Status)
	}
	r = b.get(r.header.Get("Location"), "en")
	wantStatus(t, r, 200)
	mustContain(t, r.body, "Payment successful", "Taking you back to "+merchantName)
	mustNotContain(t, r.body, `id="test-pay"`, `id="countdown"`)

	ret := attr(t, r.body, "data-return-url")
	if link := returnQuery(t, r.body); link.Get("signature") != queryOf(ret).Get("signature") {
		t.Errorf("return link %v differs from the automatic return %s", link, ret)
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "https" || u.Host != "shop.example" || u.Path != "/return" {
		t.Fatalf("return URL %q", ret)
	}
	q := u.Query()
	want := map[string]string{"order_id": o.ID, "out_trade_no": o.OutTradeNo, "status": "succeeded",
		"timestamp": "1740823200", "cart": "7", "note": "a&b"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("return parameter %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if err := client.VerifyReturnURL(q, b.testApp.WebhookSecret); err != nil {
		t.Errorf("return URL does not verify: %v", err)
	}
	for name, tamper := range map[string]func(url.Values){
		"status":     func(q url.Values) { q.Set("status", "failed") },
		"order":      func(q url.Values) { q.Set("order_id", "ord_01jn0000000000000000000000") },
		"merchant's": func(q url.Values) { q.Set("cart", "8") },
		"added":      func(q url.Values) { q.Set("amount", "1") },
	} {
		tq, _ := url.ParseQuery(q.Encode())
		tamper(tq)
		if err := client.VerifyReturnURL(tq, b.testApp.WebhookSecret); !errors.Is(err, client.ErrReturnSignature) {
			t.Errorf("tampered %s parameter verifies: %v", name, err)
		}
	}
	if err := client.VerifyReturnURL(q, b.liveApp.WebhookSecret); err == nil {
		t.Error("return URL verifies with another app's secret")
	}

	// The status the page polls says the same, with a return URL that verifies.
	var s struct {
		Status      string  `json:"status"`
		SecondsLeft int64   `json:"seconds_left"`
		ReturnURL   *string `json:"return_url"`
	}
	sr := b.get("/pay/"+o.ID+"/status", "")
	wantStatus(t, sr, 200)
	if err := json.Unmarshal([]byte(sr.body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != "succeeded" || s.ReturnURL == nil {
		t.Fatalf("status %s", sr.body)
	}
	su, _ := url.Parse(*s.ReturnURL)
	if err := client.VerifyReturnURL(su.Query(), b.testApp.WebhookSecret); err != nil {
		t.Errorf("status return_url does not verify: %v", err)
	}

	// Paying again is refused with a notice, not an error page.
	r = b.post("/pay/"+o.ID+"/test", url.Values{"outcome": {"succeeded"}})
	if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || loc != "/pay/"+o.ID+"?notice=order_already_paid" {
		t.Errorf("second payment: %d %q", r.status, loc)
	}
}

func TestResultWithoutReturnURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{})
	wantStatus(t, b.post("/pay/"+o.ID+"/test", url.Values{"outcome": {"succeeded"}}), http.StatusSeeOther)
	got := b.reload(o.ID)
	if got.Status != store.OrderSucceeded || got.Method != "sandbox" {
		t.Fatalf("order %s method %q after test payment", got.Status, got.Method)
	}
	r := b.get("/pay/"+o.ID, "en")
	mustContain(t, r.body, "Payment successful", "You can close this page.", `data-has-return="false"`)
	mustNotContain(t, r.body, "data-return-url", `id="return"`)
	var s map[string]any
	json.Unmarshal([]byte(b.get("/pay/"+o.ID+"/status", "").body), &s)
	if s["status"] != "succeeded" || s["return_url"] != nil {
		t.Errorf("status %v", s)
	}
}

func TestFailedClosedAndExpiredOrders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ret := "https://shop.example/back"

	failed := b.order(false, payment.CreateOrderParams{Method: "sandbox", ReturnURL: ret})
	wantStatus(t, b.post("/pay/"+failed.ID+"/test", url.Values{"outcome": {"failed"}}), http.StatusSeeOther)
	r := b.get("/pay/"+failed.ID, "en")
	mustContain(t, r.body, `data-state="failed"`, "Payment failed", `id="return"`, "Return to "+merchantName)
	mustNotContain(t, r.body, "data-return-url", `id="test-pay"`) // no automatic return after a failure
	if q := returnQuery(t, r.body); q.Get("status") != "failed" || client.VerifyReturnURL(q, b.testApp.WebhookSecret) != nil {
		t.Errorf("failed order's return link %v", q)
	}

	closed := b.order(false, payment.CreateOrderParams{Method: "sandbox", ReturnURL: ret})
	if _, err := b.payments.CloseOrder(ctx, b.scope(false), closed.ID); err != nil {
		t.Fatal(err)
	}
	r = b.get("/pay/"+closed.ID, "en")
	mustContain(t, r.body, `data-state="closed"`, "This order is closed")
	mustNotContain(t, r.body, `id="test-pay"`, `<img id="qr"`, `id="countdown"`)
	if q := returnQuery(t, r.body); q.Get("status") != "closed" {
		t.Errorf("closed order's return status %q", q.Get("status"))
	}
	r = b.post("/pay/"+closed.ID+"/test", url.Values{"outcome": {"succeeded"}})
	if loc := r.header.Get("Location"); loc != "/pay/"+closed.ID+"?notice=order_closed" {
		t.Errorf("paying a closed order: %d %q", r.status, loc)
	}

	expiring := b.order(false, payment.CreateOrderParams{Method: "sandbox", ReturnURL: ret, ExpiresIn: time.Minute})
	b.clock.Advance(time.Minute)
	r = b.get("/pay/"+expiring.ID, "zh")
	mustContain(t, r.body, `data-state="expired"`, "订单已过期")
	mustNotContain(t, r.body, `id="test-pay"`, `<img id="qr"`, `id="return"`) // not closed yet: no result to return with
	wantStatus(t, b.get("/pay/"+expiring.ID+"/qr.png", ""), 404)
	r = b.post("/pay/"+expiring.ID+"/test", url.Values{"outcome": {"succeeded"}})
	if loc := r.header.Get("Location"); loc != "/pay/"+expiring.ID+"?notice=order_expired" {
		t.Errorf("paying an expired order: %d %q", r.status, loc)
	}
	if got := b.reload(expiring.ID); got.Status != store.OrderPending {
		t.Fatalf("expired order is %s", got.Status)
	}
	var s map[string]any
	json.Unmarshal([]byte(b.get("/pay/"+expiring.ID+"/status", "").body), &s)
	if s["status"] != "expired" || s["seconds_left"] != 0.0 || s["return_url"] != nil {
		t.Errorf("status of expired order %v", s)
	}

	// The worker closes it; the page still says expired, now with the way back.
	w := &payment.Worker{Service: b.payments}
	if n, err := w.ExpireOrders(ctx); err != nil || n < 1 {
		t.Fatalf("expire orders: %d %v", n, err)
	}
	r = b.get("/pay/"+expiring.ID, "en")
	mustContain(t, r.body, `data-state="expired"`, "This order has expired", `data-has-return="true"`)
	if q := returnQuery(t, r.body); q.Get("status") != "closed" || client.VerifyReturnURL(q, b.testApp.WebhookSecret) != nil {
		t.Errorf("expired order's return link %v", q)
	}
}

// queryOf is the query of URL s.
func queryOf(s string) url.Values {
	u, _ := url.Parse(s)
	return u.Query()
}

// returnQuery is the query of the page's return link.
func returnQuery(t *testing.T, body string) url.Values {
	t.Helper()
	m := regexp.MustCompile(`id="return" href="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no return link in page:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{ReturnURL: "https://shop.example/r"})
	r := b.get("/pay/"+o.ID+"/status", "")
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"object": "cashier_status", "order_id": o.ID, "status": "pending", "method": "",
		"seconds_left": 900.0, "expires_at": o.ExpiresAt.UTC().Format(time.RFC3339Nano), "return_url": nil}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("status %s = %v, want %v", k, s[k], v)
		}
	}
	if len(s) != len(want) {
		t.Errorf("status has fields %v", s)
	}

	r = b.get("/pay/ord_01jn0000000000000000000000/status", "")
	wantStatus(t, r, 404)
	if !strings.Contains(r.body, `"code":"order_not_found"`) || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown order status: %s %s", r.header.Get("Content-Type"), r.body)
	}
}

func TestUnknownPagesAreHTML404(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, path := range []string{"/pay/ord_01jn0000000000000000000000", "/pay/not-an-id", "/pay/", "/pay/ord_x/elsewhere", "/pay/a/b/c/d/e"} {
		r := b.get(path, "en")
		if r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", path, r.status, r.header.Get("Content-Type"))
			continue
		}
		mustContain(t, r.body, "Order not found", `data-kind="notfound"`)
	}
	r := b.get("/pay/not-an-id", "zh-CN")
	mustContain(t, r.body, "订单不存在")
	r = b.post("/pay/ord_01jn0000000000000000000000/test", url.Values{"outcome": {"succeeded"}})
	wantStatus(t, r, 404)
	mustContain(t, r.body, "Order not found")

	// A wrong method is 405, still a page.
	req, _ := http.NewRequest("DELETE", b.url+"/pay/ord_01jn0000000000000000000000", nil)
	r = b.do(req)
	if r.status != 405 || r.header.Get("Allow") != "GET" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("DELETE: %d Allow %q %s", r.status, r.header.Get("Allow"), r.header.Get("Content-Type"))
	}
}

func TestCrossSiteFormPostIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{Method: "sandbox"})
	req, _ := http.NewRequest("POST", b.url+"/pay/"+o.ID+"/test", bytes.NewBufferString("outcome=succeeded"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	r := b.do(req)
	wantStatus(t, r, http.StatusForbidden)
	mustContain(t, r.body, "came from another site")
	if got := b.reload(o.ID); got.Status != store.OrderPending {
		t.Errorf("cross-site post moved the order to %s", got.Status)
	}
}
