package api

import (
	"net/http"
	"net/url"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
)

// Routes: per merchant, payment method and mode, the channel accounts that
// may serve a payment and how the router chooses among them. The operator
// manages them; the router reads them.

// routeObjectName is the object name of routes.
const routeObjectName = "route"

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

// routeAdminRoutes are the operator API's merchants' routes.
func (s *Server) routeAdminRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/admin/v1/merchants/{id}/routes", Access: operator, Handler: s.listRoutes},
		{Method: "PUT", Pattern: "/admin/v1/merchants/{id}/routes/{method}", Access: operator, Handler: s.putRoute},
		{Method: "GET", Pattern: "/admin/v1/merchants/{id}/routes/{method}", Access: operator, Handler: s.getRoute, Query: true},
		{Method: "DELETE", Pattern: "/admin/v1/merchants/{id}/routes/{method}", Access: operator, Handler: s.deleteRoute, Query: true},
	}
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.MerchantRoutes.List(r.Context(), r.PathValue("id"))
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
	rt, err := s.MerchantRoutes.Get(r.Context(), r.PathValue("id"), r.PathValue("method"), live)
	if err != nil {
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
	p := routing.PutParams{Livemode: req.Livemode, Strategy: req.Strategy}
	if req.Candidates != nil {
		p.Candidates = make([]routing.CandidateParams, len(req.Candidates))
		for i, c := range req.Candidates {
			p.Candidates[i] = routing.CandidateParams{ChannelAccount: c.ChannelAccount, Weight: c.Weight, FeeBps: c.FeeBps,
				MinAmount: c.MinAmount, MaxAmount: c.MaxAmount, Currencies: c.Currencies}
		}
	}
	rt, err := s.MerchantRoutes.Put(r.Context(), r.PathValue("id"), r.PathValue("method"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, routeObject(rt))
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	live, err := livemodeQuery(r.URL.Query())
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	merchantID, method := r.PathValue("id"), r.PathValue("method")
	if err := s.MerchantRoutes.Delete(r.Context(), merchantID, method, live); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.DeletedRoute{Object: routeObjectName, MerchantID: merchantID, Method: method, Livemode: live, Deleted: true})
}
