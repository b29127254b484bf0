package console_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// TestConsoleChannelCharts: the channel accounts page charts, per hour,
// the share of each account's orders that succeeded and the mean time to
// payment, from the orders.
func TestConsoleChannelCharts(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleViewer)
		// Per UTC hour of creation: orders, and how many were paid (the
		// three are made within moments, but may straddle an hour).
		type tally struct{ orders, paid int }
		byHour := map[time.Time]*tally{}
		count := func(o *store.Order, paid bool) {
			h := o.CreatedAt.UTC().Truncate(time.Hour)
			if byHour[h] == nil {
				byHour[h] = &tally{}
			}
			byHour[h].orders++
			if paid {
				byHour[h].paid++
			}
		}
		for i, no := range []string{"ch-1", "ch-2", "ch-3"} {
			if i < 2 {
				count(paidOrder(t, g, no, 100), true)
				continue
			}
			// Created at the channel, never paid: one of three fails to succeed.
			o, _, err := g.Payments.CreateOrder(context.Background(), payment.Scope{MerchantID: g.Demo.App.MerchantID, AppID: g.Demo.App.ID},
				payment.CreateOrderParams{OutTradeNo: no, Amount: 100, Currency: "CNY", Subject: "unpaid", Method: "sandbox"})
			if err != nil {
				t.Fatal(err)
			}
			count(o, false)
		}
		op := newUser(t, g.URL())
		op.login("ops@example.com")
		page := op.get("/console/channels?lang=en").body
		chart := func(label string) string {
			return regexp.MustCompile(`(?s)<svg class="chart"[^>]*aria-label="` + regexp.QuoteMeta(label) + `".*?</svg>`).FindString(page)
		}
		success := chart("Success rate per hour, by channel account (UTC)")
		if n := strings.Count(success, "<circle"); n != len(byHour) {
			t.Errorf("the success chart has %d points, want %d (hours with orders):\n%s", n, len(byHour), success)
		}
		paidHours := 0
		for h, c := range byHour {
			want := fmt.Sprintf(" %s: %.1f</title>", h.Format("2006-01-02 15:00"), 100*float64(c.paid)/float64(c.orders))
			if !strings.Contains(success, want) {
				t.Errorf("the success chart lacks the point %q:\n%s", want, success)
			}
			if c.paid > 0 {
				paidHours++
			}
		}
		pay := chart("Seconds from order to payment, mean per hour (UTC)")
		if n := strings.Count(pay, "<circle"); n != paidHours {
			t.Errorf("the time-to-payment chart has %d points, want %d (hours with payments):\n%s", n, paidHours, pay)
		}
		if page48 := op.get("/console/channels?hours=48&lang=en").body; !strings.Contains(page48, "Last 48 hours") {
			t.Error("the 48-hour view is not offered")
		}
	})
}
