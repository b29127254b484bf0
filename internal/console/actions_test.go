package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/store"
)

// TestConsoleResendAndRefund: a failed webhook shows on the webhooks page
// and the order's timeline, and resending it after the merchant's server
// is back delivers it; a refund asks for confirmation, checks the amount,
// and a double submit makes one refund.
func TestConsoleResendAndRefund(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		rc := webhookReceiver(t, g)
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		o := paidOrder(t, g, "resend-1", 10000)
		ev := eventOf(t, g, o, "order.succeeded")
		waitDeliveries(t, g, ev.ID, store.DeliveryFailed)

		op := newUser(t, g.URL())
		op.login("ops@example.com")
		if r := op.get("/console/webhooks"); !strings.Contains(r.body, ev.ID) || !strings.Contains(r.body, rc.url) {
			t.Errorf("webhooks page does not list the failure of %s", ev.ID)
		}
		if page := op.get("/console/orders/" + o.ID + "?lang=en").body; !strings.Contains(page, "HTTP 503") || !strings.Contains(page, `data-status="failed"`) {
			t.Error("the order's timeline does not show the failed attempts")
		}
		rc.ok.Store(true)
		r := op.post("/console/events/"+ev.ID+"/resend", url.Values{"next": {"/console/orders/" + o.ID}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/orders/"+o.ID) {
			t.Fatalf("resend: %d %s %s", r.status, r.header.Get("Location"), errorText(r.body))
		}
		waitDeliveries(t, g, ev.ID, store.DeliverySucceeded)
		if r := op.get("/console/webhooks"); strings.Contains(r.body, ev.ID) {
			t.Error("the delivered event is still listed as failed")
		}

		// Refund 30.00 of 100.00: a confirmation page first, nothing refunded yet.
		form := url.Values{"amount": {"30.00"}, "reason": {"damaged"}, "out_refund_no": {"console-test-1"}}
		r = op.post("/console/orders/"+o.ID+"/refund", form)
		if r.status != http.StatusOK || !strings.Contains(r.body, `id="refund-confirm"`) || !strings.Contains(r.body, "30.00") {
			t.Fatalf("refund step 1: %d %s", r.status, errorText(r.body))
		}
		if got, _ := g.Store.OrderGet(context.Background(), o.ID); got.AmountRefunded != 0 {
			t.Fatal("refunded before the confirmation")
		}
		form.Set("confirm", "yes")
		for i := 0; i < 2; i++ { // a double click is one refund
			if r := op.post("/console/orders/"+o.ID+"/refund", form); r.status != http.StatusSeeOther {
				t.Fatalf("refund confirm %d: %d %s", i, r.status, errorText(r.body))
			}
		}
		got, _ := g.Store.OrderGet(context.Background(), o.ID)
		if got.AmountRefunded != 3000 {
			t.Errorf("refunded %d, want 3000", got.AmountRefunded)
		}
		for amount, want := range map[string]int{"70.01": http.StatusConflict, "1.234": http.StatusBadRequest, "-5": http.StatusBadRequest, "0": http.StatusBadRequest} {
			f := url.Values{"amount": {amount}, "out_refund_no": {"console-test-" + amount}, "confirm": {"yes"}}
			if r := op.post("/console/orders/"+o.ID+"/refund", f); r.status != want {
				t.Errorf("refund %s: %d, want %d (%s)", amount, r.status, want, errorText(r.body))
			}
		}
		// The search box finds the refund by the merchant's refund number, and the event by its id.
		rfs, _, _ := g.Store.ConsoleRefunds(context.Background(), store.ConsoleRefundFilter{OrderID: o.ID, MerchantID: o.MerchantID})
		if len(rfs) != 1 {
			t.Fatalf("refunds %v", rfs)
		}
		for q, want := range map[string]string{"console-test-1": "/console/orders/" + o.ID + "#" + rfs[0].ID, rfs[0].ID: "/console/orders/" + o.ID + "#" + rfs[0].ID,
			ev.ID: "/console/orders/" + o.ID + "#" + ev.ID} {
			if r := op.get("/console/search?q=" + q); r.status != http.StatusSeeOther || r.header.Get("Location") != want {
				t.Errorf("search %s: %d → %s, want %s", q, r.status, r.header.Get("Location"), want)
			}
		}
		// The actions are in the audit log, and its chain holds.
		for action, object := range map[string]string{"POST /console/orders/{id}/refund": o.ID, "POST /console/events/{id}/resend": ev.ID} {
			evs, _, err := g.Store.AuditList(context.Background(), store.AuditFilter{Action: action, ObjectID: object})
			if err != nil || len(evs) == 0 || evs[0].ActorType != "console_operator" || !strings.HasPrefix(evs[0].ActorID, "usr_") {
				t.Errorf("audit of %s %s: %+v %v", action, object, evs, err)
			}
		}
		if evs, _, _ := g.Store.AuditList(context.Background(), store.AuditFilter{Action: "POST /console/orders/{id}/refund"}); len(evs) != 2 {
			t.Errorf("%d refund records, want 2 (the confirmed posts; not the confirmation step nor the refused amounts)", len(evs))
		}
		if rep, err := api.VerifyAudit(context.Background(), g.Store); err != nil || len(rep.Broken) > 0 {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
		// The overview's charts count the refund and the deliveries by status.
		home := op.get("/console/?lang=en").body
		for _, want := range []string{`aria-label="Refunds per day, by status"`, `aria-label="Webhook deliveries per day, by status"`, `>sandbox</text>`} {
			if !strings.Contains(home, want) {
				t.Errorf("overview lacks %s", want)
			}
		}
		if n := strings.Count(home, `>succeeded</text>`); n < 2 {
			t.Errorf("overview has %d series named succeeded, want the refunds' and the deliveries'", n)
		}
		if page := op.get("/console/orders/" + o.ID + "?lang=en").body; !strings.Contains(page, "Refund rfd_") || !strings.Contains(page, "console-test-1") {
			t.Error("the refund is not on the order's page")
		}
	})
}

// TestConsoleExportStreamsTheWholeSet: the CSV export holds every order of
// the filtered set, across many chunks, and nothing else.
func TestConsoleExportStreamsTheWholeSet(t *testing.T) {
	defer console.SetExportChunk(3)()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		var want []string
		for i := 0; i < 14; i++ {
			o := paidOrder(t, g, fmt.Sprintf("exp-%02d", i), int64(100*(i+1)))
			if o.Amount >= 300 && o.Amount <= 1200 {
				want = append(want, o.ID)
			}
		}
		op := newUser(t, g.URL())
		op.login("ops@example.com")
		r := op.get("/console/orders.csv?status=succeeded&min=300&max=1200")
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %v", r.status, r.header)
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0] != "id" || rows[0][5] != "amount" {
			t.Fatalf("header %v", rows[0])
		}
		var got []string
		for _, row := range rows[1:] {
			got = append(got, row[0])
			if row[8] != "succeeded" || row[6] != "CNY" {
				t.Errorf("row %v", row)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("exported %d orders %v, want %d %v", len(got), got, len(want), want)
		}
		// The page shows 50 at most; the export is the whole set.
		if r := op.get("/console/orders.csv"); strings.Count(r.body, "\n") != 15 {
			t.Errorf("unfiltered export has %d lines, want 15", strings.Count(r.body, "\n"))
		}
	})
}
