package client

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Signature algorithms of signed requests, as they appear after "PAYGATE-"
// in the Authorization header.
const (
	AlgHMACSHA256 = "HMAC-SHA256"
	AlgRSASHA256  = "RSA-SHA256"
	AlgEd25519    = "ED25519"
)

// Headers the gateway signs every response with (docs/api.md, "Authentication").
const (
	HeaderTimestamp = "Paygate-Timestamp"
	HeaderNonce     = "Paygate-Nonce"
	HeaderKeyID     = "Paygate-Key-Id"
	HeaderSignature = "Paygate-Signature"
)

// SigningMessage returns the bytes a signed request signs: five lines, each
// ending in "\n": the HTTP method, the request target (path plus ?query
// exactly as sent), the unix timestamp, the nonce and the exact body bytes
// (empty for GET). The gateway verifies with the same function.
func SigningMessage(method, target, timestamp, nonce string, body []byte) []byte {
	msg := make([]byte, 0, len(method)+len(target)+len(timestamp)+len(nonce)+len(body)+5)
	for _, line := range []string{method, target, timestamp, nonce} {
		msg = append(msg, line...)
		msg = append(msg, '\n')
	}
	msg = append(msg, body...)
	return append(msg, '\n')
}

// ResponseMessage returns the bytes the gateway signs a response over:
// "TIMESTAMP\nNONCE\nBODY\n".
func ResponseMessage(timestamp, nonce string, body []byte) []byte {
	msg := make([]byte, 0, len(timestamp)+len(nonce)+len(body)+3)
	msg = append(msg, timestamp...)
	msg = append(msg, '\n')
	msg = append(msg, nonce...)
	msg = append(msg, '\n')
	msg = append(msg, body...)
	return append(msg, '\n')
}

// requestSigner signs requests with one of an app's signing keys.
type requestSigner struct {
	appID string
	keyID string
	alg   string
	sign  func(msg []byte) ([]byte, error)
}

func hmacSigner(appID, keyID, secret string) *requestSigner {
	key := []byte(secret) // the UTF-8 bytes of the secret exactly as issued
	return &requestSigner{appID: appID, keyID: keyID, alg: AlgHMACSHA256, sign: func(msg []byte) ([]byte, error) {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		return m.Sum(nil), nil
	}}
}

func rsaSigner(appID, keyID string, key *rsa.PrivateKey) *requestSigner {
	return &requestSigner{appID: appID, keyID: keyID, alg: AlgRSASHA256, sign: func(msg []byte) ([]byte, error) {
		digest := sha256.Sum256(msg)
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	}}
}

func ed25519Signer(appID, keyID string, key ed25519.PrivateKey) *requestSigner {
	return &requestSigner{appID: appID, keyID: keyID, alg: AlgEd25519, sign: func(msg []byte) ([]byte, error) {
		return ed25519.Sign(key, msg), nil
	}}
}

// authorization returns the Authorization header of a signed request.
func (s *requestSigner) authorization(method, target string, body []byte, now time.Time) (string, error) {
	timestamp := strconv.FormatInt(now.Unix(), 10)
	nonce := randomHex(16)
	sig, err := s.sign(SigningMessage(method, target, timestamp, nonce, body))
	if err != nil {
		return "", fmt.Errorf("paygate: sign request: %w", err)
	}
	return fmt.Sprintf(`PAYGATE-%s app_id="%s",key_id="%s",timestamp="%s",nonce="%s",signature="%s"`,
		s.alg, s.appID, s.keyID, timestamp, nonce, base64.StdEncoding.EncodeToString(sig)), nil
}

// randomHex returns n random bytes as 2n hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}
