package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/paygate/paygate/client"
)

// TestStrictJSONBodies: member names match exactly (a case variant of a
// field is an unknown parameter, not the field), a name given twice is
// refused at any depth, and text that is not UTF-8 — raw bytes or a lone
// surrogate escape — is refused as the field's <field>_invalid instead of
// being stored with U+FFFD in its place. On merchant and operator bodies.
func TestStrictJSONBodies(t *testing.T) {
	const base = `"out_trade_no":"strict-1","currency":"CNY","subject":"Coffee","method":"sandbox"`
	type call struct {
		name, path, body string
		code, param      string
	}
	orders := []call{
		{"case variant of amount", "/v1/orders", `{` + base + `,"amount":100,"AMOUNT":1}`, "unknown_parameter", "AMOUNT"},
		{"case variant only", "/v1/orders", `{` + base + `,"Amount":100}`, "unknown_parameter", "Amount"},
		{"amount twice", "/v1/orders", `{` + base + `,"amount":-1,"amount":100}`, "parameter_duplicated", "amount"},
		{"amount twice, both valid", "/v1/orders", `{` + base + `,"amount":100,"amount":1}`, "parameter_duplicated", "amount"},
		{"nested case variant", "/v1/orders", `{` + base + `,"amount":1,"payer":{"ip":"192.0.2.1","IP":"198.51.100.1"}}`, "unknown_parameter", "IP"},
		{"nested name twice", "/v1/orders", `{` + base + `,"amount":1,"payer":{"id":"a","id":"b"}}`, "parameter_duplicated", "payer.id"},
		{"metadata key twice", "/v1/orders", `{` + base + `,"amount":1,"metadata":{"k":"1","k":"2"}}`, "parameter_duplicated", "metadata"},
		{"subject not UTF-8", "/v1/orders", `{"out_trade_no":"strict-1","currency":"CNY","amount":1,"subject":"caf` + "\xff\xfe" + `"}`, "subject_invalid", "subject"},
		{"subject lone surrogate", "/v1/orders", `{"out_trade_no":"strict-1","currency":"CNY","amount":1,"subject":"caf\udc00"}`, "subject_invalid", "subject"},
		{"description not UTF-8", "/v1/orders", `{` + base + `,"amount":1,"description":"` + "\xc3\x28" + `"}`, "description_invalid", "description"},
		{"metadata value not UTF-8", "/v1/orders", `{` + base + `,"amount":1,"metadata":{"k":"` + "\xed\xa0\x80" + `"}}`, "metadata_invalid", "metadata"},
		{"metadata key not UTF-8", "/v1/orders", `{` + base + `,"amount":1,"metadata":{"k` + "\xff" + `":"v"}}`, "metadata_invalid", "metadata"},
		{"payer id not UTF-8", "/v1/orders", `{` + base + `,"amount":1,"payer":{"id":"` + "\x80" + `"}}`, "payer_invalid", "payer.id"},
		{"refund reason not UTF-8", "/v1/refunds", `{"order_id":"ord_01hzzzzzzzzzzzzzzzzzzzzzzz","out_refund_no":"r1","amount":1,"reason":"caf` + "\xff" + `"}`, "reason_invalid", "reason"},
		{"refund amount twice", "/v1/refunds", `{"order_id":"ord_01hzzzzzzzzzzzzzzzzzzzzzzz","out_refund_no":"r1","amount":1,"amount":2}`, "parameter_duplicated", "amount"},
		{"endpoint url case variant", "/v1/webhook-endpoints", `{"url":"https://example.com/h","URL":"https://example.org/h","enabled_events":["*"]}`, "unknown_parameter", "URL"},
		{"endpoint description not UTF-8", "/v1/webhook-endpoints", `{"url":"https://example.com/h","enabled_events":["*"],"description":"` + "\xff" + `"}`, "description_invalid", "description"},
		{"test pay outcome twice", "/v1/test/orders/ord_01hzzzzzzzzzzzzzzzzzzzzzzz/pay", `{"outcome":"failed","outcome":"succeeded"}`, "parameter_duplicated", "outcome"},
	}
	operator := []call{
		{"merchant name twice", "/admin/v1/merchants", `{"name":"A","name":"B"}`, "parameter_duplicated", "name"},
		{"merchant name case variant", "/admin/v1/merchants", `{"name":"A","Name":"B"}`, "unknown_parameter", "Name"},
		{"merchant name not UTF-8", "/admin/v1/merchants", `{"name":"caf` + "\xff" + `"}`, "name_invalid", "name"},
	}
	eachStore(t, func(t *testing.T, e *env) {
		check := func(c call, st int, ae client.Error) {
			t.Helper()
			param := ""
			if ae.Param != nil {
				param = *ae.Param
			}
			if st != 400 || ae.Code != c.code || param != c.param {
				t.Errorf("%s: got %d %s param=%q, want 400 %s param=%q", c.name, st, ae.Code, param, c.code, c.param)
			}
		}
		for _, c := range orders {
			st, ae, _ := e.rawCall(t, "POST", c.path, "application/json", []byte(c.body))
			check(c, st, ae)
		}
		for _, c := range operator {
			req, _ := http.NewRequest("POST", e.url+c.path, bytes.NewReader([]byte(c.body)))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var eb client.ErrorBody
			json.Unmarshal(b, &eb)
			check(c, res.StatusCode, eb.Error)
		}
		ctx := context.Background()
		if l, _ := e.demo.ListOrders(ctx, client.ListParams{}); len(l.Data) != 0 {
			t.Fatalf("refused bodies created %d orders, the first for amount %d", len(l.Data), l.Data[0].Amount)
		}
		// A character outside the BMP written as a surrogate pair escape is valid.
		st, ae, _ := e.rawCall(t, "POST", "/v1/orders", "application/json", []byte(`{`+base+`,"amount":1,"description":"caf\ud83d\ude00 \u00e9"}`))
		if st != 201 {
			t.Fatalf("order with a surrogate pair escape: %d %s %s", st, ae.Code, ae.Message)
		}
		o, err := e.demo.GetOrderByOutTradeNo(ctx, "strict-1")
		if err != nil || o.Description != "caf\U0001F600 é" {
			t.Fatalf("order with a surrogate pair escape = %+v, %v", o, err)
		}
	})
}
