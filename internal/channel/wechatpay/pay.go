package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
)

// amount is the v3 amount object.
type amount struct {
	Total         int64  `json:"total"`
	Currency      string `json:"currency,omitempty"`
	PayerTotal    int64  `json:"payer_total,omitempty"`
	PayerCurrency string `json:"payer_currency,omitempty"`
}

// createRequest is the body of POST /v3/pay/transactions/{native,jsapi,app,h5}.
type createRequest struct {
	AppID       string     `json:"appid"`
	MchID       string     `json:"mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  string     `json:"time_expire,omitempty"`
	Attach      string     `json:"attach,omitempty"`
	NotifyURL   string     `json:"notify_url"`
	Amount      amount     `json:"amount"`
	Payer       *payer     `json:"payer,omitempty"`
	SceneInfo   *sceneInfo `json:"scene_info,omitempty"`
	// SettleInfo asks WeChat to freeze the money for profit sharing.
	SettleInfo *settleInfo `json:"settle_info,omitempty"`
}

type settleInfo struct {
	ProfitSharing bool `json:"profit_sharing"`
}

type payer struct {
	OpenID string `json:"openid"`
}

type sceneInfo struct {
	PayerClientIP string  `json:"payer_client_ip"`
	H5Info        *h5Info `json:"h5_info,omitempty"`
}

type h5Info struct {
	Type string `json:"type"`
}

// createResponse holds the answer of every create kind.
type createResponse struct {
	CodeURL  string `json:"code_url"`
	PrepayID string `json:"prepay_id"`
	H5URL    string `json:"h5_url"`
}

// transaction is a v3 trade, as queried and as notified.
type transaction struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	OutTradeNo     string `json:"out_trade_no"`
	TransactionID  string `json:"transaction_id"`
	TradeType      string `json:"trade_type"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc"`
	SuccessTime    string `json:"success_time"`
	Amount         amount `json:"amount"`
}

// createPaths maps a method to its create endpoint.
var createPaths = map[string]string{
	MethodNative: "/v3/pay/transactions/native",
	MethodJSAPI:  "/v3/pay/transactions/jsapi",
	MethodApp:    "/v3/pay/transactions/app",
	MethodH5:     "/v3/pay/transactions/h5",
}

// Pay creates a trade (on a global account, through the /v3/global/ API,
// global.go). Native answers a QR code (qr_code), JSAPI and App
// the parameters the WeChat client needs (sdk_params, signed with the
// merchant key), H5 a redirect; micropay charges the payment code at once
// (see micropay).
func (c *Connector) Pay(ctx context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	if !c.serves(r.Method) {
		return nil, fmt.Errorf("wechatpay: method %q: %w", r.Method, channel.ErrNotSupported)
	}
	currency := r.Currency
	if currency == "" {
		currency = "CNY"
	}
	if err := c.takes(currency); err != nil {
		return nil, err
	}
	if r.Amount <= 0 || r.OrderID == "" {
		return nil, fmt.Errorf("wechatpay: order %q amount %d: %w", r.OrderID, r.Amount, channel.ErrInvalidRequest)
	}
	if r.Method == MethodMicropay {
		return c.micropay(ctx, r, currency)
	}
	if r.Method == MethodPapay {
		return c.papPay(ctx, r, currency)
	}
	notify := r.NotifyURL
	if notify == "" {
		notify = c.notifyURL
	}
	if notify == "" {
		return nil, fmt.Errorf("wechatpay: no notify_url for order %s: %w", r.OrderID, channel.ErrInvalidRequest)
	}
	req := createRequest{
		AppID: c.appID, MchID: c.mchID, Description: description(r), OutTradeNo: r.OrderID,
		Attach: truncate(r.OutTradeNo, 128), NotifyURL: notify, Amount: amount{Total: r.Amount, Currency: currency},
	}
	if !r.ExpiresAt.IsZero() {
		req.TimeExpire = r.ExpiresAt.In(cst).Format(time.RFC3339)
	}
	if r.PayerIP != "" {
		req.SceneInfo = &sceneInfo{PayerClientIP: r.PayerIP}
	}
	if r.ProfitSharing {
		req.SettleInfo = &settleInfo{ProfitSharing: true}
	}
	switch r.Method {
	case MethodJSAPI:
		if r.PayerID == "" {
			return nil, fmt.Errorf("wechatpay: jsapi needs the payer's openid: %w", channel.ErrInvalidRequest)
		}
		req.Payer = &payer{OpenID: r.PayerID}
	case MethodH5:
		if r.PayerIP == "" {
			return nil, fmt.Errorf("wechatpay: h5 needs the payer's IP: %w", channel.ErrInvalidRequest)
		}
		req.SceneInfo.H5Info = &h5Info{Type: "Wap"}
	}
	var body any = req
	path := createPaths[r.Method]
	if c.global {
		if r.ProfitSharing {
			return nil, fmt.Errorf("wechatpay: profit sharing of a cross-border trade: %w", channel.ErrNotSupported)
		}
		body, path = c.globalCreate(req, r.Method), globalCreatePaths[r.Method]
	}
	var resp createResponse
	if err := c.v3(ctx, "create "+r.Method, http.MethodPost, path, body, false, &resp); err != nil {
		return nil, err
	}
	out := &channel.PayResponse{ChannelTradeNo: r.OrderID, Status: channel.TradeNotPay}
	var err error
	switch r.Method {
	case MethodNative:
		if resp.CodeURL == "" {
			err = errors.New("no code_url")
		}
		out.NextAction = &channel.NextAction{Type: "qr_code", QRCode: resp.CodeURL}
	case MethodH5:
		if resp.H5URL == "" {
			err = errors.New("no h5_url")
		}
		out.NextAction = &channel.NextAction{Type: "redirect", URL: resp.H5URL}
	case MethodJSAPI, MethodApp:
		if resp.PrepayID == "" {
			err = errors.New("no prepay_id")
			break
		}
		out.NextAction, err = c.sdkParams(r.Method, resp.PrepayID)
	}
	if err != nil {
		return nil, fmt.Errorf("wechatpay create %s: %w", r.Method, err)
	}
	return out, nil
}

