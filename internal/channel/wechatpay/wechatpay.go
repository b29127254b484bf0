// Package wechatpay is the WeChat Pay connector: API v3 (JSON, requests
// signed WECHATPAY2-SHA256-RSA2048, responses and notifications verified
// with the platform public key, notification resources decrypted with
// AEAD_AES_256_GCM) for Native, JSAPI, App and H5 payments, queries,
// closes, refunds and trade bills; API v2 (XML, HMAC-SHA256 sign with the
// API v2 key) for micropay (付款码) and its reverse.
//
// Account Config: mchid, appid, serial_no (the merchant API certificate's
// serial), platform_serial and platform_public_key (the WeChat Pay public
// key or platform certificate, PEM, and the serial WeChat names it by in
// Wechatpay-Serial). Secrets: private_key (the merchant API private key,
// PEM, PKCS#8 or PKCS#1), api_v3_key (32 ASCII characters) and api_v2_key
// (for micropay; without it the account serves no micropay).
//
// Trade numbers: the gateway's order id is the trade's out_trade_no and
// its refund id the refund's out_refund_no, unchanged (WeChat allows
// letters, digits and "_"). WeChat assigns a transaction_id only when a
// trade is paid, so until then ChannelTradeNo is the out_trade_no; every
// call names the trade by out_trade_no.
//
// Agreements (channel.Agreements, papay.go): 委托代扣, method wechat.papay,
// on API v2 (XML, MD5 signs for the signing page, HMAC-SHA256 or MD5 for
// the calls, the api_v2_key) with the account's Config papay_plan_id (the
// template configured at WeChat). Followed: WeChat Pay's 委托代扣 v2
// documents (pay.weixin.qq.com/wiki/doc/api/pap.php: 公众号纯签约
// /papay/entrustweb, 查询签约关系 /papay/querycontract, 申请解约
// /papay/deletecontract, 申请扣款 /pay/pappayapply, 查询订单
// /pay/orderquery, 签约/解约结果通知 and 扣款结果通知), read through the
// published mirrors of those pages and the request models of WeChat's and
// third parties' SDKs in the search corpora; WeChat has no API v3 for
// direct merchants' papay. Limits: the web signing page only (mini-program,
// app and H5 signing take the same parameters and are not built); no
// pre-deduction notice (预扣费通知), which WeChat requires for some
// templates before each deduction; deductions are queried with the v2
// /pay/orderquery, where ACCEPT means not settled yet.
//
// Cross-border (境外/跨境, global.go): an account whose Config has
// global "true" is a WeChat Pay Global merchant (the overseas merchant
// platform, host apihk.mch.weixin.qq.com) and speaks the /v3/global/ API
// in its direct (普通) mode: orders priced in a foreign currency, the payer
// paying in CNY at WeChat's rate. Such an account needs Config
// merchant_category_code (its MCC); it serves native, jsapi, app and h5,
// refunds, queries and closes, never micropay, papay, profit sharing,
// transfers or bills (the global API's micropay, profit sharing and
// statements are not built). A domestic account (no global) takes CNY only
// and refuses any other currency before calling WeChat.
//
// Limits: one platform key per account (a response signed under another
// serial is refused, so a key rotation means updating the account first);
// the production reverse (/secapi/pay/reverse) needs the merchant's client
// certificate over mutual TLS, which the account's HTTPClient must carry
// (the simulator does not ask for it).
package wechatpay

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
)

// Name is the provider's name.
const Name = "wechatpay"

// DefaultBaseURL is WeChat Pay's production API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// DefaultGlobalBaseURL is WeChat Pay Global's production API host (the
// Hong Kong access point its documents name): a global account's host
// when its base_url is empty or DefaultBaseURL.
const DefaultGlobalBaseURL = "https://apihk.mch.weixin.qq.com"

// Methods WeChat Pay serves.
const (
	MethodNative   = "wechat.native"
	MethodJSAPI    = "wechat.jsapi"
	MethodApp      = "wechat.app"
	MethodH5       = "wechat.h5"
	MethodMicropay = "wechat.micropay"
)

// Methods lists every method the connector can serve (the method table's).
var Methods = channel.ProviderMethods(Name)

// Provider describes WeChat Pay accounts.
var Provider = channel.Provider{
	Name:            Name,
	Methods:         Methods,
	Config:          []string{"mchid", "appid", "serial_no", "platform_serial", "platform_public_key"},
	Secrets:         []string{"private_key", "api_v3_key"},
	OptionalConfig:  []string{"papay_plan_id", "global", "merchant_category_code"},
	OptionalSecrets: []string{"api_v2_key"},
	DefaultBaseURL:  DefaultBaseURL,
	New:             New,
}

// cst is China Standard Time, WeChat's time zone.
var cst = time.FixedZone("CST", 8*3600)

