package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// except in CI (CI=true), where .ci/run installs it and its absence fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// browser is one headless Chromium tab. problems collects the page's
// uncaught exceptions and console errors (a CSP violation is one).
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	b := &browser{t: t}
	// A first start on a loaded machine (fonts cached, profile created) can
	// be slow; it is tried three times, each with a fresh profile, and a
	// failure shows what chromium printed.
	for attempt := 1; ; attempt++ {
		output := new(lockedBuffer)
		ctx, cancel, err := b.start(path, output)
		if err == nil {
			t.Cleanup(cancel)
			b.ctx = ctx
			return b
		}
		cancel()
		if attempt == 3 {
			t.Fatalf("chromium did not start (3 tries): %v; it printed:\n%s", err, tail(output.String(), 4000))
		}
		t.Logf("chromium try %d: %v; trying again", attempt, err)
	}
}

// start launches chromium with a fresh profile and opens about:blank.
func (b *browser) start(path string, output *lockedBuffer) (context.Context, context.CancelFunc, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(b.t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
		chromedp.WSURLReadTimeout(60*time.Second),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	stop := func() { cancel(); cancelAlloc() }
	// The first run starts the browser and binds it to ctx, so it cannot take
	// a timeout of its own; it is bounded from outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		return ctx, stop, err
	case <-time.After(90 * time.Second):
		return ctx, stop, fmt.Errorf("no answer within 90 s")
	}
}

// lockedBuffer lets chromium's output goroutine and the test share a buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.problems = append(b.problems, fmt.Sprintf("console %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// do runs steps within d.
func (b *browser) do(d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression within 10 s.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) noProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser reported %s", p)
	}
	b.problems = nil
}

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
	br := newBrowser(t)
	g := startGateway(t)
	rr := newReturnReceiver(t)
	ctx := context.Background()
	c, err := client.New(g.URL(), client.WithSecretKey(g.Demo.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	secret := g.Demo.WebhookSecret

	t.Run("click", func(t *testing.T) {
		br.t = t
		o, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "browser-1", Amount: 2599, Currency: "CNY",
			Subject: "Pour-over coffee", ReturnURL: rr.url + "?cart=42"})
		if err != nil {
			t.Fatal(err)
		}
		if o.NextAction == nil || o.NextAction.Type != "redirect" || !strings.HasSuffix(o.NextAction.URL, "/pay/"+o.ID) {
			t.Fatalf("next_action %+v, want a redirect to the cashier", o.NextAction)
		}
		br.do(20*time.Second,
			chromedp.Navigate(o.NextAction.URL),
			chromedp.WaitVisible(chromedp.CSS(`button[value="wechat.native"]`)),
		)
		if amount := eval[string](br, `document.getElementById('amount').textContent`); amount != "CN¥25.99CNY" {
			t.Errorf("amount reads %q", amount)
		}
		// The countdown is live: it moves without a reload.
		first := eval[string](br, `document.getElementById('countdown').textContent`)
		br.do(10*time.Second, chromedp.Poll[chromedp.Void](
			fmt.Sprintf(`document.getElementById('countdown').textContent !== %q`, first), chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))

		br.do(20*time.Second,
			chromedp.Click(chromedp.CSS(`button[value="wechat.native"]`)),
			chromedp.WaitVisible(chromedp.ID("qr")),
		)
		br.do(10*time.Second, chromedp.Poll[chromedp.Void](
			`document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))
		if got, err := c.GetOrder(ctx, o.ID); err != nil || got.Method != "wechat.native" || got.NextAction == nil || got.NextAction.Type != "qr_code" {
			t.Fatalf("after the pick: %+v %v", got, err)
		}

		br.do(20*time.Second, chromedp.Click(chromedp.ID("test-pay")))
		r := rr.wait(t, 20*time.Second)
		checkReturn(t, r, secret, o)
		br.do(10*time.Second, chromedp.WaitVisible(chromedp.ID("back")))
		loc, _ := chromedp.Run(br.ctx, chromedp.Location())
		if !strings.HasPrefix(loc, rr.url+"?") {
			t.Errorf("browser is at %s", loc)
		}
		if ref := eval[string](br, `document.referrer`); ref != "" {
			t.Errorf("return page sees referrer %q", ref)
		}
		if got, err := c.GetOrder(ctx, o.ID); err != nil || got.Status != "succeeded" {
			t.Fatalf("order after the browser paid: %+v %v", got, err)
		}
		br.noProblems()
	})

	t.Run("poll", func(t *testing.T) {
		br.t = t
		o, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "browser-2", Amount: 1200, Currency: "JPY",
			Subject: "Matcha", Method: "sandbox", ReturnURL: rr.url + "?cart=42"})
		if err != nil {
			t.Fatal(err)
		}
		if o.NextAction == nil || o.NextAction.CashierURL == "" {
			t.Fatalf("next_action %+v, want a cashier_url", o.NextAction)
		}
		br.do(20*time.Second, chromedp.Navigate(o.NextAction.CashierURL), chromedp.WaitVisible(chromedp.ID("qr")))
		if amount := eval[string](br, `document.getElementById('amount').textContent`); amount != "¥1,200JPY" {
			t.Errorf("amount reads %q", amount)
		}
		// The payer pays on another device; the page notices by polling.
		if _, err := c.TestPayOrder(ctx, o.ID, "succeeded"); err != nil {
			t.Fatal(err)
		}
		r := rr.wait(t, 20*time.Second)
		checkReturn(t, r, secret, o)
		br.noProblems()
	})
}
