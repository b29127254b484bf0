package client_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// platformKey is a gateway signing key for tests. The signature is computed
// here from the API reference (docs/api.md), not with the package's own helpers.
type platformKey struct {
	id  string
	ed  ed25519.PrivateKey
	rsa *rsa.PrivateKey
}

func newPlatformKey(t *testing.T, id string) platformKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return platformKey{id: id, ed: priv}
}

func (k platformKey) public(t *testing.T) client.PlatformKey {
	var pub any
	alg := "ED25519"
	if k.rsa != nil {
		pub, alg = &k.rsa.PublicKey, "RSA-SHA256"
	} else {
		pub = k.ed.Public()
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return client.PlatformKey{ID: k.id, Alg: alg, PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), Status: "current"}
}

// sign sets the response signature headers for body as signed at at.
func (k platformKey) sign(h http.Header, body []byte, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := "0123456789abcdef0123456789abcdef"
	msg := []byte(ts + "\n" + nonce + "\n" + string(body) + "\n")
	var sig []byte
	if k.rsa != nil {
		d := sha256.Sum256(msg)
		sig, _ = rsa.SignPKCS1v15(rand.Reader, k.rsa, crypto.SHA256, d[:])
	} else {
		sig = ed25519.Sign(k.ed, msg)
	}
	h.Set("Paygate-Timestamp", ts)
	h.Set("Paygate-Nonce", nonce)
	h.Set("Paygate-Key-Id", k.id)
	h.Set("Paygate-Signature", base64.StdEncoding.EncodeToString(sig))
}

// signedReply answers with status and body, signed by k over signedBody.
// signedReply signs its answer with a timestamp age from the moment it
// answers (not from when the test began), so a window's edge stays exact.
func signedReply(k platformKey, status int, signedBody, body string, age time.Duration) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		k.sign(w.Header(), []byte(signedBody), time.Now().Add(age))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestResponseVerification(t *testing.T) {
	t.Parallel()
	key := newPlatformKey(t, "pk_1")
	other := newPlatformKey(t, "pk_1") // same id, another key
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := platformKey{id: "pk_rsa", rsa: rsaPriv}
	now := time.Now()
	errBody := `{"error":{"type":"invalid_request_error","code":"order_not_found","message":"No such order.","param":null,"request_id":"req_1"}}`
	tests := []struct {
		name     string
		handle   func(http.ResponseWriter, *http.Request, []byte)
		wantSig  bool   // want ErrResponseSignature
		wantCode string // want *client.Error with this code
	}{
		{name: "valid", handle: signedReply(key, 200, orderJSON, orderJSON, 0)},
		{name: "valid rsa platform key", handle: signedReply(rsaKey, 200, orderJSON, orderJSON, 0)},
		{name: "timestamp 299 s old", handle: signedReply(key, 200, orderJSON, orderJSON, -299*time.Second)},
		{name: "signed error response", handle: signedReply(key, 404, errBody, errBody, 0), wantCode: "order_not_found"},
		{name: "tampered body", handle: signedReply(key, 200, orderJSON, `{"id":"ord_2","object":"order"}`, 0), wantSig: true},
		{name: "signed by an unlisted key", handle: signedReply(other, 200, orderJSON, orderJSON, 0), wantSig: true},
		{name: "unknown key id", handle: signedReply(newPlatformKey(t, "pk_9"), 200, orderJSON, orderJSON, 0), wantSig: true},
		{name: "stale timestamp", handle: signedReply(key, 200, orderJSON, orderJSON, -301*time.Second), wantSig: true},
		{name: "future timestamp", handle: signedReply(key, 200, orderJSON, orderJSON, 301*time.Second), wantSig: true},
		{name: "unsigned", handle: reply(200, orderJSON), wantSig: true},
		{name: "unsigned error", handle: reply(502, "bad gateway"), wantSig: true},
		{name: "signature not base64", wantSig: true, handle: func(w http.ResponseWriter, r *http.Request, b []byte) {
			key.sign(w.Header(), []byte(orderJSON), now)
			w.Header().Set("Paygate-Signature", "***")
			io.WriteString(w, orderJSON)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, tt.handle)
			c := newClient(t, g.URL, client.WithSecretKey("sk_test_abc"), client.WithPlatformKeys([]client.PlatformKey{key.public(t), rsaKey.public(t)}))
			o, err := c.GetOrder(context.Background(), "ord_1")
			switch {
			case tt.wantSig:
				if !errors.Is(err, client.ErrResponseSignature) || o != nil {
					t.Fatalf("GetOrder = %v, %v; want ErrResponseSignature", o, err)
				}
			case tt.wantCode != "":
				var e *client.Error
				if !errors.As(err, &e) || e.Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
			default:
				if err != nil || o.ID != "ord_1" {
					t.Fatalf("GetOrder = %+v, %v", o, err)
				}
			}
		})
	}
}

