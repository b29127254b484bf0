package wechatpay

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/channel"
)

// WeChat's "签名生成" guide builds the message of GET /v3/certificates at
// timestamp 1554208460 with nonce 593BEC0C930BF1AFEB40B4A08C8FB242 as
// "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n".
func TestSigningMessagePublishedExample(t *testing.T) {
	got := SigningMessage("GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", "")
	want := "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
	if got != want {
		t.Fatalf("signing message\n got %q\nwant %q", got, want)
	}
	// A response's message (验签名串) has three lines, the body's included.
	if got := SigningMessage("1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", `{"data":[]}`); got != "1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n{\"data\":[]}\n" {
		t.Fatalf("response message %q", got)
	}
}

// The guide's Authorization header carries these five parameters after the
// scheme, quoted, comma-separated; their order is free.
func TestAuthorizationHeaderForm(t *testing.T) {
	h := AuthorizationHeader("1900009191", "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C", "593BEC0C930BF1AFEB40B4A08C8FB242", "1554208460", "uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WHsRqdwGN6kdhyTD6A8hnc5KIYHJ8HIbS/r13+yN2OLIeeMVDD1ZeS2gI/0CdL+N0GmU7PlOO0FX1bGBu5ylMMTzomXAuSj8vDBb1pONZEXT1aEeP6DyA89HXQfn4yqzT89t4q6NQDXtRGmCmE3pRqYlyShOzE/QKV9ibHN0QMSGn0yOZKqT5NE5mBCE7aw0==")
	rest, ok := strings.CutPrefix(h, "WECHATPAY2-SHA256-RSA2048 ")
	if !ok {
		t.Fatalf("header %q lacks the scheme", h)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = strings.Trim(v, `"`)
	}
	want := map[string]string{
		"mchid": "1900009191", "nonce_str": "593BEC0C930BF1AFEB40B4A08C8FB242", "timestamp": "1554208460",
		"serial_no": "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.HasSuffix(got["signature"], "aw0==") || len(got) != 5 {
		t.Errorf("parameters %v", got)
	}
}

// WeChat's API v2 "签名算法" worked example.
func TestV2SignPublishedExample(t *testing.T) {
	params := map[string]string{
		"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test",
		"nonce_str": "ibuaiVcKdpRxkhJA", "empty": "", "sign": "ignored",
	}
	const key = "192006250b4c09247ec02edce69f6a2d"
	if got, want := V2SigningString(params, key), "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key="+key; got != want {
		t.Fatalf("stringSignTemp\n got %q\nwant %q", got, want)
	}
	tests := []struct{ signType, want string }{
		{SignTypeMD5, "9A0A8659F005D6984697E2CA0A9CF3B7"},
		{SignTypeHMACSHA256, "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"},
	}
	for _, tt := range tests {
		got, err := V2Sign(params, key, tt.signType)
		if err != nil || got != tt.want {
			t.Errorf("%s sign = %q, %v; want %q", tt.signType, got, err, tt.want)
		}
	}
	params["sign"] = "9a0a8659f005d6984697e2ca0a9cf3b7"
	if err := verifyV2(params, key, SignTypeMD5); err != nil {
		t.Errorf("verify of the example: %v", err)
	}
	params["body"] = "tesT"
	if err := verifyV2(params, key, SignTypeMD5); !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("verify of a changed example: %v, want ErrBadSignature", err)
	}
}

