package wechatpay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/paygate/paygate/internal/channel"
)

// Profit sharing (channel.ProfitSharing): API v3's 分账 for a merchant's
// own orders. An order created with profit_sharing is paid with
// settle_info.profit_sharing true, so WeChat freezes its money. Each receiver is first added to the merchant's receivers
// (POST /v3/profitsharing/receivers/add with relation_type PARTNER; WeChat
// takes a repeat as one), then the sharing is asked for with POST
// /v3/profitsharing/orders (out_order_no the sharing id, transaction_id the
// trade, unfreeze_unsplit false: the gateway finishes an order itself) and
// asked about with GET /v3/profitsharing/orders/{out_order_no}
// ?transaction_id=…. WeChat handles a sharing asynchronously: state
// PROCESSING until FINISHED, each receiver's result PENDING, SUCCESS or
// CLOSED (with fail_reason). Followed: WeChat Pay's API v3 documents of
// the three calls, read through the request and answer models of SDKs in
// the search corpora.
//
// When the gateway finishes an order it tells WeChat
// (FinishProfitSharing: POST /v3/profitsharing/orders/unfreeze), so WeChat
// unfreezes the rest of the trade.
//
// A receiver's name goes to receivers/add encrypted (encryptSensitive:
// RSAES-OAEP with SHA-1 under the platform public key of the account's
// platform_public_key, base64, with the Wechatpay-Serial header naming
// that key, which every request carries): WeChat requires it for a
// MERCHANT_ID receiver (the merchant's full name, checked), and checks a
// PERSONAL_OPENID receiver's name against the person when it is given.
// Followed: the add-receiver document of API v3 and its guide to
// encrypting sensitive fields, read through the search corpora.
//
// Limits: CNY only; returns
// (/v3/profitsharing/return-orders) are not called. A sharing whose receivers partly succeed and partly close is an
// unknown outcome the worker keeps asking about (the gateway's sharings are
// all-or-nothing): a person must resolve it.

// receiverType maps the gateway's receiver types to WeChat's.
func receiverType(t string) (string, bool) {
	switch t {
	case "wechatpay_openid":
		return "PERSONAL_OPENID", true
	case "wechatpay_merchant":
		return "MERCHANT_ID", true
	}
	return "", false
}

type sharingReceiver struct {
	Type        string `json:"type"`
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Description string `json:"description"`
}

// sharingAnswer is WeChat's answer about a sharing (create and query).
type sharingAnswer struct {
	TransactionID string `json:"transaction_id"`
	OutOrderNo    string `json:"out_order_no"`
	OrderID       string `json:"order_id"`
	State         string `json:"state"`
	Receivers     []struct {
		Amount     int64  `json:"amount"`
		Type       string `json:"type"`
		Account    string `json:"account"`
		Result     string `json:"result"`
		FailReason string `json:"fail_reason"`
	} `json:"receivers"`
}

// ShareProfit adds the receivers and asks WeChat to share the trade.
func (c *Connector) ShareProfit(ctx context.Context, r channel.ProfitSharingRequest) (*channel.ProfitSharingResponse, error) {
	if err := c.notGlobal("profit sharing"); err != nil {
		return nil, err
	}
	switch {
	case r.Currency != "CNY":
		return nil, fmt.Errorf("wechatpay profit sharing: currency %q: %w", r.Currency, channel.ErrNotSupported)
	case r.ChannelTradeNo == "" || r.SharingID == "" || len(r.Receivers) == 0:
		return nil, fmt.Errorf("wechatpay profit sharing: no transaction, id or receivers: %w", channel.ErrInvalidRequest)
	}
	req := struct {
		AppID           string            `json:"appid"`
		TransactionID   string            `json:"transaction_id"`
		OutOrderNo      string            `json:"out_order_no"`
		Receivers       []sharingReceiver `json:"receivers"`
		UnfreezeUnsplit bool              `json:"unfreeze_unsplit"`
	}{AppID: c.appID, TransactionID: r.ChannelTradeNo, OutOrderNo: r.SharingID}
	for _, rc := range r.Receivers {
		typ, ok := receiverType(rc.Type)
		if !ok || rc.Amount <= 0 || rc.Account == "" {
			return nil, fmt.Errorf("wechatpay profit sharing: receiver %s %q: %w", rc.Type, rc.Account, channel.ErrInvalidRequest)
		}
		if typ == "MERCHANT_ID" && rc.Name == "" {
			return nil, fmt.Errorf("wechatpay profit sharing: receiver %s has no name (WeChat requires a merchant's full name): %w", rc.Account, channel.ErrInvalidRequest)
		}
		add := struct {
			AppID        string `json:"appid"`
			Type         string `json:"type"`
			Account      string `json:"account"`
			Name         string `json:"name,omitempty"`
			RelationType string `json:"relation_type"`
		}{AppID: c.appID, Type: typ, Account: rc.Account, RelationType: "PARTNER"}
		if rc.Name != "" {
			var err error
			if add.Name, err = c.encryptSensitive(rc.Name); err != nil {
				return nil, err
			}
		}
		if err := c.v3(ctx, "add profit sharing receiver", http.MethodPost, "/v3/profitsharing/receivers/add", add, false, nil); err != nil {
			return nil, err
		}
		req.Receivers = append(req.Receivers, sharingReceiver{Type: typ, Account: rc.Account, Amount: rc.Amount, Description: remark(rc.Description, "分账")})
	}
	var ans sharingAnswer
	if err := c.v3(ctx, "profit sharing", http.MethodPost, "/v3/profitsharing/orders", req, true, &ans); err != nil {
		return nil, err
	}
	return sharingResponse(r.SharingID, &ans)
}

