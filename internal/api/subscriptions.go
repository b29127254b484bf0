package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

type createSubscriptionRequest struct {
	Customer      *string           `json:"customer"`
	Price         *string           `json:"price"`
	Quantity      *int64            `json:"quantity"`
	Agreement     *string           `json:"agreement"`
	PaymentMethod *string           `json:"payment_method"`
	AfterDunning  *string           `json:"after_dunning"`
	NotifyURL     *string           `json:"notify_url"`
	Metadata      map[string]string `json:"metadata"`
}

type updateSubscriptionRequest struct {
	Price             *string           `json:"price"`
	Quantity          *int64            `json:"quantity"`
	ProrationBehavior *string           `json:"proration_behavior"`
	CancelAtPeriodEnd *bool             `json:"cancel_at_period_end"`
	Metadata          map[string]string `json:"metadata"`
}

type cancelSubscriptionRequest struct {
	AtPeriodEnd *bool `json:"at_period_end"`
}

// subscriptionRoutes are the merchant API's subscriptions and invoices.
func (s *Server) subscriptionRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/subscriptions", Access: merchant, Handler: s.createSubscription},
		{Method: "GET", Pattern: "/v1/subscriptions", Access: merchant, Handler: s.listSubscriptions, Query: true},
		{Method: "GET", Pattern: "/v1/subscriptions/{id}", Access: merchant, Handler: s.getSubscription},
		{Method: "POST", Pattern: "/v1/subscriptions/{id}", Access: merchant, Handler: s.updateSubscription},
		{Method: "POST", Pattern: "/v1/subscriptions/{id}/cancel", Access: merchant, Handler: s.cancelSubscription},
		{Method: "GET", Pattern: "/v1/invoices", Access: merchant, Handler: s.listInvoices, Query: true},
		{Method: "GET", Pattern: "/v1/invoices/{id}", Access: merchant, Handler: s.getInvoice},
		{Method: "POST", Pattern: "/v1/invoices/{id}/pay", Access: merchant, Handler: s.payInvoice},
	}
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var req createSubscriptionRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p := billing.SubscriptionParams{Customer: str(req.Customer), Price: str(req.Price), Agreement: str(req.Agreement),
		PaymentMethod: str(req.PaymentMethod), AfterDunning: str(req.AfterDunning), NotifyURL: str(req.NotifyURL), Metadata: req.Metadata}
	if req.Quantity != nil {
		if *req.Quantity < 1 {
			return errs.InvalidParam("quantity", "quantity must be from 1 to 10000.")
		}
		p.Quantity = *req.Quantity
	}
	sub, err := s.Billing.CreateSubscription(r.Context(), scopeOf(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, billing.SubscriptionObject(sub))
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.Billing.GetSubscription(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.SubscriptionObject(sub))
}

var subscriptionStatuses = map[string]bool{"trialing": true, "active": true, "past_due": true, "canceled": true, "unpaid": true}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "customer", "status")
	if err != nil {
		return err
	}
	f := store.SubscriptionFilter{CustomerID: q.Get("customer"), ListParams: lp}
	if st := q.Get("status"); st != "" {
		if !subscriptionStatuses[st] {
			return errs.InvalidParam("status", "status must be one of trialing, active, past_due, canceled, unpaid.")
		}
		f.Status = store.SubscriptionStatus(st)
	}
	subs, more, err := s.Billing.ListSubscriptions(r.Context(), scopeOf(r), f)
	if err != nil {
		return err
	}
	data := make([]client.Subscription, len(subs))
	for i, sub := range subs {
		data[i] = billing.SubscriptionObject(sub)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) updateSubscription(w http.ResponseWriter, r *http.Request) error {
	var req updateSubscriptionRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p := billing.UpdateParams{Price: str(req.Price), ProrationBehavior: str(req.ProrationBehavior), CancelAtPeriodEnd: req.CancelAtPeriodEnd, Metadata: req.Metadata}
	if req.Quantity != nil {
		if *req.Quantity < 1 {
			return errs.InvalidParam("quantity", "quantity must be from 1 to 10000.")
		}
		p.Quantity = *req.Quantity
	}
	sub, err := s.Billing.UpdateSubscription(r.Context(), scopeOf(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.SubscriptionObject(sub))
}

func (s *Server) cancelSubscription(w http.ResponseWriter, r *http.Request) error {
	var req cancelSubscriptionRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	sub, err := s.Billing.CancelSubscription(r.Context(), scopeOf(r), r.PathValue("id"), req.AtPeriodEnd != nil && *req.AtPeriodEnd)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.SubscriptionObject(sub))
}

var invoiceStatuses = map[string]bool{"draft": true, "open": true, "paid": true, "uncollectible": true, "void": true}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "subscription", "customer", "status")
	if err != nil {
		return err
	}
	f := store.InvoiceFilter{SubscriptionID: q.Get("subscription"), CustomerID: q.Get("customer"), ListParams: lp}
	if st := q.Get("status"); st != "" {
		if !invoiceStatuses[st] {
			return errs.InvalidParam("status", "status must be one of draft, open, paid, uncollectible, void.")
		}
		f.Status = store.InvoiceStatus(st)
	}
	invs, more, err := s.Billing.ListInvoices(r.Context(), scopeOf(r), f)
	if err != nil {
		return err
	}
	data := make([]client.Invoice, len(invs))
	for i, inv := range invs {
		data[i] = billing.InvoiceObject(inv)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) error {
	inv, err := s.Billing.GetInvoice(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.InvoiceObject(inv))
}

func (s *Server) payInvoice(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	inv, err := s.Billing.PayInvoice(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.InvoiceObject(inv))
}
