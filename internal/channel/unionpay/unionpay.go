// Package unionpay is the China UnionPay online-payments connector (ACP
// 5.1.0, signMethod 01: SHA-256 digest, SHA256withRSA with the merchant's
// certificate key).
//
// Methods:
//
//   - unionpay.qr: the merchant presents a QR code (申请消费二维码): backTransReq
//     with txnType 01, txnSubType 07, bizType 000000, channelType 08. The
//     answer's qrCode is the next action. The trade waits for the payer.
//   - unionpay.gateway: the B2C gateway payment (网关支付): frontTransReq with
//     txnType 01, txnSubType 01, bizType 000201, channelType 07. It is not a
//     server call but a browser form. The next action is a redirect whose
//     URL is the endpoint with the signed fields in its query string (which
//     the simulator accepts as a GET) and whose Params are the same signed
//     fields. Production UnionPay expects a POST: the cashier renders an
//     auto-submitting form that posts Params to the URL without its query.
//   - unionpay.micropay: the payer presents a payment code (被扫): backTransReq
//     with txnType 01, txnSubType 06 and qrNo = the code. UnionPay answers
//     "accepted"; the connector then queries once and says SUCCESS,
//     USERPAYING (the payer is confirming) or declines.
//
// Order ids: a UnionPay orderId is 8–40 letters and digits, so "ord_XXXX"
// is sent as "ordXXXX" and "rfd_XXXX" as "rfdXXXX"; every answer carries the
// gateway's ids again. txnTime is the order's (or refund's) creation time in
// China Standard Time; a query names a trade by orderId and txnTime, so
// every request must carry CreatedAt.
//
// Query (queryTrans.do, txnType 00) reads origRespCode: 00 SUCCESS; 03, 04,
// 05 in progress (USERPAYING for a payment code, NOTPAY otherwise); 45
// ("already refunded or cancelled") REVOKED; 69 ("the payer's input timed
// out", also what a cancelled unpaid trade reports in the simulator) CLOSED;
// any other code a final PAYERROR. respCode 34 is ErrTradeNotFound.
//
// Close: a UnionPay QR trade has no "close" transaction. Close queries the
// trade: paid is ErrAlreadyPaid; never created or already final is nil; a
// trade still waiting is cancelled with a reversal (冲正, txnType 99,
// txnSubType 01, by orderId and txnTime), so the payer can no longer pay it.
// Reverse is the same reversal whatever the trade's state (UnionPay refunds
// a paid one). UnionPay meant reversals for trades of unknown outcome on the
// day they were made (its demos send one after a timeout); that it refuses
// them later is unverified here: a paid trade of an earlier day is better
// refunded. The consumption cancel (消费撤销, txnType 31, by origQryId) is not
// used: it needs a paid trade's queryId, which an unknown outcome lacks.
//
// Refund (backTransReq txnType 04, origQryId = the purchase's queryId) is
// asynchronous: respCode 00 means accepted (PROCESSING); the backUrl
// notification or a query of the refund's own orderId and txnTime says
// SUCCESS. The gateway's order id travels in reqReserved so that refund
// notifications and bill lines name the order.
//
// Bill: fileTransfer (txnType 76, fileType 00) returns the settlement day's
// files as a zip, zlib-compressed and Base64-encoded; the connector reads
// the "INN…ZM_<merId>" general transaction file (fixed-width fields
// separated by one space). The settlement date (MMDD) is the requested day.
//
// Signatures: every request is signed with the merchant's private key and
// carries certId, the serial number (decimal) of the merchant's signing
// certificate. Responses and backUrl notifications carry signPubKeyCert,
// UnionPay's signing certificate: it must chain to the configured root
// (root_cert, through middle_cert when given), its owner field (the third
// "@"-separated field of its subject CN, as in
// "041@8310000000083040@中国银联股份有限公司@00016495") must be UnionPay's,
// and its key then verifies the signature. Which owner is UnionPay's
// depends on the environment, by the rule of UnionPay's SDK:
//
//   - Production (validate_cert_cn true): the owner field must be exactly
//     "中国银联股份有限公司". A CN that holds the name anywhere else, or
//     more than the name in that field, is refused.
//   - Test environment (validate_cert_cn false): the owner field may also
//     be "00040000:SIGN", the owner of the test environment's certificate
//     ("041@Z12@00040000:SIGN@00000062"). The field is still checked. (The
//     test environment has also signed with a certificate of the
//     production form: an answer of 2022 published in the tests of the
//     yansongda/pay SDK carries one.)
//
// validate_cert_cn defaults to false when the base URL's host is
// gateway.test.95516.com (TestBaseURL) and to true for any other base URL,
// the production gateway and a simulator included; the account's config
// may set it to "true" or "false" explicitly. Set it false only for
// UnionPay's test environment or a simulator of it.
//
// Empty fields: UnionPay may post a notification field with an empty value
// ("reserved="); it is not covered by the signature. Notify drops every
// field whose value is empty before it checks the signature, as UnionPay's
// demo does, and refuses a notification in which any field with a value
// differs from what UnionPay signed. A value of spaces is not empty (the
// demo keeps it too). Synchronous answers are verified as they come, empty
// fields included, as the SDK parses them. That UnionPay's signature leaves
// empty fields out is inferred from its demo, which could not verify a
// notification otherwise; UnionPay does not document it.
//
// Sources for these rules: UnionPay's Java SDK and demo (packages
// com.unionpay.acp.sdk and com.unionpay.acp.demo), read in two copies on
// GitHub. In baifuhai/alipay, under unionpay/src/main/java: CertUtil.java,
// whose verifyCertificate compares the third "@" field of the subject
// (getIdentitiesFromCertificate) with SDKConstants.UNIONPAY_CNNAME by
// equality and, with ifValidateCNName false, also accepts "00040000:SIGN";
// SDKConfig.java, where ifValidateCNName defaults to true; the test and
// production acp_sdk.properties under assets (the test one sets
// acpsdk.ifValidateCNName=false, "测试环境请设置false，生产环境请设置true";
// the production one leaves it unset); and, in earlier revisions, the
// demo's getAllRequestParam in UnionpayController.java, which removes every
// parameter whose value is null or "" before AcpService.validate
// ("在报文上送时，如果字段的值为空，则不上送"). In an older revision of
// Javen205/IJPay, under src/main/java/com/jpay/unionpay: CertUtil.java
// with the same check; SDKConfig.java, which turns ifValidateCNName off
// only for the value "false"; and SDKUtil.java, whose validate verifies
// coverMap2String (every field but signature, empty or not), whose
// parseQString keeps an answer's empty fields, and whose filterBlank drops
// blank fields before a request is signed. The test certificate's subject
// is that of acp_test_verify_sign.cer in UnionPay's ACPSample_B2C demo
// (repository chenzuolin/ACPSample_B2C).
//
// Notifications carry no timestamp, so there is no replay window: a
// replayed notification verifies and repeats what the gateway already
// knows.
//
// Account: Config mer_id, cert_id, root_cert (PEM of UnionPay's root CA;
// more than one certificate may be given), optional middle_cert (PEM of
// the intermediate CA), file_url (the file-transfer endpoint; by default
// https://filedownload.95516.com/ for production,
// https://filedownload.test.95516.com/ for the test environment and
// BaseURL+/gateway/api/fileTransfer.do otherwise) and validate_cert_cn
// ("true" or "false"; see Signatures). Secrets private_key: the
// merchant's RSA key as PEM (PKCS#1 or PKCS#8). UnionPay issues it as a
// .pfx; the operator converts it, e.g. with
// "openssl pkcs12 -in acp.pfx -nocerts -nodes -out key.pem", and reads the
// certificate serial with
// "openssl pkcs12 -in acp.pfx -nokeys | openssl x509 -noout -serial" (hex;
// cert_id is its decimal form).
//
// Notifications: UnionPay posts a form to backUrl and retries until it gets
// HTTP 200. NotifyReply(nil) is 200 "ok"; NotifyReply(err) is 500 so that
// UnionPay tries again. The retry schedule is not published; the simulator
// uses 1, 2, 4, 8 and 16 minutes.
package unionpay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
)

