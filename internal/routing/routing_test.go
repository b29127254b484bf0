package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/store"
)

// fakeSource is an in-memory Source. It lists accounts in ID order,
// honouring Limit and StartingAfter (ids after the cursor), and counts calls.
type fakeSource struct {
	mu        sync.Mutex
	routes    map[routeKey]*store.Route
	accounts  []*store.ChannelAccount
	routeGets int
	lists     int
	err       error // returned by every call when set
}

func (f *fakeSource) RouteGet(_ context.Context, merchantID, method string, livemode bool) (*store.Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routeGets++
	if f.err != nil {
		return nil, f.err
	}
	r, ok := f.routes[routeKey{merchantID, method, livemode}]
	if !ok {
		return nil, store.ErrNotFound
	}
	return r, nil
}

func (f *fakeSource) ChannelAccountList(_ context.Context, provider string, p store.ListParams) ([]*store.ChannelAccount, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.err != nil {
		return nil, false, f.err
	}
	all := slices.Clone(f.accounts)
	slices.SortFunc(all, func(a, b *store.ChannelAccount) int { return strings.Compare(a.ID, b.ID) })
	var out []*store.ChannelAccount
	for _, a := range all {
		if (provider == "" || a.Provider == provider) && a.ID > p.StartingAfter {
			out = append(out, a)
		}
	}
	if p.Limit > 0 && len(out) > p.Limit {
		return out[:p.Limit], true, nil
	}
	return out, false, nil
}

func (f *fakeSource) putRoute(r *store.Route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.routes == nil {
		f.routes = make(map[routeKey]*store.Route)
	}
	f.routes[routeKey{r.MerchantID, r.Method, r.Livemode}] = r
}

func (f *fakeSource) calls() (routeGets, lists int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.routeGets, f.lists
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// account returns a live, enabled test account serving wechat.native, created at t0+i minutes.
func account(id string, i int) *store.ChannelAccount {
	return &store.ChannelAccount{
		ID: id, Provider: "wechatpay", Livemode: true,
		Methods:   []string{"wechat.native", "wechat.jsapi"},
		FeeBps:    60,
		CreatedAt: t0.Add(time.Duration(i) * time.Minute),
	}
}

type bundle struct {
	src    *fakeSource
	clock  *clock.Fake
	router *Router
}

// setup returns a router over accounts cha_a, cha_b, cha_c and a fake clock.
func setup(t *testing.T) bundle {
	t.Helper()
	src := &fakeSource{accounts: []*store.ChannelAccount{account("cha_a", 0), account("cha_b", 1), account("cha_c", 2)}}
	clk := clock.NewFake(t0)
	return bundle{src: src, clock: clk, router: &Router{Source: src, Clock: clk, Rand: rand.NewPCG(1, 2)}}
}

var liveNative = Query{MerchantID: "mch_1", Method: "wechat.native", Currency: "CNY", Amount: 1000, Livemode: true}

func route(strategy string, ids ...string) *store.Route {
	r := &store.Route{MerchantID: "mch_1", Method: "wechat.native", Livemode: true, Strategy: strategy}
	for _, id := range ids {
		r.Candidates = append(r.Candidates, store.RouteCandidate{ChannelAccountID: id})
	}
	return r
}

func ids(p *Plan) []string {
	var out []string
	for _, c := range p.Candidates {
		out = append(out, c.Account.ID)
	}
	return out
}

func mustRoute(t *testing.T, r *Router, q Query) *Plan {
	t.Helper()
	p, err := r.Route(context.Background(), q)
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	return p
}

func TestRoutePriorityKeepsRouteOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.src.putRoute(route(StrategyPriority, "cha_c", "cha_a", "cha_b"))
	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_c", "cha_a", "cha_b"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	got, err := json.Marshal(p.Decision)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"strategy":"priority","source":"merchant_route","candidates":["cha_c","cha_a","cha_b"],"skipped":[],"chosen":""}`
	if string(got) != want {
		t.Fatalf("decision JSON =\n%s\nwant\n%s", got, want)
	}
}

func TestRouteUnknownStrategyIsPriority(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.src.putRoute(route("cheapest_please", "cha_b", "cha_a"))
	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_b", "cha_a"}; !slices.Equal(got, want) || p.Decision.Strategy != StrategyPriority {
		t.Fatalf("order = %v strategy %q, want %v priority", got, p.Decision.Strategy, want)
	}
}

