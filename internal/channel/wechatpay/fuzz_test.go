package wechatpay

import (
	"testing"
)

// FuzzTradeBill: WeChat Pay's trade bill (CSV with `-prefixed values)
// parses any bytes without a panic, amounts positive as channel.BillRecord
// promises.
func FuzzTradeBill(f *testing.F) {
	f.Add([]byte("\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
		"`2024-05-01 12:00:00,`wx1,`1900000001,`0,`,`4200000001,`ord_1,`o1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`Tea,`,`0.07,`0.60%,`12.34,`0.00,`\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`12.34,`0.00,`0.00,`0.07,`12.34,`0.00\n"))
	f.Add([]byte(""))
	f.Add([]byte("\"unterminated"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseTradeBill(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Amount < 0 {
				t.Fatalf("negative amount %d in %q", r.Amount, b)
			}
		}
	})
}
