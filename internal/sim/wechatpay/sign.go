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
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The simulator signs and verifies on its own, without the connector's
// code, so a mistake in one is caught by the other.

const authSchema = "WECHATPAY2-SHA256-RSA2048"

// message is WeChat's signing message: each part followed by "\n".
func message(parts ...string) []byte {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func signRSA(key *rsa.PrivateKey, msg []byte) string {
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("wechatpay sim: sign: %v", err)) // a well-formed key never fails
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// checkAuth verifies a v3 request's Authorization header as WeChat does;
// it returns the SIGN_ERROR message, or "" when the request is genuine.
func (s *Sim) checkAuth(r *http.Request, body []byte) string {
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, authSchema+" ")
	if !ok {
		return "错误的签名验证方式 (Authorization must use " + authSchema + ")"
	}
	p := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return "Authorization 格式错误: " + kv
		}
		p[k] = v[1 : len(v)-1]
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if p[k] == "" {
			return "Authorization 缺少 " + k
		}
	}
	if p["mchid"] != MchID {
		return "商户号与签名不匹配"
	}
	if p["serial_no"] != merchantSerial {
		return "商户证书序列号有误"
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil {
		return "timestamp 格式错误"
	}
	if d := s.clock.Now().Sub(time.Unix(ts, 0)); d >= 5*time.Minute || d <= -5*time.Minute {
		return "签名过期 (timestamp more than 5 minutes away)"
	}
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil {
		return "签名错误 (signature is not Base64)"
	}
	sum := sha256.Sum256(message(r.Method, r.RequestURI, p["timestamp"], p["nonce_str"], string(body)))
	if rsa.VerifyPKCS1v15(&merchantKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "签名错误"
	}
	return ""
}

// errorBody is a v3 error answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeSigned writes a v3 answer signed with the platform key (a wrong key
// when badSig): Wechatpay-Timestamp, -Nonce, -Serial and -Signature over
// "TS\nNONCE\nBODY\n". A nil body is written empty (204).
func (s *Sim) writeSigned(w http.ResponseWriter, badSig bool, status int, body any) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			status, data = http.StatusInternalServerError, []byte(`{"code":"SYSTEM_ERROR","message":"encode"}`)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	s.signHeaders(w.Header(), badSig, data)
	w.Header().Set("Request-ID", randomHex(16))
	w.WriteHeader(status)
	w.Write(data)
}

// signHeaders sets the Wechatpay-* headers of a signed answer or notification.
func (s *Sim) signHeaders(h http.Header, badSig bool, body []byte) {
	key := platformKey
	if badSig {
		key = wrongKey
	}
	ts, nonce := strconv.FormatInt(s.clock.Now().Unix(), 10), randomHex(16)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", platformSerial)
	h.Set("Wechatpay-Signature", signRSA(key, message(ts, nonce, string(body))))
}

// encrypt seals plain as a notification resource with the APIv3 key.
func encrypt(plain []byte, associatedData string) (ciphertext, nonce string) {
	block, _ := aes.NewCipher([]byte(apiV3Key))
	gcm, _ := cipher.NewGCM(block)
	nonce = randomHex(6) // 12 ASCII characters, as WeChat's nonces
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte(associatedData))), nonce
}

// v2Sign signs v2 parameters: sorted non-empty k=v joined with "&", then
// "&key=…", MD5 or HMAC-SHA256 (keyed with the API key), upper-case hex.
func v2Sign(params map[string]string, key, signType string) string {
	names := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" && k != "sign" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + "=" + params[k] + "&")
	}
	b.WriteString("key=" + key)
	var h hash.Hash = md5.New()
	if signType == "HMAC-SHA256" {
		h = hmac.New(sha256.New, []byte(key))
	}
	h.Write([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}
