package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// Errors of the routes the operator manages.
var (
	ErrRouteNotFound    = errs.NotFound("merchant_route_not_found", "The merchant has no route for this method in this mode.")
	ErrMerchantNotFound = errs.NotFound("merchant_not_found", "No such merchant.")
)

// maxRouteAccounts is the most candidates a route may list.
const maxRouteAccounts = 20

// Strategies are the ways a route chooses among its candidates; the first
// is the default.
var Strategies = []string{StrategyPriority, StrategyWeighted, StrategyLowestCost, StrategySuccessRate}

// Routes manages merchants' routes (one per method and mode): the rules a
// route must meet, and telling the router when one changed.
type Routes struct {
	Store store.Store
	Clock clock.Clock
	// Changed, when set, is called after a route changed, so the router
	// drops what it cached.
	Changed func()
}

// CandidateParams are one candidate of a route to put; nil fields are unset.
type CandidateParams struct {
	ChannelAccount *string
	Weight         *int
	FeeBps         *int
	MinAmount      *int64
	MaxAmount      *int64
	Currencies     []string
}

// PutParams create or replace a route.
type PutParams struct {
	Livemode   *bool
	Strategy   *string // default: priority
	Candidates []CandidateParams
}

func (s *Routes) merchant(ctx context.Context, merchantID string) (*store.Merchant, error) {
	m, err := s.Store.MerchantGet(ctx, merchantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrMerchantNotFound
	}
	return m, err
}

// List returns every route of the merchant.
func (s *Routes) List(ctx context.Context, merchantID string) ([]*store.Route, error) {
	m, err := s.merchant(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	return s.Store.RouteList(ctx, m.ID)
}

// Get returns the merchant's route for method in the mode.
func (s *Routes) Get(ctx context.Context, merchantID, method string, live bool) (*store.Route, error) {
	m, err := s.merchant(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	rt, err := s.Store.RouteGet(ctx, m.ID, method, live)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRouteNotFound
	}
	return rt, err
}

// Put creates or replaces the merchant's route for method in one mode.
func (s *Routes) Put(ctx context.Context, merchantID, method string, p PutParams) (*store.Route, error) {
	m, err := s.merchant(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	if _, ok := channel.LookupMethod(method); !ok {
		return nil, errs.InvalidParam("method", fmt.Sprintf("Unknown method %q: use one of %s.", clip(method), strings.Join(channel.MethodNames(), ", ")))
	}
	if p.Livemode == nil {
		return nil, errs.Missing("livemode")
	}
	strategy := Strategies[0]
	if p.Strategy != nil {
		strategy = *p.Strategy
	}
	if !slices.Contains(Strategies, strategy) {
		return nil, errs.InvalidParam("strategy", "strategy must be one of "+strings.Join(Strategies, ", ")+".")
	}
	cands, err := s.candidates(ctx, p.Candidates, method, *p.Livemode, strategy)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now().UTC().Truncate(time.Microsecond)
	rt := &store.Route{MerchantID: m.ID, Method: method, Livemode: *p.Livemode, Strategy: strategy,
		Candidates: cands, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.RoutePut(ctx, rt); err != nil {
		return nil, fmt.Errorf("put route %s %s: %w", m.ID, method, err)
	}
	s.changed()
	return rt, nil
}

// Delete deletes the merchant's route for method in the mode.
func (s *Routes) Delete(ctx context.Context, merchantID, method string, live bool) error {
	m, err := s.merchant(ctx, merchantID)
	if err != nil {
		return err
	}
	if err := s.Store.RouteDelete(ctx, m.ID, method, live); errors.Is(err, store.ErrNotFound) {
		return ErrRouteNotFound
	} else if err != nil {
		return fmt.Errorf("delete route %s %s: %w", m.ID, method, err)
	}
	s.changed()
	return nil
}

func (s *Routes) changed() {
	if s.Changed != nil {
		s.Changed()
	}
}

// candidates checks a route's candidates: 1 to 20 distinct channel accounts
// of the route's mode that serve the method, with sane limits, and a weight
// of at least 1 each for the weighted strategy. A disabled account is
// accepted (the router skips it while it is disabled).
func (s *Routes) candidates(ctx context.Context, in []CandidateParams, method string, live bool, strategy string) ([]store.RouteCandidate, error) {
	switch {
	case in == nil:
		return nil, errs.Missing("candidates")
	case len(in) == 0 || len(in) > maxRouteAccounts:
		return nil, errs.InvalidParam("candidates", fmt.Sprintf("candidates must list 1 to %d channel accounts.", maxRouteAccounts))
	}
	out := make([]store.RouteCandidate, len(in))
	for i, c := range in {
		at := fmt.Sprintf("candidates[%d].", i)
		invalid := func(field, msg string) error {
			return errs.InvalidParam("candidates", msg).WithParam(at + field)
		}
		if c.ChannelAccount == nil || *c.ChannelAccount == "" {
			return nil, errs.Missing(at + "channel_account")
		}
		accountID := *c.ChannelAccount
		for j := range i {
			if out[j].ChannelAccountID == accountID {
				return nil, invalid("channel_account", fmt.Sprintf("Channel account %s is listed twice.", clip(accountID)))
			}
		}
		a, err := s.Store.ChannelAccountGet(ctx, accountID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("channel_account", fmt.Sprintf("No such channel account: %s.", clip(accountID)))
		} else if err != nil {
			return nil, err
		}
		switch {
		case a.Livemode != live:
			return nil, invalid("channel_account", fmt.Sprintf("Channel account %s is a %s account; this route is for %s.", a.ID, modeName(a.Livemode), modeName(live)))
		case !slices.Contains(a.Methods, method):
			return nil, invalid("channel_account", fmt.Sprintf("Channel account %s does not serve %s.", a.ID, method))
		}
		cand := store.RouteCandidate{ChannelAccountID: a.ID, FeeBps: c.FeeBps}
		if c.Weight != nil {
			cand.Weight = *c.Weight
		}
		if c.MinAmount != nil {
			cand.MinAmount = *c.MinAmount
		}
		if c.MaxAmount != nil {
			cand.MaxAmount = *c.MaxAmount
		}
		switch {
		case cand.Weight < 0 || cand.Weight > 10000:
			return nil, invalid("weight", "weight must be 0 to 10000.")
		case strategy == StrategyWeighted && cand.Weight < 1:
			return nil, invalid("weight", "The weighted strategy needs a weight of at least 1 for every candidate.")
		}
		fee := 0
		if c.FeeBps != nil {
			fee = *c.FeeBps
		}
		if err := channelaccount.CheckLimits(at, fee, cand.MinAmount, cand.MaxAmount); err != nil {
			return nil, err
		}
		if cand.Currencies, err = channelaccount.CheckCurrencies(at+"currencies", c.Currencies); err != nil {
			return nil, err
		}
		for k, cur := range cand.Currencies {
			if len(a.Currencies) > 0 && !slices.Contains(a.Currencies, cur) {
				return nil, invalid(fmt.Sprintf("currencies[%d]", k), fmt.Sprintf("Channel account %s does not take %s.", a.ID, cur))
			}
		}
		out[i] = cand
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
