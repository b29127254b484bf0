package wechatpay

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/sim"
)

// authCodePattern is WeChat's payment code: 18 digits starting 10–15.
var authCodePattern = regexp.MustCompile(`^1[0-5][0-9]{16}$`)

// v2Request is a v2 call whose sign checked out.
type v2Request struct {
	*http.Request
	params map[string]string
}

// v2 wraps a v2 (XML) handler: the request's sign (MD5 or HMAC-SHA256),
// faults, and the answer signed the same way. The handler returns the
// business fields (result_code, err_code…).
func (s *Sim) v2(h func(*v2Request) map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeXML(w, http.StatusOK, map[string]string{"return_code": "FAIL", "return_msg": "请求体读取失败"})
			return
		}
		params, err := decodeXML(body)
		if err != nil {
			writeXML(w, http.StatusOK, map[string]string{"return_code": "FAIL", "return_msg": "XML格式错误"})
			return
		}
		signType := params["sign_type"]
		if signType == "" {
			signType = "MD5"
		}
		if signType != "MD5" && signType != "HMAC-SHA256" {
			writeXML(w, http.StatusOK, map[string]string{"return_code": "FAIL", "return_msg": "sign_type 参数错误"})
			return
		}
		if params["sign"] == "" || !strings.EqualFold(params["sign"], v2Sign(params, apiV2Key, signType)) {
			writeXML(w, http.StatusOK, map[string]string{"return_code": "FAIL", "return_msg": "签名错误"})
			return
		}
		fault := s.faults.Take(sim.Fault5xx, sim.FaultTimeout, sim.FaultBadSignature)
		if fault == sim.Fault5xx {
			writeXML(w, http.StatusInternalServerError, map[string]string{"return_code": "FAIL", "return_msg": "SYSTEMERROR"})
			return
		}
		out := h(&v2Request{r, params})
		out["return_code"], out["return_msg"] = "SUCCESS", "OK"
		out["appid"], out["mch_id"], out["nonce_str"] = AppID, MchID, randomHex(16)
		key := apiV2Key
		if fault == sim.FaultBadSignature {
			key = "0000000000" + apiV2Key[10:]
		}
		out["sign"] = v2Sign(out, key, signType)
		if fault == sim.FaultTimeout {
			s.hang(r)
		}
		writeXML(w, http.StatusOK, out)
	})
}

func bizFail(code, des string) map[string]string {
	return map[string]string{"result_code": "FAIL", "err_code": code, "err_code_des": des}
}

// missing names the first required parameter that is empty.
func missing(p map[string]string, names ...string) string {
	for _, n := range names {
		if p[n] == "" {
			return n
		}
	}
	return ""
}

