package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/billing"
)

type createCustomerRequest struct {
	Name        *string           `json:"name"`
	Email       *string           `json:"email"`
	Description *string           `json:"description"`
	TestClock   *string           `json:"test_clock"`
	Metadata    map[string]string `json:"metadata"`
}

// customerRoutes are the merchant API's customers and their saved payment methods.
func (s *Server) customerRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/customers", Access: merchant, Handler: s.createCustomer},
		{Method: "GET", Pattern: "/v1/customers", Access: merchant, Handler: s.listCustomers, Query: true},
		{Method: "GET", Pattern: "/v1/customers/{id}", Access: merchant, Handler: s.getCustomer},
		{Method: "GET", Pattern: "/v1/payment-methods", Access: merchant, Handler: s.listPaymentMethods, Query: true},
		{Method: "GET", Pattern: "/v1/payment-methods/{id}", Access: merchant, Handler: s.getPaymentMethod},
		{Method: "POST", Pattern: "/v1/payment-methods/{id}/detach", Access: merchant, Handler: s.detachPaymentMethod},
	}
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	var req createCustomerRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	c, err := s.Billing.CreateCustomer(r.Context(), scopeOf(r), billing.CustomerParams{
		Name: str(req.Name), Email: str(req.Email), Description: str(req.Description), TestClock: str(req.TestClock), Metadata: req.Metadata,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, billing.CustomerObject(c))
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Billing.GetCustomer(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.CustomerObject(c))
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	cs, more, err := s.Billing.ListCustomers(r.Context(), scopeOf(r), lp)
	if err != nil {
		return err
	}
	data := make([]client.Customer, len(cs))
	for i, c := range cs {
		data[i] = billing.CustomerObject(c)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) listPaymentMethods(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "customer")
	if err != nil {
		return err
	}
	pms, more, err := s.Billing.ListPaymentMethods(r.Context(), scopeOf(r), q.Get("customer"), lp)
	if err != nil {
		return err
	}
	data := make([]client.PaymentMethod, len(pms))
	for i, pm := range pms {
		data[i] = billing.PaymentMethodObject(pm)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	pm, err := s.Billing.GetPaymentMethod(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.PaymentMethodObject(pm))
}

func (s *Server) detachPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	pm, err := s.Billing.DetachPaymentMethod(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.PaymentMethodObject(pm))
}
