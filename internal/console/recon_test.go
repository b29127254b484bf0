package console_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/recon/recontest"
	"github.com/paygate/paygate/internal/settlement/settlementtest"
	"github.com/paygate/paygate/internal/store"
)

// reconciledDay reconciles yesterday's bill (the channels' day) of a new
// WeChat Pay account, uploaded in WeChat Pay's format, whose lines name
// orders the gateway does not have: each is an open channel_only
// discrepancy.
func reconciledDay(t *testing.T, g *gateway.Gateway, lines int) (*store.ReconRun, []*store.Discrepancy) {
	t.Helper()
	ctx := context.Background()
	key, _ := hex.DecodeString(testMasterKey)
	acct, err := recontest.WeChatAccount(ctx, g.Store, key, 60)
	if err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	day := time.Now().In(shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	var bill bytes.Buffer
	if _, err := recontest.WriteWeChatBill(&bill, settlementtest.Day{Day: day, Transactions: lines}, 60); err != nil {
		t.Fatal(err)
	}
	run, err := g.Recon.Run(ctx, recon.RunParams{ChannelAccountID: acct.ID, Date: day, StartedBy: "test",
		Bill: &recon.Upload{R: bytes.NewReader(bill.Bytes()), Size: int64(bill.Len())}})
	if err != nil {
		t.Fatalf("reconcile %s: %v", day, err)
	}
	ds, _, err := g.Store.DiscrepancyList(ctx, store.DiscrepancyFilter{RunID: run.ID, ListParams: store.ListParams{Limit: 100}})
	if err != nil || len(ds) != lines {
		t.Fatalf("discrepancies of %s: %d, %v; want %d", run.ID, len(ds), err, lines)
	}
	return run, ds
}

// TestConsoleReconciliation: an operator finds a run by its filters, opens
// it, and resolves a discrepancy (booked by recon.Service.Resolve, in the
// audit log); a viewer cannot resolve, a merchant's user cannot see the
// pages, bad input is a 4xx naming the field, and starting a run goes
// through recon.Service.Run (a provider without bills says so).
func TestConsoleReconciliation(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		ctx := context.Background()
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		addUser(t, g, store.ConsoleOperator, "", "view@example.com", store.RoleViewer)
		addUser(t, g, store.ConsoleMerchant, g.Demo.App.MerchantID, "shop@example.com", store.RoleAdmin)
		run, ds := reconciledDay(t, g, 3)

		op := newUser(t, g.URL())
		op.login("ops@example.com")
		if r := op.get("/console/recon?lang=en"); r.status != http.StatusOK || !strings.Contains(r.body, run.ID) {
			t.Fatalf("runs page: %d, lists %s: %v", r.status, run.ID, strings.Contains(r.body, run.ID))
		}
		for query, want := range map[string]bool{"status=completed&date=" + run.BillDate: true, "status=failed": false,
			"account=" + run.ChannelAccountID: true, "account=" + channelaccount.SandboxAccountID: false} {
			if r := op.get("/console/recon?" + query); r.status != http.StatusOK || strings.Contains(r.body, run.ID) != want {
				t.Errorf("runs filtered by %s: %d, lists the run %v, want %v", query, r.status, !want, want)
			}
		}
		for _, query := range []string{"date=yesterday", "status=done", "account=x"} {
			if r := op.get("/console/recon?" + query); r.status != http.StatusBadRequest {
				t.Errorf("runs filtered by %s: %d, want 400 (%s)", query, r.status, errorText(r.body))
			}
		}
		page := op.get("/console/recon/" + run.ID + "?lang=en")
		if page.status != http.StatusOK {
			t.Fatalf("run page: %d %s", page.status, errorText(page.body))
		}
		for _, d := range ds {
			if !strings.Contains(page.body, `data-discrepancy="`+d.ID+`"`) {
				t.Errorf("the run's page has no resolve form for %s", d.ID)
			}
		}
		if !strings.Contains(page.body, `<tr data-class="channel_only"><td>channel only</td><td class="num">3</td>`) {
			t.Error("the run's tallies do not count 3 channel-only lines")
		}
		if r := op.get("/console/recon/rcn_nosuchrun"); r.status != http.StatusNotFound {
			t.Errorf("a run that does not exist: %d", r.status)
		}

		d := ds[0]
		resolve := "/console/discrepancies/" + d.ID + "/resolve"
		if r := op.post(resolve, url.Values{"action": {"write_off"}}); r.status != http.StatusBadRequest {
			t.Errorf("resolve without a note: %d %s", r.status, errorText(r.body))
		}
		if r := op.post(resolve, url.Values{"action": {"forget"}, "note": {"x"}}); r.status != http.StatusBadRequest {
			t.Errorf("resolve with an unknown action: %d %s", r.status, errorText(r.body))
		}

		viewer := newUser(t, g.URL())
		viewer.login("view@example.com")
		if r := viewer.get("/console/recon/" + run.ID); r.status != http.StatusOK || strings.Contains(r.body, `data-discrepancy="`) {
			t.Errorf("a viewer's run page: %d, with resolve forms: %v", r.status, strings.Contains(r.body, `data-discrepancy="`))
		}
		if r := viewer.post(resolve, url.Values{"action": {"write_off"}, "note": {"lost"}}); r.status != http.StatusForbidden {
			t.Errorf("a viewer resolves: %d", r.status)
		}
		shop := newUser(t, g.URL())
		shop.login("shop@example.com")
		for _, path := range []string{"/console/recon", "/console/recon/" + run.ID} {
			if r := shop.get(path); r.status != http.StatusForbidden {
				t.Errorf("a merchant's user opens %s: %d", path, r.status)
			}
		}
		if r := shop.post(resolve, url.Values{"action": {"write_off"}, "note": {"lost"}}); r.status != http.StatusForbidden {
			t.Errorf("a merchant's user resolves: %d", r.status)
		}
		if got, _ := g.Store.DiscrepancyGet(ctx, d.ID); got.Status != store.DiscrepancyOpen {
			t.Fatalf("refused resolutions changed the discrepancy: %s", got.Status)
		}

		r := op.post(resolve, url.Values{"action": {"write_off"}, "note": {"the channel's test line"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/recon/"+run.ID+"?done=Discrepancy+resolved.#"+d.ID {
			t.Fatalf("resolve: %d %s %s", r.status, r.header.Get("Location"), errorText(r.body))
		}
		got, _ := g.Store.DiscrepancyGet(ctx, d.ID)
		if got.Status != store.DiscrepancyResolved || got.Action != recon.WriteOff || got.ResolvedBy != "ops@example.com" || got.Note != "the channel's test line" {
			t.Errorf("resolved discrepancy %+v", got)
		}
		if r := op.post(resolve, url.Values{"action": {"write_off"}, "note": {"again"}}); r.status != http.StatusConflict {
			t.Errorf("resolve twice: %d %s", r.status, errorText(r.body))
		}
		if page := op.get("/console/recon/" + run.ID + "?status=open"); strings.Contains(page.body, `id="`+d.ID+`"`) || strings.Count(page.body, `data-discrepancy="`) != 2 {
			t.Error("the open discrepancies still list the resolved one, or not the other two")
		}
		evs, _, err := g.Store.AuditList(ctx, store.AuditFilter{Action: "POST /console/discrepancies/{id}/resolve", ObjectID: d.ID})
		if err != nil || len(evs) != 1 || evs[0].ActorType != "console_operator" {
			t.Errorf("audit of the resolution: %+v %v", evs, err)
		}

		// Starting a run: the sandbox keeps no bills; a day not over has no bill.
		yesterday := run.BillDate
		if r := op.post("/console/recon", url.Values{"account": {channelaccount.SandboxAccountID}, "date": {yesterday}}); r.status != http.StatusBadRequest ||
			!strings.Contains(r.body, `data-code="bill_not_supported"`) {
			t.Errorf("reconcile the sandbox: %d %s", r.status, errorText(r.body))
		}
		tomorrow := time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		if r := op.post("/console/recon", url.Values{"account": {run.ChannelAccountID}, "date": {tomorrow}}); r.status != http.StatusBadRequest ||
			!strings.Contains(r.body, `data-code="bill_not_available"`) {
			t.Errorf("reconcile a day to come: %d %s", r.status, errorText(r.body))
		}
		if r := viewer.post("/console/recon", url.Values{"account": {run.ChannelAccountID}, "date": {yesterday}}); r.status != http.StatusForbidden {
			t.Errorf("a viewer starts a run: %d", r.status)
		}
		if rep, err := api.VerifyAudit(ctx, g.Store); err != nil || len(rep.Broken) > 0 {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
	})
}
