package wechatpay

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
)

// globalNotifier is a global connector and a way to post it genuine
// (signed, encrypted) callbacks of any resource.
type globalNotifier struct {
	c   *Connector
	key *rsa.PrivateKey
}

func newGlobalNotifier(t testing.TB) *globalNotifier {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024) // small: the same paths, faster
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{mchID: "1900000001", platformSerial: "PUB_KEY_ID_0000000001", platformKey: &key.PublicKey,
		apiV3Key: []byte("0123456789abcdef0123456789abcdef"), clock: clock.Real{}, global: true, mcc: "5812"}
	return &globalNotifier{c: c, key: key}
}

// notify posts plain, encrypted and signed, as event to the connector.
func (g *globalNotifier) notify(t testing.TB, event, associated string, plain []byte) (*channel.Notification, error) {
	t.Helper()
	block, _ := aes.NewCipher(g.c.apiV3Key)
	gcm, _ := cipher.NewGCMWithNonceSize(block, 12)
	const nonce = "globalnonce1"
	ct := gcm.Seal(nil, []byte(nonce), plain, []byte(associated))
	body, _ := json.Marshal(map[string]any{"id": "EV-0001", "create_time": "2026-05-01T12:00:01+08:00", "event_type": event,
		"resource_type": "encrypt-resource", "summary": "支付成功", "resource": map[string]string{
			"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.StdEncoding.EncodeToString(ct),
			"associated_data": associated, "original_type": associated, "nonce": nonce}})
	ts, n := strconv.FormatInt(time.Now().Unix(), 10), "NONCE0123456789"
	sig, err := SignSHA256RSA(g.key, SigningMessage(ts, n, string(body)))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(headerTimestamp, ts)
	h.Set(headerNonce, n)
	h.Set(headerSignature, sig)
	h.Set(headerSerial, g.c.platformSerial)
	return g.c.Notify(context.Background(), channel.NotifyRequest{Header: h, Body: body})
}

// globalPaid is a paid global trade's resource with amount (and
// exchange_rate) replaced.
func globalPaid(amount, rate string) []byte {
	s := `{"appid":"wx8888888888888888","mchid":"1900000001","out_trade_no":"ord_01j0000000000000000000000a",` +
		`"id":"4200000001202605011234567890","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功",` +
		`"success_time":"2026-05-01T12:00:00+08:00","amount":` + amount
	if rate != "" {
		s += `,"exchange_rate":` + rate
	}
	return []byte(s + "}")
}

