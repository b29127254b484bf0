package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

type createAgreementRequest struct {
	Method    *string           `json:"method"`
	Customer  *string           `json:"customer"`
	Payer     *payerRequest     `json:"payer"`
	Plan      *agreementPlan    `json:"plan"`
	ReturnURL *string           `json:"return_url"`
	NotifyURL *string           `json:"notify_url"`
	Metadata  map[string]string `json:"metadata"`
}

type agreementPlan struct {
	Description        *string `json:"description"`
	MaxAmountPerCharge *int64  `json:"max_amount_per_charge"`
	Currency           *string `json:"currency"`
	Period             *string `json:"period"`
}

// agreementRoutes are the merchant API's agreements, their test payer, and
// the channels' agreement callbacks.
func (s *Server) agreementRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/agreements", Access: merchant, Handler: s.createAgreement},
		{Method: "GET", Pattern: "/v1/agreements", Access: merchant, Handler: s.listAgreements, Query: true},
		{Method: "GET", Pattern: "/v1/agreements/{id}", Access: merchant, Handler: s.getAgreement},
		{Method: "POST", Pattern: "/v1/agreements/{id}/terminate", Access: merchant, Handler: s.terminateAgreement},
		{Method: "POST", Pattern: "/v1/agreements/{id}/sync", Access: merchant, Handler: s.syncAgreement},
		{Method: "POST", Pattern: "/v1/test/agreements/{id}/payer", Access: merchant, Handler: s.testAgreementPayer},
		{Method: "POST", Pattern: "/channels/{provider}/agreements/notify/{account}", Access: public, Handler: s.agreementCallback},
	}
}

func (s *Server) createAgreement(w http.ResponseWriter, r *http.Request) error {
	var req createAgreementRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Plan == nil {
		return errs.Missing("plan")
	}
	p := billing.AgreementParams{
		Method: str(req.Method), Customer: str(req.Customer), Description: str(req.Plan.Description), Currency: str(req.Plan.Currency),
		Period: str(req.Plan.Period), ReturnURL: str(req.ReturnURL), NotifyURL: str(req.NotifyURL), Metadata: req.Metadata,
	}
	if req.Plan.MaxAmountPerCharge == nil {
		return errs.Missing("plan.max_amount_per_charge")
	}
	p.MaxAmountPerCharge = *req.Plan.MaxAmountPerCharge
	if req.Payer != nil {
		p.Payer = store.Payer{ID: req.Payer.ID, IP: req.Payer.IP, Country: req.Payer.Country}
	}
	a, err := s.Billing.CreateAgreement(r.Context(), scopeOf(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, billing.AgreementObject(a))
}

func (s *Server) getAgreement(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Billing.GetAgreement(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.AgreementObject(a))
}

func (s *Server) listAgreements(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	as, more, err := s.Billing.ListAgreements(r.Context(), scopeOf(r), lp)
	if err != nil {
		return err
	}
	data := make([]client.Agreement, len(as))
	for i, a := range as {
		data[i] = billing.AgreementObject(a)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) terminateAgreement(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	a, err := s.Billing.TerminateAgreement(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.AgreementObject(a))
}

func (s *Server) syncAgreement(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	a, err := s.Billing.GetAgreement(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	if a, err = s.Billing.SyncAgreement(r.Context(), a); err != nil {
		return errs.Channel("channel_unavailable", "The channel could not be asked about the agreement; retry later.", err)
	}
	return writeJSON(w, http.StatusOK, billing.AgreementObject(a))
}

func (s *Server) testAgreementPayer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Action *string `json:"action"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Action == nil {
		return errs.Missing("action")
	}
	a, err := s.Billing.TestPayer(r.Context(), scopeOf(r), r.PathValue("id"), *req.Action)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.AgreementObject(a))
}

// agreementCallback takes a channel's callback about agreements (a
// signing, a termination, a deduction's result) for one of its accounts;
// the body is the channel's own format, and the answer the one it expects.
func (s *Server) agreementCallback(w http.ResponseWriter, r *http.Request) error {
	reply := s.Billing.AgreementCallback(r.Context(), r.PathValue("provider"), r.PathValue("account"), channel.NotifyRequest{
		Header: r.Header.Clone(), Body: bodyOf(r),
	})
	if reply.ContentType != "" {
		w.Header().Set("Content-Type", reply.ContentType)
	}
	w.WriteHeader(reply.Status)
	_, err := w.Write(reply.Body)
	return err
}
