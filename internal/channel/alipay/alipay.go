// Package alipay is the connector for Alipay's OpenAPI (the gateway.do
// protocol, RSA2 signatures, JSON responses).
//
// Methods:
//
//	alipay.qr        alipay.trade.precreate: a QR code the payer scans
//	alipay.page      alipay.trade.page.pay (FAST_INSTANT_TRADE_PAY): a signed gateway URL for a desktop browser
//	alipay.wap       alipay.trade.wap.pay (QUICK_WAP_WAY): the same for a mobile browser
//	alipay.app       alipay.trade.app.pay: the signed order string the Alipay app SDK takes
//	alipay.micropay  alipay.trade.pay with scene=bar_code: charge the payer's payment code
//
// Page, wap and app payments are not server calls: the connector signs the
// parameters and the payer's browser or app takes them to Alipay, so Pay
// answers NOTPAY with no Alipay trade number.
//
// Every response is verified: the signed text is the raw JSON of the
// "<method>_response" member exactly as it appears in the body. Callbacks
// (trade_status_sync form posts) are verified with the Alipay public key and
// acknowledged with the body "success".
//
// Agreements (channel.Agreements, agreements.go): 商家扣款, method
// alipay.withholding, with Config agreement_product (CYCLE_PAY_AUTH or
// GENERAL_WITHHOLDING) and agreement_sign_scene. Followed: Alipay's
// open-platform documents of alipay.user.agreement.page.sign,
// alipay.user.agreement.query, alipay.user.agreement.unsign and
// alipay.trade.pay (agreement_params, product codes), and of the
// agreement notifications (notify_type dut_user_sign / dut_user_unsign),
// read through the request models of Alipay's SDKs and third parties'
// integrations in the search corpora. Limits: signing only (no "pay and
// sign" in one step, alipay.trade.app.pay with agreement_sign_params); the
// period rule's dates are sent (execute_time: the agreement's creation
// day) but a charge is not held to them by the gateway; the sub_code of a
// query for an agreement never signed is not published, so a query error
// whose sub_code contains AGREEMENT_NOT_EXIST is read as "not signed".
//
// Limits, by Alipay's design:
//   - A precreated (QR) trade does not exist at Alipay until the payer scans
//     it: Query answers ErrTradeNotFound until then (the gateway treats the
//     order as still pending) and alipay.trade.close answers
//     ACQ.TRADE_NOT_EXIST, so Close then cancels the out_trade_no
//     (alipay.trade.cancel), which Alipay records so the code can no longer
//     be paid. Precreate, page, wap and app trades have no trade_no until
//     the payer acts: PayResponse.ChannelTradeNo is empty.
//   - alipay.trade.query does not report refunds, so a trade closed by a full
//     refund queries as CLOSED; the gateway knows its refunds.
//   - Refund callbacks carry the trade's cumulative refund_fee, not the
//     refund's own amount: Notification.RefundAmount is 0 (unknown).
//   - Notifications carry no replay-protection timestamp (notify_time is the
//     time of sending); they are idempotent state reports.
//   - Alipay gives refunds no number of its own: ChannelRefundNo is empty.
package alipay

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
)

// Name is the provider's name.
const Name = "alipay"

// DefaultBaseURL is Alipay's production gateway. BaseURL is always the full
// gateway URL (the sandbox's is https://openapi-sandbox.dl.alipaydev.com/gateway.do).
const DefaultBaseURL = "https://openapi.alipay.com/gateway.do"

// Methods the connector serves.
const (
	MethodQR       = "alipay.qr"
	MethodPage     = "alipay.page"
	MethodWap      = "alipay.wap"
	MethodApp      = "alipay.app"
	MethodMicropay = "alipay.micropay"
)

// Methods lists every method Alipay can serve (the method table's).
var Methods = channel.ProviderMethods(Name)

// Account configuration keys.
const (
	ConfigAppID           = "app_id"            // the application's id
	ConfigAlipayPublicKey = "alipay_public_key" // PEM or Base64: the key Alipay signs responses and callbacks with
	ConfigSellerID        = "seller_id"         // optional: the merchant's PID (2088…), checked on callbacks
	SecretPrivateKey      = "private_key"       // the application's RSA private key, PKCS #1 or PKCS #8
)

