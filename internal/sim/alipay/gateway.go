package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/sim"
)

// timestampWindow is how far a request's timestamp may be from the clock.
const timestampWindow = 30 * time.Minute

// apiError is an answer other than 10000: a code, msg, sub_code and sub_msg.
type apiError struct {
	Code, Msg, SubCode, SubMsg string
}

// Alipay's public codes and their msg texts.
func missing(field string) *apiError {
	return &apiError{"40001", "Missing Required Arguments", "isv.missing-" + strings.ReplaceAll(field, "_", "-"), "缺少必选参数 " + field}
}

func invalid(subCode, subMsg string) *apiError {
	return &apiError{"40002", "Invalid Arguments", subCode, subMsg}
}

func business(subCode, subMsg string) *apiError {
	return &apiError{"40004", "Business Failed", subCode, subMsg}
}

var errUnknown = &apiError{"20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"}

// serverMethods are the calls a merchant server makes; pageMethods the ones
// a payer's browser brings.
var (
	serverMethods = map[string]bool{
		"alipay.trade.precreate":                         true,
		"alipay.trade.pay":                               true,
		"alipay.trade.query":                             true,
		"alipay.trade.close":                             true,
		"alipay.trade.cancel":                            true,
		"alipay.trade.refund":                            true,
		"alipay.trade.fastpay.refund.query":              true,
		"alipay.data.dataservice.bill.downloadurl.query": true,
		"alipay.trade.app.pay":                           true, // standing in for the Alipay app
		"alipay.user.agreement.query":                    true,
		"alipay.user.agreement.unsign":                   true,
		"alipay.fund.trans.uni.transfer":                 true,
		"alipay.fund.trans.common.query":                 true,
		"alipay.trade.royalty.relation.bind":             true,
		"alipay.trade.order.settle":                      true,
		"alipay.trade.order.settle.query":                true,
	}
	// signMethod is the agreement signing a payer's browser brings.
	signMethod  = "alipay.user.agreement.page.sign"
	pageMethods = map[string]string{
		"alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
		"alipay.trade.wap.pay":  "QUICK_WAP_WAY",
	}
)

// request is a verified call.
type request struct {
	method    string
	params    map[string]string
	biz       map[string]any
	notifyURL string
	returnURL string
	base      string // this simulator's URL as the caller reached it
}

// str returns a biz_content string field ("" when absent or not a string).
func (r *request) str(k string) string {
	s, _ := r.biz[k].(string)
	return strings.TrimSpace(s)
}

