package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// atom is one comparison of a generated rule, with its meaning in Go.
type atom struct {
	cel  string
	eval func(in *Input, c *store.RiskCounts) bool
}

func genAtom(t *rapid.T) atom {
	n := rapid.Int64Range(0, 1000).Draw(t, "n")
	switch rapid.IntRange(0, 5).Draw(t, "field") {
	case 0:
		return atom{fmt.Sprintf("order.amount > %d", n), func(in *Input, _ *store.RiskCounts) bool { return in.Amount > n }}
	case 1:
		return atom{fmt.Sprintf("order.amount <= %d", n), func(in *Input, _ *store.RiskCounts) bool { return in.Amount <= n }}
	case 2:
		cc := rapid.SampledFrom([]string{"CN", "US", ""}).Draw(t, "cc")
		return atom{fmt.Sprintf("payer.country == %q", cc), func(in *Input, _ *store.RiskCounts) bool { return in.Payer.Country == cc }}
	case 3:
		m := rapid.SampledFrom([]string{"sandbox", "card"}).Draw(t, "m")
		return atom{fmt.Sprintf("order.method != %q", m), func(in *Input, _ *store.RiskCounts) bool { return in.Method != m }}
	case 4:
		k := n % 20
		return atom{fmt.Sprintf("counters.payer_count_10m >= %d", k), func(_ *Input, c *store.RiskCounts) bool { return c.Payer.Count10m >= k }}
	default:
		k := n * 10
		return atom{fmt.Sprintf("counters.merchant_amount_today + order.amount > %d", k),
			func(in *Input, c *store.RiskCounts) bool { return c.MerchantAmountToday+in.Amount > k }}
	}
}

// refRule is a generated rule and its meaning.
type refRule struct {
	rule *store.RiskRule
	eval func(in *Input, c *store.RiskCounts) bool
}

func genRule(t *rapid.T, i int) refRule {
	a := genAtom(t)
	expr, eval := a.cel, a.eval
	if rapid.Bool().Draw(t, "two") {
		b := genAtom(t)
		if rapid.Bool().Draw(t, "and") {
			expr, eval = "("+a.cel+") && ("+b.cel+")", func(in *Input, c *store.RiskCounts) bool { return a.eval(in, c) && b.eval(in, c) }
		} else {
			expr, eval = "("+a.cel+") || ("+b.cel+")", func(in *Input, c *store.RiskCounts) bool { return a.eval(in, c) || b.eval(in, c) }
		}
	}
	r := &store.RiskRule{
		ID: fmt.Sprintf("rule_%03d", i), Name: fmt.Sprintf("r%d", i), Expression: expr,
		Owner:     rapid.SampledFrom([]string{store.RiskOwnerPlatform, store.RiskOwnerMerchant}).Draw(t, "owner"),
		Action:    rapid.SampledFrom([]string{store.RiskBlock, store.RiskReview, store.RiskAllow}).Draw(t, "action"),
		Mode:      rapid.SampledFrom([]string{ModeEnforce, ModeEnforce, ModeObserve}).Draw(t, "mode"),
		Priority:  rapid.IntRange(0, 3).Draw(t, "priority"),
		AppliesTo: []string{store.RiskKindPayment},
	}
	if rapid.Bool().Draw(t, "scoped") {
		r.MerchantID = rapid.SampledFrom([]string{"mch_a", "mch_b"}).Draw(t, "merchant")
	}
	return refRule{r, eval}
}

