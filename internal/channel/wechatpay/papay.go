package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// 委托代扣 (papay): password-free deductions on a contract the payer
// signed, API v2 (XML, the API v2 key), as WeChat Pay's merchant
// documentation describes them:
//
//   - signing: the payer opens the signing page, GET /papay/entrustweb with
//     appid, mch_id, plan_id (the merchant's template), contract_code (the
//     gateway's agreement id), request_serial, contract_display_account,
//     notify_url, version 1.0, timestamp, MD5-signed; WeChat posts the
//     contract notification (change_type ADD, with the contract_id) to
//     notify_url;
//   - POST /papay/querycontract (by plan_id + contract_code) and POST
//     /papay/deletecontract (the merchant's termination; the payer's posts
//     a change_type DELETE notification);
//   - POST /pay/pappayapply (trade_type PAP, contract_id): WeChat accepts a
//     deduction (result_code SUCCESS only means accepted) and posts its
//     result to the deduction's notify_url; /pay/orderquery says ACCEPT
//     until it settles. One out_trade_no is deducted once.
//
// Notifications on the agreement path are v2 XML: contract changes and
// deduction results, told apart by change_type.

// MethodPapay is WeChat Pay's agreement method.
const MethodPapay = "wechat.papay"

// terminationModes maps contract_termination_mode to who ended a contract.
var terminationModes = map[string]string{
	"1": channel.TerminatedByChannel, // expired
	"2": channel.TerminatedByPayer,
	"3": channel.TerminatedByMerchant, // by API
	"4": channel.TerminatedByMerchant, // on the merchant platform
	"5": channel.TerminatedByChannel,  // the payer's account was closed
	"7": channel.TerminatedByPayer,    // through customer service
}

// papayDeclines maps deduction refusals to decline codes.
var papayDeclines = map[string]string{
	"CONTRACT_NOT_EXIST":    channel.DeclineAgreementTerminated,
	"CONTRACTERROR":         channel.DeclineAgreementTerminated,
	"RULELIMIT":             channel.DeclineAmountAboveLimit,
	"NOTENOUGH":             channel.DeclineInsufficientFunds,
	"ACCOUNTERROR":          "payer_account_abnormal",
	"USER_ACCOUNT_ABNORMAL": "payer_account_abnormal",
	"USER_NOT_EXIST":        "payer_account_abnormal",
	"BANKERROR":             "transaction_failed",
	"TRADE_ERROR":           "transaction_failed",
}

// papay reports whether the account can sign and charge 委托代扣 contracts.
func (c *Connector) papay() error {
	if err := c.notGlobal("papay"); err != nil {
		return err
	}
	if c.planID == "" || c.apiV2Key == "" {
		return fmt.Errorf("wechatpay: the account has no papay_plan_id or api_v2_key: %w", channel.ErrNotSupported)
	}
	return nil
}

// SignAgreement builds the signing page's URL (GET /papay/entrustweb, MD5).
func (c *Connector) SignAgreement(ctx context.Context, r channel.SignAgreementRequest) (*channel.SignAgreementResponse, error) {
	if err := c.papay(); err != nil {
		return nil, err
	}
	if r.Method != MethodPapay {
		return nil, fmt.Errorf("wechatpay: agreements of %q: %w", r.Method, channel.ErrNotSupported)
	}
	if r.Currency != "" && r.Currency != "CNY" {
		return nil, fmt.Errorf("wechatpay: agreements in %s: %w", r.Currency, channel.ErrNotSupported)
	}
	if len(r.AgreementID) > 32 || r.NotifyURL == "" {
		return nil, fmt.Errorf("wechatpay: agreement %q: %w", r.AgreementID, channel.ErrInvalidRequest)
	}
	display := r.PayerID
	if display == "" {
		display = truncate(r.Description, 32)
	}
	serial := r.CreatedAt.UnixMicro()
	if serial <= 0 {
		serial = c.now().UnixMicro()
	}
	params := map[string]string{
		"appid": c.appID, "mch_id": c.mchID, "plan_id": c.planID, "contract_code": r.AgreementID,
		"request_serial": strconv.FormatInt(serial, 10), "contract_display_account": display, "notify_url": r.NotifyURL,
		"version": "1.0", "timestamp": strconv.FormatInt(c.now().Unix(), 10),
	}
	if r.ReturnURL != "" {
		params["return_web"] = "1"
	}
	sign, err := V2Sign(params, c.apiV2Key, SignTypeMD5)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	q.Set("sign", sign)
	return &channel.SignAgreementResponse{Status: channel.AgreementSigning,
		NextAction: &channel.NextAction{Type: "redirect", URL: c.baseURL + "/papay/entrustweb?" + q.Encode()}}, nil
}

