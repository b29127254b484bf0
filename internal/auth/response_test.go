package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
)

func TestResponseSigner(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s := &ResponseSigner{KeyID: "pk_1", Key: priv, Clock: clock.NewFake(testNow)}
	body := []byte(`{"id":"ord_1"}`)
	h := http.Header{}
	s.Sign(h, body)

	if got := h.Get("Paygate-Timestamp"); got != strconv.FormatInt(testNow.Unix(), 10) {
		t.Errorf("Paygate-Timestamp = %q, want %d", got, testNow.Unix())
	}
	if got := h.Get("Paygate-Nonce"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
		t.Errorf("Paygate-Nonce = %q, want 32 hex digits", got)
	}
	if got := h.Get("Paygate-Key-Id"); got != "pk_1" {
		t.Errorf("Paygate-Key-Id = %q, want pk_1", got)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(h.Get("Paygate-Signature"))
	if err != nil {
		t.Fatalf("Paygate-Signature not standard base64: %v", err)
	}
	msg := []byte(h.Get("Paygate-Timestamp") + "\n" + h.Get("Paygate-Nonce") + "\n" + string(body) + "\n")
	if !ed25519.Verify(pub, msg, sig) {
		t.Error("signature does not verify over TIMESTAMP\\nNONCE\\nBODY\\n")
	}
	if ed25519.Verify(pub, client.ResponseMessage(h.Get("Paygate-Timestamp"), h.Get("Paygate-Nonce"), []byte(`{"id":"ord_2"}`)), sig) {
		t.Error("signature verifies over another body")
	}

	h2 := http.Header{}
	s.Sign(h2, body)
	if h2.Get("Paygate-Nonce") == h.Get("Paygate-Nonce") {
		t.Error("two responses got the same nonce")
	}
}

func TestCheckOperator(t *testing.T) {
	t.Parallel()
	token := "op_" + NewHMACSecret()
	hash := HashSecret(token)
	tests := []struct {
		name    string
		headers []string
		hash    string
		want    string
	}{
		{"valid", []string{"Bearer " + token}, hash, ""},
		{"no header", nil, hash, "authentication_required"},
		{"wrong token", []string{"Bearer op_wrong"}, hash, "operator_token_invalid"},
		{"hash itself as token", []string{"Bearer " + hash}, hash, "operator_token_invalid"},
		{"no token configured", []string{"Bearer " + token}, "", "operator_token_invalid"},
		{"empty token matches nothing", []string{"Bearer x"}, "", "operator_token_invalid"},
		{"signed scheme", []string{"PAYGATE-HMAC-SHA256 " + goodParams}, hash, "authorization_invalid"},
		{"basic", []string{"Basic " + token}, hash, "authorization_invalid"},
		{"two headers", []string{"Bearer " + token, "Bearer " + token}, hash, "authorization_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantCode(t, CheckOperator(request("GET", "/admin/v1/merchants", nil, tt.headers...), tt.hash), tt.want)
		})
	}
}
