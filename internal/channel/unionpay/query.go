package unionpay

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// queryTrans asks for the transaction orderID sent at created.
func (c *Connector) queryTrans(ctx context.Context, op, orderID string, created time.Time) (map[string]string, error) {
	fields := map[string]string{
		"txnType":    "00",
		"txnSubType": "00",
		"bizType":    "000000",
		"orderId":    orderID,
		"txnTime":    txnTime(created),
	}
	return c.call(ctx, op, c.baseURL+pathQuery, safeCall, fields)
}

// Query returns a trade's state.
func (c *Connector) Query(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	if err := checkTime("the order's CreatedAt", r.CreatedAt); err != nil {
		return nil, err
	}
	orderID, err := ChannelOrderID(r.OrderID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	answer, err := c.queryTrans(ctx, "query", orderID, r.CreatedAt)
	if err != nil {
		return nil, err
	}
	amount, err := parseAmount(answer["txnAmt"])
	if err != nil {
		return nil, fmt.Errorf("unionpay query: %w", err)
	}
	q := &channel.QueryResponse{
		ChannelTradeNo: answer["queryId"],
		Status:         tradeStatus(answer["origRespCode"], answer["txnSubType"]),
		Amount:         amount,
		Currency:       "CNY",
	}
	switch q.Status {
	case channel.TradeSuccess:
		q.PaidAt = traceTime(answer["traceTime"], r.CreatedAt)
	case channel.TradePayError:
		q.FailureCode, _ = declineCode(answer["origRespCode"])
		if q.FailureCode == "" {
			q.FailureCode = "payment_failed"
		}
		q.FailureMessage = fmt.Sprintf("%s (UnionPay %s)", answer["origRespMsg"], answer["origRespCode"])
	}
	return q, nil
}

// tradeStatus maps a queried transaction's origRespCode.
func tradeStatus(origRespCode, txnSubType string) channel.TradeStatus {
	switch origRespCode {
	case "00", "A6":
		return channel.TradeSuccess
	case "03", "04", "05":
		if txnSubType == "06" { // a payment code: the payer is confirming
			return channel.TradeUserPaying
		}
		return channel.TradeNotPay
	case "45":
		return channel.TradeRevoked
	case "69":
		return channel.TradeClosed
	}
	return channel.TradePayError
}

func parseAmount(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("txnAmt %q is not an amount in fen", s)
	}
	return n, nil
}

// traceTime reads UnionPay's MMDDhhmmss traceTime (CST), taking the year
// that puts it closest after the order's creation; zero traceTime falls
// back to the creation time.
func traceTime(s string, created time.Time) time.Time {
	if len(s) != 10 {
		return created
	}
	base := created.In(cst)
	for _, year := range []int{base.Year(), base.Year() + 1} {
		t, err := time.ParseInLocation("20060102150405", strconv.Itoa(year)+s, cst)
		if err != nil {
			return created
		}
		if !t.Before(base.Add(-24 * time.Hour)) {
			return t
		}
	}
	return created
}
