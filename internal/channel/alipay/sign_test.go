package alipay

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/channel"
)

// Alipay's documentation ("签名" → "自行实现签名") publishes this request and
// the 待签名字符串 built from it: sign dropped, sign_type kept, sorted, raw values.
func TestSignContentPublishedExample(t *testing.T) {
	biz := `{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}`
	params := map[string]string{
		"app_id":      "2014072300007148",
		"method":      "alipay.mobile.public.menu.add",
		"charset":     "GBK",
		"sign_type":   "RSA2",
		"timestamp":   "2014-07-24 03:07:50",
		"biz_content": biz,
		"sign":        "e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsD4FPnt+YGdK57+fP1BCbf9rIVycfjhYCqlFhbTu9pFnZgT55W+xbAFb9y7vL0MyAxwXUXvZtQVqEwW7pURtKilbcBTEW7TAxzgro=",
		"version":     "1.0",
		"notify_url":  "", // empty values are left out
	}
	want := "app_id=2014072300007148&biz_content=" + biz +
		"&charset=GBK&method=alipay.mobile.public.menu.add&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"
	if got := signContent(params, "sign"); got != want {
		t.Fatalf("sign content:\n got %s\nwant %s", got, want)
	}
	// Callbacks are verified without sign_type.
	if got := signContent(params, "sign", "sign_type"); strings.Contains(got, "sign_type") {
		t.Fatalf("callback content keeps sign_type: %s", got)
	}
}

func TestTopLevelRaw(t *testing.T) {
	tests := []struct {
		name, body, key, want string
	}{
		{
			// The precreate answer Alipay's documentation shows (slashes escaped as Alipay sends them).
			name: "published precreate answer",
			body: `{"alipay_trade_precreate_response":{"code":"10000","msg":"Success","out_trade_no":"6141161365682511","qr_code":"https:\/\/qr.alipay.com\/bax03206ug0kulveltqc80a8"},"sign":"VrgnnGgRMNApB1QlNJimiOt5ocGn4a4pbXjdoqjHtnYMWPYGX9AS0ELt8YikVAl6LPfsD7hjSaJoBE="}`,
			key:  "alipay_trade_precreate_response",
			want: `{"code":"10000","msg":"Success","out_trade_no":"6141161365682511","qr_code":"https:\/\/qr.alipay.com\/bax03206ug0kulveltqc80a8"}`,
		},
		{
			name: "escapes, braces in strings, nesting, spacing",
			body: "{ \"sign\" : \"x\" ,\n \"alipay_trade_query_response\" : {\"subject\":\"a \\\"}\\\" \\u4e2d\\u6587 中文 \\\\\",\"list\":[{\"a\":[1,2,{\"b\":\"]\"}]}],\"n\":-1.5e3,\"t\":true,\"z\":null} }",
			key:  "alipay_trade_query_response",
			want: "{\"subject\":\"a \\\"}\\\" \\u4e2d\\u6587 中文 \\\\\",\"list\":[{\"a\":[1,2,{\"b\":\"]\"}]}],\"n\":-1.5e3,\"t\":true,\"z\":null}",
		},
		{
			name: "escaped member name, scalar values",
			body: `{"alipay_cert_sn":"abc","n":12,"error\u005fresponse":{"code":"40002"}}`,
			key:  "error_response",
			want: `{"code":"40002"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := topLevelRaw([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m[tc.key]); got != tc.want {
				t.Fatalf("member %s:\n got %s\nwant %s", tc.key, got, tc.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":"b"`, `"x"`} {
		if _, err := topLevelRaw([]byte(bad)); err == nil {
			t.Errorf("topLevelRaw(%q) = nil error", bad)
		}
	}
}

// A signed answer verifies over its exact bytes, escapes and all; one changed
// byte, an unsigned success and a re-serialised member do not.
func TestVerifyResponse(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{alipayKey: &key.PublicKey}
	member := `{"code":"10000","msg":"Success","qr_code":"https:\/\/qr.alipay.com\/x","subject":"\u6d4b\u8bd5 测试"}`
	sign, err := signRSA2(key, []byte(member))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"alipay_trade_precreate_response":` + member + `,"sign":"` + sign + `"}`
	raw, r, err := c.verifyResponse("alipay.trade.precreate", []byte(body))
	if err != nil || r.Code != "10000" || string(raw) != member {
		t.Fatalf("verify genuine answer: %s, %+v, %v", raw, r, err)
	}
	for name, b := range map[string]string{
		"changed byte":   strings.Replace(body, `qr.alipay`, `qr.alipaz`, 1),
		"unescaped":      strings.ReplaceAll(body, `\/`, `/`),
		"unsigned 10000": `{"alipay_trade_precreate_response":` + member + `}`,
		"other method":   strings.Replace(body, "precreate_response", "query_response", 1),
	} {
		if _, _, err := c.verifyResponse("alipay.trade.precreate", []byte(b)); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	// An unsigned error answer is taken by its code.
	_, r, err = c.verifyResponse("alipay.trade.precreate", []byte(`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"}}`))
	if err != nil || r.SubCode != "isv.invalid-signature" {
		t.Fatalf("unsigned error_response: %+v, %v", r, err)
	}
}

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{1: "0.01", 10: "0.10", 1234: "12.34", 100: "1.00", 10000000000: "100000000.00"} {
		if got, err := yuan(fen); err != nil || got != want {
			t.Errorf("yuan(%d) = %q, %v; want %q", fen, got, err, want)
		}
	}
	for _, fen := range []int64{0, -1, 10000000001} {
		if _, err := yuan(fen); err == nil {
			t.Errorf("yuan(%d) = nil error", fen)
		}
	}
	for s, want := range map[string]int64{"12.34": 1234, "12.3": 1230, "12": 1200, "0.01": 1, "-0.05": -5, " 7.00\t": 700, "0.29": 29, "1.15": 115} {
		if got, err := parseYuan(s); err != nil || got != want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1.234", "1e2", "abc", "1.", ".5", "1,00", "--1", "NaN", "0x10"} {
		if _, err := parseYuan(s); err == nil {
			t.Errorf("parseYuan(%q) = nil error", s)
		}
	}
}

