package auth

import (
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
)

// ResponseSigner signs responses with the platform's current Ed25519 key, so
// merchants can tell a gateway response from a forged one (docs/api.md
// "Authentication"; the client SDK verifies with WithPlatformKeys).
type ResponseSigner struct {
	KeyID string             // id of the platform key, listed by GET /v1/platform-keys
	Key   ed25519.PrivateKey // its private half
	Clock clock.Clock        // nil means clock.Real
}

// Sign sets Paygate-Timestamp, Paygate-Nonce (16 random bytes in hex),
// Paygate-Key-Id and Paygate-Signature (standard base64 Ed25519 over
// client.ResponseMessage) on h for a response with body. Call it before
// writing the header.
func (s *ResponseSigner) Sign(h http.Header, body []byte) {
	var clk clock.Clock = clock.Real{}
	if s.Clock != nil {
		clk = s.Clock
	}
	timestamp := strconv.FormatInt(clk.Now().Unix(), 10)
	nonce := hex.EncodeToString(randomBytes(16))
	sig := ed25519.Sign(s.Key, client.ResponseMessage(timestamp, nonce, body))
	h.Set(client.HeaderTimestamp, timestamp)
	h.Set(client.HeaderNonce, nonce)
	h.Set(client.HeaderKeyID, s.KeyID)
	h.Set(client.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
}

// CheckOperator authenticates an operator API request: it must carry
// `Authorization: Bearer <token>` whose HashSecret equals tokenHash. It
// returns 401 authentication_required without a header, authorization_invalid
// for a header that is not a Bearer token, and operator_token_invalid for
// any other token (always, when tokenHash is empty).
func CheckOperator(r *http.Request, tokenHash string) error {
	values := r.Header.Values("Authorization")
	if len(values) == 0 || (len(values) == 1 && values[0] == "") {
		return errs.Auth("authentication_required", "No operator token provided. Send `Authorization: Bearer <operator token>`.")
	}
	if len(values) > 1 {
		return malformed("send one Authorization header.")
	}
	h, err := parseAuthorization(values[0])
	if err != nil {
		return err
	}
	if h.Bearer == "" {
		return malformed("the operator API takes `Bearer <operator token>`.")
	}
	got := HashSecret(h.Bearer)
	if tokenHash == "" || subtle.ConstantTimeCompare([]byte(got), []byte(tokenHash)) != 1 {
		return errs.Auth("operator_token_invalid", "Invalid operator token.")
	}
	return nil
}