// Name is the provider's name.
const Name = "unionpay"

// Methods the connector serves.
const (
	MethodQR       = "unionpay.qr"
	MethodGateway  = "unionpay.gateway"
	MethodMicropay = "unionpay.micropay"
)

// DefaultBaseURL is UnionPay's production gateway.
const DefaultBaseURL = "https://gateway.95516.com"

// TestBaseURL is UnionPay's test environment (入网测试环境). An account
// whose base URL has its host checks UnionPay's certificates by the test
// environment's rule (see the package doc).
const TestBaseURL = "https://gateway.test.95516.com"

// productionFileURL and testFileURL are where production and the test
// environment serve fileTransfer (the fileTransUrl of UnionPay's SDK
// configurations).
const (
	productionFileURL = "https://filedownload.95516.com/"
	testFileURL       = "https://filedownload.test.95516.com/"
)

// ACP endpoints, relative to the base URL.
const (
	pathBackTrans  = "/gateway/api/backTransReq.do"
	pathFrontTrans = "/gateway/api/frontTransReq.do"
	pathQuery      = "/gateway/api/queryTrans.do"
	pathFile       = "/gateway/api/fileTransfer.do"
)

// cst is China Standard Time, the zone of txnTime and of the statements.
var cst = time.FixedZone("CST", 8*3600)

