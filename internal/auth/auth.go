// Package auth is Paygate's access layer: it authenticates merchant requests
// made with a Bearer secret key or signed with one of the app's signing keys
// (docs/api.md, "Authentication"), signs responses with the platform key, checks
// the operator token, and mints the secrets the operator API hands out.
//
// Signed requests are verified over client.SigningMessage, the same function
// the Go SDK signs with. A signed request's nonce is recorded only after its
// signature verifies, so a forger cannot burn a merchant's nonces.
//
// Not here: OAuth 2.0 client credentials (docs/api.md), and permissions
// beyond "this key belongs to this app".
package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// DefaultWindow is how far a signed request's timestamp may be from the
// server's clock, and how long its nonce is remembered.
const DefaultWindow = 300 * time.Second

// Store is what authentication reads and writes; store.Store implements it.
type Store interface {
	KeyGet(ctx context.Context, id string) (*store.Key, error)
	KeyGetBySecretHash(ctx context.Context, hash string) (*store.Key, error)
	AppGet(ctx context.Context, id string) (*store.App, error)
	// NonceUse records nonce for appID until expiresAt; store.ErrConflict
	// when it is recorded and not expired at now.
	NonceUse(ctx context.Context, appID, nonce string, now, expiresAt time.Time) error
}

// Principal is who made an authenticated request.
type Principal struct {
	App    *store.App
	Key    *store.Key // the secret key or signing key used
	Signed bool       // true for a signed request, false for a Bearer secret key
}

// Authenticator authenticates merchant API requests.
type Authenticator struct {
	Store Store
	// Unseal opens an HMAC signing secret sealed at rest (cryptobox.Box.Open).
	Unseal func(sealed string) (string, error)
	// Clock tells the time; nil means clock.Real.
	Clock clock.Clock
	// Window is how far a signed request's timestamp may be from now, either
	// way; zero means DefaultWindow (300 s).
	Window time.Duration

	// apps caches apps by id. An app never changes after it is created (its
	// mode, merchant and require_signature are fixed; keys, which do change,
	// are read on every request), so a cached app is never stale and every
	// request saves a read.
	apps    sync.Map // app id → *store.App
	appsLen atomic.Int64
}

// maxCachedApps bounds the app cache; past it, the cache starts afresh.
const maxCachedApps = 100_000

// Authenticate checks the Authorization header of r, whose body the caller
// has read into body. It returns the principal, a 401 *errs.Error saying
// what is wrong, or a 500 internal_error (errs.Internal) when the store or
// a stored key fails.
//
// A signed request is checked in this order: header syntax, nonce and
// timestamp syntax, timestamp window, key (unknown keys and keys of another
// app are alike), algorithm, signature, then revocation and expiry — which
// a caller learns only after proving it holds the key — and last the nonce.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, body []byte) (*Principal, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 || (len(values) == 1 && strings.Trim(values[0], " \t") == "") {
		return nil, errs.Auth("authentication_required",
			"No credentials provided. Send `Authorization: Bearer sk_…` or sign the request (`Authorization: PAYGATE-<ALG> …`).")
	}
	if len(values) > 1 {
		return nil, malformed("send one Authorization header.")
	}
	h, err := parseAuthorization(values[0])
	if err != nil {
		return nil, err
	}
	if h.Bearer != "" {
		return a.bearer(ctx, h.Bearer)
	}
	return a.signed(ctx, r, body, h)
}

func (a *Authenticator) now() time.Time {
	if a.Clock == nil {
		return clock.Real{}.Now()
	}
	return a.Clock.Now()
}

func (a *Authenticator) window() time.Duration {
	if a.Window <= 0 {
		return DefaultWindow
	}
	return a.Window
}

var (
	errKeyInvalid     = errs.Auth("api_key_invalid", "Invalid API key provided.")
	errSigningKey     = errs.Auth("api_key_invalid", "No such signing key for this app.")
	errKeyRevoked     = errs.Auth("api_key_revoked", "This key has been revoked.")
	errSigRequired    = errs.Auth("signature_required", "This app requires signed requests; a Bearer secret key is not accepted.")
	errNonceInvalid   = errs.Auth("nonce_invalid", "The nonce must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -.")
	errNonceReused    = errs.Auth("nonce_reused", "This nonce was already used by this app; use a new random nonce for every request.")
	errTimestamp      = errs.Auth("timestamp_invalid", "The timestamp must be unix seconds in decimal digits.")
	errSignatureB64   = errs.Auth("signature_invalid", "The signature must be standard base64 with padding.")
	errSignatureWrong = errs.Auth("signature_invalid",
		"The signature does not match the request. Sign \"METHOD\\nTARGET\\nTIMESTAMP\\nNONCE\\nBODY\\n\", "+
			"where TARGET is the path and query exactly as sent and BODY the exact body bytes.")
)

// bearer authenticates a secret key. The lookup by hash itself proves the
// caller holds the key, so the key's state can be told.
func (a *Authenticator) bearer(ctx context.Context, token string) (*Principal, error) {
	live := strings.HasPrefix(token, "sk_live_")
	if !live && !strings.HasPrefix(token, "sk_test_") {
		return nil, errKeyInvalid
	}
	key, err := a.Store.KeyGetBySecretHash(ctx, HashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errKeyInvalid
	}
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("look up secret key: %w", err))
	}
	if key.Kind != store.KeySecret {
		return nil, errKeyInvalid
	}
	if err := a.keyUsable(key); err != nil {
		return nil, err
	}
	app, err := a.app(ctx, key)
	if err != nil {
		return nil, err
	}
	if app.Livemode != live { // the prefix must tell the app's mode
		return nil, errKeyInvalid
	}
	if app.RequireSignature {
		return nil, errSigRequired
	}
	return &Principal{App: app, Key: key}, nil
}