// TestRouteWeighted70_30Within3Points draws 10,000 plans from a 70/30 route
// with a seeded source and expects cha_a first 70% ± 3 percentage points of
// the time, and every plan to hold both accounts.
func TestRouteWeighted70_30Within3Points(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := route(StrategyWeighted, "cha_a", "cha_b")
	r.Candidates[0].Weight, r.Candidates[1].Weight = 70, 30
	b.src.putRoute(r)
	const n = 10000
	first := 0
	for range n {
		p := mustRoute(t, b.router, liveNative)
		got := ids(p)
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("plan %v, want both accounts once", got)
		}
		if got[0] == "cha_a" {
			first++
		}
	}
	if share := float64(first) / n; share < 0.67 || share > 0.73 {
		t.Fatalf("cha_a first in %.1f%% of plans, want 70%% ± 3", share*100)
	}
}

// TestRouteWeightedWithoutReplacement checks the second draw is among the
// remaining accounts by weight: with weights 60/30/10, when cha_a is first,
// cha_b should be second 75% (30/40) ± 3 points of the time.
func TestRouteWeightedWithoutReplacement(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := route(StrategyWeighted, "cha_a", "cha_b", "cha_c")
	r.Candidates[0].Weight, r.Candidates[1].Weight, r.Candidates[2].Weight = 60, 30, 10
	b.src.putRoute(r)
	aFirst, bSecond := 0, 0
	for range 10000 {
		got := ids(mustRoute(t, b.router, liveNative))
		if s := slices.Sorted(slices.Values(got)); !slices.Equal(s, []string{"cha_a", "cha_b", "cha_c"}) {
			t.Fatalf("plan %v is not a permutation of the three accounts", got)
		}
		if got[0] == "cha_a" {
			aFirst++
			if got[1] == "cha_b" {
				bSecond++
			}
		}
	}
	if share := float64(bSecond) / float64(aFirst); share < 0.72 || share > 0.78 {
		t.Fatalf("cha_b second after cha_a in %.1f%% of plans, want 75%% ± 3", share*100)
	}
}

func TestRouteLowestCostWithCandidateOverride(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.src.accounts[0].FeeBps = 60 // cha_a
	b.src.accounts[1].FeeBps = 38 // cha_b
	b.src.accounts[2].FeeBps = 25 // cha_c, but the route overrides it to 38
	r := route(StrategyLowestCost, "cha_a", "cha_c", "cha_b")
	fee20, fee38 := 20, 38
	r.Candidates[0].FeeBps = &fee20 // cha_a: 20, cheapest
	r.Candidates[1].FeeBps = &fee38 // cha_c: 38, ties with cha_b, earlier in route
	b.src.putRoute(r)
	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_a", "cha_c", "cha_b"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	var fees []int
	for _, c := range p.Candidates {
		fees = append(fees, c.FeeBps)
	}
	if want := []int{20, 38, 38}; !slices.Equal(fees, want) {
		t.Fatalf("fees = %v, want %v", fees, want)
	}
}

// report records ok successes and fail failures (interleaved, so no run of
// failures trips the breaker) on the account.
func report(r *Router, id string, ok, fail int) {
	for i := 0; i < ok || i < fail; i++ {
		if i < ok {
			r.Report(id, nil)
		}
		if i < fail {
			r.Report(id, channel.ErrUnavailable)
		}
	}
}

func TestRouteSuccessRatePrefersHealthier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.Explore = -1 // off
	b.router.SuccessRateFloor = -1
	b.src.putRoute(route(StrategySuccessRate, "cha_a", "cha_b", "cha_c"))
	report(b.router, "cha_a", 14, 6) // 70% over 20
	report(b.router, "cha_b", 18, 2) // 90% over 20
	report(b.router, "cha_c", 0, 3)  // 3 failures, fewer than MinSamples: counts as 1.0
	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_c", "cha_b", "cha_a"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

// TestRouteSuccessRateExplores10PercentWithin2Points sets Explore to 0.10 and
// expects the less healthy account first in 10% ± 2 points of 10,000 plans.
func TestRouteSuccessRateExplores10PercentWithin2Points(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.Explore = 0.10
	b.src.putRoute(route(StrategySuccessRate, "cha_a", "cha_b"))
	report(b.router, "cha_a", 12, 8) // 60%
	report(b.router, "cha_b", 20, 0) // 100%
	explored := 0
	const n = 10000
	for range n {
		if ids(mustRoute(t, b.router, liveNative))[0] == "cha_a" {
			explored++
		}
	}
	if share := float64(explored) / n; share < 0.08 || share > 0.12 {
		t.Fatalf("explored in %.1f%% of plans, want 10%% ± 2", share*100)
	}
}

