// Package routing picks the channel accounts that may serve a payment and the
// order in which to try them.
//
// A merchant may have a route per (method, mode): an ordered list of channel
// accounts with weights, fee overrides, limits and currencies, and a strategy
// (priority, weighted, lowest_cost, success_rate). A merchant without one gets
// the default route: every enabled account of the mode that serves the method,
// oldest first, by priority. Candidates that cannot serve the payment, or
// whose channel is unhealthy (circuit open, success rate below a floor), are
// skipped, and the reason is kept in the Decision stored on the order.
//
// The caller protocol is:
//
//	plan, err := router.Route(ctx, q)   // ErrNoRoute: no candidate; plan.Decision says why
//	for _, c := range plan.Candidates {
//		done, ok := router.Allow(c.Account.ID)
//		if !ok { plan.Decision.Fail(c.Account.ID, ErrCircuitOpen); continue }
//		err := call(c)                   // one channel call on c.Account
//		done(err)                        // exactly once, with the call's error
//		if Failover(err) { plan.Decision.Fail(c.Account.ID, err); continue }
//		plan.Decision.Choose(c.Account.ID, err)
//		break
//	}
//
// Router.Run does exactly this. Failover is allowed only when nothing
// happened at the channel (ErrUnavailable, ErrNotSupported, a refused
// breaker); an unknown outcome must never fail over, or the payer could be
// charged twice.
//
// Limits, candidly: the breaker and the success-rate window live in this
// process's memory (each node learns on its own and forgets on restart);
// gobreaker reads the wall clock, so OpenFor is real time even when Clock is
// fake; an account taken out by the success-rate floor comes back when its
// bad outcomes leave the Window (no probe is sent for it meanwhile, unless
// every candidate is below the floor).
package routing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/store"
)

// ErrNoRoute means no candidate can serve the payment. Route returns it with
// a Plan whose Decision lists the skipped candidates and why. The caller
// falls back (test mode: the sandbox) or answers method_unsupported.
var ErrNoRoute = errors.New("routing: no route")

// Strategies a route may use.
const (
	StrategyPriority    = "priority"     // route order
	StrategyWeighted    = "weighted"     // random order drawn by weight
	StrategyLowestCost  = "lowest_cost"  // effective fee ascending
	StrategySuccessRate = "success_rate" // recent success rate descending, with exploration
)

// ValidStrategy reports whether s is a strategy Route knows.
func ValidStrategy(s string) bool {
	switch s {
	case StrategyPriority, StrategyWeighted, StrategyLowestCost, StrategySuccessRate:
		return true
	}
	return false
}

// Decision sources.
const (
	SourceMerchantRoute = "merchant_route"
	SourceDefault       = "default"
)

// Reasons a candidate is skipped.
const (
	ReasonNotFound         = "not_found"
	ReasonDisabled         = "disabled"
	ReasonMode             = "mode"
	ReasonMethod           = "method"
	ReasonCurrency         = "currency"
	ReasonAmountBelowMin   = "amount_below_min"
	ReasonAmountAboveMax   = "amount_above_max"
	ReasonCircuitOpen      = "circuit_open"
	ReasonSuccessRateFloor = "success_rate_below_floor"
)

// Defaults of the Router's zero fields.
const (
	defaultCacheTTL         = 5 * time.Second
	defaultFailureThreshold = 5
	defaultOpenFor          = 30 * time.Second
	defaultSuccessRateFloor = 0.5
	defaultMinSamples       = 20
	defaultWindow           = 5 * time.Minute
	defaultExplore          = 0.05
)

// Source is what the router reads; store.Store satisfies it.
type Source interface {
	// RouteGet returns the merchant's route for method in the mode, or store.ErrNotFound.
	RouteGet(ctx context.Context, merchantID, method string, livemode bool) (*store.Route, error)
	// ChannelAccountList lists channel accounts; provider "" means all.
	ChannelAccountList(ctx context.Context, provider string, p store.ListParams) ([]*store.ChannelAccount, bool, error)
}

