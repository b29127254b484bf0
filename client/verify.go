package client

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrResponseSignature is returned, wrapped with the reason, when response
// verification is on and a response is not signed by a known platform key
// or its timestamp is more than ResponseWindow off. Test with errors.Is.
var ErrResponseSignature = errors.New("paygate: response signature does not verify")

// ResponseWindow is how far a response's Paygate-Timestamp may be from the
// local clock.
const ResponseWindow = 300 * time.Second

// parsePlatformKey decodes a platform key's PEM SubjectPublicKeyInfo and
// checks that it is of the key's algorithm.
func parsePlatformKey(k PlatformKey) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(k.PublicKey))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("paygate: platform key %s: public_key is not a PEM PUBLIC KEY", k.ID)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("paygate: platform key %s: %w", k.ID, err)
	}
	switch pub.(type) {
	case ed25519.PublicKey:
		if k.Alg == AlgEd25519 {
			return pub, nil
		}
	case *rsa.PublicKey:
		if k.Alg == AlgRSASHA256 {
			return pub, nil
		}
	}
	return nil, fmt.Errorf("paygate: platform key %s: alg %q does not match its public key", k.ID, k.Alg)
}

// parsePlatformKeys maps key ids to parsed public keys. With skipUnknown,
// keys of algorithms this SDK does not know are left out (a newer gateway
// may list them); otherwise they are an error.
func parsePlatformKeys(keys []PlatformKey, skipUnknown bool) (map[string]crypto.PublicKey, error) {
	m := make(map[string]crypto.PublicKey, len(keys))
	for _, k := range keys {
		if skipUnknown && k.Alg != AlgEd25519 && k.Alg != AlgRSASHA256 {
			continue
		}
		pub, err := parsePlatformKey(k)
		if err != nil {
			return nil, err
		}
		m[k.ID] = pub
	}
	if len(m) == 0 {
		return nil, errors.New("paygate: no usable platform key")
	}
	return m, nil
}

// verifyResponse checks the response signature headers against keys.
func verifyResponse(keys map[string]crypto.PublicKey, h http.Header, body []byte, now time.Time) error {
	values := map[string]string{}
	for _, name := range []string{HeaderTimestamp, HeaderNonce, HeaderKeyID, HeaderSignature} {
		v := h.Get(name)
		if v == "" {
			return fmt.Errorf("%w: no %s header", ErrResponseSignature, name)
		}
		values[name] = v
	}
	pub, ok := keys[values[HeaderKeyID]]
	if !ok {
		return fmt.Errorf("%w: unknown platform key id %q", ErrResponseSignature, values[HeaderKeyID])
	}
	ts, err := strconv.ParseInt(values[HeaderTimestamp], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed %s", ErrResponseSignature, HeaderTimestamp)
	}
	if t := time.Unix(ts, 0); t.Before(now.Add(-ResponseWindow)) || t.After(now.Add(ResponseWindow)) {
		return fmt.Errorf("%w: timestamp %d is more than %v from the local clock", ErrResponseSignature, ts, ResponseWindow)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(values[HeaderSignature])
	if err != nil {
		return fmt.Errorf("%w: %s is not standard base64", ErrResponseSignature, HeaderSignature)
	}
	msg := ResponseMessage(values[HeaderTimestamp], values[HeaderNonce], body)
	valid := false
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		valid = ed25519.Verify(pub, msg, sig)
	case *rsa.PublicKey:
		digest := sha256.Sum256(msg)
		valid = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	}
	if !valid {
		return fmt.Errorf("%w: signature by %s does not match the response", ErrResponseSignature, values[HeaderKeyID])
	}
	return nil
}

// checkResponse verifies res when the client verifies responses. With
// WithVerifyResponses it fetches the platform keys on first use, and again
// when a response names a key id it does not know (the gateway rotated).
func (c *Client) checkResponse(ctx context.Context, res *Response) error {
	if c.fixedKeys == nil && !c.fetchKeys {
		return nil
	}
	keys := c.fixedKeys
	if keys == nil {
		var err error
		if keys, err = c.fetchedKeys(ctx, ""); err != nil {
			return err
		}
		if _, ok := keys[res.Header.Get(HeaderKeyID)]; !ok && res.Header.Get(HeaderKeyID) != "" {
			if keys, err = c.fetchedKeys(ctx, res.Header.Get(HeaderKeyID)); err != nil {
				return err
			}
		}
	}
	return verifyResponse(keys, res.Header, res.Body, c.now())
}

// fetchedKeys returns the platform keys fetched from GET /v1/platform-keys,
// fetching them when none are held yet or when they lack keyID.
func (c *Client) fetchedKeys(ctx context.Context, keyID string) (map[string]crypto.PublicKey, error) {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	if c.keys != nil {
		if _, ok := c.keys[keyID]; ok || keyID == "" {
			return c.keys, nil
		}
	}
	res, err := c.send(ctx, http.MethodGet, "/v1/platform-keys", nil, requestConfig{})
	if err != nil {
		return nil, fmt.Errorf("paygate: fetch platform keys: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("paygate: fetch platform keys: %w", decodeError(res))
	}
	var list List[PlatformKey]
	if err := unmarshalBody(res, &list); err != nil {
		return nil, fmt.Errorf("paygate: fetch platform keys: %w", err)
	}
	keys, err := parsePlatformKeys(list.Data, true)
	if err != nil {
		return nil, err
	}
	// The list came over TLS; checking its own signature with it catches a
	// gateway that signs with a key it does not publish.
	if err := verifyResponse(keys, res.Header, res.Body, c.now()); err != nil {
		return nil, fmt.Errorf("paygate: fetch platform keys: %w", err)
	}
	c.keys = keys
	return keys, nil
}