// sdkParams are the parameters the WeChat client (JSAPI's WeixinJSBridge /
// wx.requestPayment, the App SDK) takes to pay prepayID, signed with the
// merchant key: JSAPI signs "appId\ntimeStamp\nnonceStr\nprepay_id=…\n",
// App "appid\ntimestamp\nnoncestr\nprepayid\n".
func (c *Connector) sdkParams(method, prepayID string) (*channel.NextAction, error) {
	ts, nonce := strconv.FormatInt(c.now().Unix(), 10), newNonce()
	if method == MethodJSAPI {
		pkg := "prepay_id=" + prepayID
		sig, err := SignSHA256RSA(c.privateKey, SigningMessage(c.appID, ts, nonce, pkg))
		if err != nil {
			return nil, err
		}
		return &channel.NextAction{Type: "sdk_params", Params: map[string]string{
			"appId": c.appID, "timeStamp": ts, "nonceStr": nonce, "package": pkg, "signType": "RSA", "paySign": sig,
		}}, nil
	}
	sig, err := SignSHA256RSA(c.privateKey, SigningMessage(c.appID, ts, nonce, prepayID))
	if err != nil {
		return nil, err
	}
	return &channel.NextAction{Type: "sdk_params", Params: map[string]string{
		"appid": c.appID, "partnerid": c.mchID, "prepayid": prepayID, "package": "Sign=WXPay",
		"noncestr": nonce, "timestamp": ts, "sign": sig,
	}}, nil
}

