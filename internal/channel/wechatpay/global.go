package wechatpay

// Cross-border payments: WeChat Pay Global's API v3 for merchants outside
// the mainland (境外直连, the "common mode"; the institutional mode's
// sp_mchid/sub_mchid is not built). The signing, the answer's verification
// and the AEAD_AES_256_GCM notifications are the domestic API's; what
// differs is here.
//
// Sources (read through the search corpora): WeChat Pay Global's API pages
// (pay.weixin.qq.com/wiki/doc/api_external/…/apis/chapter3_*: order
// placement POST /v3/global/transactions/native, jsapi, app; query GET
// /v3/global/transactions/out-trade-no/{no}?mchid= and …/id/{id}; close;
// refunds POST /v3/global/refunds, GET /v3/global/refunds/out-refund-no/
// {no}?mchid=; the payment notification), the API list and field tables of
// the wechatpay-php SDK's documents (wechatpay.im), and the models of a
// Go SDK for the global API. Choices where they differ or are silent:
//
//   - H5 is POST /v3/global/transactions/mweb with trade_type MWEB (the SDK
//     documents' path; the domestic API's is …/h5).
//   - Every create carries trade_type and merchant_category_code (the
//     account's Config merchant_category_code), and amount {total,
//     currency} in the currency's minor units (JPY has none: 1000 is ¥1000).
//   - A trade names its WeChat order number "id" (the global pages and the
//     Go SDK's model); "transaction_id" is read too when "id" is absent, and
//     a trade carrying both, different, is refused.
//   - exchange_rate {type, rate} sits at the top of a trade and inside
//     amount for a refund, as the documents show; rate is the rate × 10^8
//     (units of payer_currency per unit of currency), rendered as a decimal
//     in QueryResponse.ExchangeRate.
//   - A paid trade must carry payer_total (> 0), payer_currency and, when
//     payer_currency is not currency, an exchange_rate whose rate is > 0: a
//     trade or notification without them, or with a negative amount, is
//     refused (ErrInvalidRequest), never read as zero.
//   - A refund's create answer carries no status in the documents' table:
//     an answer without one is PROCESSING (accepted); RefundQuery and the
//     REFUND.* notifications say the rest. A refund notification's refund
//     number is refund_id, or id when that is absent.
//
// Not built: the global micropay (/v3/global/micropay/…), profit sharing,
// transfers, customs declarations, statements and reconciliation bills,
// and the institutional mode.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/money"
)

// globalCreatePaths maps a method to its global create endpoint, and
// globalTradeTypes to its trade_type.
var (
	globalCreatePaths = map[string]string{
		MethodNative: "/v3/global/transactions/native",
		MethodJSAPI:  "/v3/global/transactions/jsapi",
		MethodApp:    "/v3/global/transactions/app",
		MethodH5:     "/v3/global/transactions/mweb",
	}
	globalTradeTypes = map[string]string{MethodNative: "NATIVE", MethodJSAPI: "JSAPI", MethodApp: "APP", MethodH5: "MWEB"}
)

// globalCreateRequest is the body of POST /v3/global/transactions/{native,jsapi,app,mweb}.
type globalCreateRequest struct {
	AppID                string       `json:"appid"`
	MchID                string       `json:"mchid"`
	Description          string       `json:"description"`
	OutTradeNo           string       `json:"out_trade_no"`
	TimeExpire           string       `json:"time_expire,omitempty"`
	Attach               string       `json:"attach,omitempty"`
	NotifyURL            string       `json:"notify_url"`
	TradeType            string       `json:"trade_type"`
	MerchantCategoryCode string       `json:"merchant_category_code"`
	Amount               globalAmount `json:"amount"`
	Payer                *payer       `json:"payer,omitempty"`
	SceneInfo            *sceneInfo   `json:"scene_info,omitempty"`
}

type globalAmount struct {
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

// globalTransaction is a global trade, as queried and as notified. Amounts
// are pointers so that a missing one is told from zero.
type globalTransaction struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	OutTradeNo     string `json:"out_trade_no"`
	ID             string `json:"id"`
	TransactionID  string `json:"transaction_id"`
	TradeType      string `json:"trade_type"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc"`
	SuccessTime    string `json:"success_time"`
	Amount         struct {
		Total         *int64 `json:"total"`
		Currency      string `json:"currency"`
		PayerTotal    *int64 `json:"payer_total"`
		PayerCurrency string `json:"payer_currency"`
	} `json:"amount"`
	ExchangeRate *exchangeRate `json:"exchange_rate"`
}

// exchangeRate is WeChat's rate: Rate is the rate × 10^8.
type exchangeRate struct {
	Type string `json:"type"`
	Rate *int64 `json:"rate"`
}