// contractParams names a contract: by contract_id once known, else by
// plan_id + contract_code.
func (c *Connector) contractParams(r channel.AgreementRequest) map[string]string {
	if r.ChannelAgreementNo != "" {
		return map[string]string{"contract_id": r.ChannelAgreementNo, "version": "1.0"}
	}
	return map[string]string{"plan_id": c.planID, "contract_code": r.AgreementID, "version": "1.0"}
}

// QueryAgreement asks POST /papay/querycontract.
func (c *Connector) QueryAgreement(ctx context.Context, r channel.AgreementRequest) (*channel.AgreementState, error) {
	if err := c.papay(); err != nil {
		return nil, err
	}
	fields, err := c.v2With(ctx, "query contract", "/papay/querycontract", c.contractParams(r), false, SignTypeMD5, false)
	var ae *apiError
	if errors.As(err, &ae) && fields != nil && ae.Code == "CONTRACT_NOT_EXIST" {
		return nil, fmt.Errorf("wechatpay query contract %s: %w", r.AgreementID, channel.ErrTradeNotFound)
	}
	if err != nil {
		if errors.As(err, &ae) && fields != nil {
			return nil, sortError("query contract", false, ae)
		}
		return nil, err
	}
	if fields["contract_code"] != "" && fields["contract_code"] != r.AgreementID {
		return nil, fmt.Errorf("wechatpay query contract %s: answered for %q: %w", r.AgreementID, fields["contract_code"], channel.ErrUnavailable)
	}
	st := &channel.AgreementState{AgreementID: r.AgreementID, ChannelAgreementNo: fields["contract_id"], ChannelPayerID: fields["openid"]}
	st.SignedAt, _ = time.ParseInLocation(time.DateTime, fields["contract_signed_time"], cst)
	st.TerminatedAt, _ = time.ParseInLocation(time.DateTime, fields["contract_terminated_time"], cst)
	switch fields["contract_state"] {
	case "0":
		st.Status = channel.AgreementActive
	case "9":
		st.Status = channel.AgreementSigning
	case "1":
		if fields["contract_terminated_time"] == "" {
			return nil, fmt.Errorf("wechatpay query contract %s: not signed: %w", r.AgreementID, channel.ErrTradeNotFound)
		}
		st.Status, st.TerminatedBy = channel.AgreementTerminated, terminationModes[fields["contract_termination_mode"]]
	default:
		return nil, fmt.Errorf("wechatpay query contract %s: contract_state %q: %w", r.AgreementID, fields["contract_state"], channel.ErrUnavailable)
	}
	return st, nil
}

// TerminateAgreement asks POST /papay/deletecontract.
func (c *Connector) TerminateAgreement(ctx context.Context, r channel.AgreementRequest) error {
	if err := c.papay(); err != nil {
		return err
	}
	p := c.contractParams(r)
	p["contract_termination_remark"] = truncate(r.Reason, 128)
	if p["contract_termination_remark"] == "" {
		p["contract_termination_remark"] = "merchant request"
	}
	fields, err := c.v2With(ctx, "delete contract", "/papay/deletecontract", p, false, SignTypeMD5, false)
	var ae *apiError
	if errors.As(err, &ae) && fields != nil {
		if ae.Code == "CONTRACT_NOT_EXIST" {
			return fmt.Errorf("wechatpay delete contract %s: %w", r.AgreementID, channel.ErrTradeNotFound)
		}
		return sortError("delete contract", false, ae)
	}
	return err
}

