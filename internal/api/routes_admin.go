package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// Routes: per merchant, payment method and mode, the channel accounts that
// may serve a payment and how the router chooses among them. The operator
// manages them; the router reads them.

var errRouteNotFound = errs.NotFound("merchant_route_not_found", "The merchant has no route for this method in this mode.")

// Route limits and strategies.
const (
	routeObjectName  = "route"
	maxRouteAccounts = 20
)

// routeStrategies are the ways a route chooses among its candidates; the
// first is the default.
var routeStrategies = []string{"priority", "weighted", "lowest_cost", "success_rate"}

type putRouteRequest struct {
	Livemode   *bool                   `json:"livemode"`
	Strategy   *string                 `json:"strategy"`
	Candidates []routeCandidateRequest `json:"candidates"`
}

type routeCandidateRequest struct {
	ChannelAccount *string  `json:"channel_account"`
	Weight         *int     `json:"weight"`
	FeeBps         *int     `json:"fee_bps"`
	MinAmount      *int64   `json:"min_amount"`
	MaxAmount      *int64   `json:"max_amount"`
	Currencies     []string `json:"currencies"`
}

func routeObject(rt *store.Route) client.Route {
	out := client.Route{
		Object: routeObjectName, MerchantID: rt.MerchantID, Method: rt.Method, Livemode: rt.Livemode,
		Strategy: rt.Strategy, Candidates: make([]client.RouteCandidate, len(rt.Candidates)),
		CreatedAt: rt.CreatedAt.UTC(), UpdatedAt: rt.UpdatedAt.UTC(),
	}
	for i, c := range rt.Candidates {
		out.Candidates[i] = client.RouteCandidate{
			ChannelAccount: c.ChannelAccountID, Weight: c.Weight, FeeBps: c.FeeBps,
			MinAmount: c.MinAmount, MaxAmount: c.MaxAmount, Currencies: append([]string{}, c.Currencies...),
		}
	}
	return out
}

// routeMerchant returns the merchant named in the path.
func (s *Server) routeMerchant(r *http.Request) (*store.Merchant, error) {
	return s.accounts().GetMerchant(r.Context(), r.PathValue("id"))
}

// livemodeQuery reads the required ?livemode=true|false of a route's GET and DELETE.
func livemodeQuery(q url.Values) (bool, error) {
	for k, v := range q {
		if k != "livemode" {
			e := errs.Invalid("unknown_parameter", "Received unknown parameter: "+k+".")
			e.Param = k
			return false, e
		}
		if len(v) > 1 {
			return false, errs.InvalidParam(k, k+" may be given once.")
		}
	}
	switch v, ok := q["livemode"]; {
	case !ok:
		return false, errs.Missing("livemode")
	case v[0] == "true":
		return true, nil
	case v[0] == "false":
		return false, nil
	}
	return false, errs.InvalidParam("livemode", `livemode must be "true" or "false".`)
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request) error {
	m, err := s.routeMerchant(r)
	if err != nil {
		return err
	}
	rs, err := s.Store.RouteList(r.Context(), m.ID)
	if err != nil {
		return err
	}
	data := make([]client.Route, len(rs))
	for i, rt := range rs {
		data[i] = routeObject(rt)
	}
	return writeJSON(w, http.StatusOK, newList(data, false))
}

func (s *Server) getRoute(w http.ResponseWriter, r *http.Request) error {
	live, err := livemodeQuery(r.URL.Query())
	if err != nil {
		return err
	}
	m, err := s.routeMerchant(r)
	if err != nil {
		return err
	}
	rt, err := s.Store.RouteGet(r.Context(), m.ID, r.PathValue("method"), live)
	if errors.Is(err, store.ErrNotFound) {
		return errRouteNotFound
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, routeObject(rt))
}

// putRoute creates or replaces the merchant's route for the method in one mode.
func (s *Server) putRoute(w http.ResponseWriter, r *http.Request) error {
	var req putRouteRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	m, err := s.routeMerchant(r)
	if err != nil {
		return err
	}
	method := r.PathValue("method")
	if _, ok := channel.LookupMethod(method); !ok {
		return errs.InvalidParam("method", fmt.Sprintf("Unknown method %q: use one of %s.", clip(method), strings.Join(channel.MethodNames(), ", ")))
	}
	if req.Livemode == nil {
		return errs.Missing("livemode")
	}
	strategy := routeStrategies[0]
	if req.Strategy != nil {
		strategy = *req.Strategy
	}
	if !slices.Contains(routeStrategies, strategy) {
		return errs.InvalidParam("strategy", "strategy must be one of "+strings.Join(routeStrategies, ", ")+".")
	}
	cands, err := s.routeCandidates(r, req.Candidates, method, *req.Livemode, strategy)
	if err != nil {
		return err
	}
	now := s.now()
	rt := &store.Route{MerchantID: m.ID, Method: method, Livemode: *req.Livemode, Strategy: strategy,
		Candidates: cands, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.RoutePut(r.Context(), rt); err != nil {
		return fmt.Errorf("put route %s %s: %w", m.ID, method, err)
	}
	s.channelsChanged()
	return writeJSON(w, http.StatusOK, routeObject(rt))
}

// routeCandidates checks a route's candidates: 1 to 20 distinct channel
// accounts of the route's mode that serve the method, with sane limits,
// and a weight of at least 1 each for the weighted strategy. A disabled
// account is accepted (the router skips it while it is disabled).
func (s *Server) routeCandidates(r *http.Request, in []routeCandidateRequest, method string, live bool, strategy string) ([]store.RouteCandidate, error) {
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
		a, err := s.Store.ChannelAccountGet(r.Context(), accountID)
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
		case strategy == "weighted" && cand.Weight < 1:
			return nil, invalid("weight", "The weighted strategy needs a weight of at least 1 for every candidate.")
		}
		fee := 0
		if c.FeeBps != nil {
			fee = *c.FeeBps
		}
		if err := checkLimits(at, fee, cand.MinAmount, cand.MaxAmount); err != nil {
			return nil, err
		}
		if cand.Currencies, err = checkCurrencies(at+"currencies", c.Currencies); err != nil {
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

func modeName(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	live, err := livemodeQuery(r.URL.Query())
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	m, err := s.routeMerchant(r)
	if err != nil {
		return err
	}
	method := r.PathValue("method")
	if err := s.Store.RouteDelete(r.Context(), m.ID, method, live); errors.Is(err, store.ErrNotFound) {
		return errRouteNotFound
	} else if err != nil {
		return fmt.Errorf("delete route %s %s: %w", m.ID, method, err)
	}
	s.channelsChanged()
	return writeJSON(w, http.StatusOK, client.DeletedRoute{Object: routeObjectName, MerchantID: m.ID, Method: method, Livemode: live, Deleted: true})
}
