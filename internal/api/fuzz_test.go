package api

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/errs"
)

// The fuzz targets of the access layer's parsers of outside input: the
// merchant and operator request bodies (decodeJSON into each request type),
// the OAuth token request's form and its JWT assertion, and the rate
// settings. Seeds are below and in testdata/fuzz; scripts/fuzz runs them.

// bodyTypes are the request bodies decoded by the merchant and operator
// APIs, one per resource.
func bodyTypes() map[string]func() any {
	return map[string]func() any{
		"order":            func() any { return new(createOrderRequest) },
		"refund":           func() any { return new(createRefundRequest) },
		"webhook_endpoint": func() any { return new(createWebhookEndpointRequest) },
		"webhook_update":   func() any { return new(updateWebhookEndpointRequest) },
		"customer":         func() any { return new(createCustomerRequest) },
		"agreement":        func() any { return new(createAgreementRequest) },
		"product":          func() any { return new(createProductRequest) },
		"price":            func() any { return new(createPriceRequest) },
		"subscription":     func() any { return new(createSubscriptionRequest) },
		"risk_rule":        func() any { return new(riskRuleRequest) },
		"channel_account":  func() any { return new(createChannelAccountRequest) },
		"route":            func() any { return new(putRouteRequest) },
		"settlement":       func() any { return new(updateSettlementSettingsRequest) },
		"rate_limits":      func() any { return new(map[string]*string) },
	}
}

func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"out_trade_no":"T1","amount":100,"currency":"CNY","subject":"Tea","method":"sandbox","metadata":{"a":"b"}}`,
		`{"out_trade_no":"T1","amount":1e3,"card":{"number":"4242424242424242","exp_month":12,"exp_year":2099,"cvc":"123"}}`,
		`{"order_id":"ord_1","out_refund_no":"R1","amount":1,"reason":"x"}`,
		`{"url":"https://example.com/hook","enabled_events":["*"],"description":"d"}`,
		`{"name":"n","livemode":true,"methods":["wechat.native"],"secrets":{"k":"v"},"config":{}}`,
		`{"create":"10/s","read":null}`, `{"a":1,"a":2}`, `{"amount":"100"}`, `{"x":"\ud800"}`, `[]`, `null`, `{`, "\xff",
		`{"metadata":{"k":` + strings.Repeat(`[`, 100) + `}}`,
	} {
		for name := range bodyTypes() {
			f.Add(name, []byte(s))
		}
	}
	types := bodyTypes()
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		mk, ok := types[kind]
		if !ok {
			return
		}
		r := httptest.NewRequest("POST", "/v1/x", nil)
		r.Header.Set("Content-Type", "application/json")
		err := decodeJSON(r, body, mk())
		if err == nil {
			return
		}
		e := errs.As(err)
		if st := HTTPStatus(e); st < 400 || st >= 500 || e.Code == "" {
			t.Fatalf("%s body %q: status %d code %q (%v)", kind, body, st, e.Code, err)
		}
	})
}

func FuzzOAuthForm(f *testing.F) {
	for _, s := range []string{
		"grant_type=client_credentials&scope=orders%3Aread",
		"grant_type=client_credentials&client_id=oac_1&client_secret=pgcs_x",
		"grant_type=client_credentials&grant_type=x", "%zz", "a=%", "client_assertion=a.b.c&client_assertion_type=urn%3Aietf",
		"",
	} {
		f.Add("application/x-www-form-urlencoded", s)
	}
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "token=pgat_x")
	f.Add("application/json", "{}")
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest("POST", "/oauth/token", nil)
		r.Header.Set("Content-Type", ct)
		r = r.WithContext(withBody(r, []byte(body)))
		form, err := oauthForm(r)
		if err != nil {
			oe, ok := err.(*oauthError)
			if !ok || oe.status != 400 || oe.code != "invalid_request" {
				t.Fatalf("form %q: %v", body, err)
			}
			return
		}
		for k, v := range form {
			if len(v) != 1 {
				t.Fatalf("form %q: %s given %d times was accepted", body, k, len(v))
			}
		}
	})
}

// FuzzJWS: no assertion that was not signed with the key verifies; none panics.
func FuzzJWS(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	signed := func(h, p string) string {
		hp := b64(h) + "." + b64(p)
		return hp + "." + b64(string(ed25519.Sign(priv, []byte(hp))))
	}
	good := signed(`{"alg":"EdDSA"}`, `{"iss":"oac_1","sub":"oac_1"}`)
	f.Add(good)
	f.Add(signed(`{"alg":"none"}`, `{}`))
	f.Add(signed(`{"alg":"RS256"}`, `{}`))
	f.Add(signed(`{"alg":"EdDSA","crit":["x"]}`, `{}`))
	f.Add("a.b.c")
	f.Add("..")
	f.Add(good + ".")
	f.Fuzz(func(t *testing.T, jws string) {
		payload, err := verifyJWS(jws, pub)
		if err != nil {
			return
		}
		// Accepted: it must be a JWS Ed25519 really signed with the key.
		parts := strings.Split(jws, ".")
		sig, err := decodeB64(parts[2])
		if err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			t.Fatalf("accepted %q without a valid signature", jws)
		}
		var a audience
		a.UnmarshalJSON(payload) // must not panic on any payload
	})
}

func FuzzParseRates(f *testing.F) {
	for _, s := range []string{DefaultRates, "create=1/s", "read=unlimited", "oauth_ip=5/10s", "x=1/s", "create=1/0s", "create=9999999999/s", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rates, err := ParseRates(s)
		if err != nil {
			return
		}
		for c, r := range rates {
			if !r.Unlimited() && r.Period/timeDuration(r.Count) <= 0 {
				t.Fatalf("%q: class %s rate %v has no interval", s, c, r)
			}
		}
	})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func timeDuration(n int) time.Duration { return time.Duration(n) }

func withBody(r *http.Request, body []byte) context.Context {
	return context.WithValue(r.Context(), bodyKey{}, body)
}