// Router picks channel accounts for payments and keeps each account's
// health. It is safe for use by many goroutines. Set the fields before the
// first call and do not change them afterwards; zero values mean the
// defaults below. A Router must not be copied after first use.
type Router struct {
	// Source loads routes and channel accounts. Required.
	Source Source
	// Clock stamps cache entries and health outcomes. Default clock.Real.
	Clock clock.Clock
	// CacheTTL is how long a loaded route (or its absence) and the channel
	// account list are reused. Default 5s. Invalidate drops them at once.
	CacheTTL time.Duration

	// FailureThreshold is how many consecutive failures open an account's
	// circuit breaker. Default 5.
	FailureThreshold int
	// OpenFor is how long an open breaker refuses calls before it turns
	// half-open and lets one probe through. Default 30s. It is measured on
	// the wall clock (gobreaker does not take a clock).
	OpenFor time.Duration
	// SuccessRateFloor: an account whose success rate over Window is below
	// it, with at least MinSamples outcomes recorded, is skipped (unless
	// every candidate is below it: then the best of them is kept). Default
	// 0.5; a negative value turns the floor off.
	SuccessRateFloor float64
	// MinSamples is how many outcomes within Window make a success rate
	// meaningful; below it the floor does not apply and the success_rate
	// strategy treats the account as rate 1.0 (to explore it). Default 20.
	// At most the last 200 outcomes are kept per account, so values above
	// 200 never apply.
	MinSamples int
	// Window is how far back outcomes count toward the success rate. Default
	// 5m. Per account, only the last 200 outcomes are kept, whatever their age.
	Window time.Duration
	// Explore is the probability that the success_rate strategy puts a
	// randomly drawn eligible candidate, other than the best, first. Default
	// 0.05; a negative value turns exploration off.
	Explore float64
	// Rand is the randomness for weighted draws and exploration. Default:
	// math/rand/v2's global source. Tests set a seeded source (rand.NewPCG).
	Rand rand.Source

	mu       sync.RWMutex
	routes   map[routeKey]routeEntry
	accounts *accountSnapshot

	healthMu sync.RWMutex
	health   map[string]*accountHealth

	randMu sync.Mutex
	rnd    *rand.Rand
}

type routeKey struct {
	merchantID, method string
	livemode           bool
}

type routeEntry struct {
	route   *store.Route // nil: the merchant has none
	expires time.Time
}

type accountSnapshot struct {
	list    []*store.ChannelAccount // creation order
	byID    map[string]*store.ChannelAccount
	expires time.Time
}

// Query is the payment to route.
type Query struct {
	MerchantID string
	Method     string
	Currency   string
	Amount     int64
	Livemode   bool
}

// Candidate is one channel account to try, with the fee that applies to it
// (the route's override, else the account's). Account is shared with the
// router's cache: do not modify it.
type Candidate struct {
	Account *store.ChannelAccount
	FeeBps  int
}

// Plan is Route's answer: the candidates in the order to try them and the
// Decision to store on the order.
type Plan struct {
	Candidates []Candidate
	Decision   Decision
}

// Route loads the route for q (the merchant's, else the default one), drops
// the candidates that cannot serve q or whose channel is unhealthy, and
// orders the rest by the route's strategy. With no candidate left it returns
// the Plan (empty Candidates, Decision with the skips) and ErrNoRoute. Other
// errors come from Source.
func (r *Router) Route(ctx context.Context, q Query) (*Plan, error) {
	now := r.now()
	route, err := r.route(ctx, now, q)
	if err != nil {
		return nil, err
	}
	accounts, err := r.accountSnapshot(ctx, now)
	if err != nil {
		return nil, err
	}

	p := &Plan{Decision: Decision{Candidates: []string{}, Skipped: []Skip{}}}
	var cands []store.RouteCandidate
	if route != nil {
		p.Decision.Source = SourceMerchantRoute
		p.Decision.Strategy = route.Strategy
		if !ValidStrategy(route.Strategy) {
			p.Decision.Strategy = StrategyPriority
		}
		cands = route.Candidates
	} else {
		p.Decision.Source = SourceDefault
		p.Decision.Strategy = StrategyPriority
		cands = defaultCandidates(accounts.list, q)
	}

	elig := r.filter(now, q, cands, accounts.byID, &p.Decision)
	if len(elig) == 0 {
		return p, fmt.Errorf("%w for %s %s %d %s", ErrNoRoute, q.Method, q.Currency, q.Amount, modeName(q.Livemode))
	}
	r.order(p.Decision.Strategy, elig)
	p.Candidates = make([]Candidate, len(elig))
	p.Decision.Candidates = make([]string, 0, len(elig))
	for i, e := range elig {
		p.Candidates[i] = Candidate{Account: e.account, FeeBps: e.fee}
		p.Decision.Candidates = append(p.Decision.Candidates, e.account.ID)
	}
	return p, nil
}

