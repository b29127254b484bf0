package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// TestConsoleOperatorPages: an operator signs in, every page renders, the
// search box finds an order by each of its references, and the order's
// page shows its timeline.
func TestConsoleOperatorPages(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		o := paidOrder(t, g, "shop-1001", 2599)
		if o.ChannelTradeNo == "" {
			t.Fatalf("paid sandbox order has no channel trade number: %+v", o)
		}
		op := newUser(t, g.URL())
		if r := op.get("/console/orders"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/login?next=") {
			t.Fatalf("signed out: %d %s", r.status, r.header.Get("Location"))
		}
		op.login("ops@example.com")
		for _, path := range []string{"/console/", "/console/?days=30", "/console/orders", "/console/orders?status=succeeded&method=sandbox&min=1&max=100000&from=2020-01-01&to=2099-01-01",
			"/console/refunds", "/console/webhooks", "/console/channels", "/console/merchants", "/console/merchants/" + o.MerchantID,
			"/console/settlements", "/console/reviews", "/console/risk", "/console/users", "/console/account", "/console/orders/" + o.ID,
			"/console/search?q=nothing-like-this", "/console/?lang=zh"} {
			r := op.get(path)
			if r.status != http.StatusOK {
				t.Errorf("GET %s: %d %s", path, r.status, errorText(r.body))
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("GET %s: CSP %q", path, csp)
			}
		}
		for _, q := range []string{o.ID, o.OutTradeNo, o.ChannelTradeNo} {
			r := op.get("/console/search?q=" + url.QueryEscape(q))
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/orders/"+o.ID {
				t.Errorf("search %s: %d → %s", q, r.status, r.header.Get("Location"))
			}
		}
		// A payer's orders: two of them list, and only theirs.
		ctx := context.Background()
		sc := payment.Scope{MerchantID: g.Demo.App.MerchantID, AppID: g.Demo.App.ID}
		var payers []string
		for i := 0; i < 2; i++ {
			po, _, err := g.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "payer-" + string(rune('a'+i)), Amount: 100,
				Currency: "CNY", Subject: "x", Method: "sandbox", Payer: store.Payer{ID: "wx-openid-42"}})
			if err != nil {
				t.Fatal(err)
			}
			payers = append(payers, po.ID)
		}
		r := op.get("/console/search?q=wx-openid-42")
		if r.status != http.StatusOK || !strings.Contains(r.body, payers[0]) || !strings.Contains(r.body, payers[1]) || strings.Contains(r.body, o.ID) {
			t.Errorf("search by payer id: %d", r.status)
		}
		page := op.get("/console/orders/" + o.ID + "?lang=en").body
		for _, want := range []string{"Order created", "Paid", "order.succeeded", "Ledger entry payment", o.ChannelTradeNo, `id="refund-form"`} {
			if !strings.Contains(page, want) {
				t.Errorf("order page lacks %q", want)
			}
		}
		// The risk rules page tries a draft rule on the recent attempts.
		op.get("/console/risk")
		r = op.post("/console/risk", url.Values{"expression": {"order.amount > 1000"}, "action": {"block"}, "days": {"7"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, `id="dry-run-result"`) {
			t.Errorf("dry run: %d %s", r.status, errorText(r.body))
		}
		if r := op.post("/console/risk", url.Values{"expression": {"order.amout >"}, "action": {"block"}, "days": {"7"}}); r.status != http.StatusBadRequest {
			t.Errorf("dry run of a broken rule: %d", r.status)
		}
		if zh := op.get("/console/orders/" + o.ID + "?lang=zh").body; !strings.Contains(zh, "订单") || !strings.Contains(zh, `lang="zh-CN"`) {
			t.Errorf("Chinese order page: %.200s", zh)
		}
	})
}

// TestConsoleMerchantSeesOnlyItsOwn: a merchant's user sees its orders, and
// another merchant's order is not found, by URL, search or list.
func TestConsoleMerchantSeesOnlyItsOwn(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		ctx := context.Background()
		mine := paidOrder(t, g, "mine-1", 1000)
		other, err := g.API.Accounts.CreateMerchant(ctx, account.MerchantParams{Name: "Other shop"})
		if err != nil {
			t.Fatal(err)
		}
		app, err := g.API.Accounts.CreateApp(ctx, other.ID, account.AppParams{Name: "o", Mode: "test"})
		if err != nil {
			t.Fatal(err)
		}
		theirs, _, err := g.Payments.CreateOrder(ctx, payment.Scope{MerchantID: other.ID, AppID: app.App.ID},
			payment.CreateOrderParams{OutTradeNo: "theirs-1", Amount: 500, Currency: "CNY", Subject: "x", Method: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		addUser(t, g, store.ConsoleMerchant, mine.MerchantID, "shop@example.com", store.RoleAdmin)
		m := newUser(t, g.URL())
		m.login("shop@example.com")
		if r := m.get("/console/orders/" + mine.ID); r.status != http.StatusOK {
			t.Errorf("own order: %d", r.status)
		}
		if r := m.get("/console/orders/" + theirs.ID); r.status != http.StatusNotFound {
			t.Errorf("other merchant's order: %d, want 404", r.status)
		}
		if r := m.get("/console/search?q=theirs-1"); r.status != http.StatusOK || !strings.Contains(r.body, `id="no-results"`) {
			t.Errorf("search of another merchant's out_trade_no: %d", r.status)
		}
		list := m.get("/console/orders").body
		if !strings.Contains(list, mine.ID) || strings.Contains(list, theirs.ID) {
			t.Errorf("list shows mine %v, theirs %v", strings.Contains(list, mine.ID), strings.Contains(list, theirs.ID))
		}
		// The merchant filter is the operator's: a merchant's user cannot widen it.
		if list := m.get("/console/orders?merchant=" + other.ID).body; strings.Contains(list, theirs.ID) {
			t.Error("merchant filter widened a merchant user's list")
		}
		if csv := m.get("/console/orders.csv?merchant=" + other.ID).body; strings.Contains(csv, theirs.ID) || !strings.Contains(csv, mine.ID) {
			t.Errorf("export: %q", csv)
		}
		for _, path := range []string{"/console/merchants", "/console/channels", "/console/reviews", "/console/merchants/" + other.ID} {
			if r := m.get(path); r.status != http.StatusForbidden {
				t.Errorf("GET %s as a merchant: %d, want 403", path, r.status)
			}
		}
		if r := m.post("/console/orders/"+theirs.ID+"/refund", url.Values{"amount": {"1"}, "out_refund_no": {"x"}, "confirm": {"yes"}}); r.status != http.StatusNotFound {
			t.Errorf("refund of another merchant's order: %d", r.status)
		}
	})
}