// rateScale is the scale of exchange_rate.rate (10^8).
const rateScale = 8

// globalCreate is the global body of a create the domestic path built.
func (c *Connector) globalCreate(req createRequest, method string) globalCreateRequest {
	return globalCreateRequest{
		AppID: req.AppID, MchID: req.MchID, Description: req.Description, OutTradeNo: req.OutTradeNo,
		TimeExpire: req.TimeExpire, Attach: req.Attach, NotifyURL: req.NotifyURL,
		TradeType: globalTradeTypes[method], MerchantCategoryCode: c.mcc,
		Amount: globalAmount{Total: req.Amount.Total, Currency: req.Amount.Currency},
		Payer:  req.Payer, SceneInfo: req.SceneInfo,
	}
}

// globalQuery asks WeChat Pay Global for the trade by out_trade_no.
func (c *Connector) globalQuery(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	var t globalTransaction
	uri := "/v3/global/transactions/out-trade-no/" + url.PathEscape(r.OrderID) + "?mchid=" + url.QueryEscape(c.mchID)
	if err := c.v3(ctx, "query", http.MethodGet, uri, nil, false, &t); err != nil {
		return nil, err
	}
	if t.OutTradeNo != r.OrderID || t.MchID != c.mchID {
		return nil, fmt.Errorf("wechatpay query %s: answered for trade %q of merchant %q", r.OrderID, t.OutTradeNo, t.MchID)
	}
	return globalQueryResponse(t)
}

// globalQueryResponse reads a global trade strictly (see the file's comment).
func globalQueryResponse(t globalTransaction) (*channel.QueryResponse, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("wechatpay query %s: %s: %w", t.OutTradeNo, fmt.Sprintf(format, a...), channel.ErrInvalidRequest)
	}
	st, ok := tradeStates[t.TradeState]
	if !ok || st == channel.TradeRevoked || t.TradeState == "ACCEPT" {
		return nil, fmt.Errorf("wechatpay query %s: unknown trade_state %q", t.OutTradeNo, t.TradeState)
	}
	a := t.Amount
	switch {
	case a.Total == nil || *a.Total <= 0:
		return nil, fail("amount.total %s", show(a.Total))
	case !isoCurrency(a.Currency):
		return nil, fail("amount.currency %q", a.Currency)
	case a.PayerTotal != nil && *a.PayerTotal < 0:
		return nil, fail("negative amount.payer_total %d", *a.PayerTotal)
	case a.PayerCurrency != "" && !isoCurrency(a.PayerCurrency):
		return nil, fail("amount.payer_currency %q", a.PayerCurrency)
	case t.ExchangeRate != nil && (t.ExchangeRate.Rate == nil || *t.ExchangeRate.Rate <= 0):
		return nil, fail("exchange_rate.rate %s", show(t.ExchangeRate.Rate))
	}
	if t.ID != "" && t.TransactionID != "" && t.ID != t.TransactionID {
		return nil, fail("id %q and transaction_id %q differ", t.ID, t.TransactionID)
	}
	q := &channel.QueryResponse{Status: st, Amount: *a.Total, Currency: a.Currency, PayerCurrency: a.PayerCurrency}
	if st.Paid() {
		switch {
		case a.PayerTotal == nil || *a.PayerTotal == 0:
			return nil, fail("a paid trade without amount.payer_total")
		case a.PayerCurrency == "":
			return nil, fail("a paid trade without amount.payer_currency")
		case a.PayerCurrency != a.Currency && t.ExchangeRate == nil:
			return nil, fail("a paid trade in %s paid in %s without exchange_rate", a.Currency, a.PayerCurrency)
		}
	}
	if a.PayerTotal != nil {
		q.PayerAmount = *a.PayerTotal
	}
	if t.ExchangeRate != nil {
		q.ExchangeRate = formatRate(*t.ExchangeRate.Rate)
	}
	// The domestic reading does the rest (ids, failure, success_time).
	d := transaction{
		OutTradeNo: t.OutTradeNo, TransactionID: t.ID, TradeState: t.TradeState, TradeStateDesc: t.TradeStateDesc,
		SuccessTime: t.SuccessTime, Amount: amount{Total: q.Amount, Currency: q.Currency},
	}
	if d.TransactionID == "" {
		d.TransactionID = t.TransactionID
	}
	base, err := queryResponse(d)
	if err != nil {
		return nil, err
	}
	q.ChannelTradeNo, q.FailureCode, q.FailureMessage, q.PaidAt = base.ChannelTradeNo, base.FailureCode, base.FailureMessage, base.PaidAt
	return q, nil
}

// show renders an optional amount for an error.
func show(n *int64) string {
	if n == nil {
		return "missing"
	}
	return fmt.Sprint(*n)
}