// defaultCandidates is the default route of q: the enabled accounts of q's
// mode that serve its method, oldest first. Sandbox accounts are in it only
// when no other account serves the method: the sandbox stands in for the
// channels a test-mode merchant has not set up, never beside them (a
// payment the configured channel cannot take must say so, not quietly go to
// the sandbox).
func defaultCandidates(accounts []*store.ChannelAccount, q Query) []store.RouteCandidate {
	var real, sandbox []store.RouteCandidate
	for _, a := range accounts {
		if a.Disabled || a.Livemode != q.Livemode || !slices.Contains(a.Methods, q.Method) {
			continue
		}
		c := store.RouteCandidate{ChannelAccountID: a.ID}
		if a.Provider == SandboxProvider {
			sandbox = append(sandbox, c)
		} else {
			real = append(real, c)
		}
	}
	if len(real) > 0 {
		return real
	}
	return sandbox
}

// SandboxProvider is the provider name of sandbox accounts.
const SandboxProvider = "sandbox"

// eligible is a candidate that passed the filters, with what ordering needs.
type eligible struct {
	account *store.ChannelAccount
	cand    *store.RouteCandidate
	pos     int     // position in the route
	fee     int     // effective fee, basis points
	rate    float64 // recent success rate; 1 below MinSamples
}

// filter returns the candidates that can serve q, in route order, and
// records each skipped one in d.
func (r *Router) filter(now time.Time, q Query, cands []store.RouteCandidate, byID map[string]*store.ChannelAccount, d *Decision) []eligible {
	floor, minSamples := r.successRateFloor(), r.minSamples()
	elig := make([]eligible, 0, len(cands))
	var below []eligible // passed every filter but the success-rate floor
	for i := range cands {
		c := &cands[i]
		a := byID[c.ChannelAccountID]
		reason := ""
		switch {
		case a == nil:
			reason = ReasonNotFound
		case a.Disabled:
			reason = ReasonDisabled
		case a.Livemode != q.Livemode:
			reason = ReasonMode
		case !slices.Contains(a.Methods, q.Method):
			reason = ReasonMethod
		case !currencyAllowed(c.Currencies, q.Currency) || !currencyAllowed(a.Currencies, q.Currency):
			reason = ReasonCurrency
		case q.Amount < max(a.MinAmount, c.MinAmount):
			reason = ReasonAmountBelowMin
		case aboveMax(q.Amount, a.MaxAmount) || aboveMax(q.Amount, c.MaxAmount):
			reason = ReasonAmountAboveMax
		}
		if reason != "" {
			d.skip(c.ChannelAccountID, reason)
			continue
		}
		e := eligible{account: a, cand: c, pos: i, fee: a.FeeBps, rate: 1}
		if c.FeeBps != nil {
			e.fee = *c.FeeBps
		}
		open, rate, samples := r.healthOf(now, a.ID)
		if open {
			d.skip(a.ID, ReasonCircuitOpen)
			continue
		}
		if samples >= minSamples {
			e.rate = rate
			if floor >= 0 && rate < floor {
				below = append(below, e)
				continue
			}
		}
		elig = append(elig, e)
	}
	if len(elig) == 0 && len(below) > 0 {
		// Every healthy-enough candidate is gone: keep the best rather than none.
		best := 0
		for i, e := range below {
			if e.rate > below[best].rate {
				best = i
			}
		}
		elig = append(elig, below[best])
		below = append(below[:best], below[best+1:]...)
	}
	for _, e := range below {
		d.skip(e.account.ID, ReasonSuccessRateFloor)
	}
	return elig
}

// route returns the merchant's route for q, nil when there is none, from
// the cache when it is fresh.
func (r *Router) route(ctx context.Context, now time.Time, q Query) (*store.Route, error) {
	k := routeKey{q.MerchantID, q.Method, q.Livemode}
	r.mu.RLock()
	e, ok := r.routes[k]
	r.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.route, nil
	}
	// Concurrent misses of one key each load it; the last one stored wins.
	route, err := r.Source.RouteGet(ctx, q.MerchantID, q.Method, q.Livemode)
	if errors.Is(err, store.ErrNotFound) {
		route, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load route of %s for %s: %w", q.MerchantID, q.Method, err)
	}
	r.mu.Lock()
	if r.routes == nil {
		r.routes = make(map[routeKey]routeEntry)
	}
	if len(r.routes) >= maxCachedRoutes {
		for k, e := range r.routes {
			if !now.Before(e.expires) {
				delete(r.routes, k)
			}
		}
	}
	r.routes[k] = routeEntry{route: route, expires: now.Add(r.cacheTTL())}
	r.mu.Unlock()
	return route, nil
}