func TestRouteFiltersWithReasons(t *testing.T) {
	t.Parallel()
	b := setup(t)
	add := func(id string, edit func(*store.ChannelAccount)) {
		a := account(id, len(b.src.accounts))
		edit(a)
		b.src.accounts = append(b.src.accounts, a)
	}
	add("cha_disabled", func(a *store.ChannelAccount) { a.Disabled = true })
	add("cha_test", func(a *store.ChannelAccount) { a.Livemode = false })
	add("cha_alipay", func(a *store.ChannelAccount) { a.Methods = []string{"alipay.qr"} })
	add("cha_usd", func(a *store.ChannelAccount) { a.Currencies = []string{"USD"} })
	add("cha_cny", func(a *store.ChannelAccount) { a.Currencies = []string{"cny", "HKD"} })
	add("cha_min", func(a *store.ChannelAccount) { a.MinAmount = 1001 })
	add("cha_max", func(a *store.ChannelAccount) { a.MaxAmount = 999 })
	add("cha_limits_ok", func(a *store.ChannelAccount) { a.MinAmount, a.MaxAmount = 1000, 1000 })

	r := route(StrategyPriority, "cha_missing", "cha_disabled", "cha_test", "cha_alipay", "cha_usd", "cha_cny",
		"cha_min", "cha_max", "cha_limits_ok", "cha_a", "cha_b", "cha_c")
	r.Candidates[9].Currencies = []string{"HKD"} // cha_a: the route narrows it to HKD
	r.Candidates[10].MinAmount = 2000            // cha_b: the route raises the minimum
	r.Candidates[11].MaxAmount = 500             // cha_c: the route lowers the maximum
	b.src.putRoute(r)

	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_cny", "cha_limits_ok"}; !slices.Equal(got, want) {
		t.Fatalf("candidates = %v, want %v", got, want)
	}
	want := []Skip{
		{"cha_missing", ReasonNotFound},
		{"cha_disabled", ReasonDisabled},
		{"cha_test", ReasonMode},
		{"cha_alipay", ReasonMethod},
		{"cha_usd", ReasonCurrency},
		{"cha_min", ReasonAmountBelowMin},
		{"cha_max", ReasonAmountAboveMax},
		{"cha_a", ReasonCurrency},
		{"cha_b", ReasonAmountBelowMin},
		{"cha_c", ReasonAmountAboveMax},
	}
	if !slices.Equal(p.Decision.Skipped, want) {
		t.Fatalf("skipped =\n%v\nwant\n%v", p.Decision.Skipped, want)
	}
}

func TestRouteNoRouteReturnsPlanWithReasons(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.src.putRoute(route(StrategyPriority, "cha_a", "cha_gone"))
	q := liveNative
	q.Amount = 0
	b.src.accounts[0].MinAmount = 1
	p, err := b.router.Route(context.Background(), q)
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("err = %v, want ErrNoRoute", err)
	}
	if p == nil || len(p.Candidates) != 0 || len(p.Decision.Candidates) != 0 {
		t.Fatalf("plan = %+v, want one with no candidates", p)
	}
	want := []Skip{{"cha_a", ReasonAmountBelowMin}, {"cha_gone", ReasonNotFound}}
	if !slices.Equal(p.Decision.Skipped, want) {
		t.Fatalf("skipped = %v, want %v", p.Decision.Skipped, want)
	}
}

func TestRouteDefaultWhenMerchantHasNone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Creation order differs from id order: cha_z is the oldest.
	z := account("cha_z", -1)
	off := account("cha_off", 3)
	off.Disabled = true
	test := account("cha_t", 4)
	test.Livemode = false
	ali := account("cha_ali", 5)
	ali.Methods = []string{"alipay.qr"}
	b.src.accounts = append(b.src.accounts, z, off, test, ali)
	// Enough accounts of another method to need two pages.
	for i := range 120 {
		x := account(fmt.Sprintf("cha_x%03d", i), 10+i)
		x.Methods = []string{"unionpay.qr"}
		b.src.accounts = append(b.src.accounts, x)
	}
	late := account("cha_zz", 200) // on the second page
	b.src.accounts = append(b.src.accounts, late)

	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_z", "cha_a", "cha_b", "cha_c", "cha_zz"}; !slices.Equal(got, want) {
		t.Fatalf("default candidates = %v, want %v", got, want)
	}
	if d := p.Decision; d.Source != SourceDefault || d.Strategy != StrategyPriority {
		t.Fatalf("decision source %q strategy %q, want default priority", d.Source, d.Strategy)
	}
	if _, lists := b.src.calls(); lists != 2 {
		t.Fatalf("ChannelAccountList called %d times, want 2 pages", lists)
	}
}

