// Package cryptobox seals secrets at rest (HMAC keys, webhook secrets, the
// platform's private keys, channel credentials, stored answers that carry
// them) with AES-256-GCM under the master key. A sealed value is
// "v1.<key id>.<base64url(nonce|ciphertext)>"; the key id lets a later
// master key rotate in while old values still open. It also derives keys
// for other uses from the master key (DeriveKey), so that the one secret
// the operator keeps covers them too.
package cryptobox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
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
	// master is the current master key, for DeriveKey.
	master []byte
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
			b.master = append([]byte(nil), k...)
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
	return b.seal([]byte(plaintext), b.current)
}

// Open decrypts a value made by Seal with any key the Box holds.
func (b *Box) Open(sealed string) (string, error) {
	pt, err := b.open(sealed, func(keyID string) string { return keyID })
	return string(pt), err
}

// SealFor is Seal for a value that belongs to one place, named by context
// (such as the record it is stored in): the context is authenticated with
// the value, so it opens only with OpenFor and the same context, and cannot
// be moved to another record and opened there.
func (b *Box) SealFor(context string, plaintext []byte) (string, error) {
	return b.seal(plaintext, forAD(b.current, context))
}

// OpenFor decrypts a value made by SealFor with the same context.
func (b *Box) OpenFor(context, sealed string) ([]byte, error) {
	return b.open(sealed, func(keyID string) string { return forAD(keyID, context) })
}

// forAD is the associated data of SealFor: the key id, a NUL (which a key
// id never holds, so no SealFor value opens with Open) and the context.
func forAD(keyID, context string) string { return keyID + "\x00" + context }

// IsSealed reports whether s has the form of a sealed value (it may still
// not open).
func IsSealed(s []byte) bool { return bytes.HasPrefix(s, []byte("v1.")) }

func (b *Box) seal(plaintext []byte, ad string) (string, error) {
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, plaintext, []byte(ad))
	return "v1." + b.current + "." + base64.RawURLEncoding.EncodeToString(ct), nil
}

func (b *Box) open(sealed string, ad func(keyID string) string) ([]byte, error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, errors.New("cryptobox: not a sealed value")
	}
	aead, ok := b.aeads[parts[1]]
	if !ok {
		return nil, fmt.Errorf("cryptobox: sealed with unknown master key %s", parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, errors.New("cryptobox: malformed sealed value")
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(ad(parts[1])))
	if err != nil {
		return nil, errors.New("cryptobox: sealed value does not authenticate")
	}
	return pt, nil
}

// DeriveKey returns a 32-byte key for one purpose, named by label, derived
// from the current master key with HKDF-SHA256 (RFC 5869; the label is the
// info, there is no salt). Keys of different labels are independent, and
// none tells anything of the master key. It is what keys the fingerprints
// of requests that may carry card numbers: without the master key they
// cannot be tested against guesses. A derived key changes with the master
// key: what was keyed under the old one no longer matches.
func (b *Box) DeriveKey(label string) []byte {
	k, err := hkdf.Key(sha256.New, b.master, nil, label, KeySize)
	if err != nil {
		panic("cryptobox: derive key: " + err.Error()) // only for lengths HKDF cannot make
	}
	return k
}
