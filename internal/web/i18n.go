package web

import (
	"github.com/paygate/paygate/internal/channel"
	"net/http"

	"github.com/bojanz/currency"
	"golang.org/x/text/language"
)

// texts are the words of the cashier in one language. Every field is set in
// both tables; a test checks it.
type texts struct {
	Lang, HTMLLang, SwitchTo, SwitchLabel string

	Checkout, PayTo, OrderNo, TimeLeft, ChooseMethod, NoMethods         string
	ScanHint, SandboxHint, Waiting, Processing, ContinueTo, InApp       string
	Reviewing                                                           string
	Succeeded, Returning, BackToMerchant, CloseHint, Failed, FailedHint string
	Closed, ClosedHint, Expired, ExpiredHint, TestMode, TestHint        string
	TestPay, TestFail, SecuredBy, QRAlt                                 string
	NotFound, NotFoundHint, ErrorTitle, ErrorHint                       string
	// Cards on the cashier (orders for a customer) and agreements' pages.
	SavedCards, PayWithSaved, OrPayByCard, CardNumber, CardExpiry, CardCVC string
	SaveCard, PayByCard, Agreement, AgreementMax, AgreementPeriod          string
	AgreementSigned, AgreementTerminated, TestSign, TestRefuse             string
	// An order's instalment plan (分期).
	Plan, PlanInstallments, PlanFirst, PlanFee, PlanTotal, PlanFeePayer, PlanFeeMerchant string

	// Notices explain a refused action, by error code.
	Notices map[string]string
}

var english = &texts{
	Lang: "en", HTMLLang: "en", SwitchTo: "zh", SwitchLabel: "中文",
	Checkout: "Checkout", PayTo: "Pay to", OrderNo: "Order no.", TimeLeft: "Pay within",
	ChooseMethod: "Choose how to pay", NoMethods: "No payment method is available for this order. Please contact the merchant.",
	ScanHint: "Open %s and scan the QR code to pay.", SandboxHint: "A test QR code: use the test buttons below to act as the payer.",
	Waiting: "Waiting for payment…", Processing: "Confirming your payment…", ContinueTo: "Continue to %s",
	Reviewing: "This payment is being reviewed; you can pay once it is approved…",
	InApp:     "Complete the payment in the merchant's app.",
	Succeeded: "Payment successful", Returning: "Taking you back to %s…", BackToMerchant: "Return to %s",
	CloseHint: "You can close this page.", Failed: "Payment failed", FailedHint: "The payment did not go through.",
	Closed: "This order is closed", ClosedHint: "It can no longer be paid.",
	Expired: "This order has expired", ExpiredHint: "It can no longer be paid. Please place the order again.",
	TestMode: "Test mode · no real money moves", TestHint: "Act as the payer:",
	TestPay: "Pay (test)", TestFail: "Fail (test)", SecuredBy: "Secured by Paygate", QRAlt: "QR code to scan",
	NotFound: "Order not found", NotFoundHint: "Check the link you followed, or ask the merchant for a new one.",
	ErrorTitle: "Something went wrong", ErrorHint: "Please try again in a moment.",
	Plan: "Instalment plan", PlanInstallments: "%d instalments of %s", PlanFirst: "First instalment",
	PlanFee: "Instalment fee", PlanTotal: "Total to repay", PlanFeePayer: "paid by you", PlanFeeMerchant: "paid by the merchant",
	SavedCards: "Your saved cards", PayWithSaved: "Pay with %s •••• %s", OrPayByCard: "Pay by card",
	CardNumber: "Card number", CardExpiry: "Expiry month and year", CardCVC: "Security code",
	SaveCard: "Save this card for future payments to this merchant", PayByCard: "Pay",
	Agreement: "Agreement for payments without a password", AgreementMax: "At most %s per charge", AgreementPeriod: "Every %s",
	AgreementSigned: "Agreement signed", AgreementTerminated: "This agreement is not in force.",
	TestSign: "Sign (test)", TestRefuse: "Refuse (test)",
	Notices: map[string]string{
		"card_invalid":             "The card details are not valid.",
		"payment_method_not_found": "That saved card is not available.",
		"payment_method_detached":  "That saved card has been removed.",
		"agreement_not_pending":    "This agreement has already been signed or ended.",
		"order_already_paid":       "This order has already been paid.",
		"order_closed":             "This order is closed.",
		"order_failed":             "This order's payment failed.",
		"order_expired":            "This order has expired.",
		"method_already_chosen":    "A payment method has already been chosen for this order.",
		"method_invalid":           "That payment method is not available for this order.",
		"method_unsupported":       "That payment method is not available for this order.",
		"channel_unavailable":      "The payment channel is not responding. Please try again.",
		"order_not_payable":        "The payment could not be completed.",
		"test_mode_only":           "Test payments are only available for test-mode orders.",
		"outcome_invalid":          "Unknown test outcome.",
		"cross_origin":             "This request came from another site and was refused.",
	},
}