// Provider describes UnionPay accounts.
var Provider = channel.Provider{
	Name:           Name,
	Methods:        methods,
	Config:         configKeys,
	Secrets:        []string{"private_key"},
	OptionalConfig: []string{"middle_cert", "file_url", "validate_cert_cn"},
	DefaultBaseURL: DefaultBaseURL,
	New:            New,
}

var (
	methods    = channel.ProviderMethods(Name) // the method table's
	configKeys = []string{"mer_id", "cert_id", "root_cert"}
)

// Connector talks to one UnionPay merchant account. It is safe for
// concurrent use.
type Connector struct {
	merID     string
	certID    string
	baseURL   string
	fileURL   string
	notifyURL string
	methods   []string
	currs     []string
	http      *http.Client
	clock     clock.Clock
	verifier  *verifier
	signKey   *rsa.PrivateKey
}

var digitsPattern = regexp.MustCompile(`^[0-9]+$`)

// New checks the account and returns its connector.
func New(a channel.Account) (channel.Connector, error) {
	for _, k := range configKeys {
		if strings.TrimSpace(a.Config[k]) == "" {
			return nil, fmt.Errorf("unionpay: config %s is missing", k)
		}
	}
	if a.Secrets["private_key"] == "" {
		return nil, fmt.Errorf("unionpay: secret private_key is missing")
	}
	if !orderIDPattern.MatchString(a.Config["mer_id"]) && !digitsPattern.MatchString(a.Config["mer_id"]) {
		return nil, fmt.Errorf("unionpay: config mer_id %q is not a merchant number", a.Config["mer_id"])
	}
	if !digitsPattern.MatchString(a.Config["cert_id"]) {
		return nil, fmt.Errorf("unionpay: config cert_id must be the certificate serial in decimal")
	}
	roots, _, err := parseCertPool(a.Config["root_cert"])
	if err != nil {
		return nil, fmt.Errorf("unionpay: config root_cert: %w", err)
	}
	var middles *x509.CertPool
	if m := a.Config["middle_cert"]; strings.TrimSpace(m) != "" {
		p, _, err := parseCertPool(m)
		if err != nil {
			return nil, fmt.Errorf("unionpay: config middle_cert: %w", err)
		}
		middles = p
	}
	baseURL := strings.TrimRight(a.BaseURL, "/")
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	validateCN, err := validateCertCN(a.Config["validate_cert_cn"], baseURL)
	if err != nil {
		return nil, err
	}
	key, err := channel.ParseRSAPrivateKey(a.Secrets["private_key"])
	if err != nil {
		return nil, fmt.Errorf("unionpay: secret private_key: %w", err)
	}
	c := &Connector{
		merID:     a.Config["mer_id"],
		certID:    a.Config["cert_id"],
		baseURL:   baseURL,
		fileURL:   a.Config["file_url"],
		notifyURL: a.NotifyURL,
		http:      a.HTTPClient,
		clock:     a.Clock,
		signKey:   key,
	}
	if c.fileURL == "" {
		switch {
		case c.baseURL == DefaultBaseURL:
			c.fileURL = productionFileURL
		case isTestEnvironment(c.baseURL):
			c.fileURL = testFileURL
		default:
			c.fileURL = c.baseURL + pathFile
		}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	c.verifier = &verifier{roots: roots, intermediates: middles, now: c.clock.Now, validateCN: validateCN}
	for _, m := range methods {
		if len(a.Methods) == 0 || slices.Contains(a.Methods, m) {
			c.methods = append(c.methods, m)
		}
	}
	c.currs = a.Currencies
	if len(c.currs) == 0 {
		c.currs = channel.DefaultCurrencies(Name)
	}
	return c, nil
}

// validateCertCN reads the account's validate_cert_cn. Unset, it is false
// for UnionPay's test environment (the host of TestBaseURL) and true for
// any other base URL, as UnionPay's SDK configures the two environments.
func validateCertCN(value, baseURL string) (bool, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return !isTestEnvironment(baseURL), nil
	}
	on, err := strconv.ParseBool(value)
	if err != nil {
		return false, fmt.Errorf("unionpay: config validate_cert_cn %q must be true or false", value)
	}
	return on, nil
}

