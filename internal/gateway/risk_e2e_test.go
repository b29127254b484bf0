package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
)

// rule creates a platform risk rule through the operator API.
func (e *env) rule(body map[string]any) client.RiskRule {
	e.t.Helper()
	var r client.RiskRule
	if st, b := e.admin("POST", "/admin/v1/risk/rules", body, &r); st != 201 {
		e.t.Fatalf("create rule %v: %d %s", body["name"], st, b)
	}
	return r
}

// adminCSV posts a text/csv body to the operator API.
func (e *env) adminCSV(path, csv string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url+path, strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// order creates a sandbox order of the demo app with a payer.
func (e *env) riskOrder(no string, amount int64, payer *client.Payer) (*client.Order, error) {
	p := orderParams(no, amount)
	p.Payer = payer
	return e.demo.CreateOrder(context.Background(), p)
}

// mustAllow checks a create was allowed: mustAllow(t)(e.riskOrder(…)).
func mustAllow(t *testing.T) func(o *client.Order, err error) *client.Order {
	return func(o *client.Order, err error) *client.Order {
		t.Helper()
		return allowed(t, o, err)
	}
}

func allowed(t *testing.T, o *client.Order, err error) *client.Order {
	t.Helper()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if o.Risk == nil || o.Risk.Decision != "allow" || o.Status == "requires_review" {
		t.Fatalf("order %s: status %s, risk %+v; want allowed", o.ID, o.Status, o.Risk)
	}
	return o
}

func mustBlock(t *testing.T, rule string, o *client.Order, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("order %s created (risk %+v); want blocked by %s", o.ID, o.Risk, rule)
	}
	ae := apiErr(t, err, 402, rule)
	if ae.Type != "risk_error" {
		t.Fatalf("blocked by %s: type %s, want risk_error", rule, ae.Type)
	}
}

func fired(o *client.Order, name string) bool {
	for _, r := range o.Risk.Rules {
		if r.Name == name {
			return true
		}
	}
	return false
}

