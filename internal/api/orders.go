package api

import (
	"net/http"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// createOrderRequest is the body of POST /v1/orders. Pointers tell a missing
// field from a zero one.
type createOrderRequest struct {
	OutTradeNo  *string           `json:"out_trade_no"`
	Amount      *int64            `json:"amount"`
	Currency    *string           `json:"currency"`
	Subject     *string           `json:"subject"`
	Description *string           `json:"description"`
	Method      *string           `json:"method"`
	AuthCode    *string           `json:"auth_code"`
	Card        *cardRequest      `json:"card"`
	Payer       *payerRequest     `json:"payer"`
	NotifyURL   *string           `json:"notify_url"`
	ReturnURL   *string           `json:"return_url"`
	ExpiresIn   *int64            `json:"expires_in"`
	Metadata    map[string]string `json:"metadata"`
	// Recurring payments: whom the order is for, and what it is charged on.
	Customer          *string `json:"customer"`
	AgreementID       *string `json:"agreement_id"`
	PaymentMethod     *string `json:"payment_method"`
	SavePaymentMethod *bool   `json:"save_payment_method"`
	// ProfitSharing holds the money once paid for profit sharing.
	ProfitSharing *bool `json:"profit_sharing"`
	// Multi-currency and instalments (issue 18).
	FXQuote      *string                    `json:"fx_quote"`
	Installments *client.InstallmentsParams `json:"installments"`
}

type cardRequest struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	CVC      string `json:"cvc"`
}

type payerRequest struct {
	ID        string `json:"id"`
	IP        string `json:"ip"`
	Country   string `json:"country"`
	DeviceID  string `json:"device_id"`
	UserAgent string `json:"user_agent"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// orderRoutes are the merchant API's orders and the test payer.
func (s *Server) orderRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/orders", Access: merchant, Handler: s.createOrder},
		{Method: "GET", Pattern: "/v1/orders", Access: merchant, Handler: s.listOrders, Query: true},
		{Method: "GET", Pattern: "/v1/orders/{id}", Access: merchant, Handler: s.getOrder},
		{Method: "GET", Pattern: "/v1/orders/by-out-trade-no/{out_trade_no}", Access: merchant, Handler: s.getOrderByOutTradeNo},
		{Method: "POST", Pattern: "/v1/orders/{id}/close", Access: merchant, Handler: s.closeOrder},
		{Method: "POST", Pattern: "/v1/orders/{id}/reverse", Access: merchant, Handler: s.reverseOrder},
		{Method: "POST", Pattern: "/v1/orders/{id}/sync", Access: merchant, Handler: s.syncOrder},
		{Method: "POST", Pattern: "/v1/test/orders/{id}/pay", Access: merchant, Handler: s.testPayOrder},
		{Method: "GET", Pattern: "/v1/balance", Access: merchant, Handler: s.getBalance},
	}
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	var req createOrderRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"out_trade_no", req.OutTradeNo != nil}, {"amount", req.Amount != nil}, {"currency", req.Currency != nil}, {"subject", req.Subject != nil}} {
		if !f.set {
			return errs.Missing(f.name)
		}
	}
	p := payment.CreateOrderParams{
		OutTradeNo: *req.OutTradeNo, Amount: *req.Amount, Currency: *req.Currency, Subject: *req.Subject,
		Description: str(req.Description), Method: str(req.Method), AuthCode: str(req.AuthCode),
		NotifyURL: str(req.NotifyURL), ReturnURL: str(req.ReturnURL), Metadata: req.Metadata,
		Customer: str(req.Customer), AgreementID: str(req.AgreementID), PaymentMethod: str(req.PaymentMethod),
		SavePaymentMethod: req.SavePaymentMethod != nil && *req.SavePaymentMethod,
		ProfitSharing:     req.ProfitSharing != nil && *req.ProfitSharing,
		FXQuote:           str(req.FXQuote),
	}
	if req.Installments != nil {
		p.Installments = &payment.InstallmentsParams{Count: req.Installments.Count, FeePayer: req.Installments.FeePayer}
	}
	if req.Card != nil {
		p.Card = &channel.Card{Number: req.Card.Number, ExpMonth: req.Card.ExpMonth, ExpYear: req.Card.ExpYear, CVC: req.Card.CVC}
	}
	if req.Payer != nil {
		p.Payer = store.Payer{ID: req.Payer.ID, IP: req.Payer.IP, Country: req.Payer.Country, DeviceID: req.Payer.DeviceID, UserAgent: req.Payer.UserAgent}
	}
	if req.ExpiresIn != nil {
		if *req.ExpiresIn < 60 || *req.ExpiresIn > 86400 {
			return errs.InvalidParam("expires_in", "expires_in must be 60 to 86400 seconds.")
		}
		p.ExpiresIn = time.Duration(*req.ExpiresIn) * time.Second
	}
	o, created, err := s.Payments.CreateOrder(r.Context(), scopeOf(r), p)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, payment.OrderObject(o))
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Payments.GetOrder(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}

func (s *Server) getOrderByOutTradeNo(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Payments.GetOrderByOutTradeNo(r.Context(), scopeOf(r), r.PathValue("out_trade_no"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}

var orderStatuses = map[string]bool{"pending": true, "processing": true, "succeeded": true, "failed": true, "closed": true, "requires_review": true}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "status", "app_id")
	if err != nil {
		return err
	}
	f := store.OrderFilter{ListParams: lp, AppID: q.Get("app_id")}
	if st := q.Get("status"); st != "" {
		if !orderStatuses[st] {
			return errs.InvalidParam("status", "status must be one of pending, processing, succeeded, failed, closed, requires_review.")
		}
		f.Status = store.OrderStatus(st)
	}
	orders, more, err := s.Payments.ListOrders(r.Context(), scopeOf(r), f)
	if err != nil {
		return err
	}
	data := make([]client.Order, len(orders))
	for i, o := range orders {
		data[i] = payment.OrderObject(o)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

// noBody refuses a body on endpoints that take none (close, reverse, sync).
func noBody(r *http.Request) error {
	var empty struct{}
	return decodeJSON(r, bodyOf(r), &empty)
}

func (s *Server) closeOrder(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	o, err := s.Payments.CloseOrder(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}

func (s *Server) reverseOrder(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	o, err := s.Payments.ReverseOrder(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}

func (s *Server) syncOrder(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	o, err := s.Payments.SyncOrder(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}

func (s *Server) testPayOrder(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Outcome *string `json:"outcome"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	outcome := "succeeded"
	if req.Outcome != nil {
		outcome = *req.Outcome
	}
	if outcome != "succeeded" && outcome != "failed" {
		return errs.InvalidParam("outcome", `outcome must be "succeeded" or "failed".`)
	}
	o, err := s.Payments.TestPay(r.Context(), scopeOf(r), r.PathValue("id"), outcome == "succeeded")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}