// isTestEnvironment says whether baseURL is UnionPay's test environment.
func isTestEnvironment(baseURL string) bool {
	u, err := url.Parse(baseURL)
	test, _ := url.Parse(TestBaseURL)
	return err == nil && strings.EqualFold(u.Hostname(), test.Hostname())
}

// Name returns "unionpay".
func (c *Connector) Name() string { return Name }

// Capabilities: the account's methods in CNY; refund, close, reverse (a
// reversal), query, bill and notifications.
func (c *Connector) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Methods:    slices.Clone(c.methods),
		Currencies: slices.Clone(c.currs),
		Refund:     true,
		Close:      true,
		Reverse:    true,
		Query:      true,
		Bill:       true,
		Notify:     true,
	}
}

// txnTime formats t as UnionPay's txnTime (CST, yyyyMMddHHmmss).
func txnTime(t time.Time) string { return t.In(cst).Format("20060102150405") }

// baseFields are the fields of every request.
func (c *Connector) baseFields() map[string]string {
	return map[string]string{
		"version":    "5.1.0",
		"encoding":   "UTF-8",
		"signMethod": "01",
		"certId":     c.certID,
		"merId":      c.merID,
		"accessType": "0",
	}
}

// sign fills the common fields into fields and signs them.
func (c *Connector) sign(fields map[string]string) error {
	for k, v := range c.baseFields() {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	return Sign(fields, c.signKey)
}

// call signs fields, posts them to endpoint and returns UnionPay's verified
// answer with respCode "00" (or "A6"). Every failure is sorted by sortError;
// a verified answer with another respCode comes back with its fields too,
// so callers can look at codes that are not errors to them (34, 05, 98).
func (c *Connector) call(ctx context.Context, op, endpoint string, kind callKind, fields map[string]string) (map[string]string, error) {
	if err := c.sign(fields); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("unionpay %s: %w: %w", op, channel.ErrInvalidRequest, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, sortError(op, kind, err, 0, nil)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, sortError(op, kind, err, 0, nil)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, sortError(op, kind, nil, resp.StatusCode, nil)
	}
	answer, err := ParseResponse(string(body))
	if err != nil {
		return nil, sortError(op, kind, fmt.Errorf("%v: %w", err, channel.ErrBadSignature), 0, nil)
	}
	if err := c.verifier.verify(answer); err != nil {
		return nil, sortError(op, kind, err, 0, nil)
	}
	if m := answer["merId"]; m != "" && m != c.merID {
		return nil, sortError(op, kind, fmt.Errorf("answer for merchant %q: %w", m, channel.ErrBadSignature), 0, nil)
	}
	if err := sortError(op, kind, nil, 0, answer); err != nil {
		return answer, err
	}
	return answer, nil
}

func (c *Connector) backURL(override string) (string, error) {
	u := override
	if u == "" {
		u = c.notifyURL
	}
	if u == "" {
		return "", fmt.Errorf("unionpay: backUrl (the notify URL) is required: %w", channel.ErrInvalidRequest)
	}
	return u, nil
}

func checkTime(what string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("unionpay: %s is needed for txnTime: %w", what, channel.ErrInvalidRequest)
	}
	return nil
}