// TestRiskTemplates turns each built-in template on and checks what it
// blocks, sends to review and lets through.
func TestRiskTemplates(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		// Country tables: IPs and card BINs.
		if st, b := e.adminCSV("/admin/v1/risk/ip-countries", "network,country\n203.0.113.0/24,US\n198.51.100.0,198.51.100.255,CN\n2001:db8::/32,JP\n"); st != 200 {
			t.Fatalf("import IP countries: %d %s", st, b)
		}
		if st, b := e.adminCSV("/admin/v1/risk/bin-countries", "424242,GB\n400000,424241,US\n"); st != 200 {
			t.Fatalf("import BIN countries: %d %s", st, b)
		}
		us, cn := "203.0.113.7", "198.51.100.9"

		t.Run("amount_limit", func(t *testing.T) {
			e.rule(map[string]any{"name": "big_sandbox", "template": "amount_limit", "params": map[string]any{"max_amount": 50000, "method": "sandbox"}})
			o, err := e.riskOrder("al-1", 50001, nil)
			mustBlock(t, "big_sandbox", o, err)
			mustAllow(t)(e.riskOrder("al-2", 50000, nil))
		})
		t.Run("velocity", func(t *testing.T) {
			r := e.rule(map[string]any{"name": "payer_burst", "template": "velocity", "params": map[string]any{"key": "payer", "window": "10m", "max_count": 2}})
			defer e.admin("DELETE", "/admin/v1/risk/rules/"+r.ID, nil, nil)
			p := &client.Payer{ID: "vel-payer"}
			mustAllow(t)(e.riskOrder("v-1", 100, p))
			mustAllow(t)(e.riskOrder("v-2", 100, p))
			o, err := e.riskOrder("v-3", 100, p)
			mustBlock(t, "payer_burst", o, err)
			mustAllow(t)(e.riskOrder("v-other", 100, &client.Payer{ID: "someone-else"}))
			// Out of the window, the payer may pay again (the refused
			// attempt counted, but is older than 10 minutes too).
			e.clock.Advance(11 * time.Minute)
			mustAllow(t)(e.riskOrder("v-4", 100, p))
		})
		t.Run("daily_limit_payer", func(t *testing.T) {
			e.rule(map[string]any{"name": "payer_daily", "template": "daily_limit_payer", "params": map[string]any{"max_amount": 5000}})
			p := &client.Payer{ID: "daily-payer"}
			mustAllow(t)(e.riskOrder("dp-1", 3000, p))
			o, err := e.riskOrder("dp-2", 3000, p)
			mustBlock(t, "payer_daily", o, err)
			// The blocked amount does not count: 2000 more still fits.
			mustAllow(t)(e.riskOrder("dp-3", 2000, p))
		})
		t.Run("list_block_and_allow", func(t *testing.T) {
			var ips, vips client.RiskList
			if st, b := e.admin("POST", "/admin/v1/risk/lists", map[string]any{"name": "bad_ips", "kind": "cidr"}, &ips); st != 201 {
				t.Fatalf("create list: %d %s", st, b)
			}
			if st, b := e.adminCSV("/admin/v1/risk/lists/"+ips.ID+"/entries", "value,expires_at,reason\n192.0.2.0/24,,botnet\n"); st != 200 {
				t.Fatalf("import entries: %d %s", st, b)
			}
			if st, b := e.admin("POST", "/admin/v1/risk/lists", map[string]any{"name": "vip_payers", "kind": "payer_id"}, &vips); st != 201 {
				t.Fatalf("create list: %d %s", st, b)
			}
			if st, b := e.admin("POST", "/admin/v1/risk/lists/"+vips.ID+"/entries", map[string]any{"value": "vip-1", "reason": "key account"}, nil); st != 200 {
				t.Fatalf("add entry: %d %s", st, b)
			}
			e.rule(map[string]any{"name": "bad_ip", "template": "list", "params": map[string]any{"list": "bad_ips"}})
			// The VIP allow runs first (priority 1) and skips the platform's later rules.
			e.rule(map[string]any{"name": "vip", "template": "list", "params": map[string]any{"list": "vip_payers"}, "action": "allow", "priority": 1})
			o, err := e.riskOrder("l-1", 100, &client.Payer{IP: "192.0.2.44"})
			mustBlock(t, "bad_ip", o, err)
			mustAllow(t)(e.riskOrder("l-2", 100, &client.Payer{IP: "192.0.3.44"}))
			o = mustAllow(t)(e.riskOrder("l-3", 900000, &client.Payer{ID: "vip-1", IP: "192.0.2.44"}))
			if !fired(o, "vip") {
				t.Fatalf("vip allow did not fire: %+v", o.Risk)
			}
			// Export the list as CSV: what the import takes back.
			req, _ := http.NewRequest("GET", e.url+"/admin/v1/risk/lists/"+ips.ID+"/entries?format=csv", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(b), "192.0.2.0/24,,botnet") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("export: %s %q", res.Header.Get("Content-Type"), b)
			}
		})
		t.Run("location_anomaly", func(t *testing.T) {
			e.rule(map[string]any{"name": "far_from_home", "template": "location_anomaly", "action": "review"})
			p := &client.Payer{ID: "traveller", IP: cn}
			mustAllow(t)(e.riskOrder("loc-1", 100, p))
			mustAllow(t)(e.riskOrder("loc-2", 100, p))
			// The usual country is CN; now from a US address: review.
			o, err := e.riskOrder("loc-3", 100, &client.Payer{ID: "traveller", IP: us})
			if err != nil || o.Status != "requires_review" || o.Risk.Decision != "review" || !fired(o, "far_from_home") {
				t.Fatalf("usual country anomaly: %v %+v", err, o)
			}
			// A card from GB paid from a US address: a card cannot wait
			// for review, so the review blocks it.
			card := orderParams("loc-card", 100)
			card.Method, card.Card = "card", &client.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2040}
			card.Payer = &client.Payer{IP: us}
			o, err = e.demo.CreateOrder(context.Background(), card)
			mustBlock(t, "far_from_home", o, err)
			// The attempt keeps the card's BIN, last four and fingerprint, never the number.
			var atts client.List[client.RiskAttempt]
			e.admin("GET", "/admin/v1/risk/attempts?decision=block&limit=100", nil, &atts)
			found := false
			for _, a := range atts.Data {
				if a.OutTradeNo == "loc-card" {
					found = true
					ctx := string(a.Context)
					if strings.Contains(ctx, "4242424242424242") || !strings.Contains(ctx, `"payer.card_bin":"424242"`) ||
						!strings.Contains(ctx, `"payer.card_country":"GB"`) || !strings.Contains(ctx, `"payer.ip_country":"US"`) {
						t.Fatalf("stored context: %s", ctx)
					}
				}
			}
			if !found {
				t.Fatal("the blocked card attempt is not listed")
			}
		})
		t.Run("night_large_amount", func(t *testing.T) {
			r := e.rule(map[string]any{"name": "night_big", "template": "night_large_amount", "params": map[string]any{"min_amount": 20000, "from_hour": 1, "to_hour": 5}})
			now := e.clock.Now()
			sh := time.FixedZone("CST", 8*3600)
			night := time.Date(now.Year(), now.Month(), now.Day()+1, 2, 30, 0, 0, sh) // 02:30 in Asia/Shanghai
			e.clock.Set(night)
			o, err := e.riskOrder("n-1", 20000, nil)
			mustBlock(t, "night_big", o, err)
			mustAllow(t)(e.riskOrder("n-2", 19999, nil))
			e.clock.Set(night.Add(4 * time.Hour)) // 06:30
			mustAllow(t)(e.riskOrder("n-3", 20000, nil))
			e.admin("DELETE", "/admin/v1/risk/rules/"+r.ID, nil, nil)
		})
		t.Run("failed_attempts", func(t *testing.T) {
			e.rule(map[string]any{"name": "too_many_failures", "template": "failed_attempts", "params": map[string]any{"max_failures": 2}})
			p := &client.Payer{ID: "clumsy"}
			for i := range 2 { // two blocked by the amount limit
				o, err := e.riskOrder(fmt.Sprintf("f-%d", i), 60000, p)
				mustBlock(t, "big_sandbox", o, err)
			}
			o, err := e.riskOrder("f-small", 100, p)
			mustBlock(t, "too_many_failures", o, err)
		})
		t.Run("daily_limit_merchant", func(t *testing.T) {
			m := e.newMerchant("test", false)
			e.rule(map[string]any{"name": "merchant_daily", "template": "daily_limit_merchant", "params": map[string]any{"max_amount": 10000},
				"scope": map[string]any{"merchant_id": m.id}})
			ctx := context.Background()
			if _, err := m.c.CreateOrder(ctx, orderParams("md-1", 6000)); err != nil {
				t.Fatal(err)
			}
			o, err := m.c.CreateOrder(ctx, orderParams("md-2", 6000))
			mustBlock(t, "merchant_daily", o, err)
			if _, err := m.c.CreateOrder(ctx, orderParams("md-3", 4000)); err != nil {
				t.Fatalf("within the day's limit: %v", err)
			}
			// The demo merchant is out of the rule's scope.
			mustAllow(t)(e.riskOrder("md-demo", 9000, nil))
		})
		e.verifyLedger()
	})
}

