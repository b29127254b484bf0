package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/store"
)

// Reconciliation (对账) runs and their discrepancies: the operator API.
// The rules live in internal/recon.

func (s *Server) reconRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/admin/v1/reconciliations", Access: operator, Handler: s.runReconciliation},
		{Method: "GET", Pattern: "/admin/v1/reconciliations", Access: operator, Handler: s.listReconciliations, Query: true},
		{Method: "GET", Pattern: "/admin/v1/reconciliations/{id}", Access: operator, Handler: s.getReconciliation},
		{Method: "GET", Pattern: "/admin/v1/reconciliation-discrepancies", Access: operator, Handler: s.listDiscrepancies, Query: true},
		{Method: "GET", Pattern: "/admin/v1/reconciliation-discrepancies/{id}", Access: operator, Handler: s.getDiscrepancy},
		{Method: "POST", Pattern: "/admin/v1/reconciliation-discrepancies/{id}/resolve", Access: operator, Handler: s.resolveDiscrepancy},
		{Method: "GET", Pattern: "/admin/v1/merchants/{id}/recon-settings", Access: operator, Handler: s.getReconSettings},
		{Method: "POST", Pattern: "/admin/v1/merchants/{id}/recon-settings", Access: operator, Handler: s.updateReconSettings},
	}
}

type runReconciliationRequest struct {
	ChannelAccount *string `json:"channel_account"`
	Date           *string `json:"date"`
	// Bill is an uploaded bill file in the channel's format, base64.
	Bill *string `json:"bill"`
}

// runReconciliation reconciles a channel account's day now and answers
// with the run.
func (s *Server) runReconciliation(w http.ResponseWriter, r *http.Request) error {
	var req runReconciliationRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.ChannelAccount == nil {
		return errs.Missing("channel_account")
	}
	if req.Date == nil {
		return errs.Missing("date")
	}
	p := recon.RunParams{ChannelAccountID: *req.ChannelAccount, Date: *req.Date, StartedBy: "operator"}
	if req.Bill != nil {
		raw, err := base64.StdEncoding.DecodeString(*req.Bill)
		if err != nil || len(raw) == 0 {
			return errs.InvalidParam("bill", "bill must be the bill file in the channel's format, base64-encoded.")
		}
		p.Bill = &recon.Upload{R: bytes.NewReader(raw), Size: int64(len(raw))}
	}
	run, err := s.Recon.Run(r.Context(), p)
	if err != nil {
		return err
	}
	return s.writeRun(w, r, run)
}

func (s *Server) writeRun(w http.ResponseWriter, r *http.Request, run *store.ReconRun) error {
	sums, err := s.Store.DiscrepancySummary(r.Context(), run.ID)
	if err != nil {
		return err
	}
	open := 0
	for _, sm := range sums {
		if sm.Status == store.DiscrepancyOpen {
			open += sm.Count
		}
	}
	return writeJSON(w, http.StatusOK, recon.RunObject(run, &open))
}

func (s *Server) listReconciliations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "channel_account", "date", "status")
	if err != nil {
		return err
	}
	runs, more, err := s.Recon.List(r.Context(), store.ReconRunFilter{ChannelAccountID: q.Get("channel_account"),
		BillDate: q.Get("date"), Status: q.Get("status"), ListParams: lp})
	if err != nil {
		return err
	}
	data := make([]recon.Run, len(runs))
	for i, run := range runs {
		data[i] = recon.RunObject(run, nil)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getReconciliation(w http.ResponseWriter, r *http.Request) error {
	run, err := s.Recon.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeRun(w, r, run)
}

func (s *Server) listDiscrepancies(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "reconciliation", "channel_account", "date", "class", "status", "merchant_id")
	if err != nil {
		return err
	}
	ds, more, err := s.Recon.Discrepancies(r.Context(), store.DiscrepancyFilter{RunID: q.Get("reconciliation"),
		ChannelAccountID: q.Get("channel_account"), BillDate: q.Get("date"), Class: q.Get("class"), Status: q.Get("status"),
		MerchantID: q.Get("merchant_id"), ListParams: lp})
	if err != nil {
		return err
	}
	data := make([]recon.Discrepancy, len(ds))
	for i, d := range ds {
		data[i] = recon.DiscrepancyObject(d)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getDiscrepancy(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Recon.GetDiscrepancy(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recon.DiscrepancyObject(d))
}

type resolveDiscrepancyRequest struct {
	Action     *string `json:"action"`
	Note       *string `json:"note"`
	ResolvedBy *string `json:"resolved_by"`
}

func (s *Server) resolveDiscrepancy(w http.ResponseWriter, r *http.Request) error {
	var req resolveDiscrepancyRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	d, err := s.Recon.Resolve(r.Context(), r.PathValue("id"), recon.ResolveParams{Action: str(req.Action), Note: str(req.Note), By: str(req.ResolvedBy)})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recon.DiscrepancyObject(d))
}

type reconSettings struct {
	Object      string `json:"object"`
	MerchantID  string `json:"merchant_id"`
	LatePayment string `json:"late_payment"`
}

func (s *Server) getReconSettings(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Store.MerchantGet(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return errs.NotFound("merchant_not_found", "No such merchant.")
	} else if err != nil {
		return err
	}
	v, err := s.Recon.LatePayment(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reconSettings{Object: "recon_settings", MerchantID: id, LatePayment: v})
}

type updateReconSettingsRequest struct {
	LatePayment *string `json:"late_payment"`
}

func (s *Server) updateReconSettings(w http.ResponseWriter, r *http.Request) error {
	var req updateReconSettingsRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.LatePayment == nil {
		return errs.Missing("late_payment")
	}
	if err := s.Recon.SetLatePayment(r.Context(), r.PathValue("id"), *req.LatePayment); err != nil {
		return err
	}
	return s.getReconSettings(w, r)
}