// Provider describes Alipay accounts.
var Provider = channel.Provider{
	Name:           Name,
	Methods:        Methods,
	Config:         []string{ConfigAppID, ConfigAlipayPublicKey},
	Secrets:        []string{SecretPrivateKey},
	OptionalConfig: []string{ConfigSellerID, ConfigAgreementProduct, ConfigAgreementSignScene},
	DefaultBaseURL: DefaultBaseURL,
	New:            New,
}

// Connector talks to one Alipay application. It is safe for concurrent use.
type Connector struct {
	appID      string
	sellerID   string
	gateway    string
	notifyURL  string
	key        *rsa.PrivateKey
	alipayKey  *rsa.PublicKey
	methods    []string
	currencies []string
	http       *http.Client
	clock      clock.Clock
	// agreementProduct and signScene are the account's 商家扣款 product
	// (CYCLE_PAY_AUTH or GENERAL_WITHHOLDING) and sign scene.
	agreementProduct, signScene string
}

// New checks the account and returns its connector. The keys are parsed
// here, once; a missing or garbled one is an error naming it.
func New(a channel.Account) (channel.Connector, error) {
	c, err := newConnector(a)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func newConnector(a channel.Account) (*Connector, error) {
	c := &Connector{
		appID:            strings.TrimSpace(a.Config[ConfigAppID]),
		sellerID:         strings.TrimSpace(a.Config[ConfigSellerID]),
		gateway:          a.BaseURL,
		notifyURL:        a.NotifyURL,
		http:             a.HTTPClient,
		clock:            a.Clock,
		currencies:       a.Currencies,
		agreementProduct: strings.TrimSpace(a.Config[ConfigAgreementProduct]),
		signScene:        strings.TrimSpace(a.Config[ConfigAgreementSignScene]),
	}
	switch c.agreementProduct {
	case "", "CYCLE_PAY_AUTH", "GENERAL_WITHHOLDING":
	default:
		return nil, fmt.Errorf("alipay account: config %s must be CYCLE_PAY_AUTH or GENERAL_WITHHOLDING", ConfigAgreementProduct)
	}
	if c.appID == "" {
		return nil, fmt.Errorf("alipay account: config %s is missing", ConfigAppID)
	}
	pub, ok := a.Config[ConfigAlipayPublicKey]
	if !ok || strings.TrimSpace(pub) == "" {
		return nil, fmt.Errorf("alipay account: config %s is missing", ConfigAlipayPublicKey)
	}
	var err error
	if c.alipayKey, err = parsePublicKey(pub); err != nil {
		return nil, fmt.Errorf("alipay account: config %s: %w", ConfigAlipayPublicKey, err)
	}
	priv, ok := a.Secrets[SecretPrivateKey]
	if !ok || strings.TrimSpace(priv) == "" {
		return nil, fmt.Errorf("alipay account: secret %s is missing", SecretPrivateKey)
	}
	if c.key, err = parsePrivateKey(priv); err != nil {
		return nil, fmt.Errorf("alipay account: secret %s: %w", SecretPrivateKey, err)
	}
	if c.gateway == "" {
		c.gateway = DefaultBaseURL
	}
	if u, err := url.Parse(c.gateway); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("alipay account: base URL %q is not an http(s) URL", c.gateway)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if len(c.currencies) == 0 {
		c.currencies = channel.DefaultCurrencies(Name)
	}
	for _, m := range Methods {
		if m == MethodWithholding && c.signScene == "" {
			if slices.Contains(a.Methods, m) {
				return nil, fmt.Errorf("alipay account: config %s is needed for %s", ConfigAgreementSignScene, MethodWithholding)
			}
			continue // an account without a sign scene signs no agreements
		}
		if len(a.Methods) == 0 || slices.Contains(a.Methods, m) {
			c.methods = append(c.methods, m)
		}
	}
	return c, nil
}

func (c *Connector) serves(method string) bool { return slices.Contains(c.methods, method) }

// Name returns "alipay".
func (c *Connector) Name() string { return Name }

// Capabilities reports the account's methods and currencies; Alipay can
// refund, close, reverse (cancel), query, serve bills and post callbacks.
func (c *Connector) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Methods:    slices.Clone(c.methods),
		Currencies: slices.Clone(c.currencies),
		Refund:     true,
		Close:      true,
		Reverse:    true,
		Query:      true,
		Bill:       true,
		Notify:     true,
	}
}

