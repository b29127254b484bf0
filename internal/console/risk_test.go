package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/store"
)

// TestConsoleRiskEditor: an operator tries a draft rule (its dry run shows
// before anything is saved), creates it from the result, edits it, turns it
// off; creates a list and adds and removes entries; a viewer may try rules
// but not save them. Everything goes through risk.Service and is audited,
// except the dry runs.
func TestConsoleRiskEditor(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		ctx := context.Background()
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		addUser(t, g, store.ConsoleOperator, "", "view@example.com", store.RoleViewer)
		paidOrder(t, g, "risk-small", 500)
		big := paidOrder(t, g, "risk-big", 90000)

		op := newUser(t, g.URL())
		op.login("ops@example.com")
		op.get("/console/risk")
		draft := url.Values{"name": {"big_amount"}, "expression": {"order.amount > 50000"}, "action": {"review"}, "mode": {"enforce"},
			"priority": {"50"}, "scope": {"test"}, "days": {"1"}}
		r := op.post("/console/risk", draft)
		if r.status != http.StatusOK || !strings.Contains(r.body, `id="dry-run-result"`) || !strings.Contains(r.body, `id="rule-save-form"`) {
			t.Fatalf("dry run: %d %s", r.status, errorText(r.body))
		}
		if !strings.Contains(r.body, "1 matched") || !strings.Contains(r.body, big.ID) {
			t.Errorf("the dry run does not match the one big payment: %s", r.body[strings.Index(r.body, `id="dry-run-result"`):][:200])
		}
		rules := func() []*store.RiskRule {
			rs, _, err := g.Risk.ListRules(ctx, risk.Platform, store.RiskRuleFilter{ListParams: store.ListParams{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			return rs
		}
		if n := len(rules()); n != 0 {
			t.Fatalf("the dry run saved %d rules", n)
		}
		bad := url.Values{"name": {"broken"}, "expression": {"order.amout >"}, "action": {"block"}, "days": {"1"}}
		if r := op.post("/console/risk/rules", bad); r.status != http.StatusBadRequest {
			t.Errorf("save a broken expression: %d %s", r.status, errorText(r.body))
		}

		// Save what was tried (the result's form carries the draft).
		draft.Del("days")
		if r := op.post("/console/risk/rules", draft); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", r.status, errorText(r.body))
		}
		rs := rules()
		if len(rs) != 1 || rs[0].Name != "big_amount" || rs[0].Action != store.RiskReview || rs[0].Priority != 50 ||
			rs[0].Livemode == nil || *rs[0].Livemode || rs[0].Expression != "order.amount > 50000" {
			t.Fatalf("saved rules %+v", rs)
		}
		rule := rs[0]
		if page := op.get("/console/risk?rule=" + rule.ID + "&lang=en").body; !strings.Contains(page, "Edit rule "+rule.ID) ||
			!strings.Contains(page, `value="order.amount &gt; 50000"`) {
			t.Error("the editor is not filled with the rule")
		}
		edit := url.Values{"rule": {rule.ID}, "name": {"big_amount"}, "expression": {"order.amount > 60000"}, "action": {"block"},
			"mode": {"observe"}, "priority": {"50"}, "scope": {"both"}, "refunds": {"yes"}}
		if r := op.post("/console/risk/rules", edit); r.status != http.StatusSeeOther {
			t.Fatalf("edit: %d %s", r.status, errorText(r.body))
		}
		got, _ := g.Risk.GetRule(ctx, risk.Platform, rule.ID)
		if got.Expression != "order.amount > 60000" || got.Action != store.RiskBlock || got.Mode != risk.ModeObserve || got.Livemode != nil ||
			strings.Join(got.AppliesTo, ",") != "payment,refund" {
			t.Errorf("edited rule %+v", got)
		}
		if r := op.post("/console/risk/rules/"+rule.ID+"/disable", nil); r.status != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", r.status, errorText(r.body))
		}
		if got, _ := g.Risk.GetRule(ctx, risk.Platform, rule.ID); !got.Disabled {
			t.Error("the rule is not disabled")
		}

		// A viewer tries rules but saves nothing.
		viewer := newUser(t, g.URL())
		viewer.login("view@example.com")
		viewer.get("/console/risk")
		if r := viewer.post("/console/risk", url.Values{"expression": {"order.amount > 1"}, "action": {"block"}, "days": {"1"}}); r.status != http.StatusOK ||
			strings.Contains(r.body, `id="rule-save-form"`) {
			t.Errorf("a viewer's dry run: %d, offered saving: %v", r.status, strings.Contains(r.body, `id="rule-save-form"`))
		}
		for _, path := range []string{"/console/risk/rules", "/console/risk/rules/" + rule.ID + "/enable", "/console/risk/lists"} {
			if r := viewer.post(path, url.Values{"name": {"x"}, "expression": {"true"}, "kind": {"ip"}}); r.status != http.StatusForbidden {
				t.Errorf("a viewer posts %s: %d", path, r.status)
			}
		}

		// Lists and their entries.
		if r := op.post("/console/risk/lists", url.Values{"name": {"x"}, "kind": {"colour"}}); r.status != http.StatusBadRequest {
			t.Errorf("a list of an unknown kind: %d", r.status)
		}
		r = op.post("/console/risk/lists", url.Values{"name": {"blocked_ips"}, "kind": {"ip"}, "description": {"seen in fraud"}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/risk/lists/lst_") {
			t.Fatalf("create list: %d %s %s", r.status, r.header.Get("Location"), errorText(r.body))
		}
		listPath := strings.SplitN(r.header.Get("Location"), "?", 2)[0]
		listID := strings.TrimPrefix(listPath, "/console/risk/lists/")
		if r := op.post(listPath+"/entries", url.Values{"values": {"10.0.0.1\nnot-an-ip"}}); r.status != http.StatusBadRequest {
			t.Errorf("a bad IP: %d %s", r.status, errorText(r.body))
		}
		if r := op.post(listPath+"/entries", url.Values{"values": {"10.0.0.1\r\n192.0.2.7\n"}, "reason": {"chargebacks"}}); r.status != http.StatusSeeOther {
			t.Fatalf("add entries: %d %s", r.status, errorText(r.body))
		}
		if es, _ := g.Risk.Entries(ctx, listID); len(es) != 2 || es[0].Reason != "chargebacks" {
			t.Fatalf("entries %+v", es)
		}
		if page := op.get(listPath).body; !strings.Contains(page, `data-value="192.0.2.7"`) {
			t.Error("the list's page does not show its entries")
		}
		if r := op.post(listPath+"/entries/delete", url.Values{"value": {"10.0.0.1"}}); r.status != http.StatusSeeOther {
			t.Fatalf("remove entry: %d %s", r.status, errorText(r.body))
		}
		if es, _ := g.Risk.Entries(ctx, listID); len(es) != 1 || es[0].Value != "192.0.2.7" {
			t.Errorf("entries after removing one: %+v", es)
		}
		if r := op.post("/console/risk", url.Values{"expression": {"in_list('blocked_ips', payer.ip)"}, "action": {"block"}, "days": {"1"}}); r.status != http.StatusOK {
			t.Errorf("dry run of a rule on the list: %d %s", r.status, errorText(r.body))
		}

		for action, want := range map[string]int{"POST /console/risk/rules": 2, "POST /console/risk/rules/{id}/{state}": 1,
			"POST /console/risk/lists": 1, "POST /console/risk/lists/{id}/entries": 1, "POST /console/risk/lists/{id}/entries/delete": 1, "POST /console/risk": 0} {
			if evs, _, err := g.Store.AuditList(ctx, store.AuditFilter{Action: action}); err != nil || len(evs) != want {
				t.Errorf("audit of %s: %d records, want %d (%v)", action, len(evs), want, err)
			}
		}
	})
}
