package wechatpay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// refundSettle is how long a refund stays PROCESSING (× RetryScale).
const refundSettle = 5 * time.Second

// refund is a simulated refund.
type refund struct {
	OutRefundNo, RefundID, Status, Reason, NotifyURL string
	trade                                            *trade
	Amount                                           int64
	fingerprint                                      string
	payerRefund                                      int64 // a global refund: what goes back to the payer, in CNY
	CreatedAt, SuccessAt                             time.Time
}

// refundView is a refund as answered and queried.
type refundView struct {
	RefundID            string           `json:"refund_id"`
	OutRefundNo         string           `json:"out_refund_no"`
	TransactionID       string           `json:"transaction_id"`
	OutTradeNo          string           `json:"out_trade_no"`
	Channel             string           `json:"channel"`
	UserReceivedAccount string           `json:"user_received_account"`
	SuccessTime         string           `json:"success_time,omitempty"`
	CreateTime          string           `json:"create_time"`
	Status              string           `json:"status"`
	FundsAccount        string           `json:"funds_account"`
	Amount              refundAmountView `json:"amount"`
}

type refundAmountView struct {
	Total            int64  `json:"total"`
	Refund           int64  `json:"refund"`
	PayerTotal       int64  `json:"payer_total"`
	PayerRefund      int64  `json:"payer_refund"`
	SettlementRefund int64  `json:"settlement_refund"`
	SettlementTotal  int64  `json:"settlement_total"`
	DiscountRefund   int64  `json:"discount_refund"`
	Currency         string `json:"currency"`
}

func (rf *refund) view() refundView {
	v := refundView{
		RefundID: rf.RefundID, OutRefundNo: rf.OutRefundNo, TransactionID: rf.trade.TransactionID, OutTradeNo: rf.trade.OutTradeNo,
		Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱", CreateTime: rf.CreatedAt.In(cst).Format(time.RFC3339),
		Status: rf.Status, FundsAccount: "AVAILABLE",
		Amount: refundAmountView{
			Total: rf.trade.Total, Refund: rf.Amount, PayerTotal: rf.trade.Total, PayerRefund: rf.Amount,
			SettlementRefund: rf.Amount, SettlementTotal: rf.trade.Total, Currency: "CNY",
		},
	}
	if !rf.SuccessAt.IsZero() {
		v.SuccessTime = rf.SuccessAt.In(cst).Format(time.RFC3339)
	}
	return v
}

// refundBody is a refund request's body, domestic and global (which adds
// mchid and appid).
type refundBody struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	Amount        *struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// refund serves POST /v3/refund/domestic/refunds.
func (s *Sim) refund(r *v3Request) (int, any) {
	var req refundBody
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	switch {
	case req.OutTradeNo == "" && req.TransactionID == "":
		return paramError("transaction_id 和 out_trade_no 必须二选一")
	case req.OutRefundNo == "" || req.Amount == nil:
		return paramError("缺少必填参数 (out_refund_no, amount)")
	case !outTradeNoPattern.MatchString(req.OutRefundNo):
		return paramError("out_refund_no 格式错误")
	case req.Amount.Refund <= 0 || req.Amount.Total <= 0:
		return paramError("amount.refund 和 amount.total 必须大于0")
	case req.Amount.Currency != "CNY":
		return paramError("amount.currency 必须为 CNY")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.refundedTradeLocked(req.OutTradeNo, req.TransactionID)
	if t == nil || t.global != nil || (req.TransactionID != "" && t.TransactionID != req.TransactionID) {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	fp := fmt.Sprintf("%s|%d|%d", t.OutTradeNo, req.Amount.Refund, req.Amount.Total)
	if rf := s.refunds[req.OutRefundNo]; rf != nil {
		if rf.fingerprint != fp {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "退款单号已存在,请求参数与原退款不一致")
		}
		return http.StatusOK, rf.view() // a repeat: the refund as it is
	}
	switch {
	case !t.paid():
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "订单状态不正确,当前状态 "+t.State)
	case req.Amount.Total != t.Total:
		return paramError("订单金额 amount.total 与原订单金额不一致")
	case t.Refunded+req.Amount.Refund > t.Total:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
	}
	rf := &refund{
		OutRefundNo: req.OutRefundNo, RefundID: s.nextIDLocked("5030", 17), Status: "PROCESSING", Reason: req.Reason,
		NotifyURL: req.NotifyURL, trade: t, Amount: req.Amount.Refund, fingerprint: fp, CreatedAt: s.clock.Now(),
	}
	s.refunds[rf.OutRefundNo] = rf
	t.Refunded += rf.Amount
	t.setState(stateRefund)
	s.later(s.opts.Scaled(refundSettle), func() { s.settleRefund(rf) })
	return http.StatusOK, rf.view()
}

// settleRefund moves a refund from PROCESSING to SUCCESS and tells its notify_url.
func (s *Sim) settleRefund(rf *refund) {
	s.mu.Lock()
	if rf.Status != "PROCESSING" {
		s.mu.Unlock()
		return
	}
	rf.Status, rf.SuccessAt = "SUCCESS", s.clock.Now()
	n := s.refundNotificationLocked(rf)
	s.mu.Unlock()
	s.notify(n)
}

// refundQuery serves GET /v3/refund/domestic/refunds/{out_refund_no}.
func (s *Sim) refundQuery(r *v3Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.refunds[r.PathValue("no")]
	if rf == nil || rf.trade.global != nil {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return http.StatusOK, rf.view()
}

// refundedTradeLocked is the trade a refund names, by out_trade_no or else
// by transaction_id; nil when there is none. s.mu is held.
func (s *Sim) refundedTradeLocked(outTradeNo, transactionID string) *trade {
	if outTradeNo != "" {
		return s.tradeLocked(outTradeNo)
	}
	var t *trade
	for _, c := range s.trades {
		if c.TransactionID == transactionID {
			t = c
		}
	}
	return t
}
