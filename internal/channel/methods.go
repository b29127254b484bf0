package channel

import "slices"

// MethodKind is how the payer completes a payment method.
type MethodKind string

// Method kinds.
const (
	// KindQR: the payer scans a QR code the gateway shows (native, precreate).
	KindQR MethodKind = "qr_code"
	// KindRedirect: the payer is sent to a page (the channel's, or the
	// cashier's for the sandbox's test QR).
	KindRedirect MethodKind = "redirect"
	// KindSDK: the merchant's app or a wallet's in-app browser opens the
	// channel's SDK with parameters the gateway returns (app, jsapi).
	KindSDK MethodKind = "sdk_params"
	// KindMicropay: the merchant scans the payer's payment code; the money
	// moves in the create call itself (付款码).
	KindMicropay MethodKind = "micropay"
	// KindCard: card data in the create call; the money moves in it.
	KindCard MethodKind = "card"
	// KindAgreement: the merchant charges a payer who is not there, on an
	// agreement the payer signed at the channel beforehand (免密支付,
	// 委托代扣); the money moves in the create call.
	KindAgreement MethodKind = "agreement"
)

// Payer fields a method may require, as the API names them.
const (
	PayerIP = "payer.ip"
	PayerID = "payer.id"
)

// Method is what Paygate knows of one payment method: who serves it, how
// the payer completes it, whether the hosted cashier offers it, which
// currencies its channel takes unless an account says otherwise, and which
// payer fields the channel needs.
type Method struct {
	Name string
	// Family is the brand the method belongs to ("wechat", "alipay",
	// "unionpay", "sandbox", "card"); Provider the kind of channel account
	// that serves it besides the sandbox (wechatpay, alipay, unionpay).
	Family   string
	Provider string
	Kind     MethodKind
	// Cashier is true when a payer can complete the method from the hosted
	// cashier page itself (a QR code to scan, a page to go to). Cards (their
	// data would pass through the page), micropay (the merchant scans), app
	// and jsapi (they need the merchant's app or the wallet's own browser)
	// are not offered there.
	Cashier bool
	// Currencies the provider's accounts take when they list none; nil: any.
	Currencies []string
	// Requires names the payer fields the channel needs (PayerIP, PayerID);
	// a create without them is refused before any channel is called.
	Requires []string
	// Installments are the instalment counts the method can pay in (Alipay
	// Huabei's 3, 6 and 12; card instalments in the sandbox); nil: none.
	Installments []int
}

// ChargesAtOnce reports whether the money moves in the create call itself
// (card, micropay, agreement charges), so the order must be recorded before the channel is asked.
func (m Method) ChargesAtOnce() bool {
	return m.Kind == KindMicropay || m.Kind == KindCard || m.Kind == KindAgreement
}

