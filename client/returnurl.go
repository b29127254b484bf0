package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// ErrReturnSignature is returned, wrapped with the reason, by VerifyReturnURL
// when the parameters are not signed by the app's webhook secret.
var ErrReturnSignature = errors.New("paygate: return URL signature does not verify")

// SignReturnParams returns the signature the gateway appends as the
// "signature" parameter when it sends the payer back to the merchant's
// return_url (docs/api.md, "Return to the merchant site").
//
// The signed string is every parameter except "signature", sorted by name
// (byte order), written as name=value with name and value each
// form-encoded, joined by "&" — e.g.
// "note=tea+%26+cake&order_id=ord_…&out_trade_no=T%7C1&status=succeeded&timestamp=1700000000".
// Form-encoding is url.QueryEscape's (application/x-www-form-urlencoded):
// the bytes A–Z a–z 0–9 and "-", ".", "_", "~" stay as they are, a space
// becomes "+", and every other byte of the UTF-8 text becomes %XX with
// upper-case hex. It is what Go's url.Values.Encode and Python's
// urllib.parse.urlencode (quote_plus) write, so "&" and "=" inside a name or
// a value can never pass for separators: two different parameter sets never
// share a signed string. The HMAC-SHA256 key is the webhook secret's decoded bytes: the standard
// base64 after the "whsec_" prefix, as in Standard Webhooks. The signature is
// the standard base64 (with padding) of the MAC. A parameter given more than
// once is an error, since its order would be ambiguous.
func SignReturnParams(params url.Values, webhookSecret string) (string, error) {
	key, err := WebhookSecretKey(webhookSecret)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(params))
	for name, vs := range params {
		if name == "signature" {
			continue
		}
		if len(vs) != 1 {
			return "", fmt.Errorf("paygate: return parameter %q appears %d times", name, len(vs))
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(params.Get(name)))
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// VerifyReturnURL checks the "signature" parameter of the query the gateway
// sent the payer back with, as SignReturnParams describes. Pass the query of
// the request to the return page (r.URL.Query()) and the app's whsec_
// webhook secret.
//
// The result is a hint for the page: the order's status is settled by the
// webhook notification or by GetOrder. The timestamp parameter is signed but
// not checked for age, since a payer may reload the page later.
func VerifyReturnURL(query url.Values, webhookSecret string) error {
	got := query["signature"]
	if len(got) != 1 || got[0] == "" {
		return fmt.Errorf("%w: want exactly one signature parameter", ErrReturnSignature)
	}
	want, err := SignReturnParams(query, webhookSecret)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrReturnSignature, err)
	}
	if subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) != 1 {
		return fmt.Errorf("%w: signature does not match the parameters", ErrReturnSignature)
	}
	return nil
}

// WebhookSecretKey decodes a webhook secret into its HMAC key. A secret is
// "whsec_" and the standard base64 of 24 to 64 random bytes, and the key is
// those bytes (Standard Webhooks "Signature scheme", docs/api.md "Notifications");
// like the Standard Webhooks libraries, it takes the secret with or without
// its prefix. The gateway signs with the same function the SDK verifies with.
func WebhookSecretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, errors.New("paygate: webhook secret is not whsec_ followed by standard base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("paygate: webhook secret decodes to %d bytes, want 24 to 64", len(key))
	}
	return key, nil
}
