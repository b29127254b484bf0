package wechatpay

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
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

// FuzzNotify feeds WeChat Pay v3 callbacks to Notify. Each input is an
// envelope, a resource plaintext and an event type, tried four ways:
//
//   - the envelope under the headers of another (genuine) body, and with no
//     signature at all: never accepted, unless it is that genuine body;
//   - the envelope signed with the test platform key: the envelope's parsing
//     behind the signature check is fuzzed;
//   - the plaintext encrypted with the APIv3 key into a well-formed envelope
//     of the event type, signed: the decryption and the reading of the
//     transaction or refund behind it are fuzzed.
//
// None may panic, and what is accepted reads as a payment or a refund of
// the connector's merchant with amounts that are not negative.
func FuzzNotify(f *testing.F) {
	// 1024 bits, not WeChat's 2048: the same code paths, and each input
	// costs six signatures and checks, so a smaller key explores more.
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	c := &Connector{mchID: "1900000001", platformSerial: "PUB_KEY_ID_0000000001", platformKey: &key.PublicKey,
		apiV3Key: []byte("0123456789abcdef0123456789abcdef"), clock: clock.Real{}}
	sign := func(body []byte) http.Header {
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "NONCE0123456789"
		sig, err := SignSHA256RSA(key, SigningMessage(ts, nonce, string(body)))
		if err != nil {
			f.Fatal(err)
		}
		h := http.Header{}
		h.Set(headerTimestamp, ts)
		h.Set(headerNonce, nonce)
		h.Set(headerSignature, sig)
		h.Set(headerSerial, c.platformSerial)
		return h
	}
	envelope := func(event, associated string, plain []byte) []byte {
		block, _ := aes.NewCipher(c.apiV3Key)
		gcm, _ := cipher.NewGCMWithNonceSize(block, 12)
		const nonce = "fuzznonce123"
		ct := gcm.Seal(nil, []byte(nonce), plain, []byte(associated))
		b, _ := json.Marshal(map[string]any{"id": "EV-0001", "create_time": "2024-05-01T12:00:01+08:00", "event_type": event,
			"resource_type": "encrypt-resource", "summary": "支付成功", "resource": map[string]string{
				"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.StdEncoding.EncodeToString(ct),
				"associated_data": associated, "original_type": "transaction", "nonce": nonce}})
		return b
	}
	paid := []byte(`{"appid":"wx8888888888888888","mchid":"1900000001","out_trade_no":"ord_01J0000000000000000000000A",` +
		`"transaction_id":"4200000001202405011234567890","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功",` +
		`"success_time":"2024-05-01T12:00:00+08:00","amount":{"total":1234,"payer_total":1234,"currency":"CNY","payer_currency":"CNY"}}`)
	refunded := []byte(`{"mchid":"1900000001","out_trade_no":"ord_01J0000000000000000000000A","transaction_id":"4200000001202405011234567890",` +
		`"out_refund_no":"rf_1","refund_id":"50000000012024","refund_status":"SUCCESS","amount":{"total":1234,"refund":100}}`)
	genuine := envelope("TRANSACTION.SUCCESS", "transaction", paid)
	genuineHeader := sign(genuine)
	f.Add(genuine, paid, "TRANSACTION.SUCCESS")
	f.Add(envelope("REFUND.SUCCESS", "refund", refunded), refunded, "REFUND.SUCCESS")
	f.Add([]byte(`{"id":"x","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"","ciphertext":"=="}}`), []byte(`{"amount":{"total":-1}}`), "REFUND.CLOSED")
	f.Add([]byte(`{"id":"x","id":"y"}`), []byte("\xff"), "TRANSACTION.SUCCESS")
	f.Add([]byte(""), []byte(`{"mchid":"1900000001","trade_state":"SUCCESS","success_time":"not a time"}`), "TRANSACTION.SUCCESS")
	ctx := context.Background()
	check := func(t *testing.T, what string, n *channel.Notification) {
		t.Helper()
		if n == nil || (n.Kind != channel.NotifyPayment && n.Kind != channel.NotifyRefund) {
			t.Fatalf("%s: accepted as %+v", what, n)
		}
		if n.Amount < 0 || n.RefundAmount < 0 {
			t.Fatalf("%s: negative amount accepted: %+v", what, n)
		}
	}
	f.Fuzz(func(t *testing.T, body, plain []byte, event string) {
		if _, err := c.Notify(ctx, channel.NotifyRequest{Header: genuineHeader, Body: body}); err == nil && !bytes.Equal(body, genuine) {
			t.Fatalf("accepted a body under another body's signature: %q", body)
		}
		unsigned := sign(body)
		unsigned.Del(headerSignature)
		if _, err := c.Notify(ctx, channel.NotifyRequest{Header: unsigned, Body: body}); !errors.Is(err, channel.ErrBadSignature) {
			t.Fatalf("an unsigned body: %v, want ErrBadSignature", err)
		}
		if n, err := c.Notify(ctx, channel.NotifyRequest{Header: sign(body), Body: body}); err == nil {
			check(t, fmt.Sprintf("signed envelope %q", body), n)
		}
		for _, associated := range []string{"transaction", "refund"} {
			env := envelope(event, associated, plain)
			if n, err := c.Notify(ctx, channel.NotifyRequest{Header: sign(env), Body: env}); err == nil {
				check(t, fmt.Sprintf("event %q with resource %q", event, plain), n)
			}
		}
	})
}