// TestRiskReview sends orders to review: one approved (it goes on to the
// channel and is paid), one rejected, one left to expire.
func TestRiskReview(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.rule(map[string]any{"name": "check_big", "expression": "order.amount >= 10000", "action": "review"})
		create := func(no string) *client.Order {
			t.Helper()
			o, err := e.riskOrder(no, 12000, nil)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != "requires_review" || o.Risk.Decision != "review" || o.Risk.Score != 50 || !fired(o, "check_big") || o.NextAction != nil || o.Channel != "" {
				t.Fatalf("order in review: %+v risk %+v", o, o.Risk)
			}
			return o
		}
		a, r, x := create("rv-approve"), create("rv-reject"), create("rv-expire")
		if n := e.eventsOf(e.demo, notify.RiskReviewOpened, a.ID); n != 1 {
			t.Fatalf("risk.review_opened events of %s: %d", a.ID, n)
		}
		// The cashier page says the payment is being reviewed, and offers no way to pay.
		if res, err := http.Get(e.url + "/pay/" + a.ID + "?lang=en"); err != nil {
			t.Fatal(err)
		} else {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(b), "being reviewed") || strings.Contains(string(b), `data-state="pending"`) {
				t.Fatalf("cashier page of an order in review: %d", res.StatusCode)
			}
		}
		// The test payer cannot pay an order in review.
		_, err := e.demo.TestPayOrder(ctx, a.ID, "succeeded")
		apiErr(t, err, 409, "order_in_review")
		l, err := e.demo.ListOrders(ctx, client.ListParams{Extra: map[string]string{"status": "requires_review"}})
		if err != nil || len(l.Data) != 3 {
			t.Fatalf("list requires_review: %v %d", err, len(l.Data))
		}
		var queue client.List[client.RiskReview]
		if st, b := e.admin("GET", "/admin/v1/risk/reviews", nil, &queue); st != 200 || len(queue.Data) != 3 || queue.Data[0].Attempt == nil {
			t.Fatalf("review queue: %d %s", st, b)
		}
		if !strings.Contains(string(queue.Data[0].Attempt.Context), `"order.amount":12000`) {
			t.Fatalf("the queue shows the context evaluated: %s", queue.Data[0].Attempt.Context)
		}

		var approved client.Order
		if st, b := e.admin("POST", "/admin/v1/orders/"+a.ID+"/approve", nil, &approved); st != 200 {
			t.Fatalf("approve: %d %s", st, b)
		}
		if approved.Status != "pending" || approved.NextAction == nil || approved.ChannelTradeNo == "" || approved.Risk.Decision != "review" {
			t.Fatalf("approved: %+v", approved)
		}
		if paid, err := e.demo.TestPayOrder(ctx, a.ID, "succeeded"); err != nil || paid.Status != "succeeded" {
			t.Fatalf("pay the approved order: %v %+v", err, paid)
		}
		if st, _ := e.admin("POST", "/admin/v1/orders/"+a.ID+"/approve", nil, nil); st != 409 {
			t.Fatalf("approve twice: %d", st)
		}

		var rejected client.Order
		if st, b := e.admin("POST", "/admin/v1/orders/"+r.ID+"/reject", nil, &rejected); st != 200 {
			t.Fatalf("reject: %d %s", st, b)
		}
		if rejected.Status != "closed" || rejected.FailureCode != "risk_rejected" || rejected.ClosedAt == nil {
			t.Fatalf("rejected: %+v", rejected)
		}
		if n := e.eventsOf(e.demo, notify.OrderClosed, r.ID); n != 1 {
			t.Fatalf("order.closed events of the rejected order: %d", n)
		}

		e.clock.Advance(16 * time.Minute)
		e.g.Worker.RunOnce(ctx)
		if o, err := e.demo.GetOrder(ctx, x.ID); err != nil || o.Status != "closed" {
			t.Fatalf("order in review at its expiry: %v %+v", err, o)
		}
		if st, _ := e.admin("POST", "/admin/v1/orders/"+x.ID+"/approve", nil, nil); st != 409 {
			t.Fatalf("approve a closed order: %d", st)
		}
		e.verifyLedger()
	})
}

