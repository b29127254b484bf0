package wechatpay

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/sim"
)

// 委托代扣 (papay), API v2, as the merchant documentation describes it:
//
//	GET  /papay/entrustweb      the payer's signing page (公众号纯签约), MD5-signed query
//	POST /papay/querycontract   查询签约关系, by contract_id or plan_id + contract_code
//	POST /papay/deletecontract  申请解约 (the merchant terminates)
//	POST /pay/pappayapply       申请扣款 (trade_type PAP): accepted, then settled and notified
//	POST /pay/orderquery        查询订单 (shared with micropay): a PAP trade is ACCEPT until settled
//
// Contract notifications (签约/解约结果通知: change_type ADD or DELETE) go to
// the notify_url the signing page was opened with; deduction results
// (扣款结果通知) to the notify_url of pappayapply. Both are v2 XML, signed
// with the API v2 key (MD5), acknowledged with <return_code>SUCCESS</return_code>,
// and retried on their schedules (× RetryScale) until acknowledged.
//
// The simulated merchant has one template, PlanID, whose per-deduction
// limit is PlanMaxAmount fen: a deduction above it is refused with RULELIMIT.
// A payer's balance is unlimited unless set (SetBalance); a deduction above
// it fails (PAYERROR, err_code NOTENOUGH in its notification). A deduction
// on a contract that is not signed is refused with CONTRACT_NOT_EXIST.
//
// Simplified: no pre-deduction notice (预扣费通知) and no 24-hour delay
// after it; no deduction-time window (7:00–22:00); a deduction settles
// DeductDelay × RetryScale after it is accepted; the termination
// notification goes to the signing notify_url (WeChat: the template's
// configured URL); mini-program, app and H5 signing are not served (the
// connector uses the web signing page).

// The simulated 委托代扣 template.
const (
	PlanID        = "12535"
	PlanMaxAmount = 50000 // fen a deduction may take at most
)

// DeductDelay is how long an accepted deduction takes to settle (× RetryScale).
const DeductDelay = 2 * time.Second

// Contract notifications are retried after 0/10/10/10/30/30/30/300/300 s
// (WeChat: up to 30 times); deduction results after 15/15/30/180/1800….
var (
	contractRetries = []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second, 30 * time.Second, 30 * time.Second,
		30 * time.Second, 300 * time.Second, 300 * time.Second}
	deductRetries = []time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second, 180 * time.Second, 1800 * time.Second,
		1800 * time.Second, 1800 * time.Second, 1800 * time.Second, 3600 * time.Second}
)

// Contract states of querycontract.
const (
	contractSigned   = "0"
	contractUnsigned = "1" // never signed, refused, or terminated
	contractSigning  = "9"
)

// contract is a simulated 委托代扣 agreement.
type contract struct {
	Code, ID, PlanID, DisplayAccount, NotifyURL, RequestSerial, OpenID string
	State                                                              string
	TerminationMode, TerminationRemark                                 string
	SignedAt, TerminatedAt                                             time.Time
	Balance                                                            int64 // -1: unlimited
}

var contractCodePattern = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,32}$`)

func (s *Sim) papayRoutes() {
	s.mux.HandleFunc("GET /papay/entrustweb", s.entrustWeb)
	s.mux.Handle("POST /papay/querycontract", s.v2(s.queryContract))
	s.mux.Handle("POST /papay/deletecontract", s.v2(s.deleteContract))
	s.mux.Handle("POST /pay/pappayapply", s.v2(s.papPayApply))
	s.mux.HandleFunc("POST /_sim/contracts/{code}/sign", s.control(func(r *http.Request) error { return s.SignContract(r.PathValue("code")) }))
	s.mux.HandleFunc("POST /_sim/contracts/{code}/refuse", s.control(func(r *http.Request) error { return s.RefuseContract(r.PathValue("code")) }))
	s.mux.HandleFunc("POST /_sim/contracts/{code}/terminate", s.control(func(r *http.Request) error { return s.TerminateContract(r.PathValue("code")) }))
	s.mux.HandleFunc("POST /_sim/contracts/{code}/balance", s.control(func(r *http.Request) error {
		n, err := strconv.ParseInt(r.FormValue("balance"), 10, 64)
		if err != nil {
			return fmt.Errorf("balance must be fen (or -1): %w", channel.ErrInvalidRequest)
		}
		return s.SetBalance(r.PathValue("code"), n)
	}))
}

var signPage = template.Must(template.New("sign").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>微信支付 · 委托代扣签约 (simulator)</title></head>
<body>
{{if .Error}}<h1>微信支付</h1><p>{{.Error}}</p>{{else}}
<h1>开通免密支付</h1>
<p>商户 {{.MchID}} · 模板 {{.PlanID}} · 账户 {{.Account}}</p>
<p>单次扣款上限 ¥{{.Max}}</p>
<form method="post" action="/_sim/contracts/{{.Code}}/sign"><button>同意并签约 (sign)</button></form>
<form method="post" action="/_sim/contracts/{{.Code}}/refuse"><button>取消 (refuse)</button></form>
{{end}}
</body></html>
`))