// verify checks the common parameters and the signature. unsigned is true
// for errors found before the app is known (answered as an unsigned
// error_response).
func (s *Sim) verify(r *http.Request) (req *request, e *apiError, unsigned bool) {
	if err := r.ParseForm(); err != nil {
		return &request{base: baseURL(r)}, invalid("isv.invalid-parameter", "请求参数无法解析"), true
	}
	p := map[string]string{}
	for k, vs := range r.Form {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	req = &request{method: p["method"], params: p, notifyURL: p["notify_url"], returnURL: p["return_url"], base: baseURL(r)}
	switch {
	case req.method == "":
		return req, missing("method"), true
	case !serverMethods[req.method] && pageMethods[req.method] == "" && req.method != signMethod:
		return req, invalid("isv.invalid-method", "不存在的方法名"), true
	case p["app_id"] == "":
		return req, missing("app_id"), true
	case p["app_id"] != AppID:
		return req, invalid("isv.invalid-app-id", "无效的AppID参数"), true
	}
	if f := p["format"]; f != "" && !strings.EqualFold(f, "JSON") {
		return req, invalid("isv.invalid-format", "无效的数据格式参数"), false
	}
	if cs := p["charset"]; cs == "" {
		return req, missing("charset"), false
	} else if !strings.EqualFold(cs, "utf-8") {
		return req, invalid("isv.invalid-charset", "字符集错误: the simulator takes utf-8"), false
	}
	switch {
	case p["sign_type"] == "":
		return req, &apiError{"40001", "Missing Required Arguments", "isv.missing-signature-type", "缺少签名类型参数"}, false
	case p["sign_type"] != "RSA2":
		return req, invalid("isv.invalid-signature-type", "无效的签名类型参数"), false
	case p["sign"] == "":
		return req, &apiError{"40001", "Missing Required Arguments", "isv.missing-signature", "缺少签名参数"}, false
	case p["timestamp"] == "":
		return req, missing("timestamp"), false
	case p["version"] == "":
		return req, missing("version"), false
	case p["version"] != "1.0":
		return req, invalid("isv.invalid-parameter", "version must be 1.0"), false
	}
	ts, err := time.ParseInLocation(timeLayout, p["timestamp"], cst)
	if err != nil {
		return req, invalid("isv.invalid-timestamp", "非法的时间戳参数"), false
	}
	if d := s.clock.Now().Sub(ts); d > timestampWindow || d < -timestampWindow {
		return req, invalid("isv.invalid-timestamp", "非法的时间戳参数: more than 30 minutes from the gateway's time"), false
	}
	signed := content(p, "sign")
	if !verifyRSA2(&appKey.PublicKey, signed, p["sign"]) {
		return req, invalid("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+signed), false
	}
	if p["biz_content"] == "" {
		return req, missing("biz_content"), false
	}
	dec := json.NewDecoder(strings.NewReader(p["biz_content"]))
	dec.UseNumber()
	if err := dec.Decode(&req.biz); err != nil || req.biz == nil {
		return req, invalid("isv.invalid-parameter", "biz_content 不是 JSON 对象"), false
	}
	return req, nil, false
}

// serveGateway answers /gateway.do.
func (s *Sim) serveGateway(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, e, unsigned := s.verify(r)
	if req.method == signMethod {
		s.serveSignPage(w, req, e)
		return
	}
	if product := pageMethods[req.method]; product != "" {
		s.serveCashier(w, req, e, product)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "server methods are POST", http.StatusMethodNotAllowed)
		return
	}
	if e != nil {
		s.writeAnswer(w, req.method, nil, e, unsigned, false)
		return
	}

	s.mu.Lock()
	fail5xx := s.takeFault(sim.Fault5xx)
	hang := !fail5xx && s.takeFault(sim.FaultTimeout)
	badSign := !fail5xx && s.takeFault(sim.FaultBadSignature)
	s.mu.Unlock()
	if fail5xx {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"%s_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}}`, strings.ReplaceAll(req.method, ".", "_"))
		return
	}

	out, e := s.dispatch(req)
	if hang {
		select {
		case <-r.Context().Done():
		case <-time.After(s.opts.Hang):
		case <-s.stop:
		}
	}
	s.writeAnswer(w, req.method, out, e, false, badSign)
}

// dispatch runs a verified call.
func (s *Sim) dispatch(req *request) (map[string]any, *apiError) {
	switch req.method {
	case "alipay.trade.precreate":
		return s.precreate(req)
	case "alipay.trade.pay":
		if pc := req.str("product_code"); pc == "GENERAL_WITHHOLDING" || pc == "CYCLE_PAY_AUTH" || req.biz["agreement_params"] != nil {
			return s.withholdingPay(req)
		}
		return s.barcodePay(req)
	case "alipay.user.agreement.query":
		return s.agreementQuery(req)
	case "alipay.user.agreement.unsign":
		return s.agreementUnsign(req)
	case "alipay.trade.app.pay":
		return s.appPay(req)
	case "alipay.trade.query":
		return s.query(req)
	case "alipay.trade.close":
		return s.closeTrade(req)
	case "alipay.trade.cancel":
		return s.cancel(req)
	case "alipay.trade.refund":
		return s.refund(req)
	case "alipay.trade.fastpay.refund.query":
		return s.refundQuery(req)
	case "alipay.data.dataservice.bill.downloadurl.query":
		return s.billURL(req)
	case "alipay.fund.trans.uni.transfer":
		return s.uniTransfer(req)
	case "alipay.fund.trans.common.query":
		return s.transferQuery(req)
	case "alipay.trade.royalty.relation.bind":
		return s.royaltyBind(req)
	case "alipay.trade.order.settle":
		return s.orderSettle(req)
	case "alipay.trade.order.settle.query":
		return s.orderSettleQuery(req)
	}
	return nil, invalid("isv.invalid-method", "不存在的方法名")
}

// encodeMember renders a response member as Alipay does: compact JSON with
// "/" escaped as "\/" (only strings contain slashes in JSON).
func encodeMember(v map[string]any) []byte {
	b, _ := json.Marshal(v)
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
}

// writeAnswer writes {"<method>_response":{…},"sign":"…"} (or an unsigned
// error_response). Answers are HTTP 200 whatever their code.
func (s *Sim) writeAnswer(w http.ResponseWriter, method string, out map[string]any, e *apiError, unsigned, badSign bool) {
	if out == nil {
		out = map[string]any{}
	}
	if e != nil {
		out["code"], out["msg"], out["sub_code"], out["sub_msg"] = e.Code, e.Msg, e.SubCode, e.SubMsg
	} else if out["code"] == nil {
		out["code"], out["msg"] = "10000", "Success"
	}
	member := encodeMember(out)
	var body bytes.Buffer
	if unsigned {
		body.WriteString(`{"error_response":`)
		body.Write(member)
		body.WriteString(`}`)
	} else {
		key := alipayKey
		if badSign {
			key = wrongKey
		}
		sign, err := signRSA2(key, string(member))
		if err != nil {
			http.Error(w, "sign: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(&body, `{"%s_response":%s,"sign":"%s"}`, strings.ReplaceAll(method, ".", "_"), member, sign)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body.Bytes())
}

var cashierPage = template.Must(template.New("cashier").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>支付宝 · 收银台 (simulator)</title></head>
<body>
{{if .Error}}<h1>支付宝</h1><p>{{.Error}}</p>{{else}}
<h1>{{.Subject}}</h1>
<p>订单号 {{.OutTradeNo}} · ¥{{.Amount}}</p>
<form method="post" action="/_sim/trades/{{.OutTradeNo}}/pay"><button>确认付款 (pay)</button></form>
<form method="post" action="/_sim/trades/{{.OutTradeNo}}/fail"><button>取消 (fail)</button></form>
{{if .ReturnURL}}<p><a href="{{.ReturnURL}}">返回商家 (back to the merchant)</a></p>{{end}}
{{end}}
</body></html>
`))

// serveCashier is the payer's landing page for page and wap payments: it
// creates the trade (WAIT_BUYER_PAY) and offers to pay it.
func (s *Sim) serveCashier(w http.ResponseWriter, req *request, e *apiError, product string) {
	data := struct {
		Error, Subject, OutTradeNo, Amount, ReturnURL string
	}{}
	if e == nil {
		if pc := req.str("product_code"); pc != "" && pc != product {
			e = business("ACQ.INVALID_PARAMETER", "product_code must be "+product)
		}
	}
	var t *trade
	if e == nil {
		t, e = s.createWaiting(req, kindPage, true)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if e != nil {
		data.Error = fmt.Sprintf("错误代码 %s %s: %s", e.Code, e.SubCode, e.SubMsg)
		w.WriteHeader(http.StatusBadRequest)
	} else {
		s.mu.Lock()
		data.Subject, data.OutTradeNo, data.Amount, data.ReturnURL = t.subject, t.outTradeNo, yuan(t.total), req.returnURL
		s.mu.Unlock()
	}
	_ = cashierPage.Execute(w, data)
}
