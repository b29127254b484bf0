package alipay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/paygate/paygate/internal/channel"
)

// Notify verifies a trade_status_sync callback (a form post): the
// signature over every parameter but sign and sign_type (URL-decoded,
// sorted, k=v&…) with the Alipay public key, then app_id and, when the
// account has one, seller_id.
//
// TRADE_SUCCESS and TRADE_FINISHED are a payment's SUCCESS, TRADE_CLOSED
// without refund is CLOSED. A callback that carries refund_fee or
// gmt_refund and out_biz_no (the refund's out_request_no) is a refund's
// SUCCESS. Its refund_fee is the trade's cumulative refunded amount, not
// the refund's own, so RefundAmount is left 0 (unknown). Alipay's callbacks
// have no replay-protection timestamp: notify_time is the time of sending.
func (c *Connector) Notify(ctx context.Context, r channel.NotifyRequest) (*channel.Notification, error) {
	params, err := c.verifiedForm(r.Body)
	if err != nil {
		return nil, err
	}
	if c.sellerID != "" && params["seller_id"] != c.sellerID {
		return nil, fmt.Errorf("alipay callback: seller_id %q is not this account's: %w", params["seller_id"], channel.ErrBadSignature)
	}
	return c.tradeNotification(params)
}

// verifiedForm reads a callback's form and verifies it: every parameter
// given once, the RSA2 sign over all but sign and sign_type with the Alipay
// public key, and app_id this account's.
func (c *Connector) verifiedForm(body []byte) (map[string]string, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("alipay callback: body is not a form: %w: %w", err, channel.ErrBadSignature)
	}
	params := map[string]string{}
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, fmt.Errorf("alipay callback: parameter %s given %d times: %w", k, len(vs), channel.ErrBadSignature)
		}
		params[k] = vs[0]
	}
	sign := params["sign"]
	if sign == "" {
		return nil, fmt.Errorf("alipay callback: no sign: %w", channel.ErrBadSignature)
	}
	if st := params["sign_type"]; st != "" && st != "RSA2" {
		return nil, fmt.Errorf("alipay callback: sign_type %q: %w", st, channel.ErrBadSignature)
	}
	if err := verifyRSA2(c.alipayKey, []byte(signContent(params, "sign", "sign_type")), sign); err != nil {
		return nil, fmt.Errorf("alipay callback: %w: %w", err, channel.ErrBadSignature)
	}
	if params["app_id"] != c.appID {
		return nil, fmt.Errorf("alipay callback: app_id %q is not this account's: %w", params["app_id"], channel.ErrBadSignature)
	}
	return params, nil
}

// tradeNotification reads a verified trade_status_sync callback.
func (c *Connector) tradeNotification(params map[string]string) (*channel.Notification, error) {
	var err error
	no := params["out_trade_no"]
	if _, err := outTradeNo(no); err != nil {
		return nil, fmt.Errorf("alipay callback: out_trade_no %q: %w", no, channel.ErrInvalidRequest)
	}
	n := &channel.Notification{
		EventID:        params["notify_id"],
		OrderID:        no,
		ChannelTradeNo: params["trade_no"],
		Currency:       "CNY",
	}
	if params["total_amount"] != "" {
		if n.Amount, err = parseYuan(params["total_amount"]); err != nil {
			return nil, fmt.Errorf("alipay callback for %s: total_amount: %w: %w", no, err, channel.ErrInvalidRequest)
		}
	}
	if n.PaidAt, err = parseTime(params["gmt_payment"]); err != nil {
		return nil, fmt.Errorf("alipay callback for %s: gmt_payment: %w: %w", no, err, channel.ErrInvalidRequest)
	}

	refundID := params["out_biz_no"]
	if refundID != "" && (params["refund_fee"] != "" || params["gmt_refund"] != "") {
		// refund_fee is the trade's cumulative refunded amount, not this
		// refund's: RefundAmount stays 0 (unknown).
		n.Kind = channel.NotifyRefund
		n.RefundID = refundID
		n.RefundStatus = channel.RefundSuccess
		return n, nil
	}

	n.Kind = channel.NotifyPayment
	pt := payTerms{TransCurrency: params["trans_currency"], PayCurrency: params["pay_currency"], PayAmount: params["pay_amount"], TransPayRate: params["trans_pay_rate"]}
	if err := pt.fillNotification(n); err != nil {
		return nil, fmt.Errorf("alipay callback for %s: %w: %w", no, err, channel.ErrInvalidRequest)
	}
	switch params["trade_status"] {
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		n.Status = channel.TradeSuccess
	case "WAIT_BUYER_PAY":
		n.Status = channel.TradeNotPay
	case "TRADE_CLOSED":
		n.Status = channel.TradeClosed
	default:
		return nil, fmt.Errorf("alipay callback for %s: trade_status %q: %w", no, params["trade_status"], channel.ErrInvalidRequest)
	}
	return n, nil
}

// NotifyReply is the body "success" (Alipay stops posting) or "fail" (it
// posts again: 4m, 10m, 10m, 1h, 2h, 6h, 15h). Both are HTTP 200, as
// Alipay reads only the body.
func (c *Connector) NotifyReply(err error) channel.NotifyReply {
	body := "success"
	if err != nil {
		body = "fail"
	}
	return channel.NotifyReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}
