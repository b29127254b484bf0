package api

import (
	"net/http"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Exchange rates (the operator API) and FX quotes (the merchant API); the
// rules live in internal/fx.

type createFXQuoteRequest struct {
	From     *string `json:"from"`
	To       *string `json:"to"`
	Amount   *int64  `json:"amount"`
	ToAmount *int64  `json:"to_amount"`
}

type importFXRatesRequest struct {
	Rates []fxRateRequest `json:"rates"`
}

type fxRateRequest struct {
	Base   string    `json:"base"`
	Quote  string    `json:"quote"`
	Rate   string    `json:"rate"`
	Source string    `json:"source"`
	AsOf   time.Time `json:"as_of"`
}

// MaxFXRatesPerImport bounds one import request.
const MaxFXRatesPerImport = 1000

// fxRoutes are the FX routes of both APIs.
func (s *Server) fxRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/fx-quotes", Access: merchant, Handler: s.createFXQuote},
		{Method: "GET", Pattern: "/v1/fx-quotes/{id}", Access: merchant, Handler: s.getFXQuote},
		{Method: "POST", Pattern: "/admin/v1/fx-rates", Access: operator, Handler: s.importFXRates},
		{Method: "GET", Pattern: "/admin/v1/fx-rates", Access: operator, Handler: s.listFXRates, Query: true},
	}
}

func (s *Server) createFXQuote(w http.ResponseWriter, r *http.Request) error {
	var req createFXQuoteRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p := fx.QuoteParams{From: str(req.From), To: str(req.To)}
	switch {
	case req.Amount != nil && req.ToAmount != nil:
		return errs.InvalidParam("to_amount", "Give amount or to_amount, not both.")
	case req.Amount != nil:
		if p.Amount = *req.Amount; p.Amount == 0 {
			return errs.InvalidParam("amount", "amount must be an integer of minor units from 1.")
		}
	case req.ToAmount != nil:
		if p.ToAmount = *req.ToAmount; p.ToAmount == 0 {
			return errs.InvalidParam("to_amount", "to_amount must be an integer of minor units from 1.")
		}
	default:
		return errs.Missingf("amount", "Give amount (of from) or to_amount (of to).")
	}
	q, err := s.FX.CreateQuote(r.Context(), scopeOf(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, fx.QuoteObject(q))
}

func (s *Server) getFXQuote(w http.ResponseWriter, r *http.Request) error {
	q, err := s.FX.GetQuote(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fx.QuoteObject(q))
}

func (s *Server) importFXRates(w http.ResponseWriter, r *http.Request) error {
	var req importFXRatesRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if len(req.Rates) > MaxFXRatesPerImport {
		return errs.InvalidParam("rates", "Send at most 1000 rates per request.")
	}
	in := make([]fx.RateInput, len(req.Rates))
	for i, x := range req.Rates {
		in[i] = fx.RateInput{Base: x.Base, Quote: x.Quote, Rate: x.Rate, Source: x.Source, AsOf: x.AsOf}
	}
	n, err := s.FX.ImportRates(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.FXRateImport{Object: "fx_rate_import", Imported: n})
}

func (s *Server) listFXRates(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "base", "quote")
	if err != nil {
		return err
	}
	for _, name := range []string{"base", "quote"} {
		if v := q.Get(name); v != "" && !money.ValidCurrency(v) {
			return errs.InvalidParam(name, name+" must be an upper-case ISO 4217 code.")
		}
	}
	list, more, err := s.FX.ListRates(r.Context(), store.FXRateFilter{Base: q.Get("base"), Quote: q.Get("quote"), ListParams: lp})
	if err != nil {
		return err
	}
	data := make([]client.FXRate, len(list))
	for i, x := range list {
		data[i] = fx.RateObject(x)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}
