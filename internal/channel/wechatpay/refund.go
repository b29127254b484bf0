package wechatpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/paygate/paygate/internal/channel"
)

// refundRequest is the body of POST /v3/refund/domestic/refunds.
type refundRequest struct {
	OutTradeNo  string       `json:"out_trade_no"`
	OutRefundNo string       `json:"out_refund_no"`
	Reason      string       `json:"reason,omitempty"`
	NotifyURL   string       `json:"notify_url,omitempty"`
	Amount      refundAmount `json:"amount"`
}

type refundAmount struct {
	Refund   int64  `json:"refund"`
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

// refund is a v3 refund, as answered and as queried. Notifications carry
// a sibling shape (refundNotice).
type refund struct {
	RefundID      string       `json:"refund_id"`
	OutRefundNo   string       `json:"out_refund_no"`
	TransactionID string       `json:"transaction_id"`
	OutTradeNo    string       `json:"out_trade_no"`
	Status        string       `json:"status"`
	SuccessTime   string       `json:"success_time"`
	Amount        refundAmount `json:"amount"`
}

// Refund asks WeChat to refund part of a trade, in the trade's currency
// (CNY only on a domestic account; global.go for a global one). WeChat accepts a refund as
// PROCESSING and settles it later (REFUND.SUCCESS notification, or
// RefundQuery); repeating a refund with the same out_refund_no is safe.
func (c *Connector) Refund(ctx context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	currency := r.Currency
	if currency == "" {
		currency = "CNY"
	}
	if err := c.takes(currency); err != nil {
		return nil, fmt.Errorf("wechatpay refund %s: %w", r.RefundID, err)
	}
	if r.Amount <= 0 || r.Total <= 0 || r.Amount > r.Total || r.RefundID == "" || r.OrderID == "" {
		return nil, fmt.Errorf("wechatpay refund %s: amount %d of %d: %w", r.RefundID, r.Amount, r.Total, channel.ErrInvalidRequest)
	}
	notify := r.NotifyURL
	if notify == "" {
		notify = c.notifyURL
	}
	req := refundRequest{
		OutTradeNo: r.OrderID, OutRefundNo: r.RefundID, Reason: truncate(r.Reason, 80), NotifyURL: notify,
		Amount: refundAmount{Refund: r.Amount, Total: r.Total, Currency: currency},
	}
	if c.global {
		return c.globalRefund(ctx, r, req)
	}
	var resp refund
	if err := c.v3(ctx, "refund", http.MethodPost, "/v3/refund/domestic/refunds", req, true, &resp); err != nil {
		return nil, err
	}
	if resp.OutRefundNo != r.RefundID {
		return nil, channel.Unknown(fmt.Errorf("wechatpay refund %s: answered for refund %q", r.RefundID, resp.OutRefundNo))
	}
	out, err := refundResponse(resp)
	if err != nil { // accepted, in a state we cannot read: ask again later
		return nil, channel.Unknown(err)
	}
	return out, nil
}

// RefundQuery asks for a refund by out_refund_no (the refund id).
func (c *Connector) RefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	if r.RefundID == "" {
		return nil, fmt.Errorf("wechatpay refund query: no refund id: %w", channel.ErrInvalidRequest)
	}
	if c.global {
		return c.globalRefundQuery(ctx, r)
	}
	var resp refund
	uri := "/v3/refund/domestic/refunds/" + url.PathEscape(r.RefundID)
	if err := c.v3(ctx, "refund query", http.MethodGet, uri, nil, false, &resp); err != nil {
		return nil, err
	}
	if resp.OutRefundNo != r.RefundID {
		return nil, fmt.Errorf("wechatpay refund query %s: answered for refund %q", r.RefundID, resp.OutRefundNo)
	}
	return refundResponse(resp)
}

// refundStatus maps a refund's status to the channel's, with the failure
// code of the final failures (ABNORMAL: the payer's account cannot take
// it; CLOSED: WeChat gave up).
func refundStatus(s string) (channel.RefundStatus, string, error) {
	switch s {
	case "SUCCESS":
		return channel.RefundSuccess, "", nil
	case "PROCESSING":
		return channel.RefundProcessing, "", nil
	case "ABNORMAL":
		return channel.RefundAbnormal, "refund_abnormal", nil
	case "CLOSED":
		return channel.RefundAbnormal, "refund_closed", nil
	}
	return "", "", fmt.Errorf("unknown refund status %q", s)
}

func refundResponse(r refund) (*channel.RefundResponse, error) {
	st, code, err := refundStatus(r.Status)
	if err != nil {
		return nil, fmt.Errorf("wechatpay refund %s: %w", r.OutRefundNo, err)
	}
	return &channel.RefundResponse{ChannelRefundNo: r.RefundID, Status: st, FailureCode: code}, nil
}