// commonParams returns the signed public parameters of a call of method.
func (c *Connector) commonParams(method, biz, notifyURL string) map[string]string {
	p := map[string]string{
		"app_id":      c.appID,
		"method":      method,
		"format":      "JSON",
		"charset":     "utf-8",
		"sign_type":   "RSA2",
		"timestamp":   c.clock.Now().In(cst).Format(timeLayout),
		"version":     "1.0",
		"biz_content": biz,
	}
	if notifyURL != "" {
		p["notify_url"] = notifyURL
	}
	return p
}

// signed adds "sign" to params.
func (c *Connector) signed(params map[string]string) (url.Values, error) {
	sign, err := signRSA2(c.key, []byte(signContent(params, "sign")))
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	for k, val := range params {
		if val != "" {
			v.Set(k, val)
		}
	}
	v.Set("sign", sign)
	return v, nil
}

// callKind says what a failed call may have done, for sorting its errors.
type callKind int

const (
	// readOnly calls (query, refund query, bill, close) and precreate, whose
	// trade waits for the payer: a system error means nothing to worry about.
	readOnly callKind = iota
	// movesMoney calls (trade.pay, refund, cancel) may have acted when the
	// answer is lost or says "unknown".
	movesMoney
)

// response is the common part of every <method>_response.
type response struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// APIError is an answer from Alipay other than 10000.
type APIError struct {
	Method  string
	Code    string
	Msg     string
	SubCode string
	SubMsg  string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("alipay %s: %s %s", e.Method, e.Code, e.Msg)
	if e.SubCode != "" {
		s += fmt.Sprintf(" (%s: %s)", e.SubCode, e.SubMsg)
	}
	return s
}

