package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
)

// 商家扣款 (merchant-initiated withholding), as Alipay's open platform
// documents it:
//
//   - signing: alipay.user.agreement.page.sign is a signed URL the payer's
//     browser opens (like page pay: no server call), with
//     personal_product_code (CYCLE_PAY_AUTH_P, or GENERAL_WITHHOLDING_P),
//     sign_scene, external_agreement_no (the gateway's agreement id without
//     its "_": Alipay takes letters and digits only), access_params
//     {channel: ALIPAYAPP} and, for periodic deductions, period_rule_params
//     (period_type DAY or MONTH, period, execute_time, single_amount: the
//     plan's per-charge limit); Alipay posts dut_user_sign (status NORMAL)
//     to its notify_url;
//   - alipay.user.agreement.query and alipay.user.agreement.unsign; the
//     payer's termination posts dut_user_unsign (status UNSIGN);
//   - alipay.trade.pay with product_code CYCLE_PAY_AUTH (or
//     GENERAL_WITHHOLDING) and agreement_params {agreement_no}: charged at
//     once; an out_trade_no already paid answers ACQ.TRADE_HAS_SUCCESS.
//
// Account config: agreement_product (CYCLE_PAY_AUTH, the default, or
// GENERAL_WITHHOLDING) and agreement_sign_scene (the scene agreed with
// Alipay, e.g. INDUSTRY|DIGITAL_MEDIA); an account without a sign scene
// serves no alipay.withholding unless it lists it.

// MethodWithholding is Alipay's agreement method.
const MethodWithholding = "alipay.withholding"

// Agreement config keys.
const (
	ConfigAgreementProduct   = "agreement_product"
	ConfigAgreementSignScene = "agreement_sign_scene"
)

// agreementDeclines maps a withholding charge's refusals to decline codes.
var agreementDeclines = map[string]string{
	"ACQ.AGREEMENT_NOT_EXIST":          channel.DeclineAgreementTerminated,
	"ACQ.AGREEMENT_INVALID":            channel.DeclineAgreementTerminated,
	"ACQ.AGREEMENT_STATUS_NOT_NORMAL":  channel.DeclineAgreementTerminated,
	"ACQ.AGREEMENT_ERROR":              channel.DeclineAgreementTerminated,
	"ACQ.CYCLE_PAY_SINGLE_FEE_EXCEED":  channel.DeclineAmountAboveLimit,
	"ACQ.CYCLE_PAY_TOTAL_FEE_EXCEED":   channel.DeclineAmountAboveLimit,
	"ACQ.CYCLE_PAY_TOTAL_TIMES_EXCEED": channel.DeclineAmountAboveLimit,
}

// externalNo maps an agreement id to an external_agreement_no (letters and
// digits) and back.
func externalNo(agreementID string) string { return strings.Replace(agreementID, "_", "", 1) }

func agreementIDOf(ext string) string {
	if strings.HasPrefix(ext, "agr") && !strings.HasPrefix(ext, id.Agreement) {
		return id.Agreement + ext[3:]
	}
	return ext
}

func (c *Connector) productCodes() (product, personal string) {
	if c.agreementProduct == "GENERAL_WITHHOLDING" {
		return "GENERAL_WITHHOLDING", "GENERAL_WITHHOLDING_P"
	}
	return "CYCLE_PAY_AUTH", "CYCLE_PAY_AUTH_P"
}

// signBiz is the biz_content of alipay.user.agreement.page.sign.
type signBiz struct {
	PersonalProductCode string            `json:"personal_product_code"`
	ProductCode         string            `json:"product_code"`
	SignScene           string            `json:"sign_scene"`
	ExternalAgreementNo string            `json:"external_agreement_no"`
	ExternalLogonID     string            `json:"external_logon_id,omitempty"`
	AccessParams        map[string]string `json:"access_params"`
	PeriodRuleParams    map[string]any    `json:"period_rule_params,omitempty"`
}

