package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/money"
)

// tradeBiz is the biz_content of the create calls.
type tradeBiz struct {
	OutTradeNo  string `json:"out_trade_no"`
	TotalAmount string `json:"total_amount"`
	Subject     string `json:"subject"`
	ProductCode string `json:"product_code,omitempty"`
	Scene       string `json:"scene,omitempty"`
	AuthCode    string `json:"auth_code,omitempty"`
	TimeExpire  string `json:"time_expire,omitempty"`
	// Cross-border: total_amount is in trans_currency (标价币种) when it is
	// not CNY; settle_currency is the currency the merchant settles in.
	TransCurrency  string `json:"trans_currency,omitempty"`
	SettleCurrency string `json:"settle_currency,omitempty"`
	// ExtendParams carries Huabei instalments (花呗分期).
	ExtendParams *extendParams `json:"extend_params,omitempty"`
}

// extendParams are the Huabei instalment parameters of extend_params:
// hb_fq_num (3, 6 or 12) and hb_fq_seller_percent (100: the seller pays
// the fee, 0: the buyer), both strings.
type extendParams struct {
	HbFqNum           string `json:"hb_fq_num,omitempty"`
	HbFqSellerPercent string `json:"hb_fq_seller_percent,omitempty"`
}

// crossBorder sets the cross-border and instalment fields of biz from r:
// an amount in another currency than CNY is given in it (trans_currency;
// only currencies of two decimals, as total_amount is written in yuan-like
// units), and Huabei instalments in extend_params.
func crossBorder(biz *tradeBiz, r channel.PayRequest) error {
	if r.Currency != "" && r.Currency != "CNY" {
		if e, ok := money.Exponent(r.Currency); !ok || e != 2 {
			return fmt.Errorf("alipay: trans_currency %s: only currencies of two decimals: %w", r.Currency, channel.ErrNotSupported)
		}
		biz.TransCurrency = r.Currency
	}
	if r.SettleCurrency != "" && r.SettleCurrency != r.Currency {
		biz.SettleCurrency = r.SettleCurrency
	}
	if in := r.Installments; in != nil {
		if !slices.Contains([]int{3, 6, 12}, in.Count) {
			return fmt.Errorf("alipay: hb_fq_num %d: Huabei takes 3, 6 or 12: %w", in.Count, channel.ErrInvalidRequest)
		}
		percent := "0"
		if in.SellerPays {
			percent = "100"
		}
		biz.ExtendParams = &extendParams{HbFqNum: strconv.Itoa(in.Count), HbFqSellerPercent: percent}
	}
	return nil
}

// outTradeNo checks an order id for Alipay's out_trade_no (at most 64
// letters, digits and underscores; the gateway's ord_… ids fit unchanged).
func outTradeNo(orderID string) (string, error) {
	if orderID == "" || len(orderID) > 64 {
		return "", fmt.Errorf("alipay: order id %q is not a valid out_trade_no: %w", orderID, channel.ErrInvalidRequest)
	}
	for _, c := range orderID {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("alipay: order id %q is not a valid out_trade_no: %w", orderID, channel.ErrInvalidRequest)
		}
	}
	return orderID, nil
}

