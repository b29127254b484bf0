package alipay

import (
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/sim"
)

// 商家扣款 (merchant-initiated withholding) as Alipay's open platform
// documents it:
//
//   - alipay.user.agreement.page.sign: a signed GET of /gateway.do the
//     payer's browser brings, opening the signing page (personal_product_code,
//     sign_scene, external_agreement_no, access_params, and, for
//     CYCLE_PAY_AUTH_P, period_rule_params with its single_amount);
//   - alipay.user.agreement.query (by agreement_no, or personal_product_code
//     + sign_scene + external_agreement_no) and alipay.user.agreement.unsign;
//   - alipay.trade.pay with product_code GENERAL_WITHHOLDING or CYCLE_PAY_AUTH
//     and agreement_params.agreement_no: charged at once, without the payer;
//   - callbacks to the signing's notify_url: notify_type dut_user_sign
//     (status NORMAL) and dut_user_unsign (status UNSIGN), form posts signed
//     as trade callbacks are, retried until the answer is "success".
//
// Refusals of a withholding charge: ACQ.AGREEMENT_NOT_EXIST (unknown or
// unsigned agreement), ACQ.AGREEMENT_STATUS_NOT_NORMAL (terminated),
// ACQ.CYCLE_PAY_SINGLE_FEE_EXCEED (above the period rule's single_amount),
// ACQ.BUYER_BALANCE_NOT_ENOUGH (the payer's balance, set by SetBalance), and
// ACQ.TRADE_HAS_SUCCESS for an out_trade_no already paid.
//
// Simplified: the signing page is this simulator's (Alipay's asks for the
// payer's password); a query of an agreement that is not signed answers
// USER_AGREEMENT_NOT_EXIST (the sub_code is the simulator's; Alipay's is
// not published for this call); the period rule's dates (execute_time,
// CYCLE_PAY_DATE_NOT_MATCH) are not enforced.

// agreement states.
const (
	agreementTemp   = "TEMP"   // waiting for the payer
	agreementNormal = "NORMAL" // signed
	agreementUnsign = "UNSIGN" // terminated
)

type agreement struct {
	externalNo, agreementNo, productCode, personalProductCode, signScene string
	status, notifyURL, userID                                            string
	singleAmount                                                         int64 // 0: no limit
	balance                                                              int64 // -1: unlimited
	signTime, unsignTime                                                 time.Time
}

