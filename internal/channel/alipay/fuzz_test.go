package alipay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/url"
	"testing"

	"github.com/paygate/paygate/internal/channel"
)

// FuzzNotify feeds Alipay callbacks to Notify twice: as sent (a changed
// body must never pass: only what the key signed verifies) and re-signed
// with the Alipay key (a valid signature over mutated content must be read
// without a panic, or refused with an error).
func FuzzNotify(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	c := &Connector{appID: "2021000000000001", alipayKey: &key.PublicKey}
	sign := func(params map[string]string) string {
		delete(params, "sign")
		s, err := signRSA2(key, []byte(signContent(params, "sign", "sign_type")))
		if err != nil {
			f.Fatal(err)
		}
		form := url.Values{}
		for k, v := range params {
			form.Set(k, v)
		}
		form.Set("sign", s)
		return form.Encode()
	}
	seed := map[string]string{"app_id": c.appID, "notify_id": "n1", "notify_type": "trade_status_sync", "out_trade_no": "ord_01J0000000000000000000000A",
		"trade_no": "2024050122001", "trade_status": "TRADE_SUCCESS", "total_amount": "12.34", "gmt_payment": "2024-05-01 12:00:00",
		"notify_time": "2024-05-01 12:00:01", "sign_type": "RSA2", "charset": "utf-8"}
	genuine := sign(seed)
	f.Add(genuine)
	seed["trade_status"], seed["refund_fee"] = "TRADE_CLOSED", "12.34"
	f.Add(sign(seed))
	f.Add("sign=x&app_id=1")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		ctx := context.Background()
		if _, err := c.Notify(ctx, channel.NotifyRequest{Body: []byte(body)}); err == nil {
			// Accepted as sent: its signed content must be one the key signed.
			form, _ := url.ParseQuery(body)
			p := map[string]string{}
			for k, v := range form {
				p[k] = v[0]
			}
			if verifyRSA2(&key.PublicKey, []byte(signContent(p, "sign", "sign_type")), p["sign"]) != nil {
				t.Fatalf("accepted a callback whose signature does not verify: %q", body)
			}
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		p := map[string]string{}
		for k, v := range form {
			p[k] = v[len(v)-1]
		}
		p["app_id"] = c.appID
		n, err := c.Notify(ctx, channel.NotifyRequest{Body: []byte(sign(p))})
		if err != nil {
			if errors.Is(err, channel.ErrBadSignature) && p["sign_type"] == "RSA2" {
				t.Fatalf("a re-signed callback refused as badly signed: %v", err)
			}
			return
		}
		if n.Amount < 0 || n.RefundAmount < 0 {
			t.Fatalf("negative amount read from %v: %+v", p, n)
		}
	})
}

// FuzzBill: the bill parsers (the GBK zip and the CSV inside) read any
// bytes without a panic, and what they return has sane amounts.
func FuzzBill(f *testing.F) {
	f.Add([]byte("#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n2024050122001\t,ord_1\t,交易,Tea,2024-05-01 12:00:00,2024-05-01 12:00:01,,,,,a***@b.com,12.34,12.34,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.07,0.00,\n#业务明细列表结束\n"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		fromZip, _ := parseBillZip(b)
		recs, _ := parseBillCSV(b)
		for _, r := range append(recs, fromZip...) {
			if r.Amount < 0 {
				t.Fatalf("negative amount %d in %q", r.Amount, b)
			}
		}
	})
}