// Pay creates the trade (precreate, micropay) or signs the parameters the
// payer takes to Alipay (page, wap, app).
func (c *Connector) Pay(ctx context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	if !slices.Contains(c.methods, r.Method) {
		return nil, fmt.Errorf("alipay: method %q: %w", r.Method, channel.ErrNotSupported)
	}
	if r.Currency != "" && !slices.Contains(c.currencies, r.Currency) {
		return nil, fmt.Errorf("alipay: currency %q: %w", r.Currency, channel.ErrNotSupported)
	}
	no, err := outTradeNo(r.OrderID)
	if err != nil {
		return nil, err
	}
	amount, err := yuan(r.Amount)
	if err != nil {
		return nil, fmt.Errorf("alipay: %w: %w", err, channel.ErrInvalidRequest)
	}
	biz := tradeBiz{OutTradeNo: no, TotalAmount: amount, Subject: r.Subject}
	if err := crossBorder(&biz, r); err != nil {
		return nil, err
	}
	if r.Installments != nil && (r.Method == MethodMicropay || r.Method == MethodWithholding) {
		return nil, fmt.Errorf("alipay: instalments on %s: %w", r.Method, channel.ErrNotSupported)
	}
	if biz.Subject == "" {
		biz.Subject = "Order " + r.OrderID
	}
	if !r.ExpiresAt.IsZero() {
		biz.TimeExpire = r.ExpiresAt.In(cst).Format(timeLayout)
	}
	notifyURL := c.notifyURLFor(r.NotifyURL)
	switch r.Method {
	case MethodQR:
		return c.precreate(ctx, biz, notifyURL)
	case MethodMicropay:
		if r.AuthCode == "" {
			return nil, fmt.Errorf("alipay: micropay needs the payer's auth code: %w", channel.ErrInvalidRequest)
		}
		biz.Scene, biz.AuthCode = "bar_code", r.AuthCode
		return c.barcodePay(ctx, biz, biz, notifyURL)
	case MethodWithholding:
		return c.withhold(ctx, biz, r.AgreementNo, notifyURL)
	case MethodPage:
		biz.ProductCode = "FAST_INSTANT_TRADE_PAY"
		u, err := c.redirectURL("alipay.trade.page.pay", biz, notifyURL, r.ReturnURL)
		if err != nil {
			return nil, err
		}
		return &channel.PayResponse{Status: channel.TradeNotPay, NextAction: &channel.NextAction{Type: "redirect", URL: u}}, nil
	case MethodWap:
		biz.ProductCode = "QUICK_WAP_WAY"
		u, err := c.redirectURL("alipay.trade.wap.pay", biz, notifyURL, r.ReturnURL)
		if err != nil {
			return nil, err
		}
		return &channel.PayResponse{Status: channel.TradeNotPay, NextAction: &channel.NextAction{Type: "redirect", URL: u}}, nil
	case MethodApp:
		biz.ProductCode = "QUICK_MSECURITY_PAY"
		v, err := c.signedClientParams("alipay.trade.app.pay", biz, notifyURL, "")
		if err != nil {
			return nil, err
		}
		return &channel.PayResponse{Status: channel.TradeNotPay, NextAction: &channel.NextAction{
			Type: "sdk_params", Params: map[string]string{"order_string": v.Encode()},
		}}, nil
	}
	return nil, fmt.Errorf("alipay: method %q: %w", r.Method, channel.ErrNotSupported)
}

// signedClientParams signs the parameters of a call the payer's browser or
// app makes (page, wap, app pay).
func (c *Connector) signedClientParams(method string, biz tradeBiz, notifyURL, returnURL string) (url.Values, error) {
	bizJSON, err := json.Marshal(biz)
	if err != nil {
		return nil, fmt.Errorf("alipay %s: encode biz_content: %w", method, err)
	}
	p := c.commonParams(method, string(bizJSON), notifyURL)
	if returnURL != "" {
		p["return_url"] = returnURL
	}
	v, err := c.signed(p)
	if err != nil {
		return nil, fmt.Errorf("alipay %s: %w", method, err)
	}
	return v, nil
}

// redirectURL is the gateway URL with every signed parameter in its query:
// the payer's browser GETs it and lands on Alipay's cashier.
func (c *Connector) redirectURL(method string, biz tradeBiz, notifyURL, returnURL string) (string, error) {
	v, err := c.signedClientParams(method, biz, notifyURL, returnURL)
	if err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(c.gateway, "?") {
		sep = "&"
	}
	return c.gateway + sep + v.Encode(), nil
}

