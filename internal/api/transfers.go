package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/transfer"
)

// Transfers (the merchant API); the rules live in internal/transfer.

type createTransferRequest struct {
	OutTransferNo *string                     `json:"out_transfer_no"`
	Amount        *int64                      `json:"amount"`
	Currency      *string                     `json:"currency"`
	Destination   *transferDestinationRequest `json:"destination"`
	Description   *string                     `json:"description"`
	FXQuote       *string                     `json:"fx_quote"`
}

type transferDestinationRequest struct {
	Method  *string `json:"method"`
	Account *string `json:"account"`
	Name    *string `json:"name"`
}

// transferRoutes are the merchant API's transfers.
func (s *Server) transferRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/transfers", Access: merchant, Handler: s.createTransfer},
		{Method: "GET", Pattern: "/v1/transfers", Access: merchant, Handler: s.listTransfers, Query: true},
		{Method: "GET", Pattern: "/v1/transfers/{id}", Access: merchant, Handler: s.getTransfer},
	}
}

func (s *Server) createTransfer(w http.ResponseWriter, r *http.Request) error {
	var req createTransferRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	switch {
	case req.Amount == nil && req.FXQuote == nil:
		return errs.Missing("amount")
	case req.Destination == nil:
		return errs.Missing("destination")
	}
	var amount int64
	if req.Amount != nil {
		amount = *req.Amount
		if amount == 0 { // zero means "the quote's" to Create
			return errs.InvalidParam("amount", "amount must be an integer of minor units from 1.")
		}
	}
	t, created, err := s.Transfers.Create(r.Context(), scopeOf(r), transfer.CreateParams{
		OutTransferNo: str(req.OutTransferNo), Amount: amount, Currency: str(req.Currency), Description: str(req.Description), FXQuote: str(req.FXQuote),
		Destination: client.TransferDestination{Method: str(req.Destination.Method), Account: str(req.Destination.Account), Name: str(req.Destination.Name)},
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, transfer.Object(t))
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Transfers.Get(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, transfer.Object(t))
}

func (s *Server) listTransfers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "status")
	if err != nil {
		return err
	}
	list, more, err := s.Transfers.List(r.Context(), scopeOf(r), q.Get("status"), lp)
	if err != nil {
		return err
	}
	data := make([]client.Transfer, len(list))
	for i, t := range list {
		data[i] = transfer.Object(t)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}