// papPay deducts on a contract (POST /pay/pappayapply). An accepted
// deduction is TradeUserPaying: it settles later, told by its notification
// or a query. A repeat of a deduction already paid (ORDERPAID) is queried.
func (c *Connector) papPay(ctx context.Context, r channel.PayRequest, currency string) (*channel.PayResponse, error) {
	if err := c.papay(); err != nil {
		return nil, err
	}
	if r.AgreementNo == "" {
		return nil, fmt.Errorf("wechatpay papay: no contract_id: %w", channel.ErrInvalidRequest)
	}
	ip := r.PayerIP
	if ip == "" {
		ip = "127.0.0.1" // spbill_create_ip: the merchant server's address for a deduction
	}
	notifyURL := c.agreementNotifyURL
	if r.NotifyURL != "" {
		notifyURL = r.NotifyURL
	}
	params := map[string]string{
		"body": truncate(description(r), 127), "out_trade_no": r.OrderID, "total_fee": strconv.FormatInt(r.Amount, 10),
		"fee_type": currency, "spbill_create_ip": ip, "notify_url": notifyURL, "trade_type": "PAP", "contract_id": r.AgreementNo,
		"attach": truncate(r.OutTradeNo, 127),
	}
	fields, err := c.v2(ctx, "pappayapply", "/pay/pappayapply", params, true)
	var ae *apiError
	switch {
	case err == nil:
		return &channel.PayResponse{ChannelTradeNo: r.OrderID, Status: channel.TradeUserPaying}, nil
	case !errors.As(err, &ae) || fields == nil:
		return nil, err // already sorted
	case ae.Code == "ORDERPAID":
		q, qerr := c.Query(ctx, channel.QueryRequest{OrderID: r.OrderID, Method: MethodPapay, Livemode: r.Livemode})
		if qerr == nil && q.Status.Paid() {
			return &channel.PayResponse{ChannelTradeNo: q.ChannelTradeNo, Status: channel.TradeSuccess}, nil
		}
		return nil, channel.Unknown(fmt.Errorf("wechatpay pappayapply: %w", ae))
	}
	if code, ok := papayDeclines[ae.Code]; ok {
		return nil, fmt.Errorf("wechatpay pappayapply: %w", &channel.DeclineError{Code: code, Message: ae.Message})
	}
	return nil, sortError("pappayapply", true, ae)
}

// papQuery asks /pay/orderquery for a PAP trade; ACCEPT (accepted, not
// settled) is TradeUserPaying.
func (c *Connector) papQuery(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	fields, err := c.v2(ctx, "orderquery", "/pay/orderquery", map[string]string{"out_trade_no": r.OrderID}, false)
	var ae *apiError
	if errors.As(err, &ae) && fields != nil {
		return nil, sortError("orderquery", false, ae)
	}
	if err != nil {
		return nil, err
	}
	if fields["out_trade_no"] != r.OrderID {
		return nil, fmt.Errorf("wechatpay orderquery %s: answered for %q: %w", r.OrderID, fields["out_trade_no"], channel.ErrUnavailable)
	}
	st, ok := tradeStates[fields["trade_state"]]
	if !ok {
		return nil, fmt.Errorf("wechatpay orderquery %s: unknown trade_state %q: %w", r.OrderID, fields["trade_state"], channel.ErrUnavailable)
	}
	q := &channel.QueryResponse{ChannelTradeNo: fields["transaction_id"], Status: st, Currency: "CNY"}
	if q.ChannelTradeNo == "" {
		q.ChannelTradeNo = r.OrderID
	}
	if q.Amount, err = strconv.ParseInt(fields["total_fee"], 10, 64); err != nil && fields["total_fee"] != "" {
		return nil, fmt.Errorf("wechatpay orderquery %s: total_fee: %w", r.OrderID, channel.ErrUnavailable)
	}
	if st == channel.TradePayError {
		q.FailureCode, q.FailureMessage = "payment_failed", fields["trade_state_desc"]
	}
	if t := fields["time_end"]; t != "" {
		q.PaidAt, _ = time.ParseInLocation("20060102150405", t, cst)
	}
	return q, nil
}

