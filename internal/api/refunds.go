package api

import (
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/store"
)

type createRefundRequest struct {
	OrderID     *string           `json:"order_id"`
	OutTradeNo  *string           `json:"out_trade_no"`
	OutRefundNo *string           `json:"out_refund_no"`
	Amount      *int64            `json:"amount"`
	Reason      *string           `json:"reason"`
	NotifyURL   *string           `json:"notify_url"`
	Metadata    map[string]string `json:"metadata"`
	// ReverseShares: for an order paid with profit sharing, whether the
	// refund may take receivers' shares back (default true).
	ReverseShares *bool `json:"reverse_shares"`
	// ProfitSharingReturns names the shares to take back instead of the
	// proportional split.
	ProfitSharingReturns []profitsharing.RefundReturn `json:"profit_sharing_returns"`
}

// refundRoutes are the merchant API's refunds.
func (s *Server) refundRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/refunds", Access: merchant, Handler: s.createRefund, Class: classRefund},
		{Method: "GET", Pattern: "/v1/refunds", Access: merchant, Handler: s.listRefunds, Query: true},
		{Method: "GET", Pattern: "/v1/refunds/{id}", Access: merchant, Handler: s.getRefund},
		{Method: "GET", Pattern: "/v1/refunds/by-out-refund-no/{out_refund_no}", Access: merchant, Handler: s.getRefundByOutRefundNo},
	}
}

func (s *Server) createRefund(w http.ResponseWriter, r *http.Request) error {
	var req createRefundRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Amount == nil {
		return errs.Missing("amount")
	}
	ref, created, err := s.Payments.CreateRefund(r.Context(), scopeOf(r), payment.CreateRefundParams{
		OrderID: str(req.OrderID), OutTradeNo: str(req.OutTradeNo), OutRefundNo: str(req.OutRefundNo),
		Amount: *req.Amount, Reason: str(req.Reason), NotifyURL: str(req.NotifyURL), Metadata: req.Metadata,
		ReverseShares: req.ReverseShares, ProfitSharingReturns: req.ProfitSharingReturns,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, payment.RefundObject(ref))
}

func (s *Server) getRefund(w http.ResponseWriter, r *http.Request) error {
	ref, err := s.Payments.GetRefund(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.RefundObject(ref))
}

func (s *Server) getRefundByOutRefundNo(w http.ResponseWriter, r *http.Request) error {
	ref, err := s.Payments.GetRefundByOutRefundNo(r.Context(), scopeOf(r), r.PathValue("out_refund_no"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.RefundObject(ref))
}

var refundStatuses = map[string]bool{"pending": true, "succeeded": true, "failed": true}

func (s *Server) listRefunds(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "order_id", "status")
	if err != nil {
		return err
	}
	f := store.RefundFilter{ListParams: lp, OrderID: q.Get("order_id")}
	if st := q.Get("status"); st != "" {
		if !refundStatuses[st] {
			return errs.InvalidParam("status", "status must be one of pending, succeeded, failed.")
		}
		f.Status = store.RefundStatus(st)
	}
	refunds, more, err := s.Payments.ListRefunds(r.Context(), scopeOf(r), f)
	if err != nil {
		return err
	}
	data := make([]client.Refund, len(refunds))
	for i, ref := range refunds {
		data[i] = payment.RefundObject(ref)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}