// precreate asks for a QR code. The trade it names does not exist at
// Alipay until the payer scans the code, so there is no trade_no yet.
func (c *Connector) precreate(ctx context.Context, biz tradeBiz, notifyURL string) (*channel.PayResponse, error) {
	raw, _, err := c.call(ctx, "alipay.trade.precreate", biz, notifyURL, readOnly)
	if err != nil {
		return nil, err
	}
	var out struct {
		OutTradeNo string `json:"out_trade_no"`
		QRCode     string `json:"qr_code"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.QRCode == "" {
		return nil, fmt.Errorf("alipay precreate %s: answer without qr_code: %w", biz.OutTradeNo, channel.ErrUnavailable)
	}
	if out.OutTradeNo != "" && out.OutTradeNo != biz.OutTradeNo {
		return nil, fmt.Errorf("alipay precreate %s: answer names trade %s: %w", biz.OutTradeNo, out.OutTradeNo, channel.ErrUnavailable)
	}
	return &channel.PayResponse{Status: channel.TradeNotPay, NextAction: &channel.NextAction{Type: "qr_code", QRCode: out.QRCode}}, nil
}

// barcodePay makes alipay.trade.pay with payload (biz, or biz with an
// agreement's parameters) and checks the answer against biz: a payment
// code charged (scene=bar_code), or a withholding. 10003 means the payer
// is confirming in the app.
func (c *Connector) barcodePay(ctx context.Context, payload any, biz tradeBiz, notifyURL string) (*channel.PayResponse, error) {
	raw, r, err := c.call(ctx, "alipay.trade.pay", payload, notifyURL, movesMoney)
	if err != nil {
		return nil, err
	}
	var out struct {
		TradeNo     string `json:"trade_no"`
		OutTradeNo  string `json:"out_trade_no"`
		TotalAmount string `json:"total_amount"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, channel.Unknown(fmt.Errorf("alipay trade.pay %s: decode answer: %w", biz.OutTradeNo, err))
	}
	if out.OutTradeNo != "" && out.OutTradeNo != biz.OutTradeNo {
		return nil, channel.Unknown(fmt.Errorf("alipay trade.pay %s: answer names trade %s", biz.OutTradeNo, out.OutTradeNo))
	}
	if r.Code == "10003" {
		return &channel.PayResponse{ChannelTradeNo: out.TradeNo, Status: channel.TradeUserPaying}, nil
	}
	if out.TotalAmount != "" {
		got, err := parseYuan(out.TotalAmount)
		want, _ := parseYuan(biz.TotalAmount)
		if err != nil || got != want {
			return nil, channel.Unknown(fmt.Errorf("alipay trade.pay %s: paid amount %q is not %s", biz.OutTradeNo, out.TotalAmount, biz.TotalAmount))
		}
	}
	return &channel.PayResponse{ChannelTradeNo: out.TradeNo, Status: channel.TradeSuccess}, nil
}

// Query asks alipay.trade.query by out_trade_no. A precreated trade that
// nobody has scanned yet is ErrTradeNotFound (the gateway keeps it pending).
// TRADE_CLOSED is CLOSED, also after a full refund: Alipay's query does not
// say why a trade closed.
func (c *Connector) Query(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	no, err := outTradeNo(r.OrderID)
	if err != nil {
		return nil, err
	}
	raw, _, err := c.call(ctx, "alipay.trade.query", map[string]string{"out_trade_no": no}, "", readOnly)
	if err != nil {
		return nil, err
	}
	var out struct {
		TradeNo     string `json:"trade_no"`
		OutTradeNo  string `json:"out_trade_no"`
		TradeStatus string `json:"trade_status"`
		TotalAmount string `json:"total_amount"`
		SendPayDate string `json:"send_pay_date"`
		payTerms
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("alipay query %s: decode answer: %w: %w", no, err, channel.ErrUnavailable)
	}
	if out.OutTradeNo != "" && out.OutTradeNo != no {
		return nil, fmt.Errorf("alipay query %s: answer names trade %s: %w", no, out.OutTradeNo, channel.ErrUnavailable)
	}
	q := &channel.QueryResponse{ChannelTradeNo: out.TradeNo, Currency: "CNY"}
	switch out.TradeStatus {
	case "WAIT_BUYER_PAY":
		q.Status = channel.TradeNotPay
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		q.Status = channel.TradeSuccess
	case "TRADE_CLOSED":
		q.Status = channel.TradeClosed
	default:
		return nil, fmt.Errorf("alipay query %s: unknown trade_status %q: %w", no, out.TradeStatus, channel.ErrUnavailable)
	}
	if out.TotalAmount != "" {
		if q.Amount, err = parseYuan(out.TotalAmount); err != nil {
			return nil, fmt.Errorf("alipay query %s: %w: %w", no, err, channel.ErrUnavailable)
		}
	}
	if q.Status.Paid() {
		if q.PaidAt, err = parseTime(out.SendPayDate); err != nil {
			return nil, fmt.Errorf("alipay query %s: send_pay_date: %w: %w", no, err, channel.ErrUnavailable)
		}
	}
	if err := out.payTerms.fillQuery(q); err != nil {
		return nil, fmt.Errorf("alipay query %s: %w: %w", no, err, channel.ErrUnavailable)
	}
	return q, nil
}