// TestRiskObserveAndPrecedence: an observe rule changes nothing; a
// merchant's rule tightens but never loosens the platform's.
func TestRiskObserveAndPrecedence(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.rule(map[string]any{"name": "would_block_all", "expression": "true", "mode": "observe"})
		o := mustAllow(t)(e.riskOrder("obs-1", 100, nil))
		if !fired(o, "would_block_all") || o.Risk.Rules[0].Mode != "observe" || o.Risk.Score != 0 || o.Status != "pending" {
			t.Fatalf("observe: %+v", o.Risk)
		}
		if paid, err := e.demo.TestPayOrder(ctx, o.ID, "succeeded"); err != nil || paid.Status != "succeeded" {
			t.Fatalf("an observed order pays: %v", err)
		}

		e.rule(map[string]any{"name": "platform_cap", "expression": "order.amount > 50000"})
		// The merchant's allow-everything rule, first of its rules, cannot undo the platform's block.
		allowAll, err := e.demo.CreateRiskRule(ctx, client.RiskRuleParams{Name: ptr("let_all_in"), Expression: ptr("true"), Action: ptr("allow"), Priority: ptr(0)})
		if err != nil {
			t.Fatal(err)
		}
		o, err = e.riskOrder("prec-1", 60000, nil)
		mustBlock(t, "platform_cap", o, err)
		// A merchant's rule tightens.
		myCap, err := e.demo.CreateRiskRule(ctx, client.RiskRuleParams{Name: ptr("my_cap"), Expression: ptr("order.amount > 1000"), Priority: ptr(5)})
		if err != nil {
			t.Fatal(err)
		}
		if myCap, err = e.demo.UpdateRiskRule(ctx, myCap.ID, client.RiskRuleParams{Expression: ptr("order.amount > 100")}); err != nil || myCap.Expression != "order.amount > 100" || myCap.Priority != 5 {
			t.Fatalf("update the merchant's rule: %v %+v", err, myCap)
		}
		o, err = e.riskOrder("prec-2", 200, nil)
		if err != nil || !fired(o, "let_all_in") {
			// Its own allow runs first and skips its own later rules.
			t.Fatalf("the merchant's allow skips its later rules: %v %+v", err, o)
		}
		if _, err := e.demo.DeleteRiskRule(ctx, allowAll.ID); err != nil {
			t.Fatal(err)
		}
		o, err = e.riskOrder("prec-3", 200, nil)
		mustBlock(t, "my_cap", o, err)
		// A merchant cannot see or change the platform's rules, nor aim at another merchant.
		l, err := e.demo.ListRiskRules(ctx, client.ListParams{})
		if err != nil || len(l.Data) != 1 || l.Data[0].Name != "my_cap" || l.Data[0].Owner != "merchant" {
			t.Fatalf("merchant's rules: %v %+v", err, l)
		}
		other := e.newMerchant("test", false)
		_, err = e.demo.CreateRiskRule(ctx, client.RiskRuleParams{Name: ptr("aim"), Expression: ptr("true"), Scope: &client.RiskScope{MerchantID: other.id}})
		apiErr(t, err, 400, "scope_invalid")
		_, err = other.c.GetRiskRule(ctx, l.Data[0].ID)
		apiErr(t, err, 404, "risk_rule_not_found")
		// The other merchant is not held by the demo merchant's rule.
		if _, err := other.c.CreateOrder(ctx, orderParams("prec-other", 200)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRiskRulesCheckedWhenSaved: compile and type errors, a slow or huge
// expression, are refused at save time with their position.
func TestRiskRulesCheckedWhenSaved(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		for _, tc := range []struct{ expr, want string }{
			{"order.amout > 5", "line 1, column 6"},
			{"order.amount > 'big'", "no matching overload"},
			{"order.amount +", "line 1, column"},
			{"order.amount", "must be true or false"},
			{"order.metadata.exists(k, order.metadata.exists(j, order.metadata.exists(i, order.metadata[i].matches(order.metadata[j] + order.metadata[k]))))", "may cost up to"},
			{strings.Repeat("order.amount > 1 || ", 300) + "true", "longer than 4096 bytes"},
		} {
			st, b := e.admin("POST", "/admin/v1/risk/rules", map[string]any{"name": "bad", "expression": tc.expr}, nil)
			if st != 400 || !strings.Contains(string(b), `"code":"rule_invalid"`) || !strings.Contains(string(b), tc.want) {
				t.Errorf("%.60s: %d %s; want 400 rule_invalid with %q", tc.expr, st, b, tc.want)
			}
		}
		// A merchant's limit on cost is lower than the platform's.
		mid := "order.metadata.exists(k, order.metadata[k].matches('^a+b') && order.metadata[k].startsWith('x'))"
		if st, b := e.admin("POST", "/admin/v1/risk/rules", map[string]any{"name": "mid", "expression": mid, "mode": "observe"}, nil); st != 201 {
			t.Fatalf("platform rule of moderate cost: %d %s", st, b)
		}
		st, b := e.admin("POST", "/admin/v1/risk/rules", map[string]any{"name": "x", "expression": "true", "action": "review", "applies_to": []string{"refund"}}, nil)
		if st != 400 || !strings.Contains(string(b), "action_invalid") {
			t.Fatalf("review on refunds: %d %s", st, b)
		}
		st, b = e.admin("POST", "/admin/v1/risk/rules", map[string]any{"name": "Bad Name", "expression": "true"}, nil)
		if st != 400 || !strings.Contains(string(b), "name_invalid") {
			t.Fatalf("bad name: %d %s", st, b)
		}
		// Updating keeps the checks.
		r := e.rule(map[string]any{"name": "ok", "expression": "order.amount > 1000000", "mode": "observe"})
		st, b = e.admin("POST", "/admin/v1/risk/rules/"+r.ID, map[string]any{"expression": "order.nope"}, nil)
		if st != 400 || !strings.Contains(string(b), "rule_invalid") {
			t.Fatalf("update with a bad expression: %d %s", st, b)
		}
		var got client.RiskRule
		if st, _ := e.admin("POST", "/admin/v1/risk/rules/"+r.ID, map[string]any{"mode": "enforce", "priority": 7}, &got); st != 200 || got.Mode != "enforce" || got.Priority != 7 || got.Expression != r.Expression {
			t.Fatalf("update: %d %+v", st, got)
		}
	})
}

