package wechatpay_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/sim"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// TestNotifyReadsJSONStrictly: a callback's envelope and its decrypted
// resource are read with exact member names and no name twice, so a body
// (even one that verifies) cannot say one thing to one JSON reader and
// another to the gateway. Members the gateway does not know are still
// ignored: WeChat adds fields.
func TestNotifyReadsJSONStrictly(t *testing.T) {
	keys, err := sim.GenerateRSAKeys(1)
	if err != nil {
		t.Fatal(err)
	}
	platform := keys[0]
	der, _ := x509.MarshalPKIXPublicKey(&platform.PublicKey)
	s, err := simwx.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	acct := s.Account("http://127.0.0.1:1")
	acct.Config["platform_serial"] = "PUB_KEY_ID_STRICT_JSON"
	acct.Config["platform_public_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	conn, err := wechatpay.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	apiV3Key := []byte(acct.Secrets["api_v3_key"])

	// callback signs envelope (with %s where the encrypted resource goes) as WeChat would.
	callback := func(envelope, resource string) channel.NotifyRequest {
		t.Helper()
		block, _ := aes.NewCipher(apiV3Key)
		gcm, _ := cipher.NewGCM(block)
		nonce := make([]byte, 12)
		rand.Read(nonce)
		for i := range nonce {
			nonce[i] = 'a' + nonce[i]%26
		}
		ct := base64.StdEncoding.EncodeToString(gcm.Seal(nil, nonce, []byte(resource), []byte("transaction")))
		res := `{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"` + ct + `","associated_data":"transaction","nonce":"` + string(nonce) + `"}`
		body := []byte(envelope[:len(envelope)-1] + `,"resource":` + res + `}`)
		ts, n := strconv.FormatInt(time.Now().Unix(), 10), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
		sig, err := wechatpay.SignSHA256RSA(platform, wechatpay.SigningMessage(ts, n, string(body)))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", n)
		h.Set("Wechatpay-Serial", "PUB_KEY_ID_STRICT_JSON")
		h.Set("Wechatpay-Signature", sig)
		return channel.NotifyRequest{Header: h, Body: body}
	}
	const (
		envelope = `{"id":"EV-1","create_time":"2026-03-14T17:00:00+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功","new_field":1}`
		order    = "ord_01jn0000000000000000000001"
		paid     = `"transaction_id":"4200000001","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功","success_time":"2026-03-14T17:00:00+08:00","amount":{"total":100,"currency":"CNY"},"attach":"","bank_type":"OTHERS"`
	)
	resource := `{"appid":"` + simwx.AppID + `","mchid":"` + simwx.MchID + `","out_trade_no":"` + order + `",` + paid + `}`

	n, err := conn.Notify(ctx(t), callback(envelope, resource))
	if err != nil || n.OrderID != order || n.Amount != 100 || n.Status != channel.TradeSuccess {
		t.Fatalf("genuine callback with an extra field: %+v, %v", n, err)
	}
	refused := []struct{ name, envelope, resource string }{
		{"event_type twice", `{"id":"EV-2","event_type":"REFUND.SUCCESS","event_type":"TRANSACTION.SUCCESS"}`, resource},
		{"out_trade_no twice", envelope,
			`{"mchid":"` + simwx.MchID + `","out_trade_no":"ord_01jn0000000000000000000009","out_trade_no":"` + order + `",` + paid + `}`},
		{"amount twice", envelope,
			`{"mchid":"` + simwx.MchID + `","out_trade_no":"` + order + `",` + paid + `,"amount":{"total":1,"currency":"CNY"}}`},
		{"resource not UTF-8", envelope,
			`{"mchid":"` + simwx.MchID + `","out_trade_no":"` + order + "\xff" + `",` + paid + `}`},
	}
	for _, c := range refused {
		if n, err := conn.Notify(ctx(t), callback(c.envelope, c.resource)); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s: Notify = %+v, %v; want ErrBadSignature", c.name, n, err)
		}
	}
	// A case variant is another member, which the gateway does not read.
	variant := `{"mchid":"` + simwx.MchID + `","out_trade_no":"` + order + `","OUT_TRADE_NO":"ord_01jn0000000000000000000009",` + paid + `}`
	if n, err := conn.Notify(ctx(t), callback(envelope, variant)); err != nil || n.OrderID != order {
		t.Errorf("callback with OUT_TRADE_NO beside out_trade_no: %+v, %v; want order %s", n, err, order)
	}
	if n, err := conn.Notify(ctx(t), callback(`{"id":"EV-3","EVENT_TYPE":"TRANSACTION.SUCCESS","event_type":"REFUND.UNKNOWN"}`, resource)); err == nil {
		t.Errorf("callback read EVENT_TYPE as event_type: %+v", n)
	}
}