// methods is the one table of payment methods, in the order the cashier
// offers them.
var methods = []Method{
	{Name: "sandbox", Family: "sandbox", Provider: "sandbox", Kind: KindRedirect, Cashier: true, Installments: cardInstallments},
	{Name: "card", Family: "card", Provider: "sandbox", Kind: KindCard, Installments: cardInstallments},
	{Name: "wechat.native", Family: "wechat", Provider: "wechatpay", Kind: KindQR, Cashier: true, Currencies: cny},
	{Name: "wechat.h5", Family: "wechat", Provider: "wechatpay", Kind: KindRedirect, Cashier: true, Currencies: cny, Requires: []string{PayerIP}},
	{Name: "wechat.jsapi", Family: "wechat", Provider: "wechatpay", Kind: KindSDK, Currencies: cny, Requires: []string{PayerID}},
	{Name: "wechat.app", Family: "wechat", Provider: "wechatpay", Kind: KindSDK, Currencies: cny},
	{Name: "wechat.micropay", Family: "wechat", Provider: "wechatpay", Kind: KindMicropay, Currencies: cny},
	{Name: "alipay.qr", Family: "alipay", Provider: "alipay", Kind: KindQR, Cashier: true, Currencies: cny, Installments: huabei},
	{Name: "alipay.page", Family: "alipay", Provider: "alipay", Kind: KindRedirect, Cashier: true, Currencies: cny, Installments: huabei},
	{Name: "alipay.wap", Family: "alipay", Provider: "alipay", Kind: KindRedirect, Cashier: true, Currencies: cny, Installments: huabei},
	{Name: "alipay.app", Family: "alipay", Provider: "alipay", Kind: KindSDK, Currencies: cny, Installments: huabei},
	{Name: "alipay.micropay", Family: "alipay", Provider: "alipay", Kind: KindMicropay, Currencies: cny},
	{Name: "unionpay.qr", Family: "unionpay", Provider: "unionpay", Kind: KindQR, Cashier: true, Currencies: cny},
	{Name: "unionpay.gateway", Family: "unionpay", Provider: "unionpay", Kind: KindRedirect, Cashier: true, Currencies: cny},
	{Name: "unionpay.micropay", Family: "unionpay", Provider: "unionpay", Kind: KindMicropay, Currencies: cny},
	// Agreement methods: an agreement (POST /v1/agreements) is signed with
	// one, and the orders charged on it use it.
	{Name: "wechat.papay", Family: "wechat", Provider: "wechatpay", Kind: KindAgreement, Currencies: cny},
	{Name: "alipay.withholding", Family: "alipay", Provider: "alipay", Kind: KindAgreement, Currencies: cny},
	{Name: "card.agreement", Family: "card", Provider: "sandbox", Kind: KindAgreement},
}

var cny = []string{"CNY"}

// Instalment counts: Alipay Huabei (hb_fq_num takes 3, 6 or 12 only) and
// the sandbox's (its QR and cards).
var (
	huabei           = []int{3, 6, 12}
	cardInstallments = []int{3, 6, 12, 24}
)

// LookupMethod returns the method named name.
func LookupMethod(name string) (Method, bool) {
	for _, m := range methods {
		if m.Name == name {
			return m, true
		}
	}
	return Method{}, false
}

// Methods returns every method, in the cashier's order.
func Methods() []Method { return slices.Clone(methods) }

// MethodNames returns the name of every method, in the cashier's order.
func MethodNames() []string {
	out := make([]string, len(methods))
	for i, m := range methods {
		out[i] = m.Name
	}
	return out
}

// ProviderMethods returns the methods a provider's accounts can serve.
func ProviderMethods(provider string) []string {
	var out []string
	for _, m := range methods {
		if m.Provider == provider {
			out = append(out, m.Name)
		}
	}
	return out
}

// DefaultCurrencies are the currencies a provider's accounts take when they
// list none: those of its methods.
func DefaultCurrencies(provider string) []string {
	var out []string
	for _, m := range methods {
		if m.Provider != provider {
			continue
		}
		for _, c := range m.Currencies {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// DetectMicropay returns the micropay method an auth code (the payer's
// barcode) belongs to, from its length and prefix:
//
//   - WeChat Pay: 18 digits starting 10 to 15 → "wechat.micropay"
//   - Alipay: 16 to 24 digits starting 25 to 30 → "alipay.micropay"
//   - UnionPay: 19 digits starting 62 → "unionpay.micropay"
//
// ok is false for anything else, including codes with non-digits.
func DetectMicropay(authCode string) (method string, ok bool) {
	n := len(authCode)
	if n < 2 {
		return "", false
	}
	for i := 0; i < n; i++ {
		if authCode[i] < '0' || authCode[i] > '9' {
			return "", false
		}
	}
	prefix := int(authCode[0]-'0')*10 + int(authCode[1]-'0')
	switch {
	case n == 18 && prefix >= 10 && prefix <= 15:
		return "wechat.micropay", true
	case n >= 16 && n <= 24 && prefix >= 25 && prefix <= 30:
		return "alipay.micropay", true
	case n == 19 && prefix == 62:
		return "unionpay.micropay", true
	}
	return "", false
}