// isoCurrency reports whether code is an ISO 4217 currency the money
// package knows (its exponent tells the minor unit).
func isoCurrency(code string) bool {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	_, ok := money.Exponent(code)
	return ok
}

// formatRate renders a rate × 10^8 as a decimal without trailing zeros
// (712340000 → "7.1234").
func formatRate(rate int64) string {
	s := money.FormatMinor(rate, rateScale)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// validMCC reports whether s is a merchant category code (ISO 18245: four digits).
func validMCC(s string) bool { return len(s) == 4 && digits(s) }

// globalPaymentNotification reads a global TRANSACTION.SUCCESS resource.
func (c *Connector) globalPaymentNotification(id string, plain []byte) (*channel.Notification, error) {
	return readPayment(c, id, plain, func(t *globalTransaction) string { return t.OutTradeNo }, globalQueryResponse)
}

// globalRefundRequest is the body of POST /v3/global/refunds.
type globalRefundRequest struct {
	AppID       string       `json:"appid"`
	MchID       string       `json:"mchid"`
	OutTradeNo  string       `json:"out_trade_no"`
	OutRefundNo string       `json:"out_refund_no"`
	Reason      string       `json:"reason,omitempty"`
	NotifyURL   string       `json:"notify_url,omitempty"`
	Amount      refundAmount `json:"amount"`
}

// globalRefund is a global refund, as answered and as queried.
type globalRefund struct {
	ID            string `json:"id"`
	OutRefundNo   string `json:"out_refund_no"`
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	Status        string `json:"status"`
	Amount        struct {
		Refund        *int64        `json:"refund"`
		Currency      string        `json:"currency"`
		PayerRefund   *int64        `json:"payer_refund"`
		PayerCurrency string        `json:"payer_currency"`
		ExchangeRate  *exchangeRate `json:"exchange_rate"`
	} `json:"amount"`
}

// globalRefund asks WeChat Pay Global to refund part of a trade, in the
// trade's currency.
func (c *Connector) globalRefund(ctx context.Context, r channel.RefundRequest, req refundRequest) (*channel.RefundResponse, error) {
	body := globalRefundRequest{
		AppID: c.appID, MchID: c.mchID, OutTradeNo: req.OutTradeNo, OutRefundNo: req.OutRefundNo,
		Reason: req.Reason, NotifyURL: req.NotifyURL, Amount: req.Amount,
	}
	var resp globalRefund
	if err := c.v3(ctx, "refund", http.MethodPost, "/v3/global/refunds", body, true, &resp); err != nil {
		return nil, err
	}
	if resp.OutRefundNo != r.RefundID {
		return nil, channel.Unknown(fmt.Errorf("wechatpay refund %s: answered for refund %q", r.RefundID, resp.OutRefundNo))
	}
	if resp.Status == "" {
		resp.Status = "PROCESSING" // the create's answer may carry none: accepted
	}
	out, err := globalRefundResponse(resp, r.Currency)
	if err != nil { // accepted, in a state we cannot read: ask again later
		return nil, channel.Unknown(err)
	}
	return out, nil
}

// globalRefundQuery asks for a refund by out_refund_no.
func (c *Connector) globalRefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	var resp globalRefund
	uri := "/v3/global/refunds/out-refund-no/" + url.PathEscape(r.RefundID) + "?mchid=" + url.QueryEscape(c.mchID)
	if err := c.v3(ctx, "refund query", http.MethodGet, uri, nil, false, &resp); err != nil {
		return nil, err
	}
	if resp.OutRefundNo != r.RefundID {
		return nil, fmt.Errorf("wechatpay refund query %s: answered for refund %q", r.RefundID, resp.OutRefundNo)
	}
	return globalRefundResponse(resp, "")
}

// globalRefundResponse reads a global refund; currency, when known, is
// the one the refund must be in.
func globalRefundResponse(rf globalRefund, currency string) (*channel.RefundResponse, error) {
	a := rf.Amount
	switch {
	case a.Refund != nil && *a.Refund < 0, a.PayerRefund != nil && *a.PayerRefund < 0:
		return nil, fmt.Errorf("wechatpay refund %s: negative amount (refund %s, payer_refund %s): %w", rf.OutRefundNo, show(a.Refund), show(a.PayerRefund), channel.ErrInvalidRequest)
	case currency != "" && a.Currency != "" && a.Currency != currency:
		return nil, fmt.Errorf("wechatpay refund %s: in %s, asked in %s: %w", rf.OutRefundNo, a.Currency, currency, channel.ErrInvalidRequest)
	}
	st, code, err := refundStatus(rf.Status)
	if err != nil {
		return nil, fmt.Errorf("wechatpay refund %s: %w", rf.OutRefundNo, err)
	}
	out := &channel.RefundResponse{ChannelRefundNo: rf.ID, Status: st, FailureCode: code, PayerCurrency: a.PayerCurrency}
	if a.PayerRefund != nil {
		out.PayerAmount = *a.PayerRefund
	}
	return out, nil
}