func TestRouteCachesForTTLAndInvalidate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.CacheTTL = 10 * time.Second
	ctx := context.Background()

	// The merchant has no route: the absence is cached too.
	if p := mustRoute(t, b.router, liveNative); p.Decision.Source != SourceDefault {
		t.Fatalf("source %q, want default", p.Decision.Source)
	}
	b.src.putRoute(route(StrategyPriority, "cha_c"))
	b.clock.Advance(9 * time.Second)
	if p := mustRoute(t, b.router, liveNative); p.Decision.Source != SourceDefault {
		t.Fatalf("within TTL: source %q, want the cached default", p.Decision.Source)
	}
	if gets, lists := b.src.calls(); gets != 1 || lists != 1 {
		t.Fatalf("within TTL: RouteGet %d, ChannelAccountList %d calls, want 1 and 1", gets, lists)
	}

	b.clock.Advance(time.Second)
	if p := mustRoute(t, b.router, liveNative); p.Decision.Source != SourceMerchantRoute || !slices.Equal(ids(p), []string{"cha_c"}) {
		t.Fatalf("after TTL: %+v, want the merchant route", p.Decision)
	}

	// A change within the TTL shows only after Invalidate.
	b.src.putRoute(route(StrategyPriority, "cha_b"))
	off := account("cha_b", 1) // a store returns fresh values; the cache holds the old one
	off.Disabled = true
	b.src.mu.Lock()
	b.src.accounts[1] = off
	b.src.mu.Unlock()
	if p := mustRoute(t, b.router, liveNative); !slices.Equal(ids(p), []string{"cha_c"}) {
		t.Fatalf("before Invalidate: %v, want the cached [cha_c]", ids(p))
	}
	b.router.Invalidate()
	p, err := b.router.Route(ctx, liveNative)
	if !errors.Is(err, ErrNoRoute) || !slices.Equal(p.Decision.Skipped, []Skip{{"cha_b", ReasonDisabled}}) {
		t.Fatalf("after Invalidate: err %v skipped %v, want ErrNoRoute with cha_b disabled", err, p.Decision.Skipped)
	}
	if gets, lists := b.src.calls(); gets != 3 || lists != 3 {
		t.Fatalf("RouteGet %d, ChannelAccountList %d calls, want 3 and 3", gets, lists)
	}
}

func TestRouteSourceErrorIsReturned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	boom := errors.New("database is locked")
	b.src.err = boom
	if _, err := b.router.Route(context.Background(), liveNative); !errors.Is(err, boom) || errors.Is(err, ErrNoRoute) {
		t.Fatalf("err = %v, want the source's error", err)
	}
}

func TestRouteSuccessRateFloor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.MinSamples = 10
	b.router.FailureThreshold = 100 // keep the breakers out of it
	b.src.putRoute(route(StrategyPriority, "cha_a", "cha_b", "cha_c"))
	report(b.router, "cha_a", 4, 6) // 40% over 10: below the 0.5 floor
	report(b.router, "cha_b", 3, 6) // 33% over 9: too few samples to judge
	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_b", "cha_c"}; !slices.Equal(got, want) {
		t.Fatalf("candidates = %v, want %v", got, want)
	}
	if want := []Skip{{"cha_a", ReasonSuccessRateFloor}}; !slices.Equal(p.Decision.Skipped, want) {
		t.Fatalf("skipped = %v, want %v", p.Decision.Skipped, want)
	}

	// The outcomes leave the window: cha_a is back.
	b.clock.Advance(defaultWindow + time.Second)
	if got := ids(mustRoute(t, b.router, liveNative)); len(got) != 3 {
		t.Fatalf("after the window: %v, want all three", got)
	}
}