// entrustWeb serves the signing page of GET /papay/entrustweb: the query is
// checked (its MD5 sign, appid, mch_id, plan_id, a timestamp within five
// minutes) and the contract recorded, waiting for the payer.
func (s *Sim) entrustWeb(w http.ResponseWriter, r *http.Request) {
	q := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			q[k] = vs[0]
		}
	}
	data := struct{ Error, MchID, PlanID, Account, Code, Max string }{MchID: MchID, PlanID: PlanID, Max: fmt.Sprintf("%d.%02d", PlanMaxAmount/100, PlanMaxAmount%100)}
	fail := func(msg string) {
		data.Error = msg
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		signPage.Execute(w, data)
	}
	if m := missing(q, "appid", "mch_id", "plan_id", "contract_code", "request_serial", "contract_display_account", "notify_url", "version", "timestamp", "sign"); m != "" {
		fail("参数错误: 缺少 " + m)
		return
	}
	if !strings.EqualFold(q["sign"], v2Sign(q, apiV2Key, "MD5")) {
		fail("签名错误")
		return
	}
	ts, err := strconv.ParseInt(q["timestamp"], 10, 64)
	switch {
	case q["appid"] != AppID || q["mch_id"] != MchID:
		fail("appid和mch_id不匹配")
		return
	case q["plan_id"] != PlanID:
		fail("模板不存在 (plan_id)")
		return
	case q["version"] != "1.0":
		fail("version 必须为 1.0")
		return
	case err != nil || s.clock.Now().Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute:
		fail("timestamp 已过期")
		return
	case !contractCodePattern.MatchString(q["contract_code"]):
		fail("contract_code 格式错误")
		return
	case strings.HasPrefix(q["request_serial"], "0") || !digitsOnly(q["request_serial"]):
		fail("request_serial 必须为不以0开头的数字")
		return
	}
	if _, err := url.Parse(q["notify_url"]); err != nil {
		fail("notify_url 格式错误")
		return
	}
	s.mu.Lock()
	c := s.contracts[q["contract_code"]]
	switch {
	case c == nil:
		c = &contract{Code: q["contract_code"], PlanID: q["plan_id"], DisplayAccount: q["contract_display_account"], NotifyURL: q["notify_url"],
			RequestSerial: q["request_serial"], State: contractSigning, Balance: -1}
		s.contracts[c.Code] = c
	case c.State == contractSigned:
		s.mu.Unlock()
		fail("该协议号已签约")
		return
	}
	s.mu.Unlock()
	data.Account, data.Code = q["contract_display_account"], q["contract_code"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	signPage.Execute(w, data)
}