// Connector talks to one WeChat Pay merchant account. It is safe for concurrent use.
type Connector struct {
	baseURL        string
	mchID, appID   string
	serialNo       string
	platformSerial string
	platformKey    *rsa.PublicKey
	privateKey     *rsa.PrivateKey
	apiV3Key       []byte
	apiV2Key       string
	notifyURL      string
	// planID is the 委托代扣 template (papay_plan_id); agreementNotifyURL
	// where contract and deduction notifications go.
	planID             string
	agreementNotifyURL string
	// global: a WeChat Pay Global account (global.go), with its MCC.
	global     bool
	mcc        string
	methods    []string
	currencies []string
	http       *http.Client
	clock      clock.Clock
}

// New checks a WeChat Pay account (every key present and parsable) and
// returns its connector.
func New(a channel.Account) (channel.Connector, error) {
	c := &Connector{
		baseURL:            strings.TrimRight(a.BaseURL, "/"),
		mchID:              a.Config["mchid"],
		appID:              a.Config["appid"],
		serialNo:           a.Config["serial_no"],
		platformSerial:     a.Config["platform_serial"],
		apiV2Key:           a.Secrets["api_v2_key"],
		notifyURL:          a.NotifyURL,
		planID:             a.Config["papay_plan_id"],
		agreementNotifyURL: a.AgreementNotifyURL,
		currencies:         a.Currencies,
		http:               a.HTTPClient,
		clock:              a.Clock,
	}
	switch a.Config["global"] {
	case "", "false":
	case "true":
		c.global, c.mcc = true, a.Config["merchant_category_code"]
		if !validMCC(c.mcc) {
			return nil, fmt.Errorf("wechatpay account: a global account needs config merchant_category_code (4 digits), has %q", c.mcc)
		}
	default:
		return nil, fmt.Errorf("wechatpay account: config global must be true or false, is %q", a.Config["global"])
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.global && c.baseURL == DefaultBaseURL {
		// An account left at the provider's default host (the domestic
		// one, which the admin API fills in) goes to the global host; any
		// other base_url (another access point, a simulator) is kept.
		c.baseURL = DefaultGlobalBaseURL
	}
	for _, k := range []string{"mchid", "appid", "serial_no", "platform_serial", "platform_public_key"} {
		if a.Config[k] == "" {
			return nil, fmt.Errorf("wechatpay account: config %s is missing", k)
		}
	}
	var err error
	if c.platformKey, err = channel.ParseRSAPublicKey(a.Config["platform_public_key"]); err != nil {
		return nil, fmt.Errorf("wechatpay account: config platform_public_key: %w", err)
	}
	if a.Secrets["private_key"] == "" {
		return nil, errors.New("wechatpay account: secret private_key is missing")
	}
	if c.privateKey, err = channel.ParseRSAPrivateKey(a.Secrets["private_key"]); err != nil {
		return nil, fmt.Errorf("wechatpay account: secret private_key: %w", err)
	}
	if k := a.Secrets["api_v3_key"]; len(k) != 32 {
		return nil, fmt.Errorf("wechatpay account: secret api_v3_key must be 32 characters, has %d", len(k))
	}
	c.apiV3Key = []byte(a.Secrets["api_v3_key"])
	for _, m := range Methods {
		if len(a.Methods) > 0 && !slices.Contains(a.Methods, m) {
			continue
		}
		if c.global && (m == MethodMicropay || m == MethodPapay) {
			if len(a.Methods) > 0 {
				return nil, fmt.Errorf("wechatpay account: a global account does not serve %s", m)
			}
			continue
		}
		if m == MethodMicropay && c.apiV2Key == "" {
			if len(a.Methods) > 0 {
				return nil, errors.New("wechatpay account: secret api_v2_key is missing (needed for wechat.micropay)")
			}
			continue // an account without the v2 key serves no micropay
		}
		if m == MethodPapay && (c.apiV2Key == "" || c.planID == "") {
			if len(a.Methods) > 0 {
				return nil, errors.New("wechatpay account: config papay_plan_id and secret api_v2_key are needed for wechat.papay")
			}
			continue // an account without a 委托代扣 template signs no contracts
		}
		c.methods = append(c.methods, m)
	}
	if len(c.methods) == 0 {
		return nil, fmt.Errorf("wechatpay account: none of its methods %v is a WeChat Pay method", a.Methods)
	}
	if err := c.checkCurrencies(); err != nil {
		return nil, err
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	return c, nil
}

// Name returns "wechatpay".
func (c *Connector) Name() string { return Name }

// Capabilities reports the account's methods and currencies (none listed
// for a global account without currencies: any ISO 4217 currency); reverse
// only when the account serves micropay; bills only for a domestic account.
func (c *Connector) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Methods: c.methods, Currencies: c.currencies,
		Refund: true, Close: true, Reverse: c.serves(MethodMicropay), Query: true, Bill: !c.global, Notify: true,
	}
}

func (c *Connector) serves(method string) bool { return slices.Contains(c.methods, method) }

func (c *Connector) now() time.Time { return c.clock.Now() }