// signed authenticates a signed request.
func (a *Authenticator) signed(ctx context.Context, r *http.Request, body []byte, h *authorization) (*Principal, error) {
	if !validNonce(h.Nonce) {
		return nil, errNonceInvalid
	}
	ts, ok := parseUnix(h.Timestamp)
	if !ok {
		return nil, errTimestamp
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(h.Signature)
	if err != nil {
		return nil, errSignatureB64
	}
	now, w := a.now(), a.window()
	if ts.Before(now.Add(-w)) || ts.After(now.Add(w)) {
		return nil, errs.Auth("timestamp_out_of_window", fmt.Sprintf(
			"The timestamp is more than %d s away from the server time (unix %d); check the client's clock.",
			int64(w/time.Second), now.Unix()))
	}

	key, err := a.Store.KeyGet(ctx, h.KeyID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (key.AppID != h.AppID || key.Kind != store.KeySigning)) {
		return nil, errSigningKey
	}
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("look up signing key: %w", err))
	}
	if key.Alg != h.Alg {
		return nil, errs.Auth("algorithm_mismatch", fmt.Sprintf(
			"Key %s is a %s key; sign with it and send `Authorization: PAYGATE-%s …`.", key.ID, key.Alg, key.Alg))
	}
	msg := client.SigningMessage(r.Method, requestTarget(r), h.Timestamp, h.Nonce, body)
	if err := a.verify(key, msg, sig); err != nil {
		return nil, err
	}
	if err := a.keyUsable(key); err != nil {
		return nil, err
	}
	app, err := a.app(ctx, key)
	if err != nil {
		return nil, err
	}
	// Remember the nonce for as long as the timestamp stays acceptable: until
	// ts+w, which is later than now+w when the client's clock is ahead.
	expires := now
	if ts.After(now) {
		expires = ts
	}
	err = a.Store.NonceUse(ctx, app.ID, h.Nonce, now, expires.Add(w))
	if errors.Is(err, store.ErrConflict) {
		return nil, errNonceReused
	}
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("record nonce: %w", err))
	}
	return &Principal{App: app, Key: key, Signed: true}, nil
}

// keyUsable rejects revoked and expired keys.
func (a *Authenticator) keyUsable(key *store.Key) error {
	if key.RevokedAt != nil {
		return errKeyRevoked
	}
	if key.ExpiresAt != nil && !key.ExpiresAt.After(a.now()) {
		return errs.Auth("api_key_expired", "This key expired at "+key.ExpiresAt.UTC().Format(time.RFC3339)+".")
	}
	return nil
}

// app returns the key's app; an app that is gone makes the key invalid.
func (a *Authenticator) app(ctx context.Context, key *store.Key) (*store.App, error) {
	if v, ok := a.apps.Load(key.AppID); ok {
		return v.(*store.App), nil
	}
	app, err := a.Store.AppGet(ctx, key.AppID)
	if err == nil {
		if a.appsLen.Add(1) > maxCachedApps {
			a.apps.Clear()
			a.appsLen.Store(1)
		}
		a.apps.Store(app.ID, app)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errKeyInvalid
	}
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("look up app %s: %w", key.AppID, err))
	}
	return app, nil
}

// verify checks sig over msg with the key; signature_invalid when it does
// not match.
func (a *Authenticator) verify(key *store.Key, msg, sig []byte) error {
	valid := false
	switch key.Alg {
	case store.AlgHMAC:
		if a.Unseal == nil {
			return errs.Internal(errors.New("auth: no Unseal function for HMAC keys"))
		}
		secret, err := a.Unseal(key.SecretSealed)
		if err != nil {
			return errs.Internal(fmt.Errorf("unseal HMAC secret of key %s: %w", key.ID, err))
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(msg)
		valid = hmac.Equal(m.Sum(nil), sig)
	case store.AlgRSA, store.AlgEd25519:
		pub, err := ParsePublicKey(key.Alg, key.PublicKey)
		if err != nil {
			return errs.Internal(fmt.Errorf("stored public key of key %s: %w", key.ID, err))
		}
		switch pub := pub.(type) {
		case *rsa.PublicKey:
			digest := sha256.Sum256(msg)
			valid = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
		case ed25519.PublicKey:
			valid = ed25519.Verify(pub, msg, sig)
		}
	default:
		return errs.Internal(fmt.Errorf("key %s has unknown alg %q", key.ID, key.Alg))
	}
	if !valid {
		return errSignatureWrong
	}
	return nil
}

// requestTarget is the request target as the client sent it: the raw
// request-line target for server requests, else the URL's path and query.
func requestTarget(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// validNonce reports whether n is 16..64 characters of [A-Za-z0-9_-].
func validNonce(n string) bool {
	if len(n) < 16 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !(c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// parseUnix parses decimal unix seconds: digits only, no sign, at most 12
// of them (until the year 33658).
func parseUnix(s string) (time.Time, bool) {
	if s == "" || len(s) > 12 {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return time.Unix(n, 0), err == nil
}