// encryptSensitive encrypts a sensitive field as API v3 wants it: with
// the WeChat Pay platform public key, RSAES-OAEP with SHA-1 (the hash
// WeChat Pay's SDKs use), base64.
func (c *Connector) encryptSensitive(plain string) (string, error) {
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, c.platformKey, []byte(plain), nil)
	if err != nil {
		return "", fmt.Errorf("wechatpay: encrypt a sensitive field: %w: %w", channel.ErrInvalidRequest, err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// QueryProfitSharing asks about a sharing; one WeChat never got is
// ErrTradeNotFound.
func (c *Connector) QueryProfitSharing(ctx context.Context, r channel.ProfitSharingQueryRequest) (*channel.ProfitSharingResponse, error) {
	var ans sharingAnswer
	uri := "/v3/profitsharing/orders/" + url.PathEscape(r.SharingID) + "?transaction_id=" + url.QueryEscape(r.ChannelTradeNo)
	if err := c.v3(ctx, "profit sharing query", http.MethodGet, uri, nil, false, &ans); err != nil {
		return nil, err
	}
	return sharingResponse(r.SharingID, &ans)
}

// sharingResponse reads WeChat's answer: succeeded when every receiver's
// result is SUCCESS, failed when every one is CLOSED, processing while any
// is PENDING; a mix of SUCCESS and CLOSED cannot be recorded as one
// outcome and is reported as unknown.
func sharingResponse(sharingID string, a *sharingAnswer) (*channel.ProfitSharingResponse, error) {
	if a.OutOrderNo != "" && a.OutOrderNo != sharingID {
		return nil, fmt.Errorf("wechatpay profit sharing %s: the answer names %s: %w", sharingID, a.OutOrderNo, channel.ErrUnavailable)
	}
	out := &channel.ProfitSharingResponse{ChannelSharingNo: a.OrderID, Status: channel.ProfitSharingProcessing}
	var ok, closed int
	var reasons []string
	for _, rc := range a.Receivers {
		switch rc.Result {
		case "SUCCESS":
			ok++
		case "CLOSED":
			closed++
			reasons = append(reasons, rc.FailReason)
		}
	}
	switch n := len(a.Receivers); {
	case n == 0 || ok+closed < n:
		return out, nil
	case ok == n:
		out.Status = channel.ProfitSharingSuccess
	case closed == n:
		out.Status, out.FailureCode, out.FailureMessage = channel.ProfitSharingFailed, sharingFailure(reasons[0]), strings.Join(reasons, ", ")
	default:
		return nil, channel.Unknown(errors.New("wechatpay profit sharing " + sharingID + ": some receivers were paid and some closed (" + strings.Join(reasons, ", ") + ")"))
	}
	return out, nil
}

// sharingFailure maps WeChat's fail_reason to a stable failure code.
func sharingFailure(reason string) string {
	switch reason {
	case "ACCOUNT_ABNORMAL", "NO_RELATION", "RECEIVER_HIGH_RISK", "RECEIVER_REAL_NAME_NOT_VERIFIED", "NO_AUTH", "RECEIVER_RECEIPT_LIMIT", "PAYER_ACCOUNT_ABNORMAL":
		return "receiver_invalid"
	}
	return "profit_sharing_failed"
}

var _ channel.ProfitSharing = (*Connector)(nil)

// FinishProfitSharing unfreezes the rest of a trade
// (POST /v3/profitsharing/orders/unfreeze, out_order_no the finish id).
func (c *Connector) FinishProfitSharing(ctx context.Context, r channel.ProfitSharingFinishRequest) error {
	if r.ChannelTradeNo == "" || r.FinishID == "" {
		return fmt.Errorf("wechatpay unfreeze: no transaction or id: %w", channel.ErrInvalidRequest)
	}
	req := struct {
		TransactionID string `json:"transaction_id"`
		OutOrderNo    string `json:"out_order_no"`
		Description   string `json:"description"`
	}{r.ChannelTradeNo, r.FinishID, remark(r.Description, "解冻剩余资金")}
	return c.v3(ctx, "unfreeze profit sharing", http.MethodPost, "/v3/profitsharing/orders/unfreeze", req, true, nil)
}

var _ channel.ProfitSharingFinisher = (*Connector)(nil)

// Returns (channel.ProfitSharingReturner): POST
// /v3/profitsharing/return-orders {out_order_no: the sharing's id,
// out_return_no: the return's id, return_mchid, amount, description}, and
// GET /v3/profitsharing/return-orders/{out_return_no}?out_order_no=…; the
// answer's result is PROCESSING, SUCCESS or FAILED (fail_reason
// ACCOUNT_ABNORMAL, TIME_OUT_CLOSED, PAYER_ACCOUNT_ABNORMAL or
// INVALID_REQUEST). WeChat returns only what went to a MERCHANT_ID
// receiver (its documents: 只能对原分账请求中成功分给商户接收方进行回退; no
// return of a share paid to a person's change), so a wechatpay_openid
// share is ErrNotSupported before any call. Followed: WeChat Pay's API v3
// return-order documents, read through the search corpora.

type returnAnswer struct {
	OrderID     string `json:"order_id"`
	OutOrderNo  string `json:"out_order_no"`
	OutReturnNo string `json:"out_return_no"`
	ReturnID    string `json:"return_id"`
	ReturnMchID string `json:"return_mchid"`
	Amount      int64  `json:"amount"`
	Result      string `json:"result"`
	FailReason  string `json:"fail_reason"`
}

// ReturnProfitSharing asks WeChat for a merchant receiver's share back.
func (c *Connector) ReturnProfitSharing(ctx context.Context, r channel.ProfitSharingReturnRequest) (*channel.ProfitSharingReturnResponse, error) {
	switch {
	case r.Currency != "CNY":
		return nil, fmt.Errorf("wechatpay profit sharing return: currency %q: %w", r.Currency, channel.ErrNotSupported)
	case r.Receiver.Type == "wechatpay_openid":
		return nil, fmt.Errorf("wechatpay profit sharing return: WeChat returns no share paid to a person (PERSONAL_OPENID): %w", channel.ErrNotSupported)
	case r.Receiver.Type != "wechatpay_merchant" || r.Receiver.Account == "":
		return nil, fmt.Errorf("wechatpay profit sharing return: receiver %s %q: %w", r.Receiver.Type, r.Receiver.Account, channel.ErrInvalidRequest)
	case r.ReturnID == "" || r.SharingID == "" || r.Amount <= 0:
		return nil, fmt.Errorf("wechatpay profit sharing return: no id, sharing or amount: %w", channel.ErrInvalidRequest)
	}
	req := struct {
		OutOrderNo  string `json:"out_order_no"`
		OutReturnNo string `json:"out_return_no"`
		ReturnMchID string `json:"return_mchid"`
		Amount      int64  `json:"amount"`
		Description string `json:"description"`
	}{r.SharingID, r.ReturnID, r.Receiver.Account, r.Amount, remark(r.Description, "分账回退")}
	var ans returnAnswer
	if err := c.v3(ctx, "profit sharing return", http.MethodPost, "/v3/profitsharing/return-orders", req, true, &ans); err != nil {
		return nil, err
	}
	return returnResponse(r.ReturnID, &ans)
}

// QueryProfitSharingReturn asks about a return; one WeChat never got is
// ErrTradeNotFound.
func (c *Connector) QueryProfitSharingReturn(ctx context.Context, r channel.ProfitSharingReturnRequest) (*channel.ProfitSharingReturnResponse, error) {
	var ans returnAnswer
	uri := "/v3/profitsharing/return-orders/" + url.PathEscape(r.ReturnID) + "?out_order_no=" + url.QueryEscape(r.SharingID)
	if err := c.v3(ctx, "profit sharing return query", http.MethodGet, uri, nil, false, &ans); err != nil {
		return nil, err
	}
	return returnResponse(r.ReturnID, &ans)
}

func returnResponse(returnID string, a *returnAnswer) (*channel.ProfitSharingReturnResponse, error) {
	if a.OutReturnNo != "" && a.OutReturnNo != returnID {
		return nil, fmt.Errorf("wechatpay profit sharing return %s: the answer names %s: %w", returnID, a.OutReturnNo, channel.ErrUnavailable)
	}
	out := &channel.ProfitSharingReturnResponse{ChannelReturnNo: a.ReturnID, Status: channel.ProfitSharingProcessing}
	switch a.Result {
	case "SUCCESS":
		out.Status = channel.ProfitSharingSuccess
	case "FAILED":
		out.Status, out.FailureMessage = channel.ProfitSharingFailed, a.FailReason
		out.FailureCode = "profit_sharing_return_failed"
		if a.FailReason == "ACCOUNT_ABNORMAL" || a.FailReason == "PAYER_ACCOUNT_ABNORMAL" {
			out.FailureCode = "receiver_invalid"
		}
	}
	return out, nil
}

var _ channel.ProfitSharingReturner = (*Connector)(nil)
