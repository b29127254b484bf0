package unionpay

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// Notify verifies a backUrl notification (a URL-encoded form) and reads it:
// txnType 01 is a payment, 04 a refund, 31 and 99 a cancellation or
// reversal of a payment. Fields with an empty value are dropped before the
// signature is checked. Anything that does not verify wraps
// channel.ErrBadSignature.
func (c *Connector) Notify(ctx context.Context, r channel.NotifyRequest) (*channel.Notification, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, fmt.Errorf("unionpay notify: body is not a form: %v: %w", err, channel.ErrBadSignature)
	}
	fields := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, fmt.Errorf("unionpay notify: field %q appears %d times: %w", k, len(vs), channel.ErrBadSignature)
		}
		// UnionPay signs only the fields that have a value and may post
		// others empty ("reserved="); its SDK's demo drops them before it
		// verifies, and so does this (see the package doc).
		if vs[0] != "" {
			fields[k] = vs[0]
		}
	}
	if err := c.verifier.verify(fields); err != nil {
		return nil, fmt.Errorf("unionpay notify: %w", err)
	}
	if fields["merId"] != c.merID {
		return nil, fmt.Errorf("unionpay notify: for merchant %q, not ours: %w", fields["merId"], channel.ErrBadSignature)
	}
	amount, err := parseAmount(fields["txnAmt"])
	if err != nil {
		return nil, fmt.Errorf("unionpay notify: %w: %w", err, channel.ErrInvalidRequest)
	}
	created, err := time.ParseInLocation("20060102150405", fields["txnTime"], cst)
	if err != nil {
		return nil, fmt.Errorf("unionpay notify: txnTime %q: %w", fields["txnTime"], channel.ErrInvalidRequest)
	}
	ok := fields["respCode"] == "00" || fields["respCode"] == "A6"
	n := &channel.Notification{EventID: fields["txnType"] + ":" + fields["queryId"]}
	switch fields["txnType"] {
	case "01":
		n.Kind = channel.NotifyPayment
		n.OrderID = OrderIDFromChannel(fields["orderId"])
		n.ChannelTradeNo = fields["queryId"]
		n.Amount = amount
		n.Currency = "CNY"
		n.Status = channel.TradePayError
		if ok {
			n.Status = channel.TradeSuccess
			n.PaidAt = traceTime(fields["traceTime"], created)
		}
	case "31", "99":
		n.Kind = channel.NotifyPayment
		n.OrderID = OrderIDFromChannel(fields["orderId"])
		n.ChannelTradeNo = fields["origQryId"]
		n.Amount = amount
		n.Currency = "CNY"
		n.Status = channel.TradeRevoked
	case "04":
		n.Kind = channel.NotifyRefund
		n.RefundID = OrderIDFromChannel(fields["orderId"])
		n.ChannelRefundNo = fields["queryId"]
		n.ChannelTradeNo = fields["origQryId"]
		n.RefundAmount = amount
		if fields["reqReserved"] != "" {
			n.OrderID = OrderIDFromChannel(fields["reqReserved"])
		}
		n.RefundStatus = channel.RefundAbnormal
		if ok {
			n.RefundStatus = channel.RefundSuccess
		}
	default:
		return nil, fmt.Errorf("unionpay notify: txnType %q: %w", fields["txnType"], channel.ErrNotSupported)
	}
	return n, nil
}

// NotifyReply answers UnionPay: HTTP 200 "ok" stops its retries; any other
// status (500 here) makes it post again later.
func (c *Connector) NotifyReply(err error) channel.NotifyReply {
	if err == nil {
		return channel.NotifyReply{Status: 200, ContentType: "text/plain; charset=utf-8", Body: []byte("ok")}
	}
	return channel.NotifyReply{Status: 500, ContentType: "text/plain; charset=utf-8", Body: []byte("fail")}
}
