package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/profitsharing"
)

// Profit sharing (the merchant API); the rules live in internal/profitsharing.

type createReceiverRequest struct {
	Type        *string `json:"type"`
	Account     *string `json:"account"`
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

type shareRequest struct {
	Receiver    *string `json:"receiver"`
	Amount      *int64  `json:"amount"`
	Description *string `json:"description"`
}

type createProfitSharingRequest struct {
	OrderID    *string        `json:"order_id"`
	OutOrderNo *string        `json:"out_order_no"`
	Receivers  []shareRequest `json:"receivers"`
	Finish     *bool          `json:"finish"`
}

type createProfitSharingReturnRequest struct {
	ProfitSharing *string `json:"profit_sharing"`
	OutReturnNo   *string `json:"out_return_no"`
	Receiver      *string `json:"receiver"`
	Amount        *int64  `json:"amount"`
	Description   *string `json:"description"`
}

// profitSharingRoutes are the merchant API's profit sharing.
func (s *Server) profitSharingRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/profit-sharing/receivers", Access: merchant, Handler: s.createReceiver},
		{Method: "GET", Pattern: "/v1/profit-sharing/receivers", Access: merchant, Handler: s.listReceivers, Query: true},
		{Method: "POST", Pattern: "/v1/profit-sharing/returns", Access: merchant, Handler: s.createProfitSharingReturn},
		{Method: "POST", Pattern: "/v1/profit-sharing", Access: merchant, Handler: s.createProfitSharing},
		{Method: "GET", Pattern: "/v1/profit-sharing", Access: merchant, Handler: s.listProfitSharings, Query: true},
		{Method: "GET", Pattern: "/v1/profit-sharing/{id}", Access: merchant, Handler: s.getProfitSharing},
		{Method: "GET", Pattern: "/v1/profit-sharing/orders/{id}", Access: merchant, Handler: s.getProfitSharingOrder},
	}
}

func created(ok bool) int {
	if ok {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) createReceiver(w http.ResponseWriter, r *http.Request) error {
	var req createReceiverRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	rcv, ok, err := s.ProfitSharing.CreateReceiver(r.Context(), scopeOf(r), profitsharing.ReceiverParams{
		Type: str(req.Type), Account: str(req.Account), Name: str(req.Name), Description: str(req.Description)})
	if err != nil {
		return err
	}
	return writeJSON(w, created(ok), profitsharing.ReceiverObject(rcv))
}

func (s *Server) listReceivers(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	list, more, err := s.ProfitSharing.ListReceivers(r.Context(), scopeOf(r), lp)
	if err != nil {
		return err
	}
	data := make([]client.ProfitSharingReceiver, len(list))
	for i, v := range list {
		data[i] = profitsharing.ReceiverObject(v)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) createProfitSharing(w http.ResponseWriter, r *http.Request) error {
	var req createProfitSharingRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p := profitsharing.CreateParams{OrderID: str(req.OrderID), OutOrderNo: str(req.OutOrderNo), Finish: req.Finish != nil && *req.Finish}
	for _, sh := range req.Receivers {
		if sh.Amount == nil {
			return errs.Missing("receivers.amount")
		}
		p.Receivers = append(p.Receivers, profitsharing.ShareParams{Receiver: str(sh.Receiver), Amount: *sh.Amount, Description: str(sh.Description)})
	}
	psh, ok, err := s.ProfitSharing.Create(r.Context(), scopeOf(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, created(ok), profitsharing.Object(psh))
}

func (s *Server) getProfitSharing(w http.ResponseWriter, r *http.Request) error {
	psh, err := s.ProfitSharing.Get(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profitsharing.Object(psh))
}

func (s *Server) listProfitSharings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "order_id")
	if err != nil {
		return err
	}
	list, more, err := s.ProfitSharing.List(r.Context(), scopeOf(r), q.Get("order_id"), lp)
	if err != nil {
		return err
	}
	data := make([]client.ProfitSharing, len(list))
	for i, v := range list {
		data[i] = profitsharing.Object(v)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getProfitSharingOrder(w http.ResponseWriter, r *http.Request) error {
	st, err := s.ProfitSharing.OrderState(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profitsharing.OrderObject(st))
}

func (s *Server) createProfitSharingReturn(w http.ResponseWriter, r *http.Request) error {
	var req createProfitSharingReturnRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Amount == nil {
		return errs.Missing("amount")
	}
	ret, ok, err := s.ProfitSharing.CreateReturn(r.Context(), scopeOf(r), profitsharing.ReturnParams{
		ProfitSharing: str(req.ProfitSharing), OutReturnNo: str(req.OutReturnNo), Receiver: str(req.Receiver),
		Amount: *req.Amount, Description: str(req.Description)})
	if err != nil {
		return err
	}
	return writeJSON(w, created(ok), profitsharing.ReturnObject(ret))
}
