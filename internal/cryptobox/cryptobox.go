// Package cryptobox seals secrets at rest (HMAC keys, webhook secrets, the
// platform's private keys, channel credentials, stored answers that carry
// them) with AES-256-GCM under the master key. A sealed value is
// "v1.<key id>.<base64url(nonce|ciphertext)>"; the key id lets a later
// master key rotate in while old values still open: a Box holds the
// current master key, which seals, and any former ones, which only open.
//
// It also derives keys for other uses (DeriveKey: the fingerprints of
// idempotent requests, card fingerprints), so that the one secret the
// operator keeps covers them too. Those are kept in the database and
// compared later, so they must not change when the master key does. They
// are derived from the derivation root, not from the master key itself: a
// random-looking 32-byte secret kept in the database sealed under the
// master key (LoadRoot, RootStore). The first time a deployment loads it
// there is none, and the root is made the current master key itself, so a
// deployment that derived from its master key before roots existed keeps
// every derived value. A master key rotation then only re-seals the root,
// like any other sealed value: what was derived before it still matches
// after it.
//
// Limits: a Box whose root was never loaded derives from its current
// master key (what tests and tools without a database want); the gateway
// always loads it. The root never changes: there is no rotation of derived
// keys, which would orphan every fingerprint kept.
package cryptobox

import (
	"bytes"
	"context"
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
	// ids are the key ids, the current one first.
	ids []string
	// root keys DeriveKey: the loaded derivation root, or until LoadRoot
	// the current master key.
	root []byte
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
		if _, dup := b.aeads[id]; dup {
			continue
		}
		b.aeads[id] = aead
		b.ids = append(b.ids, id)
		if i == 0 {
			b.current = id
			b.root = append([]byte(nil), k...)
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

// CurrentKeyID is the key id of the master key that seals.
func (b *Box) CurrentKeyID() string { return b.current }

// KeyIDs are the key ids of every master key the Box holds, the current
// one first.
func (b *Box) KeyIDs() []string { return append([]string(nil), b.ids...) }

// SealedKeyID returns the key id a sealed value names, and false when s
// does not have the form of a sealed value.
func SealedKeyID(s string) (string, bool) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) != 3 || parts[0] != "v1" || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// Reseal opens a value made by Seal under any key the Box holds and seals
// it again under the current key. A value already under the current key
// is returned as it is.
func (b *Box) Reseal(sealed string) (string, error) {
	if id, _ := SealedKeyID(sealed); id == b.current {
		return sealed, nil
	}
	pt, err := b.open(sealed, func(keyID string) string { return keyID })
	if err != nil {
		return "", err
	}
	return b.seal(pt, b.current)
}

// ResealFor is Reseal for a value made by SealFor with context.
func (b *Box) ResealFor(context, sealed string) (string, error) {
	if id, _ := SealedKeyID(sealed); id == b.current {
		return sealed, nil
	}
	pt, err := b.OpenFor(context, sealed)
	if err != nil {
		return "", err
	}
	return b.SealFor(context, pt)
}

// RootContext is the SealFor context of the sealed derivation root: bound
// to it, the root's place cannot be taken by another sealed value whose
// plaintext someone knows (a merchant's own webhook secret).
const RootContext = "paygate/derivation-root/v1"

// RootStore keeps the derivation root, sealed under the master key (the
// gateway keeps it in its settings table).
type RootStore interface {
	// RootGet returns the sealed root, or "" when none is stored yet.
	RootGet(ctx context.Context) (string, error)
	// RootInit stores sealed as the root unless one is stored, and returns
	// the one stored: racing callers all get the winner's.
	RootInit(ctx context.Context, sealed string) (string, error)
}

// ErrNoRootWhileRotating is returned by LoadRoot when no root is stored and
// the Box holds several master keys: the root would have to be the master
// key derivation used before, which the Box cannot tell.
var ErrNoRootWhileRotating = errors.New("cryptobox: no derivation root is stored yet and several master keys are given: " +
	"start once with only the master key used until now (this records the root), then rotate")

// LoadRoot makes the root kept in st the one DeriveKey derives from. When
// st has none, the current master key becomes the root and is stored,
// sealed, so that keys derived before roots existed stay the same. Call it
// before the Box is shared: it is not safe alongside DeriveKey.
func (b *Box) LoadRoot(ctx context.Context, st RootStore) error {
	sealed, err := st.RootGet(ctx)
	if err != nil {
		return fmt.Errorf("cryptobox: read derivation root: %w", err)
	}
	if sealed == "" {
		if len(b.ids) > 1 {
			return ErrNoRootWhileRotating
		}
		mine, err := b.SealFor(RootContext, b.root)
		if err != nil {
			return err
		}
		if sealed, err = st.RootInit(ctx, mine); err != nil {
			return fmt.Errorf("cryptobox: store derivation root: %w", err)
		}
	}
	root, err := b.OpenFor(RootContext, sealed)
	if err != nil {
		return fmt.Errorf("cryptobox: open derivation root: %w", err)
	}
	if len(root) != KeySize {
		return fmt.Errorf("cryptobox: derivation root is %d bytes, want %d", len(root), KeySize)
	}
	b.root = root
	return nil
}

// DeriveKey returns a 32-byte key for one purpose, named by label, derived
// from the derivation root (see the package doc) with HKDF-SHA256 (RFC
// 5869; the label is the info, there is no salt). Keys of different labels
// are independent, and none tells anything of the root or the master key.
// It is what keys the fingerprints of requests that may carry card
// numbers: without the database and the master key they cannot be tested
// against guesses. A derived key stays the same across master key
// rotations, once the root is loaded; before LoadRoot it is derived from
// the current master key.
func (b *Box) DeriveKey(label string) []byte {
	k, err := hkdf.Key(sha256.New, b.root, nil, label, KeySize)
	if err != nil {
		panic("cryptobox: derive key: " + err.Error()) // only for lengths HKDF cannot make
	}
	return k
}