func TestRouteAllBelowFloorKeepsTheBest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.MinSamples = 10
	b.router.FailureThreshold = 100 // keep the breakers out of it
	b.src.putRoute(route(StrategyPriority, "cha_a", "cha_b", "cha_c"))
	report(b.router, "cha_a", 3, 7) // 30%
	report(b.router, "cha_b", 4, 6) // 40%: the best
	report(b.router, "cha_c", 2, 8) // 20%
	p := mustRoute(t, b.router, liveNative)
	if got, want := ids(p), []string{"cha_b"}; !slices.Equal(got, want) {
		t.Fatalf("candidates = %v, want %v", got, want)
	}
	want := []Skip{{"cha_a", ReasonSuccessRateFloor}, {"cha_c", ReasonSuccessRateFloor}}
	if !slices.Equal(p.Decision.Skipped, want) {
		t.Fatalf("skipped = %v, want %v", p.Decision.Skipped, want)
	}
}

func TestRunFailsOverOnlyWhenNothingHappened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		errs    map[string]error // per account; missing: success
		chosen  string
		ok      bool
		wantErr error
		json    string
	}{
		{
			name:   "unavailable then success",
			errs:   map[string]error{"cha_a": fmt.Errorf("http 503: %w", channel.ErrUnavailable)},
			chosen: "cha_b", ok: true,
			json: `[{"channel_account":"cha_a","error":"unavailable"},{"channel_account":"cha_b"}]`,
		},
		{
			name:   "not supported then success",
			errs:   map[string]error{"cha_a": channel.ErrNotSupported},
			chosen: "cha_b", ok: true,
			json: `[{"channel_account":"cha_a","error":"not_supported"},{"channel_account":"cha_b"}]`,
		},
		{
			name:   "unknown outcome stays",
			errs:   map[string]error{"cha_a": channel.Unknown(context.DeadlineExceeded)},
			chosen: "cha_a", ok: true, wantErr: channel.ErrUnknownOutcome,
			json: `[{"channel_account":"cha_a","error":"unknown_outcome"}]`,
		},
		{
			name:   "declined stays",
			errs:   map[string]error{"cha_a": &channel.DeclineError{Code: "card_declined"}},
			chosen: "cha_a", ok: true, wantErr: channel.ErrDeclined,
			json: `[{"channel_account":"cha_a","error":"declined"}]`,
		},
		{
			name:    "all unavailable",
			errs:    map[string]error{"cha_a": channel.ErrUnavailable, "cha_b": channel.ErrUnavailable},
			wantErr: channel.ErrUnavailable,
			json:    `[{"channel_account":"cha_a","error":"unavailable"},{"channel_account":"cha_b","error":"unavailable"}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.src.putRoute(route(StrategyPriority, "cha_a", "cha_b"))
			p := mustRoute(t, b.router, liveNative)
			c, ok, err := b.router.Run(ctx, p, func(_ context.Context, c Candidate) error { return tt.errs[c.Account.ID] })
			if ok != tt.ok || (ok && c.Account.ID != tt.chosen) || p.Decision.Chosen != tt.chosen {
				t.Fatalf("Run chose %v ok %v (decision %q), want %q ok %v", c.Account, ok, p.Decision.Chosen, tt.chosen, tt.ok)
			}
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got, _ := json.Marshal(p.Decision.Attempts)
			if string(got) != tt.json {
				t.Fatalf("attempts = %s, want %s", got, tt.json)
			}
		})
	}
}

func TestRouteConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.src.putRoute(route(StrategySuccessRate, "cha_a", "cha_b", "cha_c"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				p, err := b.router.Route(context.Background(), liveNative)
				if err != nil {
					t.Errorf("Route: %v", err)
					return
				}
				if done, ok := b.router.Allow(p.Candidates[0].Account.ID); ok {
					done(nil)
				}
				b.router.Report("cha_b", channel.ErrDeclined)
				_ = b.router.Health("cha_a")
				if g == 0 && i%50 == 0 {
					b.router.Invalidate()
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkRouteCacheHit(b *testing.B) {
	src := &fakeSource{accounts: []*store.ChannelAccount{account("cha_a", 0), account("cha_b", 1), account("cha_c", 2)}}
	src.putRoute(route(StrategyWeighted, "cha_a", "cha_b", "cha_c"))
	r := &Router{Source: src, CacheTTL: time.Hour}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Route(ctx, liveNative); err != nil {
				b.Fatal(err)
			}
		}
	})
}