// Pay creates a QR trade, builds a gateway redirect or charges a payment code.
func (c *Connector) Pay(ctx context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	if !slices.Contains(c.methods, r.Method) {
		return nil, fmt.Errorf("unionpay: method %q: %w", r.Method, channel.ErrNotSupported)
	}
	if r.Currency != "" && (r.Currency != "CNY" || !slices.Contains(c.currs, r.Currency)) {
		return nil, fmt.Errorf("unionpay: currency %q: %w", r.Currency, channel.ErrNotSupported)
	}
	if r.Amount <= 0 {
		return nil, fmt.Errorf("unionpay: amount %d: %w", r.Amount, channel.ErrInvalidRequest)
	}
	if err := checkTime("the order's CreatedAt", r.CreatedAt); err != nil {
		return nil, err
	}
	orderID, err := ChannelOrderID(r.OrderID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	backURL, err := c.backURL(r.NotifyURL)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{
		"txnType":      "01",
		"bizType":      "000000",
		"channelType":  "08",
		"orderId":      orderID,
		"txnTime":      txnTime(r.CreatedAt),
		"txnAmt":       strconv.FormatInt(r.Amount, 10),
		"currencyCode": "156",
		"backUrl":      backURL,
	}
	if !r.ExpiresAt.IsZero() {
		fields["payTimeout"] = txnTime(r.ExpiresAt)
	}
	switch r.Method {
	case MethodQR:
		fields["txnSubType"] = "07"
		answer, err := c.call(ctx, "apply QR code", c.baseURL+pathBackTrans, safeCall, fields)
		if err != nil {
			return nil, err
		}
		if answer["qrCode"] == "" {
			return nil, fmt.Errorf("unionpay apply QR code: answer has no qrCode: %w", channel.ErrUnavailable)
		}
		return &channel.PayResponse{Status: channel.TradeNotPay, NextAction: &channel.NextAction{Type: "qr_code", QRCode: answer["qrCode"]}}, nil
	case MethodGateway:
		return c.gatewayRedirect(fields, r.ReturnURL)
	default: // micropay
		return c.micropay(ctx, fields, r)
	}
}

// gatewayRedirect signs a frontTransReq for the payer's browser.
func (c *Connector) gatewayRedirect(fields map[string]string, returnURL string) (*channel.PayResponse, error) {
	fields["txnSubType"] = "01"
	fields["bizType"] = "000201"
	fields["channelType"] = "07"
	if returnURL != "" {
		fields["frontUrl"] = returnURL
	}
	if err := c.sign(fields); err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range fields {
		q.Set(k, v)
	}
	return &channel.PayResponse{
		Status: channel.TradeNotPay,
		NextAction: &channel.NextAction{
			Type:   "redirect",
			URL:    c.baseURL + pathFrontTrans + "?" + q.Encode(),
			Params: fields,
		},
	}, nil
}

var payerCodePattern = regexp.MustCompile(`^62[0-9]{17}$`)

// micropay charges the payer's payment code and looks at the result once.
func (c *Connector) micropay(ctx context.Context, fields map[string]string, r channel.PayRequest) (*channel.PayResponse, error) {
	if !payerCodePattern.MatchString(r.AuthCode) {
		return nil, fmt.Errorf("unionpay: payment code must be 19 digits starting with 62: %w", channel.ErrInvalidRequest)
	}
	fields["txnSubType"] = "06"
	fields["qrNo"] = r.AuthCode
	answer, err := c.call(ctx, "charge payment code", c.baseURL+pathBackTrans, moneyCall, fields)
	if err != nil {
		return nil, err
	}
	// Accepted: the result comes with the notification, or from a query.
	q, err := c.Query(ctx, channel.QueryRequest{OrderID: r.OrderID, CreatedAt: r.CreatedAt})
	if err != nil {
		if channel.Retryable(err) {
			return &channel.PayResponse{ChannelTradeNo: answer["queryId"], Status: channel.TradeUserPaying}, nil
		}
		return nil, channel.Unknown(fmt.Errorf("unionpay: query after charging a payment code: %w", err))
	}
	switch q.Status {
	case channel.TradeSuccess, channel.TradeUserPaying:
		return &channel.PayResponse{ChannelTradeNo: q.ChannelTradeNo, Status: q.Status}, nil
	case channel.TradeNotPay:
		return &channel.PayResponse{ChannelTradeNo: q.ChannelTradeNo, Status: channel.TradeUserPaying}, nil
	}
	code := q.FailureCode
	if code == "" { // closed or revoked before the payer confirmed
		code = "payment_failed"
	}
	return nil, &channel.DeclineError{Code: code, Message: fmt.Sprintf("the payment ended %s: %s", q.Status, q.FailureMessage)}
}

// reverse sends a reversal (冲正) of the transaction orderID sent at created.
func (c *Connector) reverse(ctx context.Context, op, orderID string, created time.Time) error {
	fields := map[string]string{
		"txnType":     "99",
		"txnSubType":  "01",
		"bizType":     "000000",
		"channelType": "08",
		"orderId":     orderID,
		"txnTime":     txnTime(created),
	}
	_, err := c.call(ctx, op, c.baseURL+pathBackTrans, moneyCall, fields)
	return err
}

// Close cancels a trade that still waits for the payer (see the package
// doc): a paid trade is ErrAlreadyPaid, a trade UnionPay never saw or that
// already ended is nil.
func (c *Connector) Close(ctx context.Context, r channel.CloseRequest) error {
	q, err := c.Query(ctx, channel.QueryRequest{OrderID: r.OrderID, CreatedAt: r.CreatedAt})
	switch {
	case err != nil && isNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("close: %w", err)
	case q.Status.Paid():
		return fmt.Errorf("unionpay close %s: %w", r.OrderID, channel.ErrAlreadyPaid)
	case q.Status != channel.TradeNotPay && q.Status != channel.TradeUserPaying:
		return nil
	}
	orderID, _ := ChannelOrderID(r.OrderID)
	return c.reverse(ctx, "close (reversal)", orderID, r.CreatedAt)
}

// Reverse cancels a payment-code trade whatever its state with a reversal;
// UnionPay refunds it if it was paid.
func (c *Connector) Reverse(ctx context.Context, r channel.CloseRequest) error {
	if err := checkTime("the order's CreatedAt", r.CreatedAt); err != nil {
		return err
	}
	orderID, err := ChannelOrderID(r.OrderID)
	if err != nil {
		return fmt.Errorf("%w: %w", err, channel.ErrInvalidRequest)
	}
	return c.reverse(ctx, "reverse", orderID, r.CreatedAt)
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, channel.ErrTradeNotFound) }