func digitsOnly(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// SignContract makes the payer sign the contract whose signing page was
// opened with contract_code code: it gets its contract_id and the ADD
// notification is sent.
func (s *Sim) SignContract(code string) error {
	s.mu.Lock()
	c := s.contracts[code]
	if c == nil || c.State != contractSigning {
		s.mu.Unlock()
		return fmt.Errorf("wechatpay sim: contract %s is not waiting to be signed: %w", code, channel.ErrTradeNotFound)
	}
	c.State, c.SignedAt = contractSigned, s.clock.Now()
	c.ID = s.nextIDLocked("Wx", 12)
	c.OpenID = "oUpF8uMuAJO_M2pxb1Q9zN" + randomHex(3)
	n := s.contractNotificationLocked(c, "ADD")
	s.mu.Unlock()
	s.notify(n)
	return nil
}

// RefuseContract makes the payer leave the signing page without signing:
// nothing is notified, as WeChat notifies only signings.
func (s *Sim) RefuseContract(code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[code]
	if c == nil || c.State != contractSigning {
		return fmt.Errorf("wechatpay sim: contract %s is not waiting to be signed: %w", code, channel.ErrTradeNotFound)
	}
	c.State = contractUnsigned
	return nil
}

// TerminateContract makes the payer end a signed contract in WeChat
// (termination mode 2); the DELETE notification is sent.
func (s *Sim) TerminateContract(code string) error {
	return s.terminate(code, "2", "用户主动解约")
}

func (s *Sim) terminate(code, mode, remark string) error {
	s.mu.Lock()
	c := s.contracts[code]
	if c == nil || c.State != contractSigned {
		s.mu.Unlock()
		return fmt.Errorf("wechatpay sim: contract %s is not signed: %w", code, channel.ErrTradeNotFound)
	}
	c.State, c.TerminatedAt, c.TerminationMode, c.TerminationRemark = contractUnsigned, s.clock.Now(), mode, remark
	n := s.contractNotificationLocked(c, "DELETE")
	s.mu.Unlock()
	s.notify(n)
	return nil
}

// SetBalance leaves the payer of contract code with balance fen (-1: unlimited).
func (s *Sim) SetBalance(code string, balance int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[code]
	if c == nil {
		return fmt.Errorf("wechatpay sim: contract %s: %w", code, channel.ErrTradeNotFound)
	}
	c.Balance = balance
	return nil
}

// ContractDeductions counts the deductions made (paid) on a contract: what
// a test compares with the invoices the gateway charged.
func (s *Sim) ContractDeductions(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[code]
	if c == nil {
		return 0
	}
	n := 0
	for _, t := range s.trades {
		if t.TradeType == "PAP" && t.contractID == c.ID && t.paid() {
			n++
		}
	}
	return n
}

// contractNotificationLocked is the 签约/解约结果通知 (change ADD or DELETE) of c.
func (s *Sim) contractNotificationLocked(c *contract, change string) *notification {
	f := map[string]string{
		"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_id": MchID, "contract_code": c.Code, "openid": c.OpenID,
		"plan_id": c.PlanID, "change_type": change, "operate_time": s.clock.Now().In(cst).Format(time.DateTime),
		"contract_id": c.ID, "request_serial": c.RequestSerial,
		"contract_expired_time": c.SignedAt.In(cst).AddDate(10, 0, 0).Format(time.DateTime),
	}
	if change == "DELETE" {
		f["contract_termination_mode"] = c.TerminationMode
	}
	n := s.v2NotificationLocked(c.NotifyURL, f, "", contractRetries)
	n.outTradeNo = "contract:" + c.Code
	return n
}

func (s *Sim) contractByLocked(p map[string]string) *contract {
	if id := p["contract_id"]; id != "" {
		for _, c := range s.contracts {
			if c.ID == id {
				return c
			}
		}
		return nil
	}
	c := s.contracts[p["contract_code"]]
	if c == nil || c.PlanID != p["plan_id"] {
		return nil
	}
	return c
}

// queryContract serves POST /papay/querycontract.
func (s *Sim) queryContract(r *v2Request) map[string]string {
	p := r.params
	if p["contract_id"] == "" && (p["plan_id"] == "" || p["contract_code"] == "") {
		return bizFail("PARAM_ERROR", "contract_id 或 plan_id+contract_code 必须填一项")
	}
	if p["version"] != "1.0" {
		return bizFail("PARAM_ERROR", "version 必须为 1.0")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contractByLocked(p)
	if c == nil || (c.ID == "" && c.State != contractSigning) {
		return bizFail("CONTRACT_NOT_EXIST", "签约协议不存在")
	}
	out := map[string]string{
		"result_code": "SUCCESS", "contract_id": c.ID, "plan_id": c.PlanID, "request_serial": c.RequestSerial,
		"contract_code": c.Code, "contract_display_account": c.DisplayAccount, "contract_state": c.State, "openid": c.OpenID,
	}
	if !c.SignedAt.IsZero() {
		out["contract_signed_time"] = c.SignedAt.In(cst).Format(time.DateTime)
		out["contract_expired_time"] = c.SignedAt.In(cst).AddDate(10, 0, 0).Format(time.DateTime)
	}
	if !c.TerminatedAt.IsZero() {
		out["contract_terminated_time"] = c.TerminatedAt.In(cst).Format(time.DateTime)
		out["contract_termination_mode"] = c.TerminationMode
		out["contract_termination_remark"] = c.TerminationRemark
	}
	return out
}

// deleteContract serves POST /papay/deletecontract: the merchant ends a
// signed contract (termination mode 3).
func (s *Sim) deleteContract(r *v2Request) map[string]string {
	p := r.params
	if p["contract_id"] == "" && (p["plan_id"] == "" || p["contract_code"] == "") {
		return bizFail("PARAM_ERROR", "contract_id 或 plan_id+contract_code 必须填一项")
	}
	if p["version"] != "1.0" || p["contract_termination_remark"] == "" {
		return bizFail("PARAM_ERROR", "缺少参数 version 或 contract_termination_remark")
	}
	s.mu.Lock()
	c := s.contractByLocked(p)
	if c == nil || c.ID == "" {
		s.mu.Unlock()
		return bizFail("CONTRACT_NOT_EXIST", "签约协议不存在")
	}
	id, code, signed := c.ID, c.Code, c.State == contractSigned
	s.mu.Unlock()
	if signed {
		if err := s.terminate(code, "3", p["contract_termination_remark"]); err != nil && !errors.Is(err, channel.ErrTradeNotFound) {
			return bizFail("SYSTEMERROR", "系统错误")
		}
	}
	return map[string]string{"result_code": "SUCCESS", "contract_id": id}
}

// papPayApply serves POST /pay/pappayapply: the deduction is accepted
// (result_code SUCCESS) and settles later; see the file's comment for the
// refusals.
func (s *Sim) papPayApply(r *v2Request) map[string]string {
	p := r.params
	if m := missing(p, "appid", "mch_id", "nonce_str", "body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type", "contract_id"); m != "" {
		return bizFail("PARAM_ERROR", "缺少参数 "+m)
	}
	if p["appid"] != AppID || p["mch_id"] != MchID {
		return bizFail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	}
	total, err := strconv.ParseInt(p["total_fee"], 10, 64)
	switch {
	case p["trade_type"] != "PAP":
		return bizFail("PARAM_ERROR", "trade_type 必须为 PAP")
	case err != nil || total <= 0:
		return bizFail("PARAM_ERROR", "total_fee 必须为正整数")
	case p["fee_type"] != "" && p["fee_type"] != "CNY":
		return bizFail("PARAM_ERROR", "fee_type 仅支持 CNY")
	case !outTradeNoPattern.MatchString(p["out_trade_no"]):
		return bizFail("PARAM_ERROR", "out_trade_no 格式错误")
	}
	fp := "pap|" + p["contract_id"] + "|" + p["total_fee"]
	s.mu.Lock()
	if t := s.tradeLocked(p["out_trade_no"]); t != nil {
		defer s.mu.Unlock()
		switch {
		case t.fingerprint != fp:
			return bizFail("OUT_TRADE_NO_USED", "商户订单号重复")
		case t.paid():
			return bizFail("ORDERPAID", "订单已支付")
		case t.State == statePayError:
			return bizFail("ORDERCLOSED", "订单已关闭")
		}
		return map[string]string{"result_code": "SUCCESS"} // the same deduction, still settling: accepted once
	}
	var c *contract
	for _, k := range s.contracts {
		if k.ID == p["contract_id"] {
			c = k
		}
	}
	switch {
	case c == nil || c.State != contractSigned:
		s.mu.Unlock()
		return bizFail("CONTRACT_NOT_EXIST", "签约协议不存在")
	case total > PlanMaxAmount:
		s.mu.Unlock()
		return bizFail("RULELIMIT", "交易金额超出签约模板的单次扣款上限")
	}
	t := &trade{OutTradeNo: p["out_trade_no"], TradeType: "PAP", Description: p["body"], Attach: p["attach"], Total: total,
		NotifyURL: p["notify_url"], OpenID: c.OpenID, fingerprint: fp, CreatedAt: s.clock.Now(), contractID: c.ID, v2SignType: p["sign_type"]}
	t.setState(stateAccept)
	s.trades[t.OutTradeNo] = t
	s.mu.Unlock()
	s.later(s.opts.Scaled(DeductDelay), func() { s.settleDeduction(t.OutTradeNo) })
	return map[string]string{"result_code": "SUCCESS"}
}

// settleDeduction settles an accepted deduction: paid, or PAYERROR when the
// payer's balance is short or the contract ended meanwhile; then notifies.
func (s *Sim) settleDeduction(outTradeNo string) {
	s.mu.Lock()
	t := s.trades[outTradeNo]
	if t == nil || t.State != stateAccept {
		s.mu.Unlock()
		return
	}
	var c *contract
	for _, k := range s.contracts {
		if k.ID == t.contractID {
			c = k
		}
	}
	switch {
	case c == nil || c.State != contractSigned:
		t.setState(statePayError)
		t.errCode, t.StateDesc = "CONTRACT_NOT_EXIST", "协议不存在,用户已解约"
	case c.Balance >= 0 && t.Total > c.Balance:
		t.setState(statePayError)
		t.errCode, t.StateDesc = "NOTENOUGH", "余额不足"
	default:
		if c.Balance >= 0 {
			c.Balance -= t.Total
		}
		s.payLocked(t)
	}
	n := s.deductNotificationLocked(t)
	s.mu.Unlock()
	s.notify(n)
}

// deductNotificationLocked is the 扣款结果通知 of a settled PAP trade.
func (s *Sim) deductNotificationLocked(t *trade) *notification {
	f := map[string]string{
		"return_code": "SUCCESS", "appid": AppID, "mch_id": MchID, "nonce_str": randomHex(16), "out_trade_no": t.OutTradeNo,
		"contract_id": t.contractID, "openid": t.OpenID, "is_subscribe": "N", "trade_type": "PAP", "bank_type": "CFT",
		"fee_type": "CNY", "total_fee": strconv.FormatInt(t.Total, 10), "attach": t.Attach,
	}
	if t.paid() {
		f["result_code"], f["transaction_id"], f["time_end"] = "SUCCESS", t.TransactionID, t.PaidAt.In(cst).Format("20060102150405")
		f["cash_fee"] = f["total_fee"]
	} else {
		f["result_code"], f["err_code"], f["err_code_des"] = "FAIL", t.errCode, t.StateDesc
	}
	n := s.v2NotificationLocked(t.NotifyURL, f, t.v2SignType, deductRetries)
	n.outTradeNo, n.payment = t.OutTradeNo, true
	return n
}

// v2NotificationLocked is an API v2 XML notification of fields, signed with
// the v2 key (signType; MD5 when empty).
func (s *Sim) v2NotificationLocked(url string, fields map[string]string, signType string, schedule []time.Duration) *notification {
	if signType == "" {
		signType = "MD5"
	} else {
		fields["sign_type"] = signType
	}
	fields["sign"] = v2Sign(fields, apiV2Key, signType)
	var b bytes.Buffer
	writeXMLTo(&b, fields)
	return &notification{url: url, body: b.Bytes(), v2: true, schedule: schedule}
}

// postV2 posts a v2 notification; true when the answer says SUCCESS.
func (s *Sim) postV2(n *notification) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	if err != nil {
		s.log.Warn("wechatpay sim: notify_url", "url", n.url, "err", err)
		return false
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := s.http.Do(req)
	if err != nil {
		s.log.Info("wechatpay sim: v2 notification failed", "url", n.url, "err", err)
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	fields, err := decodeXML(body)
	return resp.StatusCode/100 == 2 && err == nil && fields["return_code"] == "SUCCESS"
}

// AgreementPayer plays the payer of contract code: sign, refuse or terminate.
func (s *Sim) AgreementPayer(code, action string) error {
	switch action {
	case "sign":
		return s.SignContract(code)
	case "refuse":
		return s.RefuseContract(code)
	case "terminate":
		return s.TerminateContract(code)
	}
	return fmt.Errorf("wechatpay sim: payer action %q: %w", action, channel.ErrInvalidRequest)
}

var _ sim.AgreementSimulator = (*Sim)(nil)
