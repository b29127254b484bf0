package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// signedReq is a signed request under construction: what is signed, what
// is sent, and the header parameters.
type signedReq struct {
	Alg, AppID, KeyID, Timestamp, Nonce, Signature string

	signMethod, signTarget string
	signBody               []byte
	method, target         string
	body                   []byte
	signer                 func(msg []byte) []byte
}

func (f *fixture) signerFor(t testing.TB, k *store.Key) func([]byte) []byte {
	switch k.Alg {
	case store.AlgHMAC:
		return func(msg []byte) []byte {
			m := hmac.New(sha256.New, []byte(f.hmacSecret))
			m.Write(msg)
			return m.Sum(nil)
		}
	case store.AlgRSA:
		return func(msg []byte) []byte { return rsaSign(t, f.rsaPriv, msg) }
	default:
		return func(msg []byte) []byte { return ed25519.Sign(f.edPriv, msg) }
	}
}

func rsaSign(t testing.TB, k *rsa.PrivateKey, msg []byte) []byte {
	d := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

var nonceSeq atomic.Int64

// newNonce returns a fresh valid nonce.
func newNonce() string { return fmt.Sprintf("nonce-%016d", nonceSeq.Add(1)) }

// newSigned returns a valid signed POST with k's private half.
func (f *fixture) newSigned(t testing.TB, k *store.Key) *signedReq {
	body := []byte(`{"out_trade_no":"T1","amount":100}`)
	return &signedReq{
		Alg: k.Alg, AppID: k.AppID, KeyID: k.ID,
		Timestamp: strconv.FormatInt(f.clock.Now().Unix(), 10), Nonce: newNonce(),
		signMethod: "POST", signTarget: "/v1/orders?limit=5", signBody: body,
		method: "POST", target: "/v1/orders?limit=5", body: body,
		signer: f.signerFor(t, k),
	}
}

func (s *signedReq) header() string {
	if s.Signature == "" {
		msg := client.SigningMessage(s.signMethod, s.signTarget, s.Timestamp, s.Nonce, s.signBody)
		s.Signature = base64.StdEncoding.EncodeToString(s.signer(msg))
	}
	return fmt.Sprintf(`PAYGATE-%s app_id="%s",key_id="%s",timestamp="%s",nonce="%s",signature="%s"`,
		s.Alg, s.AppID, s.KeyID, s.Timestamp, s.Nonce, s.Signature)
}

func (f *fixture) authenticate(s *signedReq) (*Principal, error) {
	h := s.header()
	return f.auth.Authenticate(context.Background(), request(s.method, s.target, s.body, h), s.body)
}

func TestAuthenticateSigned(t *testing.T) {
	t.Parallel()
	unix := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	past := testNow.Add(-time.Minute)
	tests := []struct {
		name   string
		key    func(*fixture) *store.Key
		mod    func(*fixture, *signedReq)
		before func(*fixture)
		want   string
	}{
		{name: "hmac valid", key: hmacKey},
		{name: "rsa valid", key: rsaKey},
		{name: "ed25519 valid", key: edKey},
		{name: "get without body", key: edKey, mod: func(_ *fixture, s *signedReq) {
			s.signMethod, s.method, s.signBody, s.body = "GET", "GET", nil, nil
		}},
		{name: "escaped target signed as sent", key: hmacKey, mod: func(_ *fixture, s *signedReq) {
			s.signTarget, s.target = "/v1/orders/by-out-trade-no/a%2Fb%7Cc", "/v1/orders/by-out-trade-no/a%2Fb%7Cc"
		}},
		{name: "target signed decoded", key: hmacKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) {
			s.signTarget, s.target = "/v1/orders/by-out-trade-no/a/b", "/v1/orders/by-out-trade-no/a%2Fb"
		}},
		{name: "tampered body", key: hmacKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) {
			s.body = []byte(`{"out_trade_no":"T1","amount":1}`)
		}},
		{name: "body with trailing newline", key: rsaKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) {
			s.body = append(append([]byte{}, s.body...), '\n')
		}},
		{name: "tampered target", key: rsaKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) { s.target = "/v1/orders?limit=6" }},
		{name: "tampered query dropped", key: edKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) { s.target = "/v1/orders" }},
		{name: "tampered method", key: edKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) { s.method = "PUT" }},
		{name: "signed by another rsa key", key: rsaKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) {
			s.signer = func(msg []byte) []byte { return rsaSign(t, testRSAOther(), msg) }
		}},
		{name: "signature not base64", key: hmacKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) { s.Signature = "not*base64" }},
		{name: "signature unpadded", key: hmacKey, want: "signature_invalid", mod: func(f *fixture, s *signedReq) {
			s.header()
			s.Signature = strings.TrimRight(s.Signature, "=")
		}},
		{name: "signature empty bytes", key: edKey, want: "signature_invalid", mod: func(_ *fixture, s *signedReq) { s.Signature = "AAAA" }},
		{name: "timestamp at window edge past", key: hmacKey, mod: func(_ *fixture, s *signedReq) { s.Timestamp = unix(-300 * time.Second) }},
		{name: "timestamp at window edge future", key: hmacKey, mod: func(_ *fixture, s *signedReq) { s.Timestamp = unix(300 * time.Second) }},
		{name: "timestamp stale", key: hmacKey, want: "timestamp_out_of_window", mod: func(_ *fixture, s *signedReq) { s.Timestamp = unix(-301 * time.Second) }},
		{name: "timestamp future", key: edKey, want: "timestamp_out_of_window", mod: func(_ *fixture, s *signedReq) { s.Timestamp = unix(301 * time.Second) }},
		{name: "timestamp milliseconds", key: edKey, want: "timestamp_invalid", mod: func(_ *fixture, s *signedReq) {
			s.Timestamp = strconv.FormatInt(testNow.UnixMilli(), 10)
		}},
		{name: "timestamp signed", key: hmacKey, want: "timestamp_invalid", mod: func(_ *fixture, s *signedReq) { s.Timestamp = "+" + s.Timestamp }},
		{name: "timestamp negative", key: hmacKey, want: "timestamp_invalid", mod: func(_ *fixture, s *signedReq) { s.Timestamp = "-5" }},
		{name: "timestamp rfc3339", key: hmacKey, want: "timestamp_invalid", mod: func(_ *fixture, s *signedReq) { s.Timestamp = testNow.Format(time.RFC3339) }},
		{name: "timestamp huge", key: hmacKey, want: "timestamp_invalid", mod: func(_ *fixture, s *signedReq) { s.Timestamp = "99999999999999999999999" }},
		{name: "nonce 16 chars", key: hmacKey, mod: func(_ *fixture, s *signedReq) { s.Nonce = "A-b_" + newNonce()[10:] }},
		{name: "nonce 64 chars", key: hmacKey, mod: func(_ *fixture, s *signedReq) { s.Nonce = strings.Repeat("x", 48) + newNonce()[6:] }},
		{name: "nonce too short", key: hmacKey, want: "nonce_invalid", mod: func(_ *fixture, s *signedReq) { s.Nonce = "abcdefghijklmno" }},
		{name: "nonce too long", key: hmacKey, want: "nonce_invalid", mod: func(_ *fixture, s *signedReq) { s.Nonce = strings.Repeat("a", 65) }},
		{name: "nonce bad char", key: hmacKey, want: "nonce_invalid", mod: func(_ *fixture, s *signedReq) { s.Nonce = "abcdefghijklmnop=" }},
		{name: "alg does not match key", key: hmacKey, want: "algorithm_mismatch", mod: func(_ *fixture, s *signedReq) { s.Alg = client.AlgEd25519 }},
		{name: "rsa key claimed as hmac", key: rsaKey, want: "algorithm_mismatch", mod: func(_ *fixture, s *signedReq) { s.Alg = client.AlgHMACSHA256 }},
		{name: "key of another app", key: hmacKey, want: "api_key_invalid", mod: func(f *fixture, s *signedReq) { s.KeyID = f.otherHMAC.ID }},
		{name: "own key claimed for another app", key: hmacKey, want: "api_key_invalid", mod: func(f *fixture, s *signedReq) { s.AppID = f.otherApp.ID }},
		{name: "unknown key", key: edKey, want: "api_key_invalid", mod: func(_ *fixture, s *signedReq) { s.KeyID = "key_nope" }},
		{name: "secret key used as signing key", key: hmacKey, want: "api_key_invalid", mod: func(_ *fixture, s *signedReq) { s.KeyID = "key_sk" }},
		{name: "revoked", key: edKey, want: "api_key_revoked", before: func(f *fixture) { f.edKey.RevokedAt = &past }},
		{name: "revoked without valid signature", key: edKey, want: "signature_invalid", before: func(f *fixture) { f.edKey.RevokedAt = &past },
			mod: func(_ *fixture, s *signedReq) { s.body = []byte("{}") }},
		{name: "expired", key: rsaKey, want: "api_key_expired", before: func(f *fixture) { f.rsaKey.ExpiresAt = &past }},
		{name: "expires now", key: hmacKey, want: "api_key_expired", before: func(f *fixture) { now := testNow; f.hmacKey.ExpiresAt = &now }},
		{name: "expires later", key: hmacKey, before: func(f *fixture) { later := testNow.Add(time.Second); f.hmacKey.ExpiresAt = &later }},
		{name: "strict app accepts signed", key: hmacKey, before: func(f *fixture) { f.hmacKey.AppID = f.strictApp.ID },
			mod: func(f *fixture, s *signedReq) { s.AppID = f.strictApp.ID }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if tt.before != nil {
				tt.before(f)
			}
			k := tt.key(f)
			s := f.newSigned(t, k)
			if tt.mod != nil {
				tt.mod(f, s)
			}
			p, err := f.authenticate(s)
			wantCode(t, err, tt.want)
			_, recorded := f.store.nonceExpiry(s.AppID, s.Nonce)
			if tt.want != "" {
				if recorded {
					t.Errorf("nonce recorded for a rejected request (%s)", tt.want)
				}
				return
			}
			if !p.Signed || p.Key.ID != k.ID || p.App.ID != s.AppID {
				t.Errorf("principal = signed %v key %s app %s; want signed key %s app %s", p.Signed, p.Key.ID, p.App.ID, k.ID, s.AppID)
			}
			if !recorded {
				t.Error("nonce of an accepted request not recorded")
			}
		})
	}
}

