package alipay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/paygate/paygate/internal/channel"
)

// Profit sharing (channel.ProfitSharing): 分账 of a paid trade. The
// receivers are bound first (alipay.trade.royalty.relation.bind, one per
// receiver, out_request_no a digest of the receiver; Alipay takes a
// repeated binding as done), then the trade is settled to them
// (alipay.trade.order.settle: out_request_no the sharing id, trade_no,
// royalty_parameters of royalty_type transfer, trans_in_type userId or
// loginName, amount in yuan), and asked about with
// alipay.trade.order.settle.query (out_request_no and trade_no; each
// royalty detail's state SUCCESS, FAIL or PROCESSING). Followed: Alipay's
// open-platform documents of the three methods, read through the request
// and answer models of Alipay's SDKs in the search corpora.
//
// Limits: CNY only; the sub_code of a query about a settlement Alipay
// never took is not in the documents read: the connector takes
// ACQ.TRADE_NOT_EXIST (the trade methods' not-found code) and
// TRADE_SETTLE_NOT_EXIST as not found; a settlement whose details partly
// succeed and partly fail is an unknown outcome (the gateway's sharings
// are all-or-nothing); shares come back only inside a refund
// (alipay.trade.refund's refund_royalty_parameters, refund.go:
// RefundShareReturner); royalty_finish is not sent.

// royaltyType maps the gateway's receiver types to Alipay's.
func royaltyType(t string) (string, bool) {
	switch t {
	case "alipay_user_id":
		return "userId", true
	case "alipay_login":
		return "loginName", true
	}
	return "", false
}

// ReturnsSharesInRefund says Alipay takes a royalty of an Alipay account
// (userId or loginName) back inside alipay.trade.refund
// (channel.RefundShareReturner).
func (c *Connector) ReturnsSharesInRefund(typ string) bool {
	_, ok := royaltyType(typ)
	return ok
}

// bindNo is the out_request_no of a receiver's binding: at most 32
// letters and digits, the same for every binding of the receiver.
func bindNo(typ, account string) string {
	h := sha256.Sum256([]byte(typ + "\x00" + account))
	return "bind" + hex.EncodeToString(h[:14])
}

type royaltyDetail struct {
	OperationType string `json:"operation_type"`
	State         string `json:"state"`
	TransIn       string `json:"trans_in"`
	Amount        string `json:"amount"`
	ErrorCode     string `json:"error_code"`
	ErrorDesc     string `json:"error_desc"`
}

