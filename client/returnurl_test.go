package client_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
)

const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestSignReturnParamsKnownAnswer(t *testing.T) {
	t.Parallel()
	params := url.Values{"timestamp": {"1700000000"}, "status": {"succeeded"}, "out_trade_no": {"T|1*2"},
		"order_id": {"ord_1"}, "note": {"tea & cake = 2~ü"}}
	got, err := client.SignReturnParams(params, whsec)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	m := hmac.New(sha256.New, key)
	// Sorted by name, names and values form-encoded (space as +, upper-case hex, "-._~" kept).
	m.Write([]byte("note=tea+%26+cake+%3D+2~%C3%BC&order_id=ord_1&out_trade_no=T%7C1%2A2&status=succeeded&timestamp=1700000000"))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("SignReturnParams = %s, want %s", got, want)
	}
	params.Set("signature", "ignored")
	if again, _ := client.SignReturnParams(params, whsec); again != got {
		t.Fatal("the signature parameter was signed")
	}
}

// TestSignReturnParamsUnambiguous: parameter sets that joined alike when
// values were signed unescaped ("a=1&b=2&c=3" three ways) must sign
// differently, so a merchant's own query values that hold "&" or "=" cannot
// make one signed set pass for another.
func TestSignReturnParamsUnambiguous(t *testing.T) {
	t.Parallel()
	sets := []url.Values{
		{"a": {"1"}, "b": {"2"}, "c": {"3"}},
		{"a": {"1&b=2"}, "c": {"3"}},
		{"a": {"1"}, "b": {"2&c=3"}},
		{"a=1&b": {"2"}, "c": {"3"}},
		{"a": {"1&b=2&c=3"}},
	}
	seen := map[string]int{}
	for i, params := range sets {
		sig, err := client.SignReturnParams(params, whsec)
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := seen[sig]; ok {
			t.Errorf("%v and %v sign alike", sets[j], params)
		}
		seen[sig] = i
	}
	// A signature made for one set does not verify another.
	signed := url.Values{"a": {"1&b=2"}, "c": {"3"}}
	sig, _ := client.SignReturnParams(signed, whsec)
	forged := url.Values{"a": {"1"}, "b": {"2"}, "c": {"3"}, "signature": {sig}}
	if err := client.VerifyReturnURL(forged, whsec); !errors.Is(err, client.ErrReturnSignature) {
		t.Fatalf("a signature of %v verifies %v: %v", signed, forged, err)
	}
}

func TestVerifyReturnURL(t *testing.T) {
	t.Parallel()
	// What the gateway appends to return_url, as the merchant's page receives it.
	signed := func() url.Values {
		v := url.Values{"order_id": {"ord_1"}, "out_trade_no": {"T 1/2"}, "status": {"succeeded"}, "timestamp": {"1700000000"}, "cart": {"9"}}
		sig, err := client.SignReturnParams(v, whsec)
		if err != nil {
			t.Fatal(err)
		}
		v.Set("signature", sig)
		u, _ := url.Parse("https://shop.example/return?" + v.Encode())
		return u.Query()
	}
	tests := []struct {
		name   string
		mod    func(url.Values)
		secret string
		ok     bool
	}{
		{name: "valid", ok: true},
		{name: "secret without prefix", secret: strings.TrimPrefix(whsec, "whsec_"), ok: true},
		{name: "status changed", mod: func(v url.Values) { v.Set("status", "failed") }},
		{name: "order changed", mod: func(v url.Values) { v.Set("order_id", "ord_2") }},
		{name: "parameter added", mod: func(v url.Values) { v.Set("extra", "1") }},
		{name: "parameter removed", mod: func(v url.Values) { v.Del("cart") }},
		{name: "parameter repeated", mod: func(v url.Values) { v.Add("status", "succeeded") }},
		{name: "no signature", mod: func(v url.Values) { v.Del("signature") }},
		{name: "two signatures", mod: func(v url.Values) { v.Add("signature", v.Get("signature")) }},
		{name: "wrong secret", secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret of some length"))},
		{name: "secret not base64", secret: "whsec_***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := signed()
			if tt.mod != nil {
				tt.mod(v)
			}
			secret := whsec
			if tt.secret != "" {
				secret = tt.secret
			}
			err := client.VerifyReturnURL(v, secret)
			if tt.ok && err != nil {
				t.Fatalf("VerifyReturnURL: %v", err)
			}
			if !tt.ok && !errors.Is(err, client.ErrReturnSignature) {
				t.Fatalf("VerifyReturnURL = %v, want ErrReturnSignature", err)
			}
		})
	}
}