var signPage = template.Must(template.New("sign").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>支付宝 · 签约 (simulator)</title></head>
<body>
{{if .Error}}<h1>支付宝</h1><p>{{.Error}}</p>{{else}}
<h1>开通商家扣款</h1>
<p>{{.Product}} · {{.Scene}} · 协议号 {{.External}}</p>
{{if .Single}}<p>单笔最高 ¥{{.Single}}</p>{{end}}
<form method="post" action="/_sim/agreements/{{.External}}/sign"><button>同意协议并开通 (sign)</button></form>
<form method="post" action="/_sim/agreements/{{.External}}/refuse"><button>取消 (refuse)</button></form>
{{end}}
</body></html>
`))

// serveSignPage is the payer's landing page of alipay.user.agreement.page.sign.
func (s *Sim) serveSignPage(w http.ResponseWriter, req *request, e *apiError) {
	data := struct{ Error, Product, Scene, External, Single string }{}
	var a *agreement
	if e == nil {
		a, e = s.startAgreement(req)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if e != nil {
		data.Error = fmt.Sprintf("错误代码 %s %s: %s", e.Code, e.SubCode, e.SubMsg)
		w.WriteHeader(http.StatusBadRequest)
	} else {
		data.Product, data.Scene, data.External = a.personalProductCode, a.signScene, a.externalNo
		if a.singleAmount > 0 {
			data.Single = yuan(a.singleAmount)
		}
	}
	_ = signPage.Execute(w, data)
}

// startAgreement records the agreement a signing page was opened for.
func (s *Sim) startAgreement(req *request) (*agreement, *apiError) {
	pc := req.str("personal_product_code")
	if pc == "" {
		return nil, missing("personal_product_code")
	}
	if pc != "GENERAL_WITHHOLDING_P" && pc != "CYCLE_PAY_AUTH_P" {
		return nil, business("INVALID_PARAMETER", "personal_product_code 无效")
	}
	ext := req.str("external_agreement_no")
	scene := req.str("sign_scene")
	if ext == "" || len(ext) > 32 || !alnum(ext) {
		return nil, business("INVALID_PARAMETER", "external_agreement_no 为最长32位的字母和数字")
	}
	if scene == "" || scene == "DEFAULT|DEFAULT" {
		return nil, business("INVALID_PARAMETER", "传入 external_agreement_no 时 sign_scene 必填且不能为 DEFAULT|DEFAULT")
	}
	access, _ := req.biz["access_params"].(map[string]any)
	if ch, _ := access["channel"].(string); ch == "" {
		return nil, missing("access_params")
	}
	a := &agreement{externalNo: ext, productCode: req.str("product_code"), personalProductCode: pc, signScene: scene,
		status: agreementTemp, notifyURL: req.notifyURL, balance: -1}
	if pc == "CYCLE_PAY_AUTH_P" {
		rule, _ := req.biz["period_rule_params"].(map[string]any)
		single, _ := rule["single_amount"].(json.Number)
		pt, _ := rule["period_type"].(string)
		if rule == nil || (pt != "DAY" && pt != "MONTH") {
			return nil, business("INVALID_PARAMETER", "period_rule_params 必填: period_type 为 DAY 或 MONTH")
		}
		if n, ok := parseYuan(single.String()); ok {
			a.singleAmount = n
		} else if s, _ := rule["single_amount"].(string); s != "" {
			if n, ok := parseYuan(s); ok {
				a.singleAmount = n
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.agreements[ext]; cur != nil && cur.status == agreementNormal {
		return nil, business("AGREEMENT_HAS_EXISTED", "协议已存在")
	}
	s.agreements[ext] = a
	return a, nil
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// SignAgreement makes the payer sign the agreement whose signing page was
// opened with external_agreement_no ext: it gets its agreement_no, and
// dut_user_sign (NORMAL) is posted.
func (s *Sim) SignAgreement(ext string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreements[ext]
	if a == nil || a.status != agreementTemp {
		return fmt.Errorf("alipay sim: agreement %s is not waiting to be signed: %w", ext, channel.ErrTradeNotFound)
	}
	s.seq++
	a.status, a.signTime = agreementNormal, s.clock.Now()
	a.agreementNo = s.clock.Now().In(cst).Format("20060102") + fmt.Sprintf("%012d", s.seq)
	a.userID = "2088" + fmt.Sprintf("%012d", 100000+s.seq)
	s.notifyAgreementLocked(a, "dut_user_sign")
	return nil
}

// RefuseAgreement makes the payer leave the signing page: nothing is posted.
func (s *Sim) RefuseAgreement(ext string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreements[ext]
	if a == nil || a.status != agreementTemp {
		return fmt.Errorf("alipay sim: agreement %s is not waiting to be signed: %w", ext, channel.ErrTradeNotFound)
	}
	delete(s.agreements, ext)
	return nil
}

// TerminateAgreement makes the payer end a signed agreement in Alipay;
// dut_user_unsign (UNSIGN) is posted.
func (s *Sim) TerminateAgreement(ext string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreements[ext]
	if a == nil || a.status != agreementNormal {
		return fmt.Errorf("alipay sim: agreement %s is not signed: %w", ext, channel.ErrTradeNotFound)
	}
	a.status, a.unsignTime = agreementUnsign, s.clock.Now()
	s.notifyAgreementLocked(a, "dut_user_unsign")
	return nil
}

// SetBalance leaves the payer of agreement ext with balance fen (-1: unlimited).
func (s *Sim) SetBalance(ext string, balance int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreements[ext]
	if a == nil {
		return fmt.Errorf("alipay sim: agreement %s: %w", ext, channel.ErrTradeNotFound)
	}
	a.balance = balance
	return nil
}

// AgreementCharges counts the paid withholding trades of agreement ext.
func (s *Sim) AgreementCharges(ext string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreements[ext]
	if a == nil {
		return 0
	}
	n := 0
	for _, t := range s.trades {
		if t.kind == kindWithholding && t.agreementNo == a.agreementNo && t.exists && (t.status == tradeSuccess || t.status == tradeFinished) {
			n++
		}
	}
	return n
}

// agreementLocked finds an agreement by agreement_no, or by external_agreement_no.
func (s *Sim) agreementLocked(agreementNo, ext string) *agreement {
	if agreementNo != "" {
		for _, a := range s.agreements {
			if a.agreementNo == agreementNo {
				return a
			}
		}
		return nil
	}
	return s.agreements[ext]
}

// agreementView is an agreement as query answers it.
func (a *agreement) view() map[string]any {
	out := map[string]any{
		"agreement_no": a.agreementNo, "external_agreement_no": a.externalNo, "personal_product_code": a.personalProductCode,
		"sign_scene": a.signScene, "status": a.status, "alipay_logon_id": "159****5620", "principal_id": a.userID,
		"third_party_type": "PARTNER",
	}
	if !a.signTime.IsZero() {
		out["sign_time"] = a.signTime.In(cst).Format(timeLayout)
		out["valid_time"] = out["sign_time"]
		out["invalid_time"] = a.signTime.In(cst).AddDate(100, 0, 0).Format(timeLayout)
	}
	return out
}

// agreementQuery serves alipay.user.agreement.query.
func (s *Sim) agreementQuery(req *request) (map[string]any, *apiError) {
	no, ext := req.str("agreement_no"), req.str("external_agreement_no")
	if no == "" && (ext == "" || req.str("personal_product_code") == "") {
		return nil, missing("agreement_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreementLocked(no, ext)
	if a == nil || a.status == agreementTemp {
		return nil, business("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")
	}
	return a.view(), nil
}

// agreementUnsign serves alipay.user.agreement.unsign: the merchant ends the
// agreement; dut_user_unsign is posted as for the payer's.
func (s *Sim) agreementUnsign(req *request) (map[string]any, *apiError) {
	no, ext := req.str("agreement_no"), req.str("external_agreement_no")
	if no == "" && ext == "" {
		return nil, missing("agreement_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreementLocked(no, ext)
	if a == nil || a.status != agreementNormal {
		return nil, business("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")
	}
	a.status, a.unsignTime = agreementUnsign, s.clock.Now()
	s.notifyAgreementLocked(a, "dut_user_unsign")
	return map[string]any{}, nil
}

// withholdingPay serves alipay.trade.pay with agreement_params: the
// charge is made at once, without the payer.
func (s *Sim) withholdingPay(req *request) (map[string]any, *apiError) {
	no, total, e := orderFields(req)
	if e != nil {
		return nil, e
	}
	params, _ := req.biz["agreement_params"].(map[string]any)
	agreementNo, _ := params["agreement_no"].(string)
	if agreementNo == "" {
		return nil, business("ACQ.AUTH_TOKEN_IS_NOT_EXIST", "支付授权码为空: agreement_params.agreement_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[no]; t != nil && t.exists {
		if _, e := existingOrder(t, total, req.str("subject")); e != nil {
			return nil, e
		}
	}
	a := s.agreementLocked(agreementNo, "")
	switch {
	case a == nil:
		return nil, business("ACQ.AGREEMENT_NOT_EXIST", "用户协议不存在或已解约")
	case a.status != agreementNormal:
		return nil, business("ACQ.AGREEMENT_STATUS_NOT_NORMAL", "用户协议状态非NORMAL")
	case a.singleAmount > 0 && total > a.singleAmount:
		return nil, business("ACQ.CYCLE_PAY_SINGLE_FEE_EXCEED", "商家扣款的单笔金额超过签约时限制")
	case a.balance >= 0 && total > a.balance:
		return nil, business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
	}
	if a.balance >= 0 {
		a.balance -= total
	}
	t := &trade{outTradeNo: no, tradeNo: s.newTradeNo(), kind: kindWithholding, status: waitBuyerPay, exists: true, total: total,
		subject: req.str("subject"), notifyURL: req.notifyURL, createdAt: s.clock.Now(), buyerID: a.userID, agreementNo: a.agreementNo}
	s.trades[no] = t
	s.markPaid(t)
	return s.barcodeAnswer(t, "10000", "Success"), nil
}

// notifyAgreementLocked posts an agreement callback (dut_user_sign or
// dut_user_unsign) to the signing's notify_url. The caller holds s.mu.
func (s *Sim) notifyAgreementLocked(a *agreement, notifyType string) {
	if a.notifyURL == "" || s.closed() || s.takeFault(sim.FaultDropNotify) {
		return
	}
	p := map[string]string{
		"notify_type": notifyType, "notify_id": randomHex(16), "app_id": AppID, "auth_app_id": AppID, "charset": "utf-8", "version": "1.0",
		"sign_type": "RSA2", "agreement_no": a.agreementNo, "external_agreement_no": a.externalNo, "personal_product_code": a.personalProductCode,
		"sign_scene": a.signScene, "alipay_user_id": a.userID, "alipay_logon_id": "159****5620", "status": a.status,
	}
	if notifyType == "dut_user_sign" {
		p["sign_time"] = a.signTime.In(cst).Format(timeLayout)
	} else {
		p["unsign_time"] = a.unsignTime.In(cst).Format(timeLayout)
	}
	n := &notification{url: a.notifyURL, outTradeNo: "agreement:" + a.externalNo, params: maps.Clone(p)}
	n.badSign = s.takeFault(sim.FaultBadSignature)
	s.wg.Add(1)
	go s.deliver(n, nil)
}

// serveAgreementControl is the /_sim/agreements/{external_agreement_no}/{sign,refuse,terminate,balance} API.
func (s *Sim) serveAgreementControl(w http.ResponseWriter, r *http.Request, path string) {
	ext, action, ok := strings.Cut(strings.TrimPrefix(path, "agreements/"), "/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var err error
	switch action {
	case "sign":
		err = s.SignAgreement(ext)
	case "refuse":
		err = s.RefuseAgreement(ext)
	case "terminate":
		err = s.TerminateAgreement(ext)
	case "balance":
		var n int64
		if n, err = strconv.ParseInt(r.FormValue("balance"), 10, 64); err == nil {
			err = s.SetBalance(ext, n)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// AgreementPayer plays the payer of the agreement whose
// external_agreement_no is code (or the gateway's agreement id it came
// from, "_" and all): sign, refuse or terminate.
func (s *Sim) AgreementPayer(code, action string) error {
	ext := strings.Replace(code, "_", "", 1)
	switch action {
	case "sign":
		return s.SignAgreement(ext)
	case "refuse":
		return s.RefuseAgreement(ext)
	case "terminate":
		return s.TerminateAgreement(ext)
	}
	return fmt.Errorf("alipay sim: payer action %q: %w", action, channel.ErrInvalidRequest)
}

var _ sim.AgreementSimulator = (*Sim)(nil)