var chinese = &texts{
	Lang: "zh", HTMLLang: "zh-CN", SwitchTo: "en", SwitchLabel: "English",
	Checkout: "收银台", PayTo: "收款方", OrderNo: "订单号", TimeLeft: "剩余支付时间",
	ChooseMethod: "选择支付方式", NoMethods: "该订单暂无可用的支付方式，请联系商户。",
	ScanHint: "请打开%s扫一扫，扫描二维码完成支付。", SandboxHint: "测试二维码：请使用下方的模拟按钮代替付款人操作。",
	Waiting: "等待支付…", Processing: "正在确认支付…", ContinueTo: "前往%s支付",
	Reviewing: "该笔支付正在审核中，审核通过后即可支付…",
	InApp:     "请在商户 App 内完成支付。",
	Succeeded: "支付成功", Returning: "正在返回%s…", BackToMerchant: "返回%s",
	CloseHint: "您可以关闭此页面。", Failed: "支付失败", FailedHint: "本次支付未成功。",
	Closed: "订单已关闭", ClosedHint: "该订单已无法支付。",
	Expired: "订单已过期", ExpiredHint: "该订单已无法支付，请重新下单。",
	TestMode: "测试模式 · 不会产生真实扣款", TestHint: "模拟付款人操作：",
	TestPay: "模拟支付成功", TestFail: "模拟支付失败", SecuredBy: "由 Paygate 提供安全支付", QRAlt: "支付二维码",
	NotFound: "订单不存在", NotFoundHint: "请检查链接是否正确，或联系商户获取新的支付链接。",
	ErrorTitle: "出错了", ErrorHint: "请稍后重试。",
	Plan: "分期计划", PlanInstallments: "分 %d 期，每期 %s", PlanFirst: "首期",
	PlanFee: "分期手续费", PlanTotal: "应还总额", PlanFeePayer: "由您承担", PlanFeeMerchant: "由商家承担",
	SavedCards: "已保存的银行卡", PayWithSaved: "使用 %s •••• %s 支付", OrPayByCard: "银行卡支付",
	CardNumber: "卡号", CardExpiry: "有效期（月、年）", CardCVC: "安全码",
	SaveCard: "保存此卡，以后在该商户一键支付", PayByCard: "支付",
	Agreement: "免密支付协议", AgreementMax: "单次最多扣款 %s", AgreementPeriod: "扣款周期：%s",
	AgreementSigned: "协议已签署", AgreementTerminated: "该协议已失效。",
	TestSign: "模拟签约", TestRefuse: "模拟拒绝",
	Notices: map[string]string{
		"card_invalid":             "银行卡信息无效。",
		"payment_method_not_found": "该已保存的银行卡不可用。",
		"payment_method_detached":  "该银行卡已被删除。",
		"agreement_not_pending":    "该协议已签署或已失效。",
		"order_already_paid":       "该订单已支付。",
		"order_closed":             "该订单已关闭。",
		"order_failed":             "该订单支付失败。",
		"order_expired":            "该订单已过期。",
		"method_already_chosen":    "该订单已选择支付方式。",
		"method_invalid":           "该订单不支持此支付方式。",
		"method_unsupported":       "该订单不支持此支付方式。",
		"channel_unavailable":      "支付渠道暂时无法响应，请重试。",
		"order_not_payable":        "无法完成支付。",
		"test_mode_only":           "仅测试模式订单可使用模拟支付。",
		"outcome_invalid":          "未知的模拟结果。",
		"cross_origin":             "该请求来自其他网站，已被拒绝。",
	},
}

var languages = language.NewMatcher([]language.Tag{language.English, language.Chinese})

