package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
)

// rawCall sends body as is with the demo key and returns status and decoded error.
func (e *env) rawCall(t *testing.T, method, path, contentType string, body []byte) (int, client.Error, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.g.Demo.SecretKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var eb client.ErrorBody
	if res.StatusCode >= 400 {
		if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" || eb.Error.Type == "" || eb.Error.Message == "" || !strings.HasPrefix(eb.Error.RequestID, "req_") {
			t.Fatalf("%s %s: status %d without the error shape: %s", method, path, res.StatusCode, b)
		}
		if eb.Error.RequestID != res.Header.Get("Request-Id") {
			t.Fatalf("error request_id %s differs from header %s", eb.Error.RequestID, res.Header.Get("Request-Id"))
		}
	}
	return res.StatusCode, eb.Error, res.Header
}

func TestCreateOrderValidation(t *testing.T) {
	base := `"out_trade_no":"v-1","currency":"CNY","subject":"Coffee"`
	cases := []struct {
		name, body string
		status     int
		code       string
		param      string
	}{
		{"zero amount", `{` + base + `,"amount":0}`, 400, "amount_invalid", "amount"},
		{"negative amount", `{` + base + `,"amount":-5}`, 400, "amount_invalid", "amount"},
		{"fractional amount", `{` + base + `,"amount":1.5}`, 400, "amount_invalid", "amount"},
		{"string amount", `{` + base + `,"amount":"100"}`, 400, "amount_invalid", "amount"},
		{"huge amount", `{` + base + `,"amount":1000000000001}`, 400, "amount_invalid", "amount"},
		{"int64 overflow", `{` + base + `,"amount":99999999999999999999}`, 400, "amount_invalid", "amount"},
		{"null amount", `{` + base + `,"amount":null}`, 400, "parameter_missing", "amount"},
		{"missing amount", `{` + base + `}`, 400, "parameter_missing", "amount"},
		{"missing out_trade_no", `{"amount":1,"currency":"CNY","subject":"x"}`, 400, "parameter_missing", "out_trade_no"},
		{"bad out_trade_no", `{"out_trade_no":"has space","amount":1,"currency":"CNY","subject":"x"}`, 400, "out_trade_no_invalid", "out_trade_no"},
		{"long out_trade_no", `{"out_trade_no":"` + strings.Repeat("a", 65) + `","amount":1,"currency":"CNY","subject":"x"}`, 400, "out_trade_no_invalid", "out_trade_no"},
		{"unknown currency", `{"out_trade_no":"v","amount":1,"currency":"XYZ","subject":"x"}`, 400, "currency_unsupported", "currency"},
		{"lower-case currency", `{"out_trade_no":"v","amount":1,"currency":"cny","subject":"x"}`, 400, "currency_unsupported", "currency"},
		{"currency number", `{"out_trade_no":"v","amount":1,"currency":156,"subject":"x"}`, 400, "currency_invalid", "currency"},
		{"empty subject", `{"out_trade_no":"v","amount":1,"currency":"CNY","subject":""}`, 400, "parameter_missing", "subject"},
		{"long subject", `{"out_trade_no":"v","amount":1,"currency":"CNY","subject":"` + strings.Repeat("字", 129) + `"}`, 400, "subject_invalid", "subject"},
		{"long description", `{` + base + `,"amount":1,"description":"` + strings.Repeat("d", 1001) + `"}`, 400, "description_invalid", "description"},
		{"unknown method", `{` + base + `,"amount":1,"method":"paypal"}`, 400, "method_invalid", "method"},
		{"micropay without code", `{` + base + `,"amount":1,"method":"alipay.micropay"}`, 400, "parameter_missing", "auth_code"},
		{"auth code letters", `{` + base + `,"amount":1,"method":"alipay.micropay","auth_code":"28abc"}`, 400, "auth_code_invalid", "auth_code"},
		{"card without card", `{` + base + `,"amount":1,"method":"card"}`, 400, "parameter_missing", "card"},
		{"payer ip", `{` + base + `,"amount":1,"payer":{"ip":"999.1.1.1"}}`, 400, "payer_invalid", "payer.ip"},
		{"payer wrong type", `{` + base + `,"amount":1,"payer":"me"}`, 400, "payer_invalid", "payer"},
		{"notify_url relative", `{` + base + `,"amount":1,"notify_url":"/notify"}`, 400, "notify_url_invalid", "notify_url"},
		{"return_url scheme", `{` + base + `,"amount":1,"return_url":"javascript:alert(1)"}`, 400, "return_url_invalid", "return_url"},
		{"expires_in low", `{` + base + `,"amount":1,"expires_in":59}`, 400, "expires_in_invalid", "expires_in"},
		{"expires_in high", `{` + base + `,"amount":1,"expires_in":86401}`, 400, "expires_in_invalid", "expires_in"},
		{"metadata value type", `{` + base + `,"amount":1,"metadata":{"a":1}}`, 400, "metadata_invalid", "metadata"},
		{"metadata too many", `{` + base + `,"amount":1,"metadata":{` + manyKeys(21) + `}}`, 400, "metadata_invalid", "metadata"},
		{"metadata long value", `{` + base + `,"amount":1,"metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, 400, "metadata_invalid", "metadata"},
		{"unknown field", `{` + base + `,"amount":1,"colour":"red"}`, 400, "unknown_parameter", "colour"},
		{"malformed JSON", `{` + base + `,"amount":1`, 400, "json_invalid", ""},
		{"not an object", `[1,2]`, 400, "json_invalid", ""},
		{"two objects", `{` + base + `,"amount":1}{}`, 400, "json_invalid", ""},
	}
	eachStore(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			st, ae, _ := e.rawCall(t, "POST", "/v1/orders", "application/json", []byte(c.body))
			param := ""
			if ae.Param != nil {
				param = *ae.Param
			}
			if st != c.status || ae.Code != c.code || param != c.param {
				t.Errorf("%s: got %d %s param=%q, want %d %s param=%q", c.name, st, ae.Code, param, c.status, c.code, c.param)
			}
		}
		// Nothing was created by any of them.
		if l, _ := e.demo.ListOrders(context.Background(), client.ListParams{}); len(l.Data) != 0 {
			t.Fatalf("invalid requests created %d orders", len(l.Data))
		}
		// JPY has no minor unit: 500 means ¥500, and it is accepted as is.
		o, err := e.demo.CreateOrder(context.Background(), client.CreateOrderParams{OutTradeNo: "jpy", Amount: 500, Currency: "JPY", Subject: "x", Method: "sandbox"})
		if err != nil || o.Amount != 500 || o.Currency != "JPY" {
			t.Fatalf("JPY order = %+v, %v", o, err)
		}
	})
}

func manyKeys(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, `"k`+strings.Repeat("x", i)+`":"v"`)
	}
	return strings.Join(parts, ",")
}

func TestErrorShapes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		cases := []struct {
			method, path, ctype string
			body                []byte
			status              int
			code                string
		}{
			{"GET", "/v1/nothing-here", "", nil, 404, "route_not_found"},
			{"DELETE", "/v1/orders", "", nil, 405, "method_not_allowed"},
			{"POST", "/v1/orders", "application/json", bytes.Repeat([]byte(" "), 70<<10), 413, "body_too_large"},
			{"POST", "/v1/orders", "text/plain", []byte(`{}`), 415, "content_type_unsupported"},
			{"GET", "/v1/orders/not-an-id", "", nil, 404, "order_not_found"},
			{"GET", "/v1/refunds/rfd_01hzzzzzzzzzzzzzzzzzzzzzzz", "", nil, 404, "refund_not_found"},
			{"POST", "/v1/orders/ord_01hzzzzzzzzzzzzzzzzzzzzzzz/close", "", nil, 404, "order_not_found"},
			{"POST", "/v1/test/orders/ord_01hzzzzzzzzzzzzzzzzzzzzzzz/pay", "", []byte(`{"outcome":"maybe"}`), 400, "outcome_invalid"},
			{"GET", "/v1/orders?created_gte=yesterday", "", nil, 400, "created_gte_invalid"},
		}
		for _, c := range cases {
			st, ae, h := e.rawCall(t, c.method, c.path, c.ctype, c.body)
			if st != c.status || ae.Code != c.code {
				t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, st, ae.Code, c.status, c.code)
			}
			if c.status == 405 && h.Get("Allow") == "" {
				t.Errorf("405 without Allow header")
			}
		}
		// The operator API wants the operator token, not a merchant key.
		st, ae, _ := e.rawCall(t, "GET", "/admin/v1/merchants", "", nil)
		if st != 401 || ae.Type != "authentication_error" {
			t.Errorf("merchant key on the operator API: %d %+v", st, ae)
		}
		res, _ := http.Get(e.url + "/healthz")
		if res.StatusCode != 200 {
			t.Errorf("healthz: %d", res.StatusCode)
		}
	})
}

// TestMutatedBodiesNeverFail5xx sends a valid create-order body with random
// bytes flipped, cut or repeated, and checks that every answer is a 2xx or a
// 4xx in the error shape: bad input never reaches a 500.
func TestMutatedBodiesNeverFail5xx(t *testing.T) {
	e := start(t, "sqlite")
	seed := []byte(`{"out_trade_no":"m-1","amount":1000,"currency":"CNY","subject":"Coffee","method":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2099},"payer":{"ip":"1.2.3.4"},"metadata":{"a":"b"},"expires_in":600}`)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		b := append([]byte(nil), seed...)
		for j := 0; j < 1+rng.IntN(4); j++ {
			switch pos := rng.IntN(len(b)); rng.IntN(3) {
			case 0:
				b[pos] = byte(rng.IntN(256))
			case 1:
				b = b[:pos]
			case 2:
				b = append(b[:pos], append([]byte{b[pos], b[pos]}, b[pos:]...)...)
			}
			if len(b) == 0 {
				b = []byte("{")
			}
		}
		st, _, _ := e.rawCall(t, "POST", "/v1/orders", "application/json", b)
		if st >= 500 {
			t.Fatalf("body %q got %d", b, st)
		}
	}
}