func hmacKey(f *fixture) *store.Key { return f.hmacKey }
func rsaKey(f *fixture) *store.Key  { return f.rsaKey }
func edKey(f *fixture) *store.Key   { return f.edKey }

func TestNonceReplay(t *testing.T) {
	t.Parallel()
	f := setup(t)
	first := f.newSigned(t, f.hmacKey)
	if _, err := f.authenticate(first); err != nil {
		t.Fatalf("first use: %v", err)
	}
	replay := *first
	if _, err := f.authenticate(&replay); err == nil {
		t.Fatal("the exact replay was accepted")
	} else {
		wantCode(t, err, "nonce_reused")
	}

	// A fresh, validly signed request reusing the nonce is refused too.
	again := f.newSigned(t, f.edKey)
	again.Nonce = first.Nonce
	again.signBody, again.body = []byte(`{}`), []byte(`{}`)
	_, err := f.authenticate(again)
	wantCode(t, err, "nonce_reused")

	// Nonces are per app.
	other := f.newSigned(t, f.otherHMAC)
	other.Nonce = first.Nonce
	other.signer = f.signerFor(t, f.hmacKey) // same secret
	if _, err := f.authenticate(other); err != nil {
		t.Fatalf("same nonce for another app: %v", err)
	}

	// Once the window has passed the nonce may come back (its old timestamp cannot).
	f.clock.Advance(DefaultWindow + time.Second)
	later := f.newSigned(t, f.hmacKey)
	later.Nonce = first.Nonce
	if _, err := f.authenticate(later); err != nil {
		t.Fatalf("nonce reused after the window: %v", err)
	}
	wantCode(t, func() error { _, err := f.authenticate(&replay); return err }(), "timestamp_out_of_window")
}