// TestRiskDryRunAndRefunds: a draft rule replayed on the last days, and a
// rule that applies to refunds.
func TestRiskDryRunAndRefunds(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := &client.Payer{ID: "dry"}
		for i := range 5 {
			mustAllow(t)(e.riskOrder(fmt.Sprintf("d-%d", i), int64(1000*(i+1)), p))
		}
		var dr client.RiskDryRun
		st, b := e.admin("POST", "/admin/v1/risk/rules/test", map[string]any{"days": 1,
			"rule": map[string]any{"expression": "order.amount >= 3000 && counters.payer_count_1h >= 3", "action": "block"}}, &dr)
		if st != 200 || dr.Evaluated != 5 || dr.Matched != 2 || dr.WouldBlock != 2 || len(dr.Samples) != 2 {
			t.Fatalf("dry run: %d %s", st, b)
		}
		var atts client.List[client.RiskAttempt]
		e.admin("GET", "/admin/v1/risk/attempts?limit=100", nil, &atts)
		if len(atts.Data) != 5 {
			t.Fatalf("a dry run records nothing: %d attempts", len(atts.Data))
		}

		e.rule(map[string]any{"name": "refund_cap", "expression": "kind == 'refund' && refund.amount > 500", "applies_to": []string{"refund"}})
		o := paidOrder(t, e.demo, "rf-1", 2000)
		_, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "rf-1-a", Amount: 600})
		apiErr(t, err, 402, "refund_cap")
		if r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "rf-1-b", Amount: 500}); err != nil || r.Status != "succeeded" {
			t.Fatalf("refund within the cap: %v %+v", err, r)
		}
		e.verifyLedger()
	})
}