// maxCachedRoutes is the cache size past which expired routes are swept.
const maxCachedRoutes = 4096

// accountPage is how many accounts each ChannelAccountList call asks for.
const accountPage = 100

// accountSnapshot returns every channel account, from the cache when fresh.
func (r *Router) accountSnapshot(ctx context.Context, now time.Time) (*accountSnapshot, error) {
	r.mu.RLock()
	s := r.accounts
	r.mu.RUnlock()
	if s != nil && now.Before(s.expires) {
		return s, nil
	}
	s = &accountSnapshot{byID: make(map[string]*store.ChannelAccount), expires: now.Add(r.cacheTTL())}
	p := store.ListParams{Limit: accountPage}
	for {
		page, more, err := r.Source.ChannelAccountList(ctx, "", p)
		if err != nil {
			return nil, fmt.Errorf("list channel accounts: %w", err)
		}
		added := 0
		for _, a := range page {
			if _, dup := s.byID[a.ID]; !dup {
				s.byID[a.ID] = a
				s.list = append(s.list, a)
				added++
			}
		}
		// Stop on a page with nothing new too, so a cursor the store reads
		// differently cannot loop forever.
		if !more || added == 0 {
			break
		}
		p.StartingAfter = page[len(page)-1].ID
	}
	// The default route is in creation order whatever order the store lists in.
	slices.SortStableFunc(s.list, func(a, b *store.ChannelAccount) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	r.mu.Lock()
	r.accounts = s
	r.mu.Unlock()
	return s, nil
}

// Invalidate drops the cached routes and channel accounts; the next Route
// loads them again. Call it after a route or channel account changes.
// Health is kept.
func (r *Router) Invalidate() {
	r.mu.Lock()
	r.routes = nil
	r.accounts = nil
	r.mu.Unlock()
}

func (r *Router) now() time.Time {
	if r.Clock == nil {
		return time.Now().UTC()
	}
	return r.Clock.Now()
}

func (r *Router) cacheTTL() time.Duration { return orDefault(r.CacheTTL, defaultCacheTTL) }
func (r *Router) failureThreshold() int {
	return orDefault(r.FailureThreshold, defaultFailureThreshold)
}
func (r *Router) openFor() time.Duration { return orDefault(r.OpenFor, defaultOpenFor) }
func (r *Router) minSamples() int        { return orDefault(r.MinSamples, defaultMinSamples) }
func (r *Router) window() time.Duration  { return orDefault(r.Window, defaultWindow) }
func (r *Router) successRateFloor() float64 {
	return orDefault(r.SuccessRateFloor, defaultSuccessRateFloor)
}
func (r *Router) explore() float64 { return orDefault(r.Explore, defaultExplore) }

func orDefault[T int | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// float64 returns a random number in [0, 1).
func (r *Router) float64() float64 {
	if r.Rand == nil {
		return rand.Float64()
	}
	r.randMu.Lock()
	defer r.randMu.Unlock()
	if r.rnd == nil {
		r.rnd = rand.New(r.Rand)
	}
	return r.rnd.Float64()
}

// intN returns a random number in [0, n).
func (r *Router) intN(n int) int {
	if r.Rand == nil {
		return rand.IntN(n)
	}
	r.randMu.Lock()
	defer r.randMu.Unlock()
	if r.rnd == nil {
		r.rnd = rand.New(r.Rand)
	}
	return r.rnd.IntN(n)
}

// currencyAllowed reports whether cur is in allowed; an empty list allows
// any currency (an account's empty list means "the provider's", which only
// the connector knows: it refuses with channel.ErrNotSupported).
func currencyAllowed(allowed []string, cur string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, v := range allowed {
		if strings.EqualFold(v, cur) {
			return true
		}
	}
	return false
}

// aboveMax reports whether amount exceeds limit; 0 is no limit.
func aboveMax(amount, limit int64) bool { return limit > 0 && amount > limit }

func modeName(livemode bool) string {
	if livemode {
		return "live"
	}
	return "test"
}