// reference decides as the package doc says, from the rules' Go meanings:
// platform rules, then merchant rules, by priority then id; an enforced
// block ends it; a review holds unless a block comes; an allow skips its
// level's later rules; observe rules are listed and change nothing; a
// review of a payment that charges at once is a block.
func reference(rules []refRule, in *Input, c *store.RiskCounts, chargesAtOnce bool) (string, []string) {
	var rs []refRule
	for _, r := range rules {
		if r.rule.MerchantID == "" || r.rule.MerchantID == in.MerchantID {
			rs = append(rs, r)
		}
	}
	level := func(r refRule) int {
		if r.rule.Owner == store.RiskOwnerMerchant {
			return 1
		}
		return 0
	}
	sort.Slice(rs, func(i, j int) bool {
		if level(rs[i]) != level(rs[j]) {
			return level(rs[i]) < level(rs[j])
		}
		if rs[i].rule.Priority != rs[j].rule.Priority {
			return rs[i].rule.Priority < rs[j].rule.Priority
		}
		return rs[i].rule.ID < rs[j].rule.ID
	})
	decision, fired := store.RiskAllow, []string{}
	done := map[int]bool{}
	for _, r := range rs {
		if done[level(r)] || !r.eval(in, c) {
			continue
		}
		fired = append(fired, r.rule.Name)
		if r.rule.Mode == ModeObserve {
			continue
		}
		if r.rule.Action == store.RiskBlock {
			return store.RiskBlock, fired
		}
		if r.rule.Action == store.RiskReview {
			decision = store.RiskReview
		}
		if r.rule.Action == store.RiskAllow {
			done[level(r)] = true
		}
	}
	if decision == store.RiskReview && chargesAtOnce {
		decision = store.RiskBlock
	}
	return decision, fired
}

func testService() *Service {
	return &Service{Clock: clock.NewFake(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)), CardKey: []byte("k")}
}

// snapshotOf compiles rules as a load would.
func snapshotOf(t interface{ Fatalf(string, ...any) }, s *Service, rules []*store.RiskRule) *snapshot {
	env, err := newEnv(nil)
	if err != nil {
		t.Fatalf("env: %v", err)
	}
	snap := &snapshot{}
	for _, r := range rules {
		c, err := compileRule(env, r, s.maxCost())
		if err != nil {
			t.Fatalf("compile %q: %v", r.Expression, err)
		}
		snap.rules = append(snap.rules, c)
		snap.need |= c.need
	}
	sortRules(snap.rules)
	return snap
}

// TestDecisionMatchesReference: for random rule sets and payments, the
// engine's decision and the rules it reports as fired are the reference's.
func TestDecisionMatchesReference(t *testing.T) {
	s := testService()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 12).Draw(t, "rules")
		refs := make([]refRule, n)
		rules := make([]*store.RiskRule, n)
		for i := range n {
			refs[i] = genRule(t, i)
			rules[i] = refs[i].rule
		}
		snap := snapshotOf(t, s, rules)
		method := rapid.SampledFrom([]string{"sandbox", "card", ""}).Draw(t, "method")
		in := &Input{Kind: store.RiskKindPayment, MerchantID: rapid.SampledFrom([]string{"mch_a", "mch_b", "mch_c"}).Draw(t, "m"),
			Amount: rapid.Int64Range(1, 1200).Draw(t, "amount"), Currency: "CNY", Method: method,
			Payer: store.Payer{Country: rapid.SampledFrom([]string{"CN", "US", ""}).Draw(t, "country")}, Now: s.Clock.Now()}
		counts := store.RiskCounts{MerchantAmountToday: rapid.Int64Range(0, 10000).Draw(t, "today")}
		counts.Payer.Count10m = rapid.Int64Range(0, 25).Draw(t, "count")
		charges := method == "card"
		c := s.check(snap, in, charges)
		d := c.decideWith(&activation{in: in, counts: counts})
		want, wantFired := reference(refs, in, &counts, charges)
		var got []string
		for _, f := range d.Rules {
			got = append(got, f.Name)
		}
		if got == nil {
			got = []string{}
		}
		if d.Decision != want || !slices.Equal(got, wantFired) {
			t.Fatalf("decision %s fired %v; reference %s fired %v", d.Decision, got, want, wantFired)
		}
		if (d.Decision == store.RiskBlock) != (d.Err() != nil) {
			t.Fatalf("a block answers an error and nothing else does: %s %v", d.Decision, d.Err())
		}
	})
}

func TestCheckRefusesBadRules(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"order.amout > 1", "line 1, column 6: undeclared reference to 'order.amout'"},
		{"\n  payer.ip == 1", "line 2, column 12"},
		{"order.subject", "must be true or false; it is of type string"},
		{"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, a+b+c+d > 0))))", "may cost up to"},
		{strings.Repeat("x", MaxExpressionLength+1), "longer than"},
	} {
		_, err := check(tc.expr, DefaultMaxCost)
		if e := errs.As(err); err == nil || e.Code != "rule_invalid" || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%.40q: %v; want rule_invalid with %q", tc.expr, err, tc.want)
		}
	}
	c, err := check("counters.ip_count_1h > 3 && counters.payer_failures_in_row > 0 && order.amount > 1", DefaultMaxCost)
	if err != nil {
		t.Fatal(err)
	}
	if c.need != store.RiskCountIP|store.RiskCountPayerFailures {
		t.Fatalf("counters used: %b", c.need)
	}
}