// SignAgreement signs the parameters of alipay.user.agreement.page.sign
// into the URL the payer opens.
func (c *Connector) SignAgreement(ctx context.Context, r channel.SignAgreementRequest) (*channel.SignAgreementResponse, error) {
	if r.Method != MethodWithholding || !c.serves(MethodWithholding) {
		return nil, fmt.Errorf("alipay: agreements of %q: %w", r.Method, channel.ErrNotSupported)
	}
	if r.Currency != "" && r.Currency != "CNY" {
		return nil, fmt.Errorf("alipay: agreements in %s: %w", r.Currency, channel.ErrNotSupported)
	}
	product, personal := c.productCodes()
	biz := signBiz{PersonalProductCode: personal, ProductCode: product, SignScene: c.signScene, ExternalAgreementNo: externalNo(r.AgreementID),
		ExternalLogonID: r.PayerID, AccessParams: map[string]string{"channel": "ALIPAYAPP"}}
	if product == "CYCLE_PAY_AUTH" {
		single, err := yuan(r.MaxAmountPerCharge)
		if err != nil {
			return nil, fmt.Errorf("alipay: %w: %w", err, channel.ErrInvalidRequest)
		}
		periodType, period := "MONTH", 1
		switch r.Period {
		case "day":
			periodType = "DAY"
		case "week":
			periodType, period = "DAY", 7
		case "year":
			period = 12
		}
		biz.PeriodRuleParams = map[string]any{"period_type": periodType, "period": period,
			"execute_time": r.CreatedAt.In(cst).Format("2006-01-02"), "single_amount": single}
	}
	bizJSON, err := json.Marshal(biz)
	if err != nil {
		return nil, fmt.Errorf("alipay: encode biz_content: %w", err)
	}
	p := c.commonParams("alipay.user.agreement.page.sign", string(bizJSON), r.NotifyURL)
	if r.ReturnURL != "" {
		p["return_url"] = r.ReturnURL
	}
	v, err := c.signed(p)
	if err != nil {
		return nil, fmt.Errorf("alipay page.sign: %w", err)
	}
	sep := "?"
	if strings.Contains(c.gateway, "?") {
		sep = "&"
	}
	return &channel.SignAgreementResponse{Status: channel.AgreementSigning,
		NextAction: &channel.NextAction{Type: "redirect", URL: c.gateway + sep + v.Encode()}}, nil
}

// agreementAnswer is what alipay.user.agreement.query answers.
type agreementAnswer struct {
	AgreementNo         string `json:"agreement_no"`
	ExternalAgreementNo string `json:"external_agreement_no"`
	Status              string `json:"status"`
	PrincipalID         string `json:"principal_id"`
	SignTime            string `json:"sign_time"`
}

// agreementRef names an agreement: by agreement_no once known, else by
// product code, scene and external number.
func (c *Connector) agreementRef(r channel.AgreementRequest) map[string]string {
	if r.ChannelAgreementNo != "" {
		return map[string]string{"agreement_no": r.ChannelAgreementNo}
	}
	_, personal := c.productCodes()
	return map[string]string{"personal_product_code": personal, "sign_scene": c.signScene, "external_agreement_no": externalNo(r.AgreementID)}
}

// QueryAgreement asks alipay.user.agreement.query. NORMAL is active, STOP
// or UNSIGN terminated; an agreement Alipay does not have (not signed) is
// ErrTradeNotFound.
func (c *Connector) QueryAgreement(ctx context.Context, r channel.AgreementRequest) (*channel.AgreementState, error) {
	raw, resp, err := c.call(ctx, "alipay.user.agreement.query", c.agreementRef(r), "", readOnly)
	if err != nil {
		if resp != nil && strings.Contains(resp.SubCode, "AGREEMENT_NOT_EXIST") {
			return nil, fmt.Errorf("alipay agreement query %s: %w", r.AgreementID, channel.ErrTradeNotFound)
		}
		return nil, err
	}
	var a agreementAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("alipay agreement query: decode: %w: %w", err, channel.ErrUnavailable)
	}
	if a.ExternalAgreementNo != "" && agreementIDOf(a.ExternalAgreementNo) != r.AgreementID {
		return nil, fmt.Errorf("alipay agreement query %s: answered for %q: %w", r.AgreementID, a.ExternalAgreementNo, channel.ErrUnavailable)
	}
	st := &channel.AgreementState{AgreementID: r.AgreementID, ChannelAgreementNo: a.AgreementNo, ChannelPayerID: a.PrincipalID}
	st.SignedAt, _ = parseTime(a.SignTime)
	switch a.Status {
	case "NORMAL":
		st.Status = channel.AgreementActive
	case "TEMP":
		st.Status = channel.AgreementSigning
	case "STOP", "UNSIGN":
		st.Status = channel.AgreementTerminated
	default:
		return nil, fmt.Errorf("alipay agreement query %s: status %q: %w", r.AgreementID, a.Status, channel.ErrUnavailable)
	}
	return st, nil
}