func TestSortAPIError(t *testing.T) {
	tests := []struct {
		code, sub string
		kind      callKind
		want      error
	}{
		{"20000", "isp.unknow-error", movesMoney, channel.ErrUnknownOutcome},
		{"20000", "isp.unknow-error", readOnly, channel.ErrUnavailable},
		{"40004", "ACQ.SYSTEM_ERROR", movesMoney, channel.ErrUnknownOutcome},
		{"40004", "ACQ.SYSTEM_ERROR", readOnly, channel.ErrUnavailable},
		{"40004", "ACQ.TRADE_NOT_EXIST", readOnly, channel.ErrTradeNotFound},
		{"40004", "ACQ.TRADE_HAS_SUCCESS", readOnly, channel.ErrAlreadyPaid},
		{"40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", movesMoney, channel.ErrDeclined},
		{"40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", movesMoney, channel.ErrDeclined},
		{"40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", movesMoney, channel.ErrInvalidRequest},
		{"40001", "isv.missing-app-id", readOnly, channel.ErrInvalidRequest},
		{"40002", "isv.invalid-signature", movesMoney, channel.ErrInvalidRequest},
		{"40006", "isv.insufficient-isv-permissions", movesMoney, channel.ErrInvalidRequest},
	}
	for _, tc := range tests {
		err := sortAPIError("alipay.trade.pay", tc.kind, &response{Code: tc.code, SubCode: tc.sub})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s %s: %v, want %v", tc.code, tc.sub, err, tc.want)
		}
	}
	var d *channel.DeclineError
	if err := sortAPIError("alipay.trade.pay", movesMoney, &response{Code: "40004", SubCode: "ACQ.BUYER_BALANCE_NOT_ENOUGH"}); !errors.As(err, &d) || d.Code != "insufficient_funds" {
		t.Errorf("balance not enough: %v, want decline insufficient_funds", err)
	}
}
