package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// RSA public keys accepted for request signing, in bits. The upper bound
// keeps a registered key from making every verification expensive.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// HashSecret returns the hex SHA-256 of a Bearer secret (a secret key or the
// operator token): what store.Key.SecretHash holds. The secrets carry 256
// random bits, so a plain hash is enough; they are never stored themselves.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretKeyChars is 43 characters of base62: 43·log2(62) ≈ 256 bits.
const secretKeyChars = 43

// NewSecretKey returns a new Bearer secret key: "sk_test_" or "sk_live_"
// followed by 43 random base62 characters (256 bits).
func NewSecretKey(live bool) string {
	prefix := "sk_test_"
	if live {
		prefix = "sk_live_"
	}
	return prefix + randomBase62(secretKeyChars)
}

// NewHMACSecret returns a new HMAC-SHA256 signing secret: 32 random bytes as
// unpadded base64url (43 characters). Merchants and the gateway use the
// UTF-8 bytes of this string as the HMAC key, exactly as issued.
func NewHMACSecret() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

// NewWebhookSecret returns a new webhook secret: "whsec_" followed by the
// standard base64 of 32 random bytes. Its HMAC key is the decoded bytes.
func NewWebhookSecret() string {
	return "whsec_" + base64.StdEncoding.EncodeToString(randomBytes(32))
}

// ParsePublicKey parses the public half of an app's signing key, registered
// as PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"): an RSA key of
// MinRSABits to MaxRSABits for store.AlgRSA, an Ed25519 key for
// store.AlgEd25519. Bad input returns 400 public_key_invalid; an algorithm
// without a public key returns 400 alg_invalid.
func ParsePublicKey(alg, pemText string) (crypto.PublicKey, error) {
	if alg != store.AlgRSA && alg != store.AlgEd25519 {
		return nil, errs.InvalidParam("alg", "Public keys are registered for RSA-SHA256 and ED25519 keys only.")
	}
	invalid := func(msg string) error { return errs.InvalidParam("public_key", msg) }
	block, rest := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, invalid("The public key must be PEM: -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----.")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, invalid("The public key must be a PEM \"PUBLIC KEY\" block (SubjectPublicKeyInfo), not \"" + clip(block.Type) + "\".")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, invalid("The public key must be a single PEM block.")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, invalid("The public key is not a valid SubjectPublicKeyInfo.")
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg != store.AlgRSA {
			return nil, invalid("The public key is an RSA key; the key's alg is " + alg + ".")
		}
		if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return nil, invalid("RSA public keys must be 2048 to 8192 bits.")
		}
		return k, nil
	case ed25519.PublicKey:
		if alg != store.AlgEd25519 {
			return nil, invalid("The public key is an Ed25519 key; the key's alg is " + alg + ".")
		}
		return k, nil
	default:
		return nil, invalid("The public key must be an RSA or Ed25519 key.")
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return b
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n uniformly random base62 characters.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if b < 248 && len(out) < n { // 248 = 4·62: reject the rest so every character is equally likely
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}
