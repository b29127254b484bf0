package api

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// jwtBearer is RFC 7523's client_assertion_type.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// parseAssertionKey reads a client's PEM public key: RSA of 2048 bits or
// more (RS256), ECDSA P-256 (ES256) or Ed25519 (EdDSA).
func parseAssertionKey(p string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("RSA key under 2048 bits")
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA key not on P-256")
		}
	case ed25519.PublicKey:
	default:
		return nil, errors.New("unsupported key type")
	}
	return k, nil
}

// verifyJWS checks a compact JWS signed with key, and returns its payload.
// The algorithm must be the key's: RS256, ES256 or EdDSA (never "none").
func verifyJWS(compact string, key crypto.PublicKey) ([]byte, error) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, errors.New("bad base64url")
	}
	var h struct {
		Alg  string `json:"alg"`
		Crit []any  `json:"crit"`
	}
	if err := json.Unmarshal(hb, &h); err != nil || h.Crit != nil {
		return nil, errors.New("bad header")
	}
	signed := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(signed)
	ok := false
	switch k := key.(type) {
	case *rsa.PublicKey:
		ok = h.Alg == "RS256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		if h.Alg == "ES256" && len(sig) == 64 {
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(k, digest[:], r, s)
		}
	case ed25519.PublicKey:
		ok = h.Alg == "EdDSA" && ed25519.Verify(k, signed, sig)
	}
	if !ok {
		return nil, errors.New("bad signature")
	}
	return payload, nil
}

// audience is a JWT "aud": one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*a = many
	return err
}

// oauthAssertion authenticates a client by private_key_jwt (RFC 7523 §2.2):
// a JWT signed with the client's key, iss and sub its id, aud the token
// endpoint, an exp within the hour, and a jti used once.
func (s *Server) oauthAssertion(ctx context.Context, form url.Values) (*store.OAuthClient, error) {
	bad := oauthErr(401, "invalid_client", "Client authentication failed.")
	if form.Get("client_assertion_type") != jwtBearer {
		return nil, oauthErr(400, "invalid_request", "client_assertion_type must be "+jwtBearer+".")
	}
	jws := form.Get("client_assertion")
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, bad
	}
	// The claims are read before the signature is checked only to find
	// the client, whose key then checks the signature.
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, bad
	}
	var claims struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Aud audience `json:"aud"`
		Exp *float64 `json:"exp"`
		Nbf *float64 `json:"nbf"`
		Jti string   `json:"jti"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Iss == "" || claims.Iss != claims.Sub || !strings.HasPrefix(claims.Sub, oauthClientPrefix) {
		return nil, bad
	}
	if id := form.Get("client_id"); id != "" && id != claims.Sub {
		return nil, bad
	}
	c, err := s.Store.OAuthClientGet(ctx, claims.Sub)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if c.PublicKey == "" || c.RevokedAt != nil {
		return nil, bad
	}
	key, err := parseAssertionKey(c.PublicKey)
	if err != nil {
		return nil, bad
	}
	if _, err := verifyJWS(jws, key); err != nil {
		return nil, bad
	}
	now := s.now()
	if claims.Exp == nil || claims.Jti == "" || len(claims.Jti) > 200 {
		return nil, bad
	}
	exp := time.Unix(int64(*claims.Exp), 0)
	if !now.Before(exp) || exp.After(now.Add(time.Hour)) || (claims.Nbf != nil && now.Before(time.Unix(int64(*claims.Nbf), 0).Add(-time.Minute))) {
		return nil, bad
	}
	base := ""
	if s.Payments != nil {
		base = s.Payments.PublicURL
	}
	if !slices.ContainsFunc(claims.Aud, func(a string) bool {
		return a == base+"/oauth/token" || a == base+"/oauth/revoke" || a == base
	}) {
		return nil, bad
	}
	// A jti is used once: kept, like signed requests' nonces, until exp.
	if err := s.Store.NonceUse(ctx, c.ID, "jti:"+claims.Jti, now, exp); errors.Is(err, store.ErrConflict) {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	return c, nil
}