// ShareProfit binds the receivers and settles the trade to them.
func (c *Connector) ShareProfit(ctx context.Context, r channel.ProfitSharingRequest) (*channel.ProfitSharingResponse, error) {
	switch {
	case r.Currency != "CNY":
		return nil, fmt.Errorf("alipay profit sharing: currency %q: %w", r.Currency, channel.ErrNotSupported)
	case r.ChannelTradeNo == "" || r.SharingID == "" || len(r.SharingID) > 64 || len(r.Receivers) == 0:
		return nil, fmt.Errorf("alipay profit sharing: no trade, id or receivers: %w", channel.ErrInvalidRequest)
	}
	type parameter struct {
		RoyaltyType string `json:"royalty_type"`
		TransInType string `json:"trans_in_type"`
		TransIn     string `json:"trans_in"`
		Amount      string `json:"amount"`
		Desc        string `json:"desc"`
	}
	var params []parameter
	for _, rc := range r.Receivers {
		typ, ok := royaltyType(rc.Type)
		if !ok || rc.Account == "" {
			return nil, fmt.Errorf("alipay profit sharing: receiver %s %q: %w", rc.Type, rc.Account, channel.ErrInvalidRequest)
		}
		amount, err := yuan(rc.Amount)
		if err != nil || rc.Amount <= 0 {
			return nil, fmt.Errorf("alipay profit sharing: amount %d: %w", rc.Amount, channel.ErrInvalidRequest)
		}
		type entity struct {
			Type    string `json:"type"`
			Account string `json:"account"`
			Memo    string `json:"memo"`
		}
		bind := struct {
			OutRequestNo string   `json:"out_request_no"`
			ReceiverList []entity `json:"receiver_list"`
		}{bindNo(typ, rc.Account), []entity{{typ, rc.Account, "分账"}}}
		if _, _, err := c.call(ctx, "alipay.trade.royalty.relation.bind", bind, "", readOnly); err != nil {
			return nil, fmt.Errorf("bind receiver at alipay: %w", err)
		}
		desc := rc.Description
		if desc == "" {
			desc = "分账"
		}
		params = append(params, parameter{"transfer", typ, rc.Account, amount, desc})
	}
	biz := struct {
		OutRequestNo      string      `json:"out_request_no"`
		TradeNo           string      `json:"trade_no"`
		RoyaltyParameters []parameter `json:"royalty_parameters"`
	}{r.SharingID, r.ChannelTradeNo, params}
	raw, _, err := c.call(ctx, "alipay.trade.order.settle", biz, "", movesMoney)
	if err != nil {
		var e *APIError
		if errors.As(err, &e) && e.Code == "40004" && e.SubCode != "SYSTEM_ERROR" && e.SubCode != "ACQ.SYSTEM_ERROR" {
			return nil, fmt.Errorf("profit sharing %s at alipay: %w", r.SharingID, &channel.DeclineError{Code: "profit_sharing_refused", Message: fmt.Sprintf("%s (alipay %s)", e.SubMsg, e.SubCode)})
		}
		return nil, fmt.Errorf("profit sharing %s at alipay: %w", r.SharingID, err)
	}
	var out struct {
		TradeNo  string `json:"trade_no"`
		SettleNo string `json:"settle_no"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, channel.Unknown(fmt.Errorf("profit sharing %s at alipay: decode answer: %w", r.SharingID, err))
	}
	return &channel.ProfitSharingResponse{ChannelSharingNo: out.SettleNo, Status: channel.ProfitSharingProcessing}, nil
}

// QueryProfitSharing asks about a settlement (alipay.trade.order.settle.query).
func (c *Connector) QueryProfitSharing(ctx context.Context, r channel.ProfitSharingQueryRequest) (*channel.ProfitSharingResponse, error) {
	biz := struct {
		OutRequestNo string `json:"out_request_no"`
		TradeNo      string `json:"trade_no"`
	}{r.SharingID, r.ChannelTradeNo}
	raw, _, err := c.call(ctx, "alipay.trade.order.settle.query", biz, "", readOnly)
	var e *APIError
	if errors.As(err, &e) && (e.SubCode == "ACQ.TRADE_NOT_EXIST" || e.SubCode == "TRADE_SETTLE_NOT_EXIST") {
		return nil, fmt.Errorf("query profit sharing %s at alipay: %w", r.SharingID, channel.ErrTradeNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("query profit sharing %s at alipay: %w", r.SharingID, err)
	}
	var out struct {
		OutRequestNo string          `json:"out_request_no"`
		SettleNo     string          `json:"settle_no"`
		Details      []royaltyDetail `json:"royalty_detail_list"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("query profit sharing %s at alipay: decode answer: %w: %w", r.SharingID, err, channel.ErrUnavailable)
	}
	if out.OutRequestNo != "" && out.OutRequestNo != r.SharingID {
		return nil, fmt.Errorf("query profit sharing %s at alipay: the answer names %s: %w", r.SharingID, out.OutRequestNo, channel.ErrUnavailable)
	}
	resp := &channel.ProfitSharingResponse{ChannelSharingNo: out.SettleNo, Status: channel.ProfitSharingProcessing}
	var ok, failed int
	var reasons []string
	for _, d := range out.Details {
		switch d.State {
		case "SUCCESS":
			ok++
		case "FAIL":
			failed++
			reasons = append(reasons, d.ErrorCode)
		}
	}
	switch n := len(out.Details); {
	case n == 0 || ok+failed < n:
	case ok == n:
		resp.Status = channel.ProfitSharingSuccess
	case failed == n:
		resp.Status, resp.FailureCode, resp.FailureMessage = channel.ProfitSharingFailed, "receiver_invalid", strings.Join(reasons, ", ")
	default:
		return nil, channel.Unknown(fmt.Errorf("alipay profit sharing %s: some details succeeded and some failed (%s)", r.SharingID, strings.Join(reasons, ", ")))
	}
	return resp, nil
}

var _ channel.ProfitSharing = (*Connector)(nil)