// TestTemplatesExpand: every template's expansion compiles and means what it says.
func TestTemplatesExpand(t *testing.T) {
	s := testService()
	ctx := context.Background()
	cases := map[string]struct {
		params string
		in     Input
		counts store.RiskCounts
		want   bool
	}{
		"amount_limit":         {`{"max_amount":100,"method":"card"}`, Input{Amount: 101, Method: "card"}, store.RiskCounts{}, true},
		"daily_limit_merchant": {`{"max_amount":100}`, Input{Kind: "payment", Amount: 50}, store.RiskCounts{MerchantAmountToday: 51}, true},
		"daily_limit_payer":    {`{"max_amount":100}`, Input{Kind: "payment", Amount: 50, Payer: store.Payer{ID: "p"}}, store.RiskCounts{Payer: store.RiskWindows{Amount24h: 50}}, false},
		"velocity":             {`{"key":"ip","window":"1h","max_count":3}`, Input{Payer: store.Payer{IP: "192.0.2.1"}}, store.RiskCounts{IP: store.RiskWindows{Count1h: 3}}, true},
		"location_anomaly":     {`{}`, Input{IPCountry: "US", CardCountry: "CN"}, store.RiskCounts{}, true},
		"night_large_amount":   {`{"min_amount":100,"from_hour":22,"to_hour":6}`, Input{Amount: 100, Now: time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)}, store.RiskCounts{}, true},
		"failed_attempts":      {`{"max_failures":3}`, Input{Payer: store.Payer{ID: "p"}}, store.RiskCounts{PayerFailuresInRow: 2}, false},
	}
	for name, tc := range cases {
		tmpl, _ := lookupTemplate(name)
		var p templateParams
		json.Unmarshal([]byte(tc.params), &p)
		expr, err := tmpl.expand(ctx, s, p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		snap := snapshotOf(t, s, []*store.RiskRule{{ID: "rule_1", Name: "x", Expression: expr, Action: store.RiskBlock, Mode: ModeEnforce, AppliesTo: []string{"payment"}}})
		in := tc.in
		if in.Now.IsZero() {
			in.Now = s.Clock.Now()
		}
		got, err := eval(snap.rules[0].prg, &activation{in: &in, counts: tc.counts})
		if err != nil || got != tc.want {
			t.Errorf("%s (%s): %v %v; want %v", name, expr, got, err, tc.want)
		}
	}
	tmpl, _ := lookupTemplate("velocity")
	if _, err := tmpl.expand(ctx, s, templateParams{"key": json.RawMessage(`"phone"`), "window": json.RawMessage(`"1h"`), "max_count": json.RawMessage("1")}); errs.Code(err) != "params_invalid" {
		t.Fatalf("bad key: %v", err)
	}
}