// TerminateAgreement asks alipay.user.agreement.unsign.
func (c *Connector) TerminateAgreement(ctx context.Context, r channel.AgreementRequest) error {
	_, resp, err := c.call(ctx, "alipay.user.agreement.unsign", c.agreementRef(r), "", readOnly)
	if err != nil && resp != nil && strings.Contains(resp.SubCode, "AGREEMENT_NOT_EXIST") {
		return fmt.Errorf("alipay agreement unsign %s: %w", r.AgreementID, channel.ErrTradeNotFound)
	}
	return err
}

// withholdingBiz is the biz_content of a withholding alipay.trade.pay.
type withholdingBiz struct {
	tradeBiz
	AgreementParams map[string]string `json:"agreement_params"`
}

// withhold charges a signed agreement (alipay.trade.pay, product_code
// CYCLE_PAY_AUTH or GENERAL_WITHHOLDING, agreement_params). A repeat of
// a paid out_trade_no (ACQ.TRADE_HAS_SUCCESS) is queried: the trade is paid.
func (c *Connector) withhold(ctx context.Context, biz tradeBiz, agreementNo, notifyURL string) (*channel.PayResponse, error) {
	if agreementNo == "" {
		return nil, fmt.Errorf("alipay withholding: no agreement_no: %w", channel.ErrInvalidRequest)
	}
	biz.ProductCode, _ = c.productCodes()
	biz.TimeExpire = ""
	resp, err := c.barcodePay(ctx, withholdingBiz{tradeBiz: biz, AgreementParams: map[string]string{"agreement_no": agreementNo}}, biz, notifyURL)
	var api *APIError
	asAPIError := func(err error, target **APIError) bool { return errors.As(err, target) }
	switch {
	case err == nil:
		return resp, nil
	case asAPIError(err, &api) && (api.SubCode == "ACQ.TRADE_HAS_SUCCESS" || api.SubCode == "ACQ.TRADE_HAS_FINISHED"):
		q, qerr := c.Query(ctx, channel.QueryRequest{OrderID: biz.OutTradeNo})
		if qerr == nil && q.Status.Paid() {
			return &channel.PayResponse{ChannelTradeNo: q.ChannelTradeNo, Status: channel.TradeSuccess}, nil
		}
		return nil, channel.Unknown(err)
	case asAPIError(err, &api):
		if code, ok := agreementDeclines[api.SubCode]; ok {
			return nil, &channel.DeclineError{Code: code, Message: fmt.Sprintf("%s (alipay %s)", api.SubMsg, api.SubCode)}
		}
	}
	return nil, err
}

// AgreementNotify verifies an agreement callback (dut_user_sign,
// dut_user_unsign) as trade callbacks are verified.
func (c *Connector) AgreementNotify(ctx context.Context, r channel.NotifyRequest) (*channel.AgreementNotification, error) {
	params, err := c.verifiedForm(r.Body)
	if err != nil {
		return nil, err
	}
	st := &channel.AgreementState{AgreementID: agreementIDOf(params["external_agreement_no"]), ChannelAgreementNo: params["agreement_no"],
		ChannelPayerID: params["alipay_user_id"]}
	switch params["notify_type"] {
	case "dut_user_sign":
		if params["status"] != "NORMAL" {
			return nil, fmt.Errorf("alipay agreement callback: signing with status %q: %w", params["status"], channel.ErrInvalidRequest)
		}
		st.Status = channel.AgreementActive
		st.SignedAt, _ = parseTime(params["sign_time"])
	case "dut_user_unsign":
		st.Status, st.TerminatedBy = channel.AgreementTerminated, channel.TerminatedByPayer
		st.TerminatedAt, _ = parseTime(params["unsign_time"])
	default:
		return nil, fmt.Errorf("alipay agreement callback: notify_type %q: %w", params["notify_type"], channel.ErrInvalidRequest)
	}
	if st.AgreementID == "" || st.ChannelAgreementNo == "" {
		return nil, fmt.Errorf("alipay agreement callback: no agreement numbers: %w", channel.ErrInvalidRequest)
	}
	return &channel.AgreementNotification{Kind: channel.NotifyAgreement, EventID: params["notify_id"], Agreement: st}, nil
}

// AgreementNotifyReply is "success" or "fail", as for trade callbacks.
func (c *Connector) AgreementNotifyReply(err error) channel.NotifyReply { return c.NotifyReply(err) }

var _ channel.Agreements = (*Connector)(nil)