// keyServer is a gateway that publishes its platform keys at
// /v1/platform-keys and signs every response with the current one.
type keyServer struct {
	mu       sync.Mutex
	current  platformKey
	listed   []client.PlatformKey
	fetches  atomic.Int32
	requests atomic.Int32
}

func (s *keyServer) handle(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	cur, listed := s.current, s.listed
	s.mu.Unlock()
	body := []byte(orderJSON)
	if r.URL.Path == "/v1/platform-keys" {
		s.fetches.Add(1)
		body, _ = json.Marshal(client.List[client.PlatformKey]{Object: "list", Data: listed})
	} else {
		s.requests.Add(1)
	}
	cur.sign(w.Header(), body, time.Now())
	w.Write(body)
}

func TestVerifyResponsesFetchesKeys(t *testing.T) {
	t.Parallel()
	k1, k2 := newPlatformKey(t, "pk_1"), newPlatformKey(t, "pk_2")
	s := &keyServer{current: k1, listed: []client.PlatformKey{k1.public(t), {ID: "pk_x", Alg: "ML-DSA", PublicKey: "future"}}}
	g := newGateway(t, s.handle)
	c := newClient(t, g.URL, client.WithSecretKey("sk_test_abc"), client.WithVerifyResponses())
	ctx := context.Background()

	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetOrder(ctx, "ord_1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := s.fetches.Load(); n != 1 {
		t.Fatalf("platform keys fetched %d times for 8 requests, want 1", n)
	}

	// The gateway rotates to pk_2: the client refetches once and goes on.
	s.mu.Lock()
	s.current, s.listed = k2, []client.PlatformKey{k1.public(t), k2.public(t)}
	s.mu.Unlock()
	for i := 0; i < 3; i++ {
		if _, err := c.GetOrder(ctx, "ord_1"); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if n := s.fetches.Load(); n != 2 {
		t.Fatalf("platform keys fetched %d times in all, want 2", n)
	}

	// A key the gateway does not publish is refused even after a refetch.
	s.mu.Lock()
	s.current = newPlatformKey(t, "pk_rogue")
	s.mu.Unlock()
	if _, err := c.GetOrder(ctx, "ord_1"); !errors.Is(err, client.ErrResponseSignature) {
		t.Fatalf("response signed by an unpublished key: err = %v", err)
	}
}

func TestPlatformKeys(t *testing.T) {
	t.Parallel()
	k := newPlatformKey(t, "pk_1")
	s := &keyServer{current: k, listed: []client.PlatformKey{k.public(t)}}
	g := newGateway(t, s.handle)
	c := newClient(t, g.URL)
	keys, err := c.PlatformKeys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].ID != "pk_1" || keys[0].Alg != "ED25519" {
		t.Fatalf("PlatformKeys = %+v, %v", keys, err)
	}
	if auth := g.last(t).header.Get("Authorization"); auth != "" {
		t.Fatalf("a client without credentials sent Authorization %q", auth)
	}
}