// globalRefundNotice is the decrypted resource of a global REFUND.*
// notification: the domestic one's, with the currencies and what the
// payer gets back.
type globalRefundNotice struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	ID            string `json:"id"`
	RefundStatus  string `json:"refund_status"`
	Amount        struct {
		Total         *int64 `json:"total"`
		Refund        *int64 `json:"refund"`
		Currency      string `json:"currency"`
		PayerTotal    *int64 `json:"payer_total"`
		PayerRefund   *int64 `json:"payer_refund"`
		PayerCurrency string `json:"payer_currency"`
	} `json:"amount"`
}

func (c *Connector) globalRefundNotification(id string, plain []byte) (*channel.Notification, error) {
	var rn globalRefundNotice
	if err := c.readOwn(id, "refund", plain, &rn); err != nil {
		return nil, err
	}
	st, _, err := refundStatus(rn.RefundStatus)
	if err != nil {
		return nil, fmt.Errorf("wechatpay notify %s: %w", id, err)
	}
	a := rn.Amount
	for _, n := range []*int64{a.Total, a.Refund, a.PayerTotal, a.PayerRefund} {
		if n != nil && *n < 0 {
			return nil, fmt.Errorf("wechatpay notify %s: negative amount %d: %w", id, *n, channel.ErrInvalidRequest)
		}
	}
	if a.Total == nil || a.Refund == nil || *a.Refund == 0 || *a.Refund > *a.Total {
		return nil, fmt.Errorf("wechatpay notify %s: refund %s of total %s: %w", id, show(a.Refund), show(a.Total), channel.ErrInvalidRequest)
	}
	if a.Currency != "" && !isoCurrency(a.Currency) {
		return nil, fmt.Errorf("wechatpay notify %s: currency %q: %w", id, a.Currency, channel.ErrInvalidRequest)
	}
	refundID := rn.RefundID
	if refundID == "" {
		refundID = rn.ID
	}
	if refundID == "" || rn.OutRefundNo == "" {
		return nil, fmt.Errorf("wechatpay notify %s: no refund number: %w", id, channel.ErrInvalidRequest)
	}
	n := &channel.Notification{
		Kind: channel.NotifyRefund, EventID: id, OrderID: rn.OutTradeNo, ChannelTradeNo: rn.TransactionID,
		Amount: *a.Total, Currency: a.Currency, RefundID: rn.OutRefundNo, ChannelRefundNo: refundID,
		RefundStatus: st, RefundAmount: *a.Refund, PayerCurrency: a.PayerCurrency,
	}
	if a.PayerRefund != nil {
		n.PayerAmount = *a.PayerRefund
	}
	return n, nil
}

// notGlobal is the error of an operation a global account cannot do (nil
// for a domestic account).
func (c *Connector) notGlobal(op string) error {
	if c.global {
		return fmt.Errorf("wechatpay %s: not built for a global (cross-border) account: %w", op, channel.ErrNotSupported)
	}
	return nil
}

// takes checks an order's currency: CNY only for a domestic account; for
// a global one an ISO 4217 currency among the account's (any, when it
// lists none).
func (c *Connector) takes(currency string) error {
	switch {
	case !c.global && currency != "CNY":
		return fmt.Errorf("wechatpay: currency %q: a domestic account takes CNY only (cross-border needs a global account): %w", currency, channel.ErrNotSupported)
	case len(c.currencies) > 0 && !slices.Contains(c.currencies, currency), !isoCurrency(currency):
		return fmt.Errorf("wechatpay: currency %q: %w", currency, channel.ErrNotSupported)
	}
	return nil
}

// checkCurrencies settles the account's currencies: a domestic account
// takes CNY only (the default); a global account any ISO 4217 currency it
// lists, or, listing none, any (each order's is checked at Pay).
func (c *Connector) checkCurrencies() error {
	if !c.global {
		if len(c.currencies) == 0 {
			c.currencies = channel.DefaultCurrencies(Name)
		}
		for _, cur := range c.currencies {
			if cur != "CNY" {
				return fmt.Errorf("wechatpay account: currency %s needs a cross-border account (config global true); a domestic account takes CNY only", cur)
			}
		}
		return nil
	}
	for _, cur := range c.currencies {
		if !isoCurrency(cur) {
			return fmt.Errorf("wechatpay account: currency %q is not an ISO 4217 currency", cur)
		}
	}
	return nil
}