// Close closes an unpaid trade (alipay.trade.close). Closing a closed trade
// succeeds; a paid one is ErrAlreadyPaid. A precreated trade nobody has
// scanned does not exist at Alipay (ACQ.TRADE_NOT_EXIST) although its code
// is still payable, so Close then cancels the out_trade_no
// (alipay.trade.cancel), which Alipay records as closed. Should the payer
// have paid between the two calls, the cancel refunds the payment in full
// and the trade still ends closed.
func (c *Connector) Close(ctx context.Context, r channel.CloseRequest) error {
	no, err := outTradeNo(r.OrderID)
	if err != nil {
		return err
	}
	_, resp, err := c.call(ctx, "alipay.trade.close", map[string]string{"out_trade_no": no}, "", readOnly)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, channel.ErrTradeNotFound):
		if err := c.cancel(ctx, no); err != nil {
			return fmt.Errorf("close %s at alipay (never scanned, so cancel): %w", no, err)
		}
		return nil
	case resp == nil || resp.SubCode != "ACQ.TRADE_STATUS_ERROR":
		return fmt.Errorf("close %s at alipay: %w", no, err)
	}
	// TRADE_STATUS_ERROR: the trade is paid or already closed; ask which.
	q, qerr := c.Query(ctx, channel.QueryRequest{OrderID: r.OrderID})
	switch {
	case qerr != nil:
		return fmt.Errorf("close %s at alipay: %w (and query: %w)", no, err, qerr)
	case q.Status.Paid():
		return fmt.Errorf("close %s at alipay: %w", no, channel.ErrAlreadyPaid)
	case q.Status == channel.TradeClosed:
		return nil
	}
	return fmt.Errorf("close %s at alipay: %w", no, err)
}

// Reverse cancels a trade whatever its state (alipay.trade.cancel): an
// unpaid one is closed, a paid one refunded in full. Alipay records the
// cancel even for a trade it has not seen, so a payment arriving later
// cannot succeed. An answer with retry_flag Y is ErrUnknownOutcome.
func (c *Connector) Reverse(ctx context.Context, r channel.CloseRequest) error {
	no, err := outTradeNo(r.OrderID)
	if err != nil {
		return err
	}
	if err := c.cancel(ctx, no); err != nil {
		return fmt.Errorf("reverse %s at alipay: %w", no, err)
	}
	return nil
}

// cancel calls alipay.trade.cancel for out_trade_no.
func (c *Connector) cancel(ctx context.Context, no string) error {
	raw, _, err := c.call(ctx, "alipay.trade.cancel", map[string]string{"out_trade_no": no}, "", movesMoney)
	var out struct {
		RetryFlag string `json:"retry_flag"`
		Action    string `json:"action"`
	}
	if raw != nil {
		if jerr := json.Unmarshal(raw, &out); jerr != nil && err == nil {
			return channel.Unknown(fmt.Errorf("decode cancel answer: %w", jerr))
		}
	}
	switch {
	case err != nil && out.RetryFlag == "Y" && !errors.Is(err, channel.ErrUnknownOutcome):
		return channel.Unknown(fmt.Errorf("retry_flag Y: %w", err))
	case err != nil:
		return err
	case out.RetryFlag == "Y":
		return channel.Unknown(errors.New("cancel answered retry_flag Y"))
	}
	return nil
}
