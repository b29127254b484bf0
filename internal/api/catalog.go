package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/errs"
)

type createProductRequest struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

type createPriceRequest struct {
	Product       *string           `json:"product"`
	Amount        *int64            `json:"amount"`
	Currency      *string           `json:"currency"`
	Interval      *string           `json:"interval"`
	IntervalCount *int              `json:"interval_count"`
	TrialDays     *int              `json:"trial_days"`
	Metadata      map[string]string `json:"metadata"`
}

// catalogRoutes are the merchant API's products and prices.
func (s *Server) catalogRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/products", Access: merchant, Handler: s.createProduct},
		{Method: "GET", Pattern: "/v1/products", Access: merchant, Handler: s.listProducts, Query: true},
		{Method: "GET", Pattern: "/v1/products/{id}", Access: merchant, Handler: s.getProduct},
		{Method: "POST", Pattern: "/v1/prices", Access: merchant, Handler: s.createPrice},
		{Method: "GET", Pattern: "/v1/prices", Access: merchant, Handler: s.listPrices, Query: true},
		{Method: "GET", Pattern: "/v1/prices/{id}", Access: merchant, Handler: s.getPrice},
	}
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	var req createProductRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p, err := s.Billing.CreateProduct(r.Context(), scopeOf(r), billing.ProductParams{Name: str(req.Name), Description: str(req.Description), Metadata: req.Metadata})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, billing.ProductObject(p))
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Billing.GetProduct(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.ProductObject(p))
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	ps, more, err := s.Billing.ListProducts(r.Context(), scopeOf(r), lp)
	if err != nil {
		return err
	}
	data := make([]client.Product, len(ps))
	for i, p := range ps {
		data[i] = billing.ProductObject(p)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) createPrice(w http.ResponseWriter, r *http.Request) error {
	var req createPriceRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"product", req.Product != nil}, {"amount", req.Amount != nil}, {"currency", req.Currency != nil}, {"interval", req.Interval != nil}} {
		if !f.set {
			return errs.Missing(f.name)
		}
	}
	p := billing.PriceParams{Product: *req.Product, Amount: *req.Amount, Currency: *req.Currency, Interval: *req.Interval, Metadata: req.Metadata}
	if req.IntervalCount != nil {
		if *req.IntervalCount < 1 {
			return errs.InvalidParam("interval_count", "interval_count must be 1 or more.")
		}
		p.IntervalCount = *req.IntervalCount
	}
	if req.TrialDays != nil {
		p.TrialDays = *req.TrialDays
	}
	pr, err := s.Billing.CreatePrice(r.Context(), scopeOf(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, billing.PriceObject(pr))
}

func (s *Server) getPrice(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Billing.GetPrice(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.PriceObject(p))
}

func (s *Server) listPrices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "product")
	if err != nil {
		return err
	}
	ps, more, err := s.Billing.ListPrices(r.Context(), scopeOf(r), q.Get("product"), lp)
	if err != nil {
		return err
	}
	data := make([]client.Price, len(ps))
	for i, p := range ps {
		data[i] = billing.PriceObject(p)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}