// micropay serves POST /pay/micropay; see the package doc for the auth codes.
func (s *Sim) micropay(r *v2Request) map[string]string {
	p := r.params
	if m := missing(p, "appid", "mch_id", "nonce_str", "body", "out_trade_no", "total_fee", "spbill_create_ip", "auth_code"); m != "" {
		return bizFail("PARAM_ERROR", "缺少参数 "+m)
	}
	if p["appid"] != AppID || p["mch_id"] != MchID {
		return bizFail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	}
	total, err := strconv.ParseInt(p["total_fee"], 10, 64)
	switch {
	case err != nil || total <= 0:
		return bizFail("PARAM_ERROR", "total_fee 必须为正整数")
	case p["fee_type"] != "" && p["fee_type"] != "CNY":
		return bizFail("PARAM_ERROR", "fee_type 仅支持 CNY")
	case !outTradeNoPattern.MatchString(p["out_trade_no"]):
		return bizFail("PARAM_ERROR", "out_trade_no 格式错误")
	case !authCodePattern.MatchString(p["auth_code"]):
		return bizFail("AUTH_CODE_INVALID", "付款码无效,请重新扫码")
	}
	fp := "micropay|" + p["auth_code"] + "|" + p["total_fee"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tradeLocked(p["out_trade_no"]); t != nil {
		switch {
		case t.fingerprint != fp:
			return bizFail("OUT_TRADE_NO_USED", "商户订单号重复")
		case t.paid():
			return bizFail("ORDERPAID", "订单已支付")
		case t.State == stateUserPaying:
			return bizFail("USERPAYING", "需要用户输入支付密码")
		case t.State == statePayError:
			return bizFail("NOTENOUGH", "余额不足")
		case t.State == stateRevoked:
			return bizFail("ORDERREVERSED", "订单已撤销")
		}
		return bizFail("ORDERCLOSED", "订单已关闭")
	}
	t := &trade{
		OutTradeNo: p["out_trade_no"], TradeType: "MICROPAY", Description: p["body"], Attach: p["attach"],
		AuthCode: p["auth_code"], Total: total, fingerprint: fp, CreatedAt: s.clock.Now(),
	}
	s.trades[t.OutTradeNo] = t
	switch p["auth_code"][14:] {
	case "1111":
		t.setState(stateUserPaying)
		return bizFail("USERPAYING", "需要用户输入支付密码")
	case "2222":
		t.setState(statePayError)
		t.StateDesc = "余额不足"
		return bizFail("NOTENOUGH", "余额不足")
	case "3333":
		s.payLocked(t)
		t.recall = true
		return bizFail("SYSTEMERROR", "系统超时")
	}
	s.payLocked(t)
	return map[string]string{
		"result_code": "SUCCESS", "openid": t.OpenID, "is_subscribe": "N", "trade_type": "MICROPAY",
		"bank_type": "OTHERS", "fee_type": "CNY", "total_fee": p["total_fee"], "cash_fee_type": "CNY",
		"cash_fee": p["total_fee"], "transaction_id": t.TransactionID, "out_trade_no": t.OutTradeNo,
		"attach": t.Attach, "time_end": t.PaidAt.In(cst).Format("20060102150405"),
	}
}

// v2TradeLocked finds the trade a v2 call names by out_trade_no or transaction_id.
func (s *Sim) v2TradeLocked(p map[string]string) *trade {
	if no := p["out_trade_no"]; no != "" {
		return s.tradeLocked(no)
	}
	for _, t := range s.trades {
		if t.TransactionID != "" && t.TransactionID == p["transaction_id"] {
			return t
		}
	}
	return nil
}

// reverse serves POST /secapi/pay/reverse: the trade ends REVOKED (a paid
// one is refunded in full). Production needs mutual TLS; the simulator not.
func (s *Sim) reverse(r *v2Request) map[string]string {
	p := r.params
	if m := missing(p, "appid", "mch_id", "nonce_str"); m != "" {
		return bizFail("PARAM_ERROR", "缺少参数 "+m)
	}
	if p["out_trade_no"] == "" && p["transaction_id"] == "" {
		return bizFail("PARAM_ERROR", "out_trade_no 和 transaction_id 必须二选一")
	}
	if p["appid"] != AppID || p["mch_id"] != MchID {
		return bizFail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.v2TradeLocked(p)
	var out map[string]string
	switch {
	case t == nil:
		out = bizFail("ORDERNOTEXIST", "订单不存在")
	case t.recall:
		t.recall = false
		out = bizFail("SYSTEMERROR", "系统超时,请再次调用撤销")
		out["recall"] = "Y"
		return out
	case t.State == stateRefund:
		out = bizFail("TRADE_ERROR", "订单已发生退款,不能撤销")
	default:
		t.setState(stateRevoked)
		out = map[string]string{"result_code": "SUCCESS"}
	}
	out["recall"] = "N"
	return out
}

// orderQuery serves POST /pay/orderquery (v2).
func (s *Sim) orderQuery(r *v2Request) map[string]string {
	p := r.params
	if p["out_trade_no"] == "" && p["transaction_id"] == "" {
		return bizFail("PARAM_ERROR", "out_trade_no 和 transaction_id 必须二选一")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.v2TradeLocked(p)
	if t == nil {
		return bizFail("ORDERNOTEXIST", "此交易订单号不存在")
	}
	out := map[string]string{
		"result_code": "SUCCESS", "trade_state": t.State, "trade_state_desc": t.StateDesc, "out_trade_no": t.OutTradeNo,
		"transaction_id": t.TransactionID, "trade_type": t.TradeType, "total_fee": strconv.FormatInt(t.Total, 10),
		"fee_type": "CNY", "attach": t.Attach, "openid": t.OpenID, "contract_id": t.contractID,
	}
	if !t.PaidAt.IsZero() {
		out["time_end"] = t.PaidAt.In(cst).Format("20060102150405")
		out["cash_fee"] = out["total_fee"]
	}
	return out
}

// writeXML writes a flat v2 document, fields in name order.
func writeXML(w http.ResponseWriter, status int, fields map[string]string) {
	var b bytes.Buffer
	writeXMLTo(&b, fields)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// writeXMLTo renders a flat v2 document into b, fields in name order.
func writeXMLTo(b *bytes.Buffer, fields map[string]string) {
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	b.WriteString("<xml>")
	for _, k := range names {
		b.WriteString("<" + k + "><![CDATA[" + strings.ReplaceAll(fields[k], "]]>", "]]]]><![CDATA[>") + "]]></" + k + ">")
	}
	b.WriteString("</xml>")
}

// decodeXML reads a flat v2 document into its fields.
func decodeXML(data []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	fields := map[string]string{}
	var path []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(path) == 2 {
				fields[path[1]] = text.String()
			}
			path = path[:len(path)-1]
		}
	}
	if len(fields) == 0 {
		return nil, errors.New("empty document")
	}
	return fields, nil
}