// The test vector of WeChat's official Go SDK (wechatpay-go utils/aes_test.go):
// "Hello World" sealed with nonce wCq51qZv4Yfg and associated data
// Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8. That vector's key has 16 bytes (AES-128);
// the decryption is the same GCM construction as with a 32-byte APIv3 key.
func TestDecryptSDKVector(t *testing.T) {
	const ciphertext = "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC"
	got, err := DecryptAEADAES256GCM([]byte("testAPIv3Key0000"), "wCq51qZv4Yfg", "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8", ciphertext)
	if err != nil || string(got) != "Hello World" {
		t.Fatalf("decrypt = %q, %v; want Hello World", got, err)
	}
	for name, args := range map[string][3]string{
		"wrong key":             {"testAPIv3Key1111", "wCq51qZv4Yfg", ciphertext},
		"wrong associated data": {"testAPIv3Key0000", "wCq51qZv4Yfg", ciphertext},
		"not base64":            {"testAPIv3Key0000", "wCq51qZv4Yfg", "invalid cipher"},
		"too short":             {"testAPIv3Key0000", "wCq51qZv4Yfg", "SGVsbG8gV29ybGQK"},
	} {
		ad := "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8"
		if name == "wrong associated data" {
			ad = "transaction"
		}
		if _, err := DecryptAEADAES256GCM([]byte(args[0]), args[1], ad, args[2]); err == nil {
			t.Errorf("%s: decrypted", name)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	msg := SigningMessage("POST", "/v3/pay/transactions/native", "1554208460", "N", `{"a":1}`)
	sig, err := SignSHA256RSA(key, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySHA256RSA(&key.PublicKey, msg, sig); err != nil {
		t.Fatalf("verify own signature: %v", err)
	}
	if err := VerifySHA256RSA(&key.PublicKey, msg+" ", sig); err == nil {
		t.Fatal("a changed message verified")
	}
}

func TestParseYuan(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12.34", 1234, true}, {"0.01", 1, true}, {"-0.03", -3, true}, {"5", 500, true}, {"0.5", 50, true},
		{"", 0, false}, {"1.234", 0, false}, {"1e3", 0, false}, {"12.3a", 0, false}, {".5", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := parseYuan(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSortError(t *testing.T) {
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	tests := []struct {
		name  string
		moves bool
		err   error
		want  error
	}{
		{"bad signature, no money", false, fmt.Errorf("x: %w", channel.ErrBadSignature), channel.ErrBadSignature},
		{"bad signature, money", true, fmt.Errorf("x: %w", channel.ErrBadSignature), channel.ErrUnknownOutcome},
		{"refused connection", true, dial, channel.ErrUnavailable},
		{"5xx create", false, &apiError{Status: 500, Code: "SYSTEM_ERROR"}, channel.ErrUnavailable},
		{"5xx refund", true, &apiError{Status: 500, Code: "SYSTEM_ERROR"}, channel.ErrUnknownOutcome},
		{"v2 SYSTEMERROR", true, &apiError{Status: 200, Code: "SYSTEMERROR"}, channel.ErrUnknownOutcome},
		{"v2 BANKERROR", true, &apiError{Status: 200, Code: "BANKERROR"}, channel.ErrUnknownOutcome},
		{"param", false, &apiError{Status: 400, Code: "PARAM_ERROR"}, channel.ErrInvalidRequest},
		{"sign", false, &apiError{Status: 401, Code: "SIGN_ERROR"}, channel.ErrInvalidRequest},
		{"not found", false, &apiError{Status: 404, Code: "ORDER_NOT_EXIST"}, channel.ErrTradeNotFound},
		{"refund not found", false, &apiError{Status: 404, Code: "RESOURCE_NOT_EXISTS"}, channel.ErrTradeNotFound},
		{"paid", false, &apiError{Status: 400, Code: "ORDERPAID"}, channel.ErrAlreadyPaid},
		{"rate limit", false, &apiError{Status: 429, Code: "FREQUENCY_LIMITED"}, channel.ErrUnavailable},
		{"user paying", false, &apiError{Status: 202, Code: "USER_PAYING"}, channel.ErrUnknownOutcome},
		{"no funds", true, &apiError{Status: 200, Code: "NOTENOUGH"}, channel.ErrDeclined},
		{"code expired", true, &apiError{Status: 200, Code: "AUTHCODEEXPIRE"}, channel.ErrDeclined},
		{"reset after send, money", true, errors.New("connection reset"), channel.ErrUnknownOutcome},
		{"reset after send, no money", false, errors.New("connection reset"), channel.ErrUnavailable},
	}
	for _, tt := range tests {
		if got := sortError("op", tt.moves, tt.err); !errors.Is(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	var d *channel.DeclineError
	if err := sortError("micropay", true, &apiError{Code: "NOTENOUGH", Message: "余额不足"}); !errors.As(err, &d) || d.Code != "insufficient_funds" {
		t.Errorf("NOTENOUGH: %v, want decline insufficient_funds", err)
	}
}

// A bill in WeChat's layout: header, back-quoted rows (a payment, a refund,
// a revoked trade), the summary header and line.
func TestParseTradeBill(t *testing.T) {
	raw := "\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n" +
		"`2024-03-01 10:00:00,`wx1,`1900000109,`0,`,`4200000001,`ord_A,`oX,`NATIVE,`SUCCESS,`OTHERS,`CNY,`15.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Tea,`,`0.09,`0.60%,`15.00,`0.00,`\r\n" +
		"`2024-03-01 11:30:00,`wx1,`1900000109,`0,`,`4200000001,`ord_A,`oX,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`5030001,`rfd_B,`5.00,`0.00,`ORIGINAL,`SUCCESS,`Tea,`,`-0.03,`0.60%,`0.00,`5.00,`\r\n" +
		"`2024-03-01 12:00:00,`wx1,`1900000109,`0,`,`4200000002,`ord_C,`oY,`MICROPAY,`REVOKED,`OTHERS,`CNY,`1.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Cake,`,`0.01,`0.60%,`1.00,`0.00,`\r\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" +
		"`3,`16.00,`5.00,`0.00,`0.07,`16.00,`5.00\r\n"
	recs, err := ParseTradeBill([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (the revoked trade is left out): %+v", len(recs), recs)
	}
	p, r := recs[0], recs[1]
	if p.Kind != channel.NotifyPayment || p.OrderID != "ord_A" || p.ChannelTradeNo != "4200000001" || p.Amount != 1500 || p.Fee != 9 || p.Currency != "CNY" || p.At.UTC().Hour() != 2 {
		t.Errorf("payment record %+v", p)
	}
	if r.Kind != channel.NotifyRefund || r.RefundID != "rfd_B" || r.ChannelRefundNo != "5030001" || r.Amount != 500 || r.Fee != -3 {
		t.Errorf("refund record %+v", r)
	}
	if _, err := ParseTradeBill([]byte(strings.SplitAfter(raw, "\r\n")[0] + "`2024-03-01 10:00:00\r\n")); err == nil {
		t.Error("a bill without its summary parsed")
	}
}