func TestForgedRequestDoesNotBurnNonce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	forged := f.newSigned(t, f.rsaKey)
	forged.signer = func(msg []byte) []byte { return rsaSign(t, testRSAOther(), msg) }
	_, err := f.authenticate(forged)
	wantCode(t, err, "signature_invalid")

	genuine := f.newSigned(t, f.rsaKey)
	genuine.Nonce = forged.Nonce
	if _, err := f.authenticate(genuine); err != nil {
		t.Fatalf("genuine request after a forgery with its nonce: %v", err)
	}
}

func TestNonceKeptWhileTimestampValid(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newSigned(t, f.edKey)
	ahead := testNow.Add(200 * time.Second) // client clock 200 s ahead
	s.Timestamp = strconv.FormatInt(ahead.Unix(), 10)
	if _, err := f.authenticate(s); err != nil {
		t.Fatal(err)
	}
	exp, _ := f.store.nonceExpiry(f.app.ID, s.Nonce)
	if want := ahead.Add(DefaultWindow); !exp.Equal(want) {
		t.Fatalf("nonce expires %v, want %v (timestamp + window)", exp, want)
	}
	f.clock.Advance(450 * time.Second) // past now+window, still within ts+window
	replay := *s
	wantCode(t, func() error { _, err := f.authenticate(&replay); return err }(), "nonce_reused")
}