// AgreementNotify verifies a v2 notification on the agreement path (its
// sign with the API v2 key, its mch_id): a contract change (change_type ADD
// or DELETE) or a deduction's result.
func (c *Connector) AgreementNotify(ctx context.Context, r channel.NotifyRequest) (*channel.AgreementNotification, error) {
	if err := c.papay(); err != nil {
		return nil, err
	}
	fields, err := decodeXML(r.Body)
	if err != nil {
		return nil, fmt.Errorf("wechatpay agreement callback: not XML: %w: %w", err, channel.ErrBadSignature)
	}
	if fields["return_code"] != "SUCCESS" {
		return nil, fmt.Errorf("wechatpay agreement callback: return_code %q: %w", fields["return_code"], channel.ErrInvalidRequest)
	}
	signType := fields["sign_type"]
	if signType == "" {
		signType = SignTypeMD5
	}
	if err := verifyV2(fields, c.apiV2Key, signType); err != nil {
		return nil, fmt.Errorf("wechatpay agreement callback: %w", err)
	}
	if fields["mch_id"] != c.mchID || (fields["appid"] != "" && fields["appid"] != c.appID) {
		return nil, fmt.Errorf("wechatpay agreement callback: for mch_id %q: %w", fields["mch_id"], channel.ErrBadSignature)
	}
	if change := fields["change_type"]; change != "" {
		st := &channel.AgreementState{AgreementID: fields["contract_code"], ChannelAgreementNo: fields["contract_id"], ChannelPayerID: fields["openid"]}
		at, _ := time.ParseInLocation(time.DateTime, fields["operate_time"], cst)
		switch change {
		case "ADD":
			st.Status, st.SignedAt = channel.AgreementActive, at
		case "DELETE":
			st.Status, st.TerminatedAt, st.TerminatedBy = channel.AgreementTerminated, at, terminationModes[fields["contract_termination_mode"]]
		default:
			return nil, fmt.Errorf("wechatpay agreement callback: change_type %q: %w", change, channel.ErrInvalidRequest)
		}
		if fields["plan_id"] != "" && fields["plan_id"] != c.planID {
			return nil, fmt.Errorf("wechatpay agreement callback: plan_id %q is not this account's: %w", fields["plan_id"], channel.ErrInvalidRequest)
		}
		return &channel.AgreementNotification{Kind: channel.NotifyAgreement, EventID: fields["contract_id"] + ":" + change, Agreement: st}, nil
	}
	if fields["trade_type"] != "PAP" || fields["out_trade_no"] == "" {
		return nil, fmt.Errorf("wechatpay agreement callback: neither a contract change nor a deduction: %w", channel.ErrInvalidRequest)
	}
	n := &channel.Notification{Kind: channel.NotifyPayment, EventID: fields["out_trade_no"] + ":" + fields["result_code"],
		OrderID: fields["out_trade_no"], ChannelTradeNo: fields["transaction_id"], Currency: fields["fee_type"]}
	if n.Amount, err = strconv.ParseInt(fields["total_fee"], 10, 64); err != nil {
		return nil, fmt.Errorf("wechatpay agreement callback: total_fee %q: %w", fields["total_fee"], channel.ErrInvalidRequest)
	}
	if fields["result_code"] == "SUCCESS" && fields["transaction_id"] != "" {
		n.Status = channel.TradeSuccess
		n.PaidAt, _ = time.ParseInLocation("20060102150405", fields["time_end"], cst)
	} else {
		n.Status = channel.TradePayError
		n.FailureCode = papayDeclines[fields["err_code"]]
		if n.FailureCode == "" {
			n.FailureCode = "payment_failed"
		}
	}
	return &channel.AgreementNotification{Kind: channel.NotifyPayment, EventID: n.EventID, Payment: n}, nil
}

// AgreementNotifyReply is the v2 XML acknowledgement: SUCCESS stops
// WeChat's retries, FAIL asks for another.
func (c *Connector) AgreementNotifyReply(err error) channel.NotifyReply {
	body := `<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>`
	if err != nil {
		body = `<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[` + strings.ReplaceAll(errorSummary(err), "]]>", "") + `]]></return_msg></xml>`
	}
	return channel.NotifyReply{Status: http.StatusOK, ContentType: "text/xml; charset=utf-8", Body: []byte(body)}
}

// errorSummary is what a FAIL answer says: the kind of failure, never
// its details.
func errorSummary(err error) string {
	if errors.Is(err, channel.ErrBadSignature) {
		return "签名错误"
	}
	return "处理失败"
}

var _ channel.Agreements = (*Connector)(nil)
