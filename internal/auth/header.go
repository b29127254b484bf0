package auth

import (
	"strings"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
)

// maxAuthorization bounds the Authorization header; a real one is under 400 bytes.
const maxAuthorization = 4096

// authorization is a parsed Authorization header: either a Bearer token or
// the five parameters of a signed request.
type authorization struct {
	Bearer string // the token of `Bearer <token>`

	Alg       string // signed: client.AlgHMACSHA256, AlgRSASHA256 or AlgEd25519
	AppID     string
	KeyID     string
	Timestamp string
	Nonce     string
	Signature string
}

// signedParams are the parameters of a signed request, each required once.
var signedParams = []string{"app_id", "key_id", "timestamp", "nonce", "signature"}

func malformed(msg string) *errs.Error {
	return errs.Auth("authorization_invalid", "Malformed Authorization header: "+msg)
}

// parseAuthorization parses `Bearer <token>` or
// `PAYGATE-<ALG> app_id="..",key_id="..",timestamp="..",nonce="..",signature=".."`.
// Scheme names are case-insensitive (RFC 9110); parameter names are not.
// Whitespace around tokens, "=" and "," is tolerated; unknown, duplicate,
// empty and missing parameters are not. It returns authorization_invalid,
// and its messages never echo header values.
func parseAuthorization(h string) (*authorization, error) {
	if len(h) > maxAuthorization {
		return nil, malformed("longer than 4096 bytes.")
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < 0x20 && c != '\t') || c >= 0x7f {
			return nil, malformed("it must be printable ASCII.")
		}
	}
	h = strings.Trim(h, " \t")
	scheme, rest := h, ""
	if i := strings.IndexAny(h, " \t"); i >= 0 {
		scheme, rest = h[:i], strings.Trim(h[i:], " \t")
	}
	const signedPrefix = "PAYGATE-"
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" || strings.ContainsAny(rest, " \t,\"") {
			return nil, malformed("want `Bearer <secret key>`.")
		}
		return &authorization{Bearer: rest}, nil
	case len(scheme) > len(signedPrefix) && strings.EqualFold(scheme[:len(signedPrefix)], signedPrefix):
		alg := strings.ToUpper(scheme[len(signedPrefix):])
		switch alg {
		case client.AlgHMACSHA256, client.AlgRSASHA256, client.AlgEd25519:
		default:
			return nil, malformed("the algorithm must be PAYGATE-HMAC-SHA256, PAYGATE-RSA-SHA256 or PAYGATE-ED25519.")
		}
		params, err := parseParams(rest)
		if err != nil {
			return nil, err
		}
		return &authorization{
			Alg:       alg,
			AppID:     params["app_id"],
			KeyID:     params["key_id"],
			Timestamp: params["timestamp"],
			Nonce:     params["nonce"],
			Signature: params["signature"],
		}, nil
	default:
		return nil, malformed("want `Bearer <secret key>` or `PAYGATE-<ALG> app_id=\"…\",key_id=\"…\",timestamp=\"…\",nonce=\"…\",signature=\"…\"`.")
	}
}

// parseParams parses comma-separated name="value" pairs. Values are quoted
// strings without escapes.
func parseParams(s string) (map[string]string, error) {
	params := make(map[string]string, len(signedParams))
	i := 0
	for {
		i = skipSpace(s, i)
		start := i
		for i < len(s) && isNameChar(s[i]) {
			i++
		}
		name := s[start:i]
		if name == "" {
			return nil, malformed("expected a parameter name such as app_id.")
		}
		if !isSignedParam(name) {
			return nil, malformed("unknown parameter " + clip(name) + "; want app_id, key_id, timestamp, nonce and signature.")
		}
		if _, dup := params[name]; dup {
			return nil, malformed("parameter " + name + " appears twice.")
		}
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != '=' {
			return nil, malformed("expected = after " + name + ".")
		}
		i = skipSpace(s, i+1)
		if i >= len(s) || s[i] != '"' {
			return nil, malformed("the value of " + name + " must be in double quotes.")
		}
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 {
			return nil, malformed("the value of " + name + " has no closing quote.")
		}
		value := s[i+1 : i+1+end]
		if value == "" {
			return nil, malformed("parameter " + name + " is empty.")
		}
		if strings.ContainsAny(value, "\\") {
			return nil, malformed("the value of " + name + " contains a backslash.")
		}
		params[name] = value
		i = skipSpace(s, i+1+end+1)
		if i == len(s) {
			break
		}
		if s[i] != ',' {
			return nil, malformed("expected , after the value of " + name + ".")
		}
		i++
	}
	for _, name := range signedParams {
		if _, ok := params[name]; !ok {
			return nil, malformed("missing parameter " + name + ".")
		}
	}
	return params, nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isNameChar(c byte) bool {
	return c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func isSignedParam(name string) bool {
	for _, p := range signedParams {
		if p == name {
			return true
		}
	}
	return false
}

// clip shortens a parameter name quoted in a message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