// description is the trade's description (1–127 bytes): the order's
// subject, or its id when it has none.
func description(r channel.PayRequest) string {
	if r.Subject == "" {
		return r.OrderID
	}
	return truncate(r.Subject, 127)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Query asks for the trade by out_trade_no (the order id), whatever the method.
func (c *Connector) Query(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	if r.OrderID == "" {
		return nil, fmt.Errorf("wechatpay query: no order id: %w", channel.ErrInvalidRequest)
	}
	if r.Method == MethodPapay {
		return c.papQuery(ctx, r)
	}
	if c.global {
		return c.globalQuery(ctx, r)
	}
	var t transaction
	uri := "/v3/pay/transactions/out-trade-no/" + url.PathEscape(r.OrderID) + "?mchid=" + url.QueryEscape(c.mchID)
	if err := c.v3(ctx, "query", http.MethodGet, uri, nil, false, &t); err != nil {
		return nil, err
	}
	if t.OutTradeNo != r.OrderID || t.MchID != c.mchID {
		return nil, fmt.Errorf("wechatpay query %s: answered for trade %q of merchant %q", r.OrderID, t.OutTradeNo, t.MchID)
	}
	return queryResponse(t)
}

// tradeStates maps trade_state to the channel's statuses.
var tradeStates = map[string]channel.TradeStatus{
	"NOTPAY":     channel.TradeNotPay,
	"USERPAYING": channel.TradeUserPaying,
	"SUCCESS":    channel.TradeSuccess,
	"REFUND":     channel.TradeRefunded,
	"CLOSED":     channel.TradeClosed,
	"REVOKED":    channel.TradeRevoked,
	"PAYERROR":   channel.TradePayError,
	"ACCEPT":     channel.TradeUserPaying, // a deduction accepted, not settled yet
}

func queryResponse(t transaction) (*channel.QueryResponse, error) {
	st, ok := tradeStates[t.TradeState]
	if !ok {
		return nil, fmt.Errorf("wechatpay query %s: unknown trade_state %q", t.OutTradeNo, t.TradeState)
	}
	if t.Amount.Total < 0 {
		return nil, fmt.Errorf("wechatpay query %s: negative amount %d: %w", t.OutTradeNo, t.Amount.Total, channel.ErrInvalidRequest)
	}
	q := &channel.QueryResponse{ChannelTradeNo: t.TransactionID, Status: st, Amount: t.Amount.Total, Currency: t.Amount.Currency}
	if q.ChannelTradeNo == "" {
		q.ChannelTradeNo = t.OutTradeNo
	}
	if st == channel.TradePayError {
		q.FailureCode, q.FailureMessage = "payment_failed", t.TradeStateDesc
	}
	if t.SuccessTime != "" {
		at, err := time.Parse(time.RFC3339, t.SuccessTime)
		if err != nil {
			return nil, fmt.Errorf("wechatpay query %s: success_time %q: %w", t.OutTradeNo, t.SuccessTime, err)
		}
		q.PaidAt = at
	}
	return q, nil
}

// Close closes an unpaid trade (WeChat answers 204; closing a closed trade
// is harmless). A paid trade is ErrAlreadyPaid.
func (c *Connector) Close(ctx context.Context, r channel.CloseRequest) error {
	if r.OrderID == "" {
		return fmt.Errorf("wechatpay close: no order id: %w", channel.ErrInvalidRequest)
	}
	uri := "/v3/pay/transactions/out-trade-no/" + url.PathEscape(r.OrderID) + "/close"
	if c.global {
		uri = "/v3/global/transactions/out-trade-no/" + url.PathEscape(r.OrderID) + "/close"
	}
	return c.v3(ctx, "close", http.MethodPost, uri, map[string]string{"mchid": c.mchID}, false, nil)
}

// micropay charges a payment code through API v2 /pay/micropay. SUCCESS is
// paid; USERPAYING (the payer confirms on the phone) answers TradeUserPaying
// and the gateway polls Query, reversing when it gives up; SYSTEMERROR,
// BANKERROR, a 5xx or a timeout are an unknown outcome; final refusals are
// DeclineErrors.
func (c *Connector) micropay(ctx context.Context, r channel.PayRequest, currency string) (*channel.PayResponse, error) {
	if r.AuthCode == "" || !digits(r.AuthCode) {
		return nil, fmt.Errorf("wechatpay micropay: auth code %q: %w", r.AuthCode, channel.ErrInvalidRequest)
	}
	ip := r.PayerIP
	if ip == "" {
		ip = "127.0.0.1" // spbill_create_ip is the till's address; required, unchecked by WeChat
	}
	params := map[string]string{
		"body": truncate(description(r), 128), "out_trade_no": r.OrderID, "total_fee": strconv.FormatInt(r.Amount, 10),
		"fee_type": currency, "spbill_create_ip": ip, "auth_code": r.AuthCode, "attach": truncate(r.OutTradeNo, 127),
	}
	if !r.ExpiresAt.IsZero() {
		params["time_expire"] = r.ExpiresAt.In(cst).Format("20060102150405")
	}
	fields, err := c.v2(ctx, "micropay", "/pay/micropay", params, true)
	var ae *apiError
	switch {
	case err == nil:
		if fields["out_trade_no"] != r.OrderID || fields["transaction_id"] == "" {
			return nil, channel.Unknown(fmt.Errorf("wechatpay micropay %s: answered for trade %q", r.OrderID, fields["out_trade_no"]))
		}
		return &channel.PayResponse{ChannelTradeNo: fields["transaction_id"], Status: channel.TradeSuccess}, nil
	case !errors.As(err, &ae) || fields == nil:
		return nil, err // already sorted
	case ae.Code == "USERPAYING":
		return &channel.PayResponse{ChannelTradeNo: r.OrderID, Status: channel.TradeUserPaying}, nil
	case ae.Code == "ORDERPAID":
		// An earlier try of this trade was paid: the query tells the rest.
		return nil, channel.Unknown(fmt.Errorf("wechatpay micropay: %w", ae))
	}
	return nil, sortError("micropay", true, ae)
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// reverseTries bounds how often Reverse repeats a reverse WeChat answers
// with recall=Y.
const reverseTries = 3

// Reverse cancels a micropay trade through API v2 /secapi/pay/reverse
// whatever its state (WeChat refunds a paid one); the trade ends REVOKED.
// WeChat asks for another try with recall=Y. In production the call needs
// the merchant's API client certificate (mutual TLS) on the account's
// HTTPClient.
func (c *Connector) Reverse(ctx context.Context, r channel.CloseRequest) error {
	if c.apiV2Key == "" {
		return fmt.Errorf("wechatpay reverse: the account has no api_v2_key: %w", channel.ErrNotSupported)
	}
	if r.OrderID == "" {
		return fmt.Errorf("wechatpay reverse: no order id: %w", channel.ErrInvalidRequest)
	}
	var last error
	for try := range reverseTries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return channel.Unknown(fmt.Errorf("wechatpay reverse %s: %w (after %w)", r.OrderID, ctx.Err(), last))
			case <-time.After(time.Duration(try) * 200 * time.Millisecond):
			}
		}
		fields, err := c.v2(ctx, "reverse", "/secapi/pay/reverse", map[string]string{"out_trade_no": r.OrderID}, true)
		var ae *apiError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &ae) || fields == nil:
			return err // already sorted
		case fields["recall"] == "Y":
			last = ae
			continue
		}
		return sortError("reverse", true, ae)
	}
	return channel.Unknown(fmt.Errorf("wechatpay reverse %s: still asked to call again after %d tries: %w", r.OrderID, reverseTries, last))
}