// call posts a signed request and returns the verified raw JSON of its
// "<method>_response" member. Its error is nil when code is 10000 (or 10003,
// which only trade.pay answers) and sorted otherwise; a verified error
// answer is still returned with it, for callers that read its fields.
func (c *Connector) call(ctx context.Context, method string, biz any, notifyURL string, kind callKind) (json.RawMessage, *response, error) {
	bizJSON, err := json.Marshal(biz)
	if err != nil {
		return nil, nil, fmt.Errorf("alipay %s: encode biz_content: %w: %w", method, err, channel.ErrInvalidRequest)
	}
	form, err := c.signed(c.commonParams(method, string(bizJSON), notifyURL))
	if err != nil {
		return nil, nil, fmt.Errorf("alipay %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.gateway, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, fmt.Errorf("alipay %s: build request: %w: %w", method, err, channel.ErrInvalidRequest)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, sortTransportError(method, kind, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, nil, sortTransportError(method, kind, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("alipay %s: HTTP %d", method, resp.StatusCode)
		if resp.StatusCode >= 500 && kind == movesMoney {
			return nil, nil, channel.Unknown(err)
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, nil, fmt.Errorf("%w: %w", err, channel.ErrUnavailable)
		}
		return nil, nil, fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	raw, r, err := c.verifyResponse(method, body)
	if err != nil {
		if kind == movesMoney {
			return nil, nil, channel.Unknown(err)
		}
		return nil, nil, err
	}
	switch r.Code {
	case "10000":
		return raw, r, nil
	case "10003":
		if method == "alipay.trade.pay" {
			return raw, r, nil
		}
	}
	return raw, r, sortAPIError(method, kind, r)
}

// verifyResponse finds the method's response member (or error_response) in
// body and checks the signature over its exact bytes. An error answer may
// come unsigned; a success never does.
func (c *Connector) verifyResponse(method string, body []byte) (json.RawMessage, *response, error) {
	members, err := topLevelRaw(body)
	if err != nil {
		return nil, nil, fmt.Errorf("alipay %s: %w: %w", method, err, channel.ErrBadSignature)
	}
	raw, ok := members[strings.ReplaceAll(method, ".", "_")+"_response"]
	if !ok {
		if raw, ok = members["error_response"]; !ok {
			return nil, nil, fmt.Errorf("alipay %s: no %s_response in the answer: %w", method, strings.ReplaceAll(method, ".", "_"), channel.ErrBadSignature)
		}
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, fmt.Errorf("alipay %s: decode response: %w: %w", method, err, channel.ErrBadSignature)
	}
	var sign string
	if s, ok := members["sign"]; ok {
		if err := json.Unmarshal(s, &sign); err != nil {
			return nil, nil, fmt.Errorf("alipay %s: sign is not a string: %w", method, channel.ErrBadSignature)
		}
	}
	if sign == "" {
		if r.Code == "10000" || r.Code == "10003" || r.Code == "" {
			return nil, nil, fmt.Errorf("alipay %s: unsigned %s answer: %w", method, r.Code, channel.ErrBadSignature)
		}
		return raw, &r, nil // an unsigned error: Alipay did not act; sorted by its code
	}
	if err := verifyRSA2(c.alipayKey, raw, sign); err != nil {
		return nil, nil, fmt.Errorf("alipay %s: %w: %w", method, err, channel.ErrBadSignature)
	}
	return raw, &r, nil
}

// sortTransportError sorts a failure to reach Alipay or to read its answer.
func sortTransportError(method string, kind callKind, err error) error {
	err = fmt.Errorf("alipay %s: %w", method, err)
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return channel.Unknown(err) // the request may have been acted on
	}
	if errors.Is(err, context.Canceled) {
		return channel.Unknown(err)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("%w: %w", err, channel.ErrUnavailable) // nothing was sent
	}
	if kind == movesMoney {
		return channel.Unknown(err)
	}
	return fmt.Errorf("%w: %w", err, channel.ErrUnavailable)
}

// declines maps the sub_codes that are the payer's final refusals to stable
// snake_case decline codes.
var declines = map[string]string{
	"ACQ.BUYER_BALANCE_NOT_ENOUGH":               "insufficient_funds",
	"ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH":      "insufficient_funds",
	"ACQ.PAYMENT_AUTH_CODE_INVALID":              "invalid_auth_code",
	"ACQ.BUYER_SELLER_EQUAL":                     "buyer_seller_equal",
	"ACQ.TRADE_BUYER_NOT_MATCH":                  "buyer_not_match",
	"ACQ.BUYER_ENABLE_STATUS_FORBID":             "buyer_account_disabled",
	"ACQ.PAYMENT_FAIL":                           "payment_failed",
	"ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR":   "payer_daily_limit_exceeded",
	"ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR": "payer_monthly_limit_exceeded",
	"ACQ.ERROR_BALANCE_PAYMENT_DISABLE":          "balance_payment_disabled",
	"ACQ.PULL_MOBILE_CASHIER_FAIL":               "payer_confirmation_failed",
	"ACQ.PAYMENT_REQUEST_HAS_RISK":               "risk_rejected",
	"ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE":       "no_payment_instrument",
	"ACQ.USER_FACE_PAYMENT_SWITCH_OFF":           "payer_payment_switch_off",
	"ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT":        "payer_not_verified",
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":              "merchant_balance_insufficient",
	"ACQ.REASON_TRADE_BEEN_FREEZEN":              "trade_frozen",
}

// sortAPIError sorts an Alipay answer other than success into the channel
// sentinels. It is the one place where Alipay's codes are interpreted.
func sortAPIError(method string, kind callKind, r *response) error {
	e := &APIError{Method: method, Code: r.Code, Msg: r.Msg, SubCode: r.SubCode, SubMsg: r.SubMsg}
	unknownOrUnavailable := func() error {
		if kind == movesMoney {
			return channel.Unknown(e)
		}
		return fmt.Errorf("%w: %w", e, channel.ErrUnavailable)
	}
	switch r.Code {
	case "10003", "20000":
		return unknownOrUnavailable()
	case "20001", "40001", "40002", "40006":
		return fmt.Errorf("%w: %w", e, channel.ErrInvalidRequest)
	case "40004":
	default:
		return unknownOrUnavailable()
	}
	switch r.SubCode {
	case "ACQ.TRADE_NOT_EXIST":
		return fmt.Errorf("%w: %w", e, channel.ErrTradeNotFound)
	case "ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED":
		return fmt.Errorf("%w: %w", e, channel.ErrAlreadyPaid)
	case "ACQ.SYSTEM_ERROR", "ACQ.TRADE_SYSTEM_ERROR", "ACQ.PAYMENT_SYSTEM_ERROR", "ACQ.REFUND_SYSTEM_ERROR":
		return unknownOrUnavailable()
	}
	if code, ok := declines[r.SubCode]; ok {
		return &channel.DeclineError{Code: code, Message: fmt.Sprintf("%s (alipay %s)", r.SubMsg, r.SubCode)}
	}
	return fmt.Errorf("%w: %w", e, channel.ErrInvalidRequest)
}

// notifyURLFor picks the request's callback URL over the account's.
func (c *Connector) notifyURLFor(override string) string {
	if override != "" {
		return override
	}
	return c.notifyURL
}
