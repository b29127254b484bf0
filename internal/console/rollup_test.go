package console_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// TestConsoleRollup: the rollup job's daily sums equal the sums read from
// the orders, a second run does not count twice, and the overview shows
// the same totals from the rollup as from the orders.
func TestConsoleRollup(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		ctx := context.Background()
		st := g.Store
		now := time.Now().UTC()
		today := now.Truncate(24 * time.Hour)
		statuses := []store.OrderStatus{store.OrderSucceeded, store.OrderSucceeded, store.OrderClosed, store.OrderFailed}
		for i := 0; i < 40; i++ {
			at := today.AddDate(0, 0, -12+i*12/40).Add(time.Duration(i) * time.Hour)
			o := &store.Order{ID: id.New(id.Order, at), MerchantID: g.Demo.App.MerchantID, AppID: g.Demo.App.ID,
				OutTradeNo: fmt.Sprintf("roll-%d", i), Amount: int64(100 * (i + 1)), Currency: "CNY", Subject: "x",
				Method: []string{"alipay.qr", "card"}[i%2], Status: statuses[i%4], Channel: "sandbox", Metadata: map[string]string{},
				RequestHash: "x", CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(time.Hour)}
			if err := st.OrderCreate(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		op := newUser(t, g.URL())
		op.login("ops@example.com")
		before := totals(op.get("/console/?lang=en").body)

		for i := 0; i < 2; i++ {
			if err := console.Rollup(ctx, st, now); err != nil {
				t.Fatal(err)
			}
		}
		from, edge := today.AddDate(0, 0, -14), today.AddDate(0, 0, -1)
		live, err := st.ConsoleStats(ctx, "", false, from, edge)
		if err != nil {
			t.Fatal(err)
		}
		rolled, err := st.ConsoleRolledStats(ctx, "", false, from, edge)
		if err != nil {
			t.Fatal(err)
		}
		key := func(s store.ConsoleStat) string {
			return fmt.Sprintf("%s %s %s %s %d %d %d", s.Day, s.Method, s.ChannelAccountID, s.Currency, s.Orders, s.Succeeded, s.Amount)
		}
		var a, b []string
		for _, s := range live {
			a = append(a, key(s))
		}
		for _, s := range rolled {
			b = append(b, key(s))
		}
		slices.Sort(a)
		slices.Sort(b)
		if len(a) == 0 || !slices.Equal(a, b) {
			t.Errorf("rolled up %v\nfrom the orders %v", b, a)
		}
		if days, _ := st.ConsoleRolledDays(ctx, from, edge); len(days) != 13 {
			t.Errorf("%d days rolled up in [%s, %s), want 13", len(days), from, edge)
		}
		// A fresh console (no cache) reads the rollup: the same totals.
		fresh := newUser(t, consoleAt(t, g, &offsetClock{}))
		fresh.login("ops@example.com")
		if r := fresh.get("/console/?lang=en"); r.status != http.StatusOK || totals(r.body) != before || before == "" {
			t.Errorf("overview from the rollup %q, from the orders %q", totals(r.body), before)
		}
	})
}

// totals is the overview's line of paid and created orders.
func totals(page string) string {
	i := strings.Index(page, "orders paid")
	if i < 0 {
		return ""
	}
	return page[max(0, i-20) : i+30]
}
