package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// memStore is an in-memory Store. Err, when set, fails every call.
type memStore struct {
	mu     sync.Mutex
	keys   map[string]*store.Key
	apps   map[string]*store.App
	nonces map[string]time.Time // appID + " " + nonce → expiresAt
	Err    error
}

func newMemStore() *memStore {
	return &memStore{keys: map[string]*store.Key{}, apps: map[string]*store.App{}, nonces: map[string]time.Time{}}
}

func (m *memStore) KeyGet(ctx context.Context, id string) (*store.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	if k, ok := m.keys[id]; ok {
		c := *k
		return &c, nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) KeyGetBySecretHash(ctx context.Context, hash string) (*store.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	for _, k := range m.keys {
		if k.SecretHash != "" && k.SecretHash == hash {
			c := *k
			return &c, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *memStore) AppGet(ctx context.Context, id string) (*store.App, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	if a, ok := m.apps[id]; ok {
		c := *a
		return &c, nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) NonceUse(ctx context.Context, appID, nonce string, now, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	k := appID + " " + nonce
	if exp, ok := m.nonces[k]; ok && exp.After(now) {
		return store.ErrConflict
	}
	m.nonces[k] = expiresAt
	return nil
}

// nonceExpiry returns when the nonce expires, and whether it is recorded.
func (m *memStore) nonceExpiry(appID, nonce string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.nonces[appID+" "+nonce]
	return exp, ok
}

func (m *memStore) put(k *store.Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = k
}

// Keys made once per test binary: RSA generation is slow under -race.
var (
	testRSA      = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	testRSAOther = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// fixture is a store with two test-mode apps and their keys, a fake clock
// and an Authenticator over them.
type fixture struct {
	store *memStore
	clock *clock.Fake
	auth  *Authenticator
	box   *cryptobox.Box

	app, strictApp, otherApp *store.App

	secretKey  string     // Bearer key of app
	hmacKey    *store.Key // signing keys of app
	hmacSecret string
	rsaKey     *store.Key
	rsaPriv    *rsa.PrivateKey
	edKey      *store.Key
	edPriv     ed25519.PrivateKey
	otherHMAC  *store.Key // signing key of otherApp, same secret as hmacKey
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func setup(t testing.TB) *fixture {
	t.Helper()
	box, err := cryptobox.New(bytes.Repeat([]byte{7}, cryptobox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: newMemStore(), clock: clock.NewFake(testNow), box: box}
	f.auth = &Authenticator{Store: f.store, Unseal: box.Open, Clock: f.clock}

	f.app = &store.App{ID: "app_main", MerchantID: "mch_1"}
	f.strictApp = &store.App{ID: "app_strict", MerchantID: "mch_1", RequireSignature: true}
	f.otherApp = &store.App{ID: "app_other", MerchantID: "mch_2"}
	for _, a := range []*store.App{f.app, f.strictApp, f.otherApp} {
		f.store.apps[a.ID] = a
	}

	f.secretKey = NewSecretKey(false)
	f.store.put(&store.Key{ID: "key_sk", AppID: f.app.ID, Kind: store.KeySecret, SecretHash: HashSecret(f.secretKey)})

	f.hmacSecret = NewHMACSecret()
	sealed, err := box.Seal(f.hmacSecret)
	if err != nil {
		t.Fatal(err)
	}
	f.hmacKey = &store.Key{ID: "key_hmac", AppID: f.app.ID, Kind: store.KeySigning, Alg: store.AlgHMAC, SecretSealed: sealed}
	f.otherHMAC = &store.Key{ID: "key_other", AppID: f.otherApp.ID, Kind: store.KeySigning, Alg: store.AlgHMAC, SecretSealed: sealed}

	f.rsaPriv = testRSA()
	f.rsaKey = &store.Key{ID: "key_rsa", AppID: f.app.ID, Kind: store.KeySigning, Alg: store.AlgRSA, PublicKey: publicPEM(t, &f.rsaPriv.PublicKey)}

	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.edPriv = edPriv
	f.edKey = &store.Key{ID: "key_ed", AppID: f.app.ID, Kind: store.KeySigning, Alg: store.AlgEd25519, PublicKey: publicPEM(t, edPub)}

	for _, k := range []*store.Key{f.hmacKey, f.otherHMAC, f.rsaKey, f.edKey} {
		f.store.put(k)
	}
	return f
}

// request returns a server-side request as http.Server would make it
// (RequestURI set to the raw target) carrying the Authorization headers.
func request(method, target string, body []byte, authorization ...string) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for _, h := range authorization {
		r.Header.Add("Authorization", h)
	}
	return r
}

// wantCode fails unless err is an *errs.Error with code (and status 401 for
// authentication errors), or nil when code is "".
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("got error %v, want success", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *errs.Error %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("got code %s (%s), want %s", e.Code, e.Message, code)
	}
}