// TestRiskVelocityConcurrent: 64 payments of one payer at once, with a
// limit of 10 in 10 minutes: exactly 10 pass.
func TestRiskVelocityConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.rule(map[string]any{"name": "burst", "template": "velocity", "params": map[string]any{"key": "payer", "window": "10m", "max_count": 10}})
		ok, blocked := concurrentPayments(t, []*client.Client{e.demo}, 64, "burst")
		if ok != 10 || blocked != 54 {
			t.Fatalf("64 concurrent payments of one payer, limit 10: %d passed, %d blocked", ok, blocked)
		}
	})
}

// concurrentPayments sends n creates of one payer at once, spread over
// clients, and counts those that passed and those the rule blocked.
func concurrentPayments(t *testing.T, cs []*client.Client, n int, rule string) (ok, blocked int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p := orderParams(fmt.Sprintf("c-%d", i), 100)
			p.Payer = &client.Payer{ID: "hammer", IP: "203.0.113.50"}
			_, err := cs[i%len(cs)].CreateOrder(context.Background(), p)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if ae, isAPI := err.(*client.Error); isAPI && ae.StatusCode == 402 && ae.Code == rule {
				blocked++
			} else {
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok, blocked
}

// TestRiskVelocityTwoGateways: two gateways (each with its own store,
// connection pool and rules cache, as two processes would be) on one
// PostgreSQL database share a velocity limit exactly.
func TestRiskVelocityTwoGateways(t *testing.T) {
	t.Parallel()
	st, cfg := postgrestest.OpenConfig(t, postgrestest.URL(t))
	a := startOn(t, st, nil)
	st2, err := postgres.OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := startSecond(t, st2)
	a.rule(map[string]any{"name": "burst", "template": "velocity", "params": map[string]any{"key": "payer", "window": "1h", "max_count": 10}})
	second := b.newClient(client.WithSecretKey(a.g.Demo.SecretKey))
	ok, blocked := concurrentPayments(t, []*client.Client{a.demo, second}, 64, "burst")
	if ok != 10 || blocked != 54 {
		t.Fatalf("64 concurrent payments over two gateways, limit 10: %d passed, %d blocked", ok, blocked)
	}
}

// startSecond starts another gateway on a store whose database already has
// the demo merchant.
func startSecond(t *testing.T, st store.Store) *env {
	t.Helper()
	fake := clock.NewFake(time.Now())
	cfg := gateway.Config{
		Addr: "127.0.0.1:0", Database: "sqlite:" + filepath.Join(t.TempDir(), "unused.db"),
		AdminToken: adminToken, MasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		Clock: fake, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerInterval: time.Hour,
		MaxInFlight: 256, MaxQueueTime: time.Second, ShedLatencyTarget: -1, // as the harness: these tests are not about shedding
	}
	g, err := gateway.OpenWith(context.Background(), cfg, st, io.Discard)
	if err != nil {
		t.Fatalf("open second gateway: %v", err)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{t: t, g: g, url: g.URL(), clock: fake}
}
