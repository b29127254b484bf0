// Package cryptobox seals secrets at rest (HMAC keys, webhook secrets, the
// platform's private keys, channel credentials) with AES-256-GCM under the
// master key. A sealed value is "v1.<key id>.<base64url(nonce|ciphertext)>";
// the key id lets a later master key rotate in while old values still open.
package cryptobox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the master key's length in bytes.
const KeySize = 32

// Box seals with its current key and opens with any key it holds.
type Box struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New returns a Box for the given master keys; the first one seals.
func New(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("cryptobox: no master key")
	}
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("cryptobox: master key is %d bytes, want %d", len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(k)
		b.aeads[id] = aead
		if i == 0 {
			b.current = id
		}
	}
	return b, nil
}

// ParseKey decodes a master key given as 64 hex digits or standard base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	return nil, errors.New("cryptobox: master key must be 32 bytes as 64 hex digits or base64")
}

// KeyID names a master key without revealing it: the first 8 hex digits of its SHA-256.
func KeyID(k []byte) string {
	h := sha256.Sum256(append([]byte("paygate-master-key:"), k...))
	return hex.EncodeToString(h[:4])
}

// Seal encrypts plaintext under the current key.
func (b *Box) Seal(plaintext string) (string, error) {
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, []byte(plaintext), []byte(b.current))
	return "v1." + b.current + "." + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open decrypts a value made by Seal with any key the Box holds.
func (b *Box) Open(sealed string) (string, error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return "", errors.New("cryptobox: not a sealed value")
	}
	aead, ok := b.aeads[parts[1]]
	if !ok {
		return "", fmt.Errorf("cryptobox: sealed with unknown master key %s", parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("cryptobox: malformed sealed value")
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(parts[1]))
	if err != nil {
		return "", errors.New("cryptobox: sealed value does not authenticate")
	}
	return string(pt), nil
}
