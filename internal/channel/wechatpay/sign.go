package wechatpay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// AuthSchema is the Authorization scheme of API v3 requests.
const AuthSchema = "WECHATPAY2-SHA256-RSA2048"

// signTestPrefix starts the signature of WeChat's probes, which a merchant
// must answer as a bad signature.
const signTestPrefix = "WECHATPAY/SIGNTEST/"

// maxSkew is how far a response's or notification's timestamp may be from
// our clock (exclusive).
const maxSkew = 300 * time.Second

// Headers of signed responses and notifications.
const (
	headerTimestamp = "Wechatpay-Timestamp"
	headerNonce     = "Wechatpay-Nonce"
	headerSignature = "Wechatpay-Signature"
	headerSerial    = "Wechatpay-Serial"
)

// SigningMessage joins parts into an API v3 signing message: each part
// followed by "\n", the last one included. A request's parts are method,
// URI (path and query, no host), timestamp, nonce and body; a response's
// or notification's are timestamp, nonce and body.
func SigningMessage(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	return b.String()
}

// SignSHA256RSA signs message with key (RSASSA-PKCS1-v1_5 over SHA-256)
// and returns the signature in standard Base64.
func SignSHA256RSA(key *rsa.PrivateKey, message string) (string, error) {
	sum := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign with merchant key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifySHA256RSA checks a standard-Base64 SHA256withRSA signature of message.
func VerifySHA256RSA(key *rsa.PublicKey, message, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("signature is not Base64: %w", err)
	}
	sum := sha256.Sum256([]byte(message))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature does not verify: %w", err)
	}
	return nil
}

// AuthorizationHeader builds the Authorization header of an API v3 request.
func AuthorizationHeader(mchID, serialNo, nonce, timestamp, signature string) string {
	return fmt.Sprintf(`%s mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		AuthSchema, mchID, nonce, timestamp, serialNo, signature)
}

// newNonce returns 32 random upper-case hexadecimal characters.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// verifySigned checks the Wechatpay-* headers of a response or notification
// over body: the serial must name our platform key, the timestamp must be
// within five minutes of now, and the signature must verify. Every failure
// wraps channel.ErrBadSignature.
func (c *Connector) verifySigned(h http.Header, body []byte) error {
	sig := h.Get(headerSignature)
	ts, nonce, serial := h.Get(headerTimestamp), h.Get(headerNonce), h.Get(headerSerial)
	switch {
	case sig == "" || ts == "" || nonce == "" || serial == "":
		return fmt.Errorf("missing Wechatpay-* signature headers: %w", channel.ErrBadSignature)
	case strings.HasPrefix(sig, signTestPrefix):
		return fmt.Errorf("signature test probe: %w", channel.ErrBadSignature)
	case serial != c.platformSerial:
		return fmt.Errorf("signed with unknown platform key %q: %w", serial, channel.ErrBadSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, channel.ErrBadSignature)
	}
	if skew := c.now().Sub(time.Unix(sec, 0)); skew >= maxSkew || skew <= -maxSkew {
		return fmt.Errorf("timestamp %s is %s away from now: %w", ts, skew, channel.ErrBadSignature)
	}
	if err := VerifySHA256RSA(c.platformKey, SigningMessage(ts, nonce, string(body)), sig); err != nil {
		return fmt.Errorf("%w: %w", channel.ErrBadSignature, err)
	}
	return nil
}

// DecryptAEADAES256GCM opens a notification resource (or any AEAD_AES_256_GCM
// field): key is the APIv3 key's bytes, nonce and associatedData the
// resource's strings, ciphertext Base64 with the 16-byte tag at its end.
func DecryptAEADAES256GCM(key []byte, nonce, associatedData, ciphertext string) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return nil, fmt.Errorf("gcm nonce of %d bytes: %w", len(nonce), err)
	}
	data, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("ciphertext is not Base64: %w", err)
	}
	plain, err := gcm.Open(nil, []byte(nonce), data, []byte(associatedData))
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return plain, nil
}

// V2 signature types.
const (
	SignTypeMD5        = "MD5"
	SignTypeHMACSHA256 = "HMAC-SHA256"
)

// V2SigningString is the API v2 "stringSignTemp": the non-empty parameters
// other than sign, sorted by name, joined as k=v with "&", then "&key=<key>".
func V2SigningString(params map[string]string, key string) string {
	names := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" && k != "sign" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.WriteString(key)
	return b.String()
}

// V2Sign signs API v2 parameters with the API v2 key: MD5 or HMAC-SHA256
// (keyed with the API key) of V2SigningString, in upper-case hex.
func V2Sign(params map[string]string, key, signType string) (string, error) {
	var h hash.Hash
	switch signType {
	case SignTypeMD5, "":
		h = md5.New()
	case SignTypeHMACSHA256:
		h = hmac.New(sha256.New, []byte(key))
	default:
		return "", fmt.Errorf("unknown v2 sign_type %q", signType)
	}
	h.Write([]byte(V2SigningString(params, key)))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))), nil
}

// verifyV2 checks the sign of an API v2 answer (signed like our request,
// with sign_type's algorithm, MD5 when absent).
func verifyV2(params map[string]string, key, signType string) error {
	want, err := V2Sign(params, key, signType)
	if err != nil {
		return fmt.Errorf("%w: %w", channel.ErrBadSignature, err)
	}
	if !hmac.Equal([]byte(want), []byte(strings.ToUpper(params["sign"]))) {
		return fmt.Errorf("v2 sign does not match: %w", channel.ErrBadSignature)
	}
	return nil
}
