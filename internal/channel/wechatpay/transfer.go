package wechatpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
)

// Transfers (channel.Transfers): 商家转账到零钱 through API v3's transfer
// batches, one detail per batch: POST /v3/transfer/batches with
// out_batch_no and out_detail_no both the transfer id without its "_"
// (WeChat takes letters and digits only), and GET
// /v3/transfer/batches/out-batch-no/{no}/details/out-detail-no/{no} to ask
// about it. WeChat accepts a batch and pays it later, so a transfer is
// processing until a query says SUCCESS or FAIL (with fail_reason); a
// batch is made once per out_batch_no. Followed: WeChat Pay's API v3
// documents of both calls (fields, detail_status INIT / WAIT_PAY /
// PROCESSING / SUCCESS / FAIL, the 32-character remark), read through the
// request models of SDKs in the search corpora.
//
// Limits: this is the batch API merchants enabled before 2025; the newer
// single transfer (/v3/fund-app/mch-transfer/transfer-bills), in which the
// payee confirms in WeChat (WAIT_USER_CONFIRM and its package_info), is not
// built. The payee's name (user_name) must be encrypted with WeChat's
// platform key, which the connector does not do: it is not sent, and
// transfers of 2,000 yuan or more, for which WeChat requires it, are refused
// before any call. CNY only.

// transferNameRequiredFen is the amount from which WeChat requires the
// payee's name: 2,000 yuan.
const transferNameRequiredFen = 2000_00

// billNo is a transfer id as WeChat takes it: letters and digits.
func billNo(transferID string) string { return strings.ReplaceAll(transferID, "_", "") }

type transferDetail struct {
	OutDetailNo    string `json:"out_detail_no"`
	TransferAmount int64  `json:"transfer_amount"`
	TransferRemark string `json:"transfer_remark"`
	OpenID         string `json:"openid"`
}

type transferBatch struct {
	AppID              string           `json:"appid"`
	OutBatchNo         string           `json:"out_batch_no"`
	BatchName          string           `json:"batch_name"`
	BatchRemark        string           `json:"batch_remark"`
	TotalAmount        int64            `json:"total_amount"`
	TotalNum           int              `json:"total_num"`
	TransferDetailList []transferDetail `json:"transfer_detail_list"`
}

// remark is text WeChat shows the payee: at most 32 characters.
func remark(s, fallback string) string {
	if s == "" {
		s = fallback
	}
	if utf8.RuneCountInString(s) > 32 {
		s = string([]rune(s)[:32])
	}
	return s
}

// Transfer asks WeChat to pay an openid (a batch of one).
func (c *Connector) Transfer(ctx context.Context, r channel.TransferRequest) (*channel.TransferResponse, error) {
	if err := c.notGlobal("transfer"); err != nil {
		return nil, err
	}
	switch {
	case r.Currency != "CNY":
		return nil, fmt.Errorf("wechatpay transfer: currency %q: %w", r.Currency, channel.ErrNotSupported)
	case r.Amount <= 0:
		return nil, fmt.Errorf("wechatpay transfer: amount %d: %w", r.Amount, channel.ErrInvalidRequest)
	case r.Amount >= transferNameRequiredFen:
		return nil, fmt.Errorf("wechatpay transfer: from 2,000 yuan WeChat requires the payee's encrypted name, which this connector does not send: %w", channel.ErrNotSupported)
	case r.Account == "" || r.TransferID == "":
		return nil, fmt.Errorf("wechatpay transfer: no openid or id: %w", channel.ErrInvalidRequest)
	}
	no := billNo(r.TransferID)
	req := transferBatch{
		AppID: c.appID, OutBatchNo: no, BatchName: remark(r.Description, "转账"), BatchRemark: remark(r.Description, "转账"),
		TotalAmount: r.Amount, TotalNum: 1,
		TransferDetailList: []transferDetail{{OutDetailNo: no, TransferAmount: r.Amount, TransferRemark: remark(r.Description, "转账"), OpenID: r.Account}},
	}
	var resp struct {
		OutBatchNo string `json:"out_batch_no"`
		BatchID    string `json:"batch_id"`
	}
	if err := c.v3(ctx, "transfer", http.MethodPost, "/v3/transfer/batches", req, true, &resp); err != nil {
		return nil, err
	}
	if resp.OutBatchNo != "" && resp.OutBatchNo != no {
		return nil, channel.Unknown(fmt.Errorf("wechatpay transfer %s: the answer names batch %s", no, resp.OutBatchNo))
	}
	return &channel.TransferResponse{ChannelTransferNo: resp.BatchID, Status: channel.TransferProcessing}, nil
}

// QueryTransfer asks about the transfer's detail; a batch WeChat never got
// is ErrTradeNotFound.
func (c *Connector) QueryTransfer(ctx context.Context, r channel.TransferQueryRequest) (*channel.TransferResponse, error) {
	no := url.PathEscape(billNo(r.TransferID))
	var d struct {
		OutDetailNo  string `json:"out_detail_no"`
		BatchID      string `json:"batch_id"`
		DetailID     string `json:"detail_id"`
		DetailStatus string `json:"detail_status"`
		FailReason   string `json:"fail_reason"`
	}
	if err := c.v3(ctx, "transfer query", http.MethodGet, "/v3/transfer/batches/out-batch-no/"+no+"/details/out-detail-no/"+no, nil, false, &d); err != nil {
		return nil, err
	}
	if d.OutDetailNo != "" && d.OutDetailNo != billNo(r.TransferID) {
		return nil, fmt.Errorf("wechatpay transfer query %s: the answer names %s: %w", r.TransferID, d.OutDetailNo, channel.ErrUnavailable)
	}
	out := &channel.TransferResponse{ChannelTransferNo: d.BatchID, Status: channel.TransferProcessing}
	switch d.DetailStatus {
	case "SUCCESS":
		out.Status = channel.TransferSuccess
	case "FAIL":
		out.Status, out.FailureCode, out.FailureMessage = channel.TransferFailed, transferFailure(d.FailReason), d.FailReason
	}
	return out, nil
}

// transferFailure maps WeChat's fail_reason to a stable failure code.
func transferFailure(reason string) string {
	switch reason {
	case "ACCOUNT_NOT_EXIST", "OPENID_INVALID", "ACCOUNT_FROZEN", "BLOCK_B2C_USERLIMITAMOUNT_MONTH", "REAL_NAME_CHECK_FAIL", "NAME_NOT_CORRECT":
		return "payee_account_invalid"
	case "TRANSFER_QUOTA_EXCEED", "EXCEEDED_ESTIMATED_AMOUNT", "DAY_RECEIVED_QUOTA_EXCEED", "MONTH_RECEIVED_QUOTA_EXCEED", "DAY_RECEIVED_COUNT_EXCEED":
		return "payee_limit_exceeded"
	}
	return "transfer_failed"
}

var _ channel.Transfers = (*Connector)(nil)
