package alipay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paygate/paygate/internal/channel"
)

// Refund refunds part of a trade (alipay.trade.refund, out_request_no = the
// refund id). Alipay refunds synchronously: fund_change Y is SUCCESS. A
// repeat of a refund it already made answers fund_change N, so N is settled
// by a refund query. A system error or a lost answer is ErrUnknownOutcome.
func (c *Connector) Refund(ctx context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	no, err := outTradeNo(r.OrderID)
	if err != nil {
		return nil, err
	}
	if r.RefundID == "" || len(r.RefundID) > 64 {
		return nil, fmt.Errorf("alipay refund: refund id %q is not a valid out_request_no: %w", r.RefundID, channel.ErrInvalidRequest)
	}
	if r.Currency != "" && r.Currency != "CNY" {
		return nil, fmt.Errorf("alipay refund: currency %q: %w", r.Currency, channel.ErrNotSupported)
	}
	if r.Total > 0 && r.Amount > r.Total {
		return nil, fmt.Errorf("alipay refund %s: %d exceeds the trade's %d: %w", r.RefundID, r.Amount, r.Total, channel.ErrInvalidRequest)
	}
	amount, err := yuan(r.Amount)
	if err != nil {
		return nil, fmt.Errorf("alipay refund %s: %w: %w", r.RefundID, err, channel.ErrInvalidRequest)
	}
	royalties, err := refundRoyalties(r.ReturnShares)
	if err != nil {
		return nil, fmt.Errorf("alipay refund %s: %w", r.RefundID, err)
	}
	biz := struct {
		OutTradeNo              string          `json:"out_trade_no"`
		RefundAmount            string          `json:"refund_amount"`
		OutRequestNo            string          `json:"out_request_no"`
		RefundReason            string          `json:"refund_reason,omitempty"`
		RefundRoyaltyParameters []refundRoyalty `json:"refund_royalty_parameters,omitempty"`
	}{no, amount, r.RefundID, r.Reason, royalties}
	raw, _, err := c.call(ctx, "alipay.trade.refund", biz, "", movesMoney)
	if err != nil {
		return nil, fmt.Errorf("refund %s of %s at alipay: %w", r.RefundID, no, err)
	}
	var out struct {
		OutTradeNo string `json:"out_trade_no"`
		FundChange string `json:"fund_change"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, channel.Unknown(fmt.Errorf("refund %s of %s at alipay: decode answer: %w", r.RefundID, no, err))
	}
	if out.OutTradeNo != "" && out.OutTradeNo != no {
		return nil, channel.Unknown(fmt.Errorf("refund %s of %s at alipay: answer names trade %s", r.RefundID, no, out.OutTradeNo))
	}
	if out.FundChange == "Y" {
		return &channel.RefundResponse{Status: channel.RefundSuccess}, nil
	}
	return c.RefundQuery(ctx, channel.RefundQueryRequest{RefundID: r.RefundID, OrderID: r.OrderID, Amount: r.Amount})
}

// refundRoyalty is one entry of alipay.trade.refund's
// refund_royalty_parameters (OpenApiRoyaltyDetailInfoPojo: royalty_type
// transfer, trans_out_type/trans_out the receiver the royalty comes back
// from, amount in yuan, desc). trans_in is left out: the royalty goes back
// to the trade's seller. For page, app and wap payments Alipay takes a
// royalty back only when the refund names it (its refund_royalty_parameters
// notes); 当面付 apportions by itself.
type refundRoyalty struct {
	RoyaltyType  string `json:"royalty_type"`
	TransOutType string `json:"trans_out_type"`
	TransOut     string `json:"trans_out"`
	Amount       string `json:"amount"`
	Desc         string `json:"desc,omitempty"`
}

// refundRoyalties maps a refund's share returns to
// refund_royalty_parameters; a receiver that is no Alipay account is
// ErrInvalidRequest.
func refundRoyalties(rs []channel.ShareReturn) ([]refundRoyalty, error) {
	var out []refundRoyalty
	for _, x := range rs {
		typ, ok := royaltyType(x.Receiver.Type)
		if !ok || x.Receiver.Account == "" {
			return nil, fmt.Errorf("share return of %s receiver %q: %w", x.Receiver.Type, x.Receiver.Account, channel.ErrInvalidRequest)
		}
		amount, err := yuan(x.Amount)
		if err != nil || x.Amount <= 0 {
			return nil, fmt.Errorf("share return of %q: amount %d: %w", x.Receiver.Account, x.Amount, channel.ErrInvalidRequest)
		}
		out = append(out, refundRoyalty{RoyaltyType: "transfer", TransOutType: typ, TransOut: x.Receiver.Account, Amount: amount, Desc: "refund"})
	}
	return out, nil
}

// refundQueryAnswer is alipay.trade.fastpay.refund.query's answer.
type refundQueryAnswer struct {
	OutTradeNo   string `json:"out_trade_no"`
	OutRequestNo string `json:"out_request_no"`
	RefundAmount string `json:"refund_amount"`
	RefundStatus string `json:"refund_status"`
}

// refundQuery asks alipay.trade.fastpay.refund.query about one refund.
func (c *Connector) refundQuery(ctx context.Context, outTradeNo, outRequestNo string) (*refundQueryAnswer, error) {
	biz := struct {
		OutTradeNo   string `json:"out_trade_no"`
		OutRequestNo string `json:"out_request_no"`
	}{outTradeNo, outRequestNo}
	raw, _, err := c.call(ctx, "alipay.trade.fastpay.refund.query", biz, "", readOnly)
	if err != nil {
		return nil, fmt.Errorf("query refund %s of %s at alipay: %w", outRequestNo, outTradeNo, err)
	}
	var out refundQueryAnswer
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("query refund %s of %s at alipay: decode answer: %w: %w", outRequestNo, outTradeNo, err, channel.ErrUnavailable)
	}
	if (out.OutTradeNo != "" && out.OutTradeNo != outTradeNo) || (out.OutRequestNo != "" && out.OutRequestNo != outRequestNo) {
		return nil, fmt.Errorf("query refund %s of %s at alipay: answer names %s/%s: %w", outRequestNo, outTradeNo, out.OutTradeNo, out.OutRequestNo, channel.ErrUnavailable)
	}
	return &out, nil
}

// RefundQuery reports a refund: refund_status REFUND_SUCCESS is SUCCESS.
// An answer without any refund data means Alipay never got the refund:
// ErrTradeNotFound (the gateway sends it again; the same out_request_no
// makes that safe). Refund data without REFUND_SUCCESS is PROCESSING. A
// missing trade is ErrTradeNotFound too.
func (c *Connector) RefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	no, err := outTradeNo(r.OrderID)
	if err != nil {
		return nil, err
	}
	out, err := c.refundQuery(ctx, no, r.RefundID)
	if err != nil {
		return nil, err
	}
	if out.OutRequestNo == "" && out.RefundAmount == "" && out.RefundStatus == "" {
		// No refund data: Alipay never made this refund (repeating it with
		// the same out_request_no is safe).
		return nil, fmt.Errorf("query refund %s of %s at alipay: no such refund: %w", r.RefundID, no, channel.ErrTradeNotFound)
	}
	if out.RefundStatus == "REFUND_SUCCESS" {
		if r.Amount > 0 && out.RefundAmount != "" {
			if got, err := parseYuan(out.RefundAmount); err != nil || got != r.Amount {
				return nil, fmt.Errorf("query refund %s at alipay: refunded %q, not %d fen: %w", r.RefundID, out.RefundAmount, r.Amount, channel.ErrInvalidRequest)
			}
		}
		return &channel.RefundResponse{Status: channel.RefundSuccess}, nil
	}
	return &channel.RefundResponse{Status: channel.RefundProcessing}, nil
}