func TestWindowOption(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.auth.Window = 30 * time.Second
	s := f.newSigned(t, f.hmacKey)
	s.Timestamp = strconv.FormatInt(testNow.Add(-31*time.Second).Unix(), 10)
	_, err := f.authenticate(s)
	wantCode(t, err, "timestamp_out_of_window")
}

func TestAuthenticateBearer(t *testing.T) {
	t.Parallel()
	past := testNow.Add(-time.Hour)
	tests := []struct {
		name   string
		token  func(*fixture) string
		before func(*fixture)
		want   string
	}{
		{name: "valid", token: func(f *fixture) string { return f.secretKey }},
		{name: "lower-case scheme", token: func(f *fixture) string { return f.secretKey }},
		{name: "unknown", token: func(*fixture) string { return NewSecretKey(false) }, want: "api_key_invalid"},
		{name: "not an sk key", token: func(*fixture) string { return "abc" }, want: "api_key_invalid"},
		{name: "hmac secret as bearer", token: func(f *fixture) string { return f.hmacSecret }, want: "api_key_invalid"},
		{name: "revoked", token: func(f *fixture) string { return f.secretKey }, before: func(f *fixture) { f.store.keys["key_sk"].RevokedAt = &past }, want: "api_key_revoked"},
		{name: "expired", token: func(f *fixture) string { return f.secretKey }, before: func(f *fixture) { f.store.keys["key_sk"].ExpiresAt = &past }, want: "api_key_expired"},
		{name: "app requires signature", token: func(f *fixture) string { return f.secretKey }, before: func(f *fixture) { f.store.keys["key_sk"].AppID = f.strictApp.ID }, want: "signature_required"},
		{name: "signing key hash", token: func(f *fixture) string { return "sk_test_x" }, before: func(f *fixture) {
			f.hmacKey.SecretHash = HashSecret("sk_test_x")
		}, want: "api_key_invalid"},
		{name: "live prefix on test app", token: func(f *fixture) string { return "sk_live_abc" }, before: func(f *fixture) {
			f.store.put(&store.Key{ID: "key_live", AppID: f.app.ID, Kind: store.KeySecret, SecretHash: HashSecret("sk_live_abc")})
		}, want: "api_key_invalid"},
		{name: "app gone", token: func(f *fixture) string { return f.secretKey }, before: func(f *fixture) { delete(f.store.apps, f.app.ID) }, want: "api_key_invalid"},
		{name: "store down", token: func(f *fixture) string { return f.secretKey }, before: func(f *fixture) { f.store.Err = errors.New("db down") }, want: "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if tt.before != nil {
				tt.before(f)
			}
			scheme := "Bearer "
			if tt.name == "lower-case scheme" {
				scheme = "bearer  "
			}
			p, err := f.auth.Authenticate(context.Background(), request("GET", "/v1/balance", nil, scheme+tt.token(f)), nil)
			wantCode(t, err, tt.want)
			if err == nil && (p.Signed || p.App.ID != f.app.ID || p.Key.ID != "key_sk") {
				t.Fatalf("principal = %+v, want app %s key key_sk unsigned", p, f.app.ID)
			}
			if err != nil && strings.Contains(err.Error(), tt.token(f)) {
				t.Fatalf("error %q shows the token", err)
			}
		})
	}
}

func TestAuthenticateStoreFailureIsInternal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newSigned(t, f.hmacKey)
	f.store.Err = errors.New("db down")
	_, err := f.authenticate(s)
	wantCode(t, err, "internal_error")

	f = setup(t)
	f.auth.Unseal = func(string) (string, error) { return "", errors.New("wrong master key") }
	_, err = f.authenticate(f.newSigned(t, f.hmacKey))
	wantCode(t, err, "internal_error")

	f = setup(t)
	f.rsaKey.PublicKey = "garbage" // a stored key that no longer parses is our fault, not the caller's
	_, err = f.authenticate(f.newSigned(t, f.rsaKey))
	wantCode(t, err, "internal_error")
}
