package unionpay

import (
	"context"
	"fmt"
	"strconv"

	"github.com/paygate/paygate/internal/channel"
)

// Refund asks UnionPay to refund part of a paid trade. UnionPay accepts it
// (PROCESSING) and settles it shortly after.
func (c *Connector) Refund(ctx context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	if r.Currency != "" && r.Currency != "CNY" {
		return nil, fmt.Errorf("unionpay: currency %q: %w", r.Currency, channel.ErrNotSupported)
	}
	if r.Amount <= 0 {
		return nil, fmt.Errorf("unionpay: refund amount %d: %w", r.Amount, channel.ErrInvalidRequest)
	}
	if err := checkTime("the refund's CreatedAt", r.CreatedAt); err != nil {
		return nil, err
	}
	refundID, err := ChannelOrderID(r.RefundID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	orderID, err := ChannelOrderID(r.OrderID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	backURL, err := c.backURL(r.NotifyURL)
	if err != nil {
		return nil, err
	}
	origQryID := r.ChannelTradeNo
	if origQryID == "" { // the gateway never learned the queryId: ask for it
		if err := checkTime("the order's CreatedAt", r.OrderCreatedAt); err != nil {
			return nil, err
		}
		q, err := c.Query(ctx, channel.QueryRequest{OrderID: r.OrderID, CreatedAt: r.OrderCreatedAt})
		if err != nil {
			return nil, fmt.Errorf("refund: find the purchase: %w", err)
		}
		if !q.Status.Paid() || q.ChannelTradeNo == "" {
			return nil, fmt.Errorf("unionpay refund: the trade is %s: %w", q.Status, channel.ErrInvalidRequest)
		}
		origQryID = q.ChannelTradeNo
	}
	fields := map[string]string{
		"txnType":      "04",
		"txnSubType":   "00",
		"bizType":      "000000",
		"channelType":  "07",
		"orderId":      refundID,
		"txnTime":      txnTime(r.CreatedAt),
		"txnAmt":       strconv.FormatInt(r.Amount, 10),
		"currencyCode": "156",
		"origQryId":    origQryID,
		"backUrl":      backURL,
		"reqReserved":  orderID,
	}
	answer, err := c.call(ctx, "refund", c.baseURL+pathBackTrans, moneyCall, fields)
	if err != nil {
		return nil, err
	}
	return &channel.RefundResponse{ChannelRefundNo: answer["queryId"], Status: channel.RefundProcessing}, nil
}

// RefundQuery asks for a refund by its own orderId and txnTime.
func (c *Connector) RefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	if err := checkTime("the refund's CreatedAt", r.CreatedAt); err != nil {
		return nil, err
	}
	refundID, err := ChannelOrderID(r.RefundID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	answer, err := c.queryTrans(ctx, "refund query", refundID, r.CreatedAt)
	if err != nil {
		return nil, err
	}
	out := &channel.RefundResponse{ChannelRefundNo: answer["queryId"]}
	switch code := answer["origRespCode"]; code {
	case "00", "A6":
		out.Status = channel.RefundSuccess
	case "03", "04", "05":
		out.Status = channel.RefundProcessing
	default:
		out.Status = channel.RefundAbnormal
		out.FailureCode = "unionpay_" + code
	}
	return out, nil
}