func TestCountryTablesAndLists(t *testing.T) {
	ip, err := ParseIPCountries(strings.NewReader("# comment\nnetwork,country\n203.0.113.0/24,us\n2001:db8::/32,JP\n198.51.100.10,198.51.100.20,CN\n"))
	if err != nil {
		t.Fatal(err)
	}
	rs := ranges(ip)
	for addr, want := range map[string]string{"203.0.113.255": "US", "203.0.114.0": "", "2001:db8::1": "JP", "198.51.100.15": "CN",
		"198.51.100.21": "", "::ffff:203.0.113.1": "US", "bogus": ""} {
		if got := rs.lookup(ipKey(addr)); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
	if _, err := ParseIPCountries(strings.NewReader("10.0.0.0/8,US\n10.1.0.0/16,CN\n")); errs.Code(err) != "csv_invalid" {
		t.Fatalf("overlap: %v", err)
	}
	if _, err := ParseBINCountries(strings.NewReader("424242,GB\n42424,US\n")); errs.Code(err) != "csv_invalid" {
		t.Fatalf("bad BIN: %v", err)
	}
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	past := now.Add(-time.Minute)
	l := &list{kind: "cidr", cidrs: []cidrEntry{{prefix: mustPrefix("192.0.2.0/24")}, {prefix: mustPrefix("198.51.100.0/24"), expires: &past}}}
	if !l.contains("192.0.2.9", now) || l.contains("198.51.100.9", now) || l.contains("10.0.0.1", now) {
		t.Fatal("cidr list membership (an expired entry matches nothing)")
	}
	ips := &list{kind: "ip", values: map[string]*time.Time{"192.0.2.1": nil}}
	if !ips.contains("::ffff:192.0.2.1", now) {
		t.Fatal("an IPv4-mapped address is the IPv4 address")
	}
	entries, err := ParseEntriesCSV(strings.NewReader("value,expires_at,reason\n192.0.2.1,2030-01-01T00:00:00Z,fraud\n198.51.100.2\n"))
	if err != nil || len(entries) != 2 || entries[0].ExpiresAt == nil || entries[0].Reason != "fraud" {
		t.Fatalf("entries: %v %+v", err, entries)
	}
	if v, err := normalizeValue("cidr", "192.0.2.77/24"); err != nil || v != "192.0.2.0/24" {
		t.Fatalf("normalize: %q %v", v, err)
	}
}

func TestCardFactsKeepNoNumber(t *testing.T) {
	s := testService()
	c := s.CardFacts("4242424242424242")
	if c.BIN != "424242" || c.Last4 != "4242" || len(c.Fingerprint) != 32 || strings.Contains(c.Fingerprint, "4242424242") {
		t.Fatalf("card facts: %+v", c)
	}
	other := &Service{CardKey: []byte("other key")}
	if other.CardFacts("4242424242424242").Fingerprint == c.Fingerprint {
		t.Fatal("fingerprints are keyed")
	}
}

// BenchmarkEvaluate20Rules evaluates 20 enforced rules, half of them on
// counters, per payment (as Prepare and Record do, without the database:
// applicability, the rules, the decision, the stored context), and reports
// the 99th percentile of the per-payment time. It runs with the collector
// set as serve and bench set it (GOGC=400, cmd/paygate's tuneGC): with the
// default of 100 the p99 is about twice as long, spent in collection.
func BenchmarkEvaluate20Rules(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	s := testService()
	snap := snapshotOf(b, s, benchRules())
	loc, _ := time.LoadLocation("Asia/Shanghai")
	counts := store.RiskCounts{Payer: store.RiskWindows{Count10m: 2, Count1h: 4, Count24h: 9, Amount24h: 30000},
		IP: store.RiskWindows{Count10m: 3, Count1h: 5}, Device: store.RiskWindows{Count1h: 2}, Card: store.RiskWindows{Count24h: 1},
		MerchantAmountToday: 1_000_000, PayerFailuresInRow: 1, PayerDistinctIPs24h: 2, PayerDistinctCountries: 1}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		in := &Input{Kind: store.RiskKindPayment, MerchantID: "mch_a", AppID: "app_a", OrderID: "ord_x", Amount: int64(1000 + i%5000),
			Currency: "CNY", Method: "sandbox", Subject: "Coffee", Metadata: map[string]string{"sku": "A-1"},
			Payer:     store.Payer{ID: "payer-1", IP: "203.0.113.7", Country: "CN", DeviceID: "dev-1"},
			IPCountry: "CN", Timezone: "Asia/Shanghai", Now: s.Clock.Now(), loc: loc}
		c := s.check(snap, in, false)
		a := activation{in: in, counts: counts}
		d := c.decideWith(&a)
		_ = c.contextWith(&a)
		if d.Decision == "" {
			b.Fatal("no decision")
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durs)
	if len(durs) > 0 {
		b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds())/1000, "p99-µs/order")
		b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds())/1000, "p50-µs/order")
	}
}

// benchRules are BenchmarkRules, enforced blocks.
func benchRules() []*store.RiskRule {
	rules := make([]*store.RiskRule, len(BenchmarkRules))
	for i, r := range BenchmarkRules {
		rules[i] = &store.RiskRule{ID: fmt.Sprintf("rule_%02d", i), Name: r.Name, Expression: r.Expression, Owner: store.RiskOwnerPlatform,
			Action: store.RiskBlock, Mode: ModeEnforce, Priority: 100, AppliesTo: []string{store.RiskKindPayment}}
	}
	return rules
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
