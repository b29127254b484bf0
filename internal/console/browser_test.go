package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/web/browsertest"
)

// forgive drops the problems the browser reported that contain every one
// of parts (a page answered 404 or 403 on purpose logs a console error).
func forgive(b *browsertest.Browser, parts ...string) {
	b.Forgive(func(p string) bool {
		for _, s := range parts {
			if !strings.Contains(p, s) {
				return false
			}
		}
		return true
	})
}

// signIn fills the sign-in form and waits for the overview.
func signIn(b *browsertest.Browser, base, email string) {
	b.T.Helper()
	b.Do(30*time.Second,
		chromedp.Navigate(base+"/console/login?lang=en"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS("nav.side")),
	)
}

// TestBrowserConsole drives the console in headless Chromium: an operator
// signs in, finds an order by its channel trade number, resends its failed
// webhook, refunds part of it, exports a filtered CSV whose rows are
// checked, and resolves a reconciliation discrepancy from its run's page;
// a merchant's user signs in, adds a webhook endpoint (its secret shown
// once), and cannot open another merchant's order by its URL; a forged
// CSRF token and an expired session are refused.
func TestBrowserConsole(t *testing.T) {
	br := browsertest.New(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "paygate.db"))
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, st)
	ctx := context.Background()
	rc := webhookReceiver(t, g)
	addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
	o := paidOrder(t, g, "browser-1", 12800)
	var small []string // the orders the filtered export must hold
	for i := 0; i < 5; i++ {
		x := paidOrder(t, g, fmt.Sprintf("browser-small-%d", i), int64(100+i))
		small = append(small, x.ID)
	}
	ev := eventOf(t, g, o, "order.succeeded")
	waitDeliveries(t, g, ev.ID, store.DeliveryFailed)

	other, err := g.API.Accounts.CreateMerchant(ctx, account.MerchantParams{Name: "Other shop"})
	if err != nil {
		t.Fatal(err)
	}
	otherApp, err := g.API.Accounts.CreateApp(ctx, other.ID, account.AppParams{Name: "o", Mode: "test"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, _, err := g.Payments.CreateOrder(ctx, payment.Scope{MerchantID: other.ID, AppID: otherApp.App.ID},
		payment.CreateOrderParams{OutTradeNo: "theirs-1", Amount: 999, Currency: "CNY", Subject: "Not yours", Method: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, g, store.ConsoleMerchant, o.MerchantID, "shop@example.com", store.RoleAdmin)
	run, discs := reconciledDay(t, g, 2)
	base := g.URL()

	t.Run("operator", func(t *testing.T) {
		br.T = t
		signIn(br, base, "ops@example.com")
		// Search by the channel's trade number from the box in the header.
		br.Do(20*time.Second,
			chromedp.SendKeys(chromedp.ID("q"), o.ChannelTradeNo),
			chromedp.Submit(chromedp.ID("q")),
			chromedp.WaitVisible(chromedp.ID("order-id")),
		)
		if got := browsertest.Eval[string](br, `document.getElementById('order-id').textContent`); got != o.ID {
			t.Fatalf("search by channel trade number %s opened %q, want %s", o.ChannelTradeNo, got, o.ID)
		}
		// The failed webhook: the merchant's server is back; resend it.
		rc.ok.Store(true)
		br.Do(20*time.Second,
			chromedp.Click(chromedp.CSS(`button.resend[data-event="`+ev.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("flash")),
		)
		waitDeliveries(t, g, ev.ID, store.DeliverySucceeded)

		// Refund 25.00 of 128.00, with the confirmation step.
		br.Do(20*time.Second,
			chromedp.SendKeys(chromedp.ID("refund-amount"), "25.00"),
			chromedp.SendKeys(chromedp.ID("refund-reason"), "one cup spilt"),
			chromedp.Click(chromedp.ID("refund-next")),
			chromedp.WaitVisible(chromedp.ID("refund-confirm")),
		)
		if text := browsertest.Eval[string](br, `document.getElementById('confirm-text').textContent`); !strings.Contains(text, "25.00") {
			t.Errorf("confirmation reads %q", text)
		}
		br.Do(20*time.Second, chromedp.Click(chromedp.ID("refund-confirm")), chromedp.WaitVisible(chromedp.ID("flash")))
		if got := browsertest.Eval[string](br, `document.getElementById('order-refunded').textContent`); !strings.Contains(got, "25.00") {
			t.Errorf("refunded reads %q", got)
		}
		if got, _ := g.Store.OrderGet(ctx, o.ID); got.AmountRefunded != 2500 {
			t.Errorf("order refunded %d, want 2500", got.AmountRefunded)
		}

		// Filter the orders list, then fetch the export link the page offers.
		br.Do(20*time.Second,
			chromedp.Navigate(base+"/console/orders?lang=en"),
			chromedp.WaitVisible(chromedp.ID("filters")),
			chromedp.SetValue(chromedp.ID("f-status"), "succeeded"),
			chromedp.SendKeys(chromedp.ID("f-min"), "100"),
			chromedp.SendKeys(chromedp.ID("f-max"), "104"),
			chromedp.Click(chromedp.ID("apply")),
		)
		// The unfiltered page has #orders too: wait for the filtered one.
		waitLocation(t, br, "status=succeeded")
		br.Do(20*time.Second, chromedp.WaitVisible(chromedp.ID("orders")))
		if n := browsertest.Eval[int](br, `document.querySelectorAll('#orders tbody tr').length`); n != len(small) {
			t.Errorf("the filtered list shows %d orders, want %d: %s", n, len(small), browsertest.Eval[string](br, `document.getElementById('orders').textContent`))
		}
		fetchCtx, cancel := context.WithTimeout(br.Ctx, 20*time.Second)
		body, err := chromedp.Run(fetchCtx, chromedp.Evaluate[string](`fetch(document.getElementById('export').href).then(r => r.text())`,
			chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatalf("fetch the export: %v", err)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("export is not CSV: %v\n%s", err, body)
		}
		var ids []string
		for _, row := range rows[1:] {
			ids = append(ids, row[0])
			if row[8] != "succeeded" {
				t.Errorf("exported row %v", row)
			}
		}
		slices.Sort(ids)
		slices.Sort(small)
		if !slices.Equal(ids, small) {
			t.Errorf("export holds %v, want %v", ids, small)
		}

		// Reconciliation: open the run from the list, resolve a discrepancy.
		br.Do(20*time.Second,
			chromedp.Navigate(base+"/console/recon?lang=en"),
			chromedp.WaitVisible(chromedp.ID("recon-runs")),
			chromedp.Click(chromedp.CSS(`#recon-runs a[href="/console/recon/`+run.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("discrepancies")),
		)
		if got := browsertest.Eval[string](br, `document.getElementById('run-id').textContent`); got != run.ID {
			t.Fatalf("the run's page is of %q, want %s", got, run.ID)
		}
		d := discs[0]
		form := `form.resolve[data-discrepancy="` + d.ID + `"]`
		br.Do(20*time.Second,
			chromedp.SetValue(chromedp.CSS(form+` select[name="action"]`), "adjust"),
			chromedp.SendKeys(chromedp.CSS(form+` input[name="note"]`), "a test line of the channel"),
			chromedp.Click(chromedp.CSS(form+` button`)),
		)
		waitLocation(t, br, "done=")
		br.Do(20*time.Second, chromedp.WaitVisible(chromedp.ID("flash")))
		if got, _ := g.Store.DiscrepancyGet(ctx, d.ID); got.Status != store.DiscrepancyResolved || got.Action != "adjust" || got.ResolvedBy != "ops@example.com" {
			t.Errorf("after resolving in the browser the discrepancy is %s (%s by %s)", got.Status, got.Action, got.ResolvedBy)
		}
		if n := browsertest.Eval[int](br, `document.querySelectorAll('form.resolve').length`); n != len(discs)-1 {
			t.Errorf("the run's page offers %d resolve forms after resolving one, want %d", n, len(discs)-1)
		}
		br.NoProblems()
	})

	t.Run("merchant", func(t *testing.T) {
		br.T = t
		if _, err := chromedp.Call(br.Ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		signIn(br, base, "shop@example.com")

		// Add a webhook endpoint for one event type; its secret shows once.
		hookURL := rc.url + "/browser"
		br.Do(20*time.Second,
			chromedp.Navigate(base+"/console/webhooks?lang=en"),
			chromedp.WaitVisible(chromedp.ID("endpoint-form")),
			chromedp.SendKeys(chromedp.ID("endpoint-url"), hookURL),
			chromedp.SendKeys(chromedp.ID("endpoint-description"), "from the browser"),
			chromedp.Click(chromedp.CSS(`#endpoint-form input[value="refund.succeeded"]`)),
			chromedp.Click(chromedp.ID("endpoint-create")),
			chromedp.WaitVisible(chromedp.ID("endpoint-secret")),
		)
		secret := browsertest.Eval[string](br, `document.getElementById('endpoint-secret').textContent`)
		es, _, err := g.Store.WebhookEndpointList(ctx, g.Demo.App.ID, store.ListParams{Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		var made *store.WebhookEndpoint
		for _, e := range es {
			if e.URL == hookURL {
				made = e
			}
		}
		if made == nil || strings.Join(made.EnabledEvents, ",") != "refund.succeeded" || made.Description != "from the browser" {
			t.Fatalf("the endpoint made in the browser: %+v", made)
		}
		if plain, err := g.Box.Open(made.SecretSealed); err != nil || plain != secret {
			t.Errorf("the secret shown (%q) is not the endpoint's: %v", secret, err)
		}
		if n := browsertest.Eval[int](br, `document.querySelectorAll('#endpoints tr[data-endpoint="`+made.ID+`"]').length`); n != 1 {
			t.Errorf("the endpoints table lists the new endpoint %d times", n)
		}

		br.Do(20*time.Second,
			chromedp.Navigate(base+"/console/orders/"+theirs.ID+"?lang=en"),
			chromedp.WaitVisible(chromedp.ID("error-text")),
		)
		if code := browsertest.Eval[string](br, `document.getElementById('error-text').dataset.code`); code != "not_found" {
			t.Errorf("another merchant's order by URL: %q", code)
		}
		if strings.Contains(browsertest.Eval[string](br, `document.body.textContent`), "Not yours") {
			t.Error("the page shows another merchant's order")
		}
		forgive(br, "404", theirs.ID)

		// Its own order opens; a form with a forged CSRF token is refused.
		br.Do(20*time.Second,
			chromedp.Navigate(base+"/console/orders/"+o.ID+"?lang=en"),
			chromedp.WaitVisible(chromedp.ID("refund-form")),
			chromedp.SetValue(chromedp.CSS(`#refund-form input[name="csrf"]`), "forged-token"),
			chromedp.SendKeys(chromedp.ID("refund-amount"), "1.00"),
			chromedp.Click(chromedp.ID("refund-next")),
			chromedp.WaitVisible(chromedp.ID("error-text")),
		)
		if code := browsertest.Eval[string](br, `document.getElementById('error-text').dataset.code`); code != "csrf_invalid" {
			t.Errorf("forged CSRF token: %q", code)
		}
		forgive(br, "403")

		// The same session, 31 minutes idle later (a console on a clock
		// moved on, over the same database), is over: the browser is sent
		// to sign in.
		clk := &offsetClock{}
		clk.d.Store(int64(31 * time.Minute))
		later := consoleAt(t, g, clk)
		br.Do(20*time.Second,
			chromedp.Navigate(later+"/console/orders?lang=en"),
			chromedp.WaitVisible(chromedp.ID("login-form")),
		)
		br.NoProblems()
	})
}

// waitLocation waits until the browser's page is one whose URL contains
// part (a form's GET has been followed).
func waitLocation(t *testing.T, br *browsertest.Browser, part string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(br.Ctx, 2*time.Second)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if err == nil && strings.Contains(loc, part) {
			return
		}
	}
	t.Fatalf("the browser never reached a page whose URL has %q", part)
}
