package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/paygate/paygate/internal/channel"
)

// Transfers (channel.Transfers): 单笔转账 to an Alipay account,
// alipay.fund.trans.uni.transfer with product_code TRANS_ACCOUNT_NO_PWD
// and biz_scene DIRECT_TRANSFER, out_biz_no = the transfer id, and
// alipay.fund.trans.common.query to ask about one. Followed: Alipay's
// open-platform documents of both methods (request and response fields,
// status SUCCESS / DEALING / FAIL, the 0.10 yuan minimum of
// TRANS_ACCOUNT_NO_PWD, ORDER_NOT_EXIST), read through the request models
// of Alipay's SDKs in the search corpora. Alipay makes one transfer per
// out_biz_no: a repeat answers the first's state. Limits: CNY only (the
// cross-border remittance products are not covered); the payee is an
// ALIPAY_USER_ID when Account is 2088 followed by 12 digits, an
// ALIPAY_LOGON_ID (email or phone) otherwise.

const (
	transferProduct = "TRANS_ACCOUNT_NO_PWD"
	transferScene   = "DIRECT_TRANSFER"
	// minTransferFen is TRANS_ACCOUNT_NO_PWD's least amount, 0.10 yuan.
	minTransferFen = 10
)

var alipayUserID = regexp.MustCompile(`^2088[0-9]{12}$`)

// transferDeclines are the sub_codes of a transfer Alipay refused for
// good: nothing moved.
var transferDeclines = map[string]string{
	"PAYEE_NOT_EXIST":            "payee_account_invalid",
	"PAYEE_USER_INFO_ERROR":      "payee_name_mismatch",
	"PAYEE_ACCOUNT_STATUS_ERROR": "payee_account_invalid",
	"PAYEE_CERT_INFO_ERROR":      "payee_name_mismatch",
	"PAYER_BALANCE_NOT_ENOUGH":   "platform_balance_insufficient",
	"PAYEE_ACC_OCUPIED":          "payee_account_invalid",
	"PAYER_PAYEE_CANNOT_SAME":    "payee_is_payer",
	"EXCEED_LIMIT_SM_AMOUNT":     "amount_above_limit",
	"EXCEED_LIMIT_DM_AMOUNT":     "amount_above_limit",
	"EXCEED_LIMIT_SM_MIN_AMOUNT": "amount_below_minimum",
	"PERMIT_CHECK_PERM_LIMITED":  "payee_not_permitted",
}

// transferAnswer is the answer of both transfer methods.
type transferAnswer struct {
	OutBizNo   string `json:"out_biz_no"`
	OrderID    string `json:"order_id"`
	Status     string `json:"status"`
	FailReason string `json:"fail_reason"`
	ErrorCode  string `json:"error_code"`
}

func (a *transferAnswer) response(outBizNo string) (*channel.TransferResponse, error) {
	if a.OutBizNo != "" && a.OutBizNo != outBizNo {
		return nil, channel.Unknown(fmt.Errorf("alipay transfer %s: the answer names %s", outBizNo, a.OutBizNo))
	}
	out := &channel.TransferResponse{ChannelTransferNo: a.OrderID, Status: channel.TransferProcessing}
	switch a.Status {
	case "SUCCESS":
		out.Status = channel.TransferSuccess
	case "FAIL":
		out.Status, out.FailureCode, out.FailureMessage = channel.TransferFailed, "transfer_failed", a.FailReason
		if code, ok := transferDeclines[a.ErrorCode]; ok {
			out.FailureCode = code
		}
	}
	return out, nil
}

// sortTransferError turns a business refusal of a payee into a decline.
func sortTransferError(err error) error {
	var e *APIError
	if errors.As(err, &e) && e.Code == "40004" {
		if code, ok := transferDeclines[e.SubCode]; ok {
			return &channel.DeclineError{Code: code, Message: fmt.Sprintf("%s (alipay %s)", e.SubMsg, e.SubCode)}
		}
		if e.SubCode == "SYSTEM_ERROR" {
			return channel.Unknown(e)
		}
	}
	return err
}

// Transfer pays an Alipay account (alipay.fund.trans.uni.transfer).
func (c *Connector) Transfer(ctx context.Context, r channel.TransferRequest) (*channel.TransferResponse, error) {
	if r.Currency != "CNY" {
		return nil, fmt.Errorf("alipay transfer: currency %q: %w", r.Currency, channel.ErrNotSupported)
	}
	if r.Amount < minTransferFen {
		return nil, fmt.Errorf("alipay transfer: %d fen is below the 0.10 yuan minimum: %w", r.Amount, channel.ErrInvalidRequest)
	}
	amount, err := yuan(r.Amount)
	if err != nil {
		return nil, fmt.Errorf("alipay transfer %s: %w: %w", r.TransferID, err, channel.ErrInvalidRequest)
	}
	if r.TransferID == "" || len(r.TransferID) > 64 {
		return nil, fmt.Errorf("alipay transfer: id %q is not a valid out_biz_no: %w", r.TransferID, channel.ErrInvalidRequest)
	}
	type payee struct {
		Identity     string `json:"identity"`
		IdentityType string `json:"identity_type"`
		Name         string `json:"name,omitempty"`
	}
	p := payee{Identity: r.Account, IdentityType: "ALIPAY_LOGON_ID", Name: r.Name}
	if alipayUserID.MatchString(r.Account) {
		p.IdentityType = "ALIPAY_USER_ID"
	}
	title := r.Description
	if title == "" {
		title = "转账"
	}
	biz := struct {
		OutBizNo    string `json:"out_biz_no"`
		TransAmount string `json:"trans_amount"`
		ProductCode string `json:"product_code"`
		BizScene    string `json:"biz_scene"`
		OrderTitle  string `json:"order_title"`
		PayeeInfo   payee  `json:"payee_info"`
		Remark      string `json:"remark,omitempty"`
	}{r.TransferID, amount, transferProduct, transferScene, title, p, r.Description}
	raw, _, err := c.call(ctx, "alipay.fund.trans.uni.transfer", biz, "", movesMoney)
	if err != nil {
		return nil, fmt.Errorf("transfer %s at alipay: %w", r.TransferID, sortTransferError(err))
	}
	var out transferAnswer
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, channel.Unknown(fmt.Errorf("transfer %s at alipay: decode answer: %w", r.TransferID, err))
	}
	return out.response(r.TransferID)
}

// QueryTransfer asks about a transfer (alipay.fund.trans.common.query);
// ORDER_NOT_EXIST is ErrTradeNotFound.
func (c *Connector) QueryTransfer(ctx context.Context, r channel.TransferQueryRequest) (*channel.TransferResponse, error) {
	biz := struct {
		ProductCode string `json:"product_code"`
		BizScene    string `json:"biz_scene"`
		OutBizNo    string `json:"out_biz_no"`
	}{transferProduct, transferScene, r.TransferID}
	raw, _, err := c.call(ctx, "alipay.fund.trans.common.query", biz, "", readOnly)
	var e *APIError
	if errors.As(err, &e) && e.SubCode == "ORDER_NOT_EXIST" {
		return nil, fmt.Errorf("query transfer %s at alipay: %w", r.TransferID, channel.ErrTradeNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("query transfer %s at alipay: %w", r.TransferID, err)
	}
	var out transferAnswer
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("query transfer %s at alipay: decode answer: %w: %w", r.TransferID, err, channel.ErrUnavailable)
	}
	resp, err := out.response(r.TransferID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, channel.ErrUnavailable)
	}
	return resp, nil
}

var _ channel.Transfers = (*Connector)(nil)