// TestGlobalNotifyStrict: a global payment notification is read with what
// the payer paid and the rate; one whose payer_total is negative or
// missing, whose rate is missing or not positive, or whose total or
// currency is wrong is refused, never read as zero. The same holds for
// refund notifications' amounts.
func TestGlobalNotifyStrict(t *testing.T) {
	g := newGlobalNotifier(t)
	const rate = `{"type":"SETTLEMENT_RATE","rate":712340000}`
	n, err := g.notify(t, "TRANSACTION.SUCCESS", "transaction", globalPaid(`{"total":1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, rate))
	if err != nil || n.Amount != 1999 || n.Currency != "USD" || n.PayerAmount != 14240 || n.PayerCurrency != "CNY" || n.ExchangeRate != "7.1234" ||
		n.ChannelTradeNo != "4200000001202605011234567890" {
		t.Fatalf("genuine: %v %+v", err, n)
	}
	for name, c := range map[string]struct{ amount, rate string }{
		"negative payer_total":   {`{"total":1999,"currency":"USD","payer_total":-14240,"payer_currency":"CNY"}`, rate},
		"missing payer_total":    {`{"total":1999,"currency":"USD","payer_currency":"CNY"}`, rate},
		"zero payer_total":       {`{"total":1999,"currency":"USD","payer_total":0,"payer_currency":"CNY"}`, rate},
		"missing payer_currency": {`{"total":1999,"currency":"USD","payer_total":14240}`, rate},
		"missing exchange_rate":  {`{"total":1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, ""},
		"zero rate":              {`{"total":1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, `{"type":"SETTLEMENT_RATE","rate":0}`},
		"missing rate":           {`{"total":1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, `{"type":"SETTLEMENT_RATE"}`},
		"negative total":         {`{"total":-1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, rate},
		"missing total":          {`{"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, rate},
		"no currency":            {`{"total":1999,"payer_total":14240,"payer_currency":"CNY"}`, rate},
		"lower-case currency":    {`{"total":1999,"currency":"usd","payer_total":14240,"payer_currency":"CNY"}`, rate},
		"payer_total twice":      {`{"total":1999,"currency":"USD","payer_total":14240,"payer_total":-1,"payer_currency":"CNY"}`, rate},
	} {
		if n, err := g.notify(t, "TRANSACTION.SUCCESS", "transaction", globalPaid(c.amount, c.rate)); err == nil {
			t.Errorf("%s: accepted as %+v", name, n)
		}
	}
	// ids: "transaction_id" is read when "id" is absent; both, different, are refused.
	other := strings.Replace(string(globalPaid(`{"total":1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, rate)), `"id":`, `"transaction_id":`, 1)
	if n, err := g.notify(t, "TRANSACTION.SUCCESS", "transaction", []byte(other)); err != nil || n.ChannelTradeNo != "4200000001202605011234567890" {
		t.Errorf("transaction_id only: %v %+v", err, n)
	}
	both := strings.Replace(other, `"trade_type"`, `"id":"4200000009","trade_type"`, 1)
	if _, err := g.notify(t, "TRANSACTION.SUCCESS", "transaction", []byte(both)); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Errorf("id and transaction_id differ: %v", err)
	}

	refund := func(amount string) []byte {
		return []byte(`{"mchid":"1900000001","out_trade_no":"ord_01j0000000000000000000000a","transaction_id":"4200000001202605011234567890",` +
			`"out_refund_no":"rfd_1","refund_id":"50300000012026","refund_status":"SUCCESS","amount":` + amount + `}`)
	}
	n, err = g.notify(t, "REFUND.SUCCESS", "refund", refund(`{"total":1999,"refund":500,"currency":"USD","payer_total":14240,"payer_refund":3562,"payer_currency":"CNY"}`))
	if err != nil || n.RefundAmount != 500 || n.Currency != "USD" || n.PayerAmount != 3562 || n.ChannelRefundNo != "50300000012026" {
		t.Fatalf("genuine refund: %v %+v", err, n)
	}
	for name, amount := range map[string]string{
		"negative payer_refund": `{"total":1999,"refund":500,"currency":"USD","payer_total":14240,"payer_refund":-3562,"payer_currency":"CNY"}`,
		"negative refund":       `{"total":1999,"refund":-500,"currency":"USD"}`,
		"refund over total":     `{"total":1999,"refund":2000,"currency":"USD"}`,
		"missing refund":        `{"total":1999,"currency":"USD"}`,
		"bad currency":          `{"total":1999,"refund":500,"currency":"XYZ"}`,
	} {
		if n, err := g.notify(t, "REFUND.SUCCESS", "refund", refund(amount)); err == nil {
			t.Errorf("refund %s: accepted as %+v", name, n)
		}
	}
}

// FuzzGlobalNotify: whatever a signed, encrypted global resource says,
// Notify does not panic, and what it accepts has no negative amount and,
// for a paid trade, a positive payer_total.
func FuzzGlobalNotify(f *testing.F) {
	g := newGlobalNotifier(f)
	f.Add(globalPaid(`{"total":1999,"currency":"USD","payer_total":14240,"payer_currency":"CNY"}`, `{"type":"SETTLEMENT_RATE","rate":712340000}`), "TRANSACTION.SUCCESS")
	f.Add(globalPaid(`{"total":1000,"currency":"JPY","payer_total":-1,"payer_currency":"CNY"}`, `{"rate":4765432}`), "TRANSACTION.SUCCESS")
	f.Add([]byte(`{"mchid":"1900000001","refund_status":"SUCCESS","out_refund_no":"r","refund_id":"1","amount":{"total":5,"refund":5,"payer_refund":-1}}`), "REFUND.SUCCESS")
	f.Fuzz(func(t *testing.T, plain []byte, event string) {
		for _, associated := range []string{"transaction", "refund"} {
			n, err := g.notify(t, event, associated, plain)
			if err != nil {
				continue
			}
			if n.Amount < 0 || n.RefundAmount < 0 || n.PayerAmount < 0 {
				t.Fatalf("negative amount accepted from %q: %+v", plain, n)
			}
			if n.Kind == channel.NotifyPayment && n.Status.Paid() && (n.PayerAmount <= 0 || n.PayerCurrency == "" || n.Amount <= 0) {
				t.Fatalf("a paid trade without what the payer paid, from %q: %+v", plain, n)
			}
		}
	})
}
