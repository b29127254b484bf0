package api

import (
	"bytes"
	"testing"
)

// TestWithoutCVC: the Idempotency-Key fingerprint sees a card order's body
// without the CVC, however the member is written, and sees everything else.
func TestWithoutCVC(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"no card", `{"amount":1}`, `{"amount":1}`},
		{"card", `{"amount":1,"card":{"number":"4242424242424242","cvc":"123","exp_year":2030}}`,
			`{"amount":1,"card":{"number":"4242424242424242","cvc","exp_year":2030}}`},
		{"spaces", `{"card":{"cvc" : "123" }}`, `{"card":{"cvc" }}`},
		{"escaped name", `{"card":{"\u0063vc":"123"}}`, `{"card":{"\u0063vc"}}`},
		{"twice", `{"card":{"cvc":"1","cvc":"2"}}`, `{"card":{"cvc","cvc"}}`},
		{"cvc elsewhere stays", `{"metadata":{"cvc":"123"},"subject":"cvc"}`, `{"metadata":{"cvc":"123"},"subject":"cvc"}`},
		{"a value named cvc stays", `{"card":{"number":"cvc"}}`, `{"card":{"number":"cvc"}}`},
		{"not JSON after the card", `{"card":{"cvc":"123"},]`, `{"card":{"cvc"},]`},
	} {
		if got := withoutCVC([]byte(c.in)); !bytes.Equal(got, []byte(c.want)) {
			t.Errorf("%s: withoutCVC(%s) = %s, want %s", c.name, c.in, got, c.want)
		}
	}
}