// textsFor picks the payer's language: the lang query or form parameter
// when it names one ("en", "zh"), else the best match of Accept-Language,
// else English.
func textsFor(r *http.Request) *texts {
	switch r.FormValue("lang") {
	case "zh":
		return chinese
	case "en":
		return english
	}
	if _, i := language.MatchStrings(languages, r.Header.Get("Accept-Language")); i == 1 {
		return chinese
	}
	return english
}

// explicitLang is the lang parameter of r when it names a language, so
// links and redirects keep the payer's choice.
func explicitLang(r *http.Request) string {
	if l := r.FormValue("lang"); l == "zh" || l == "en" {
		return l
	}
	return ""
}

// methodLabel is how the cashier shows a payment method.
type methodLabel struct {
	Brand  string // css class: wechat, alipay, unionpay, card, sandbox
	Name   string // WeChat Pay
	Detail string // Scan QR code
	Glyph  string // the badge's character
}

type label struct{ en, zh string }

var brands = map[string]struct {
	name             label
	glyphEn, glyphZh string
}{
	"sandbox":  {label{"Sandbox", "沙箱"}, "S", "测"},
	"wechat":   {label{"WeChat Pay", "微信支付"}, "W", "微"},
	"alipay":   {label{"Alipay", "支付宝"}, "A", "支"},
	"unionpay": {label{"UnionPay", "银联"}, "U", "银"},
	"card":     {label{"Card", "银行卡"}, "C", "卡"},
}

var methodDetails = map[string]label{
	"sandbox":            {"Test QR code", "测试二维码"},
	"card":               {"Credit or debit card", "信用卡或借记卡"},
	"wechat.native":      {"Scan QR code", "扫码支付"},
	"wechat.h5":          {"In the phone's browser", "手机浏览器支付"},
	"wechat.jsapi":       {"Inside WeChat", "微信内支付"},
	"wechat.app":         {"In the merchant's app", "App 支付"},
	"wechat.micropay":    {"Payment code", "付款码支付"},
	"alipay.qr":          {"Scan QR code", "扫码支付"},
	"alipay.page":        {"On the Alipay website", "电脑网站支付"},
	"alipay.wap":         {"In the phone's browser", "手机网站支付"},
	"alipay.app":         {"In the merchant's app", "App 支付"},
	"alipay.micropay":    {"Payment code", "付款码支付"},
	"unionpay.qr":        {"Scan QR code", "云闪付扫码"},
	"unionpay.gateway":   {"On the UnionPay website", "银联网关支付"},
	"unionpay.micropay":  {"Payment code", "付款码支付"},
	"wechat.papay":       {"Password-free payments", "委托代扣"},
	"alipay.withholding": {"Merchant withholding", "商家扣款"},
	"card.agreement":     {"Card on file", "银行卡免密支付"},
}

func (l label) in(t *texts) string {
	if t.Lang == "zh" {
		return l.zh
	}
	return l.en
}

// labelOf names method in t's language; an unknown method shows as itself.
func labelOf(method string, t *texts) methodLabel {
	m, _ := channel.LookupMethod(method)
	brand := m.Family
	b, ok := brands[brand]
	if !ok {
		return methodLabel{Brand: "other", Name: method, Glyph: "·"}
	}
	out := methodLabel{Brand: brand, Name: b.name.in(t), Glyph: b.glyphEn, Detail: methodDetails[method].in(t)}
	if t.Lang == "zh" {
		out.Glyph = b.glyphZh
	}
	return out
}

// symbolOf is the currency's symbol for t's language: CN¥ and ¥ for CNY and
// JPY in English, ¥ and JP¥ in Chinese (CLDR, through bojanz/currency).
func symbolOf(code string, t *texts) string {
	loc := currency.NewLocale("en")
	if t.Lang == "zh" {
		loc = currency.NewLocale("zh")
	}
	s, ok := currency.GetSymbol(code, loc)
	if !ok {
		return code
	}
	return s
}

// formatNumber groups the major digits of minor units n of code for t's
// language ("1,234.50"; "1,200" for JPY). Exponents come from the currency
// table, as money.Format's do.
func formatNumber(n int64, code string, t *texts) string {
	a, err := currency.NewAmountFromInt64(n, code)
	if err != nil {
		return ""
	}
	f := currency.NewFormatter(currency.NewLocale(t.Lang))
	f.CurrencyDisplay = currency.DisplayNone
	return f.Format(a)
}
