package gateway_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

func pemPublic(t *testing.T, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestAuthStyles(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.newMerchant("test", false)
		var rsaK, edK client.Key
		if st, b := e.admin("POST", "/admin/v1/apps/"+m.app.App.ID+"/keys", map[string]any{"alg": "RSA-SHA256", "public_key": pemPublic(t, &rsaKey.PublicKey)}, &rsaK); st != 201 {
			t.Fatalf("register RSA key: %d %s", st, b)
		}
		if st, b := e.admin("POST", "/admin/v1/apps/"+m.app.App.ID+"/keys", map[string]any{"alg": "ED25519", "public_key": pemPublic(t, edPub)}, &edK); st != 201 {
			t.Fatalf("register Ed25519 key: %d %s", st, b)
		}
		clients := map[string]*client.Client{
			"bearer":  m.c,
			"hmac":    e.newClient(client.WithHMACKey(m.app.App.ID, m.app.SigningKey.ID, m.app.SigningKey.Secret), client.WithVerifyResponses()),
			"rsa":     e.newClient(client.WithRSAKey(m.app.App.ID, rsaK.ID, rsaKey), client.WithVerifyResponses()),
			"ed25519": e.newClient(client.WithEd25519Key(m.app.App.ID, edK.ID, edPriv), client.WithVerifyResponses()),
		}
		for name, c := range clients {
			o, err := c.CreateOrder(ctx, orderParams("auth-"+name, 100))
			if err != nil {
				t.Fatalf("%s: create order: %v", name, err)
			}
			if _, err := c.ListOrders(ctx, client.ListParams{Limit: 5}); err != nil {
				t.Fatalf("%s: list with a query string: %v", name, err)
			}
			if o.AppID != m.app.App.ID {
				t.Fatalf("%s: order of app %s", name, o.AppID)
			}
		}
		// An RSA key under 2048 bits is refused.
		small, _ := rsa.GenerateKey(rand.Reader, 1024)
		if st, b := e.admin("POST", "/admin/v1/apps/"+m.app.App.ID+"/keys", map[string]any{"alg": "RSA-SHA256", "public_key": pemPublic(t, &small.PublicKey)}, nil); st != 400 || !bytes.Contains(b, []byte("public_key_invalid")) {
			t.Fatalf("1024-bit RSA key: %d %s", st, b)
		}
		// Revoking a key takes effect at once.
		if st, b := e.admin("DELETE", "/admin/v1/keys/"+edK.ID, nil, nil); st != 200 {
			t.Fatalf("revoke: %d %s", st, b)
		}
		_, err := clients["ed25519"].CreateOrder(ctx, orderParams("auth-revoked", 100))
		apiErr(t, err, 401, "api_key_revoked")
	})
}

// signed sends a hand-signed HMAC request so tests can tamper with each part.
type signed struct {
	method, target, ts, nonce string
	signBody, sendBody        []byte
	sendTarget                string // sent instead of target when set
}

func (e *env) sendSigned(t *testing.T, m merchant, s signed) (int, []byte) {
	t.Helper()
	msg := fmt.Sprintf("%s\n%s\n%s\n%s\n%s\n", s.method, s.target, s.ts, s.nonce, s.signBody)
	mac := hmac.New(sha256.New, []byte(m.app.SigningKey.Secret))
	mac.Write([]byte(msg))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	target := s.target
	if s.sendTarget != "" {
		target = s.sendTarget
	}
	req, _ := http.NewRequest(s.method, e.url+target, bytes.NewReader(s.sendBody))
	req.Header.Set("Authorization", fmt.Sprintf(`PAYGATE-HMAC-SHA256 app_id="%s",key_id="%s",timestamp="%s",nonce="%s",signature="%s"`, m.app.App.ID, m.app.SigningKey.ID, s.ts, s.nonce, sig))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestSignatureAttacks(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m := e.newMerchant("test", true) // require_signature
		now := strconv.FormatInt(e.clock.Now().Unix(), 10)
		body := []byte(`{"out_trade_no":"sig-1","amount":100,"currency":"CNY","subject":"x","method":"sandbox"}`)
		ok := signed{method: "POST", target: "/v1/orders", ts: now, nonce: "nonce-0000000001", signBody: body, sendBody: body}
		if st, b := e.sendSigned(t, m, ok); st != 201 {
			t.Fatalf("valid signed request: %d %s", st, b)
		}
		cases := []struct {
			name string
			req  signed
			code string
		}{
			{"reused nonce", ok, "nonce_reused"},
			{"tampered body", signed{"POST", "/v1/orders", now, "nonce-0000000002", body, bytes.Replace(body, []byte("100"), []byte("999"), 1), ""}, "signature_invalid"},
			{"tampered target", signed{method: "GET", target: "/v1/orders?limit=1", ts: now, nonce: "nonce-0000000003", sendTarget: "/v1/orders?limit=2"}, "signature_invalid"},
			{"stale timestamp", signed{"POST", "/v1/orders", strconv.FormatInt(e.clock.Now().Add(-301*time.Second).Unix(), 10), "nonce-0000000004", body, body, ""}, "timestamp_out_of_window"},
			{"future timestamp", signed{"POST", "/v1/orders", strconv.FormatInt(e.clock.Now().Add(301*time.Second).Unix(), 10), "nonce-0000000005", body, body, ""}, "timestamp_out_of_window"},
			{"short nonce", signed{"POST", "/v1/orders", now, "short", body, body, ""}, "nonce_invalid"},
		}
		for _, c := range cases {
			st, b := e.sendSigned(t, m, c.req)
			if st != 401 || !bytes.Contains(b, []byte(`"`+c.code+`"`)) {
				t.Fatalf("%s: %d %s, want 401 %s", c.name, st, b, c.code)
			}
		}
		// A forged request does not burn the nonce: the genuine one still works.
		forged := signed{"POST", "/v1/orders", now, "nonce-0000000009", body, bytes.Replace(body, []byte("sig-1"), []byte("sig-2"), 1), ""}
		if st, _ := e.sendSigned(t, m, forged); st != 401 {
			t.Fatalf("forged request: %d", st)
		}
		genuine := signed{"POST", "/v1/orders", now, "nonce-0000000009", []byte(`{"out_trade_no":"sig-3","amount":100,"currency":"CNY","subject":"x"}`), nil, ""}
		genuine.sendBody = genuine.signBody
		if st, b := e.sendSigned(t, m, genuine); st != 201 {
			t.Fatalf("genuine request after a forgery with its nonce: %d %s", st, b)
		}
		// The app requires signatures: its Bearer key is refused.
		_, err := m.c.ListOrders(context.Background(), client.ListParams{})
		apiErr(t, err, 401, "signature_required")
		// No credentials, a wrong key.
		res, _ := http.Get(e.url + "/v1/orders")
		if res.StatusCode != 401 {
			t.Fatalf("no credentials: %d", res.StatusCode)
		}
		bad := e.newClient(client.WithSecretKey("sk_test_nottherealkey000000000000000"))
		_, err = bad.ListOrders(context.Background(), client.ListParams{})
		apiErr(t, err, 401, "api_key_invalid")
	})
}

func TestResponseSignatures(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		keys, err := e.demo.PlatformKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Alg != "ED25519" || keys[0].Status != "current" {
			t.Fatalf("platform keys = %+v, %v", keys, err)
		}
		c := e.newClient(client.WithSecretKey(e.g.Demo.SecretKey), client.WithPlatformKeys(keys))
		if _, err := c.CreateOrder(ctx, orderParams("rs-1", 100)); err != nil {
			t.Fatalf("verified response: %v", err)
		}
		_, err = c.GetOrder(ctx, "ord_01hzzzzzzzzzzzzzzzzzzzzzzz")
		apiErr(t, err, 404, "order_not_found") // error responses are signed too
		// A client holding another key refuses the gateway's responses.
		otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
		wrong := e.newClient(client.WithSecretKey(e.g.Demo.SecretKey), client.WithPlatformKeys([]client.PlatformKey{{ID: keys[0].ID, Alg: "ED25519", PublicKey: pemPublic(t, otherPub), Status: "current"}}))
		if _, err := wrong.GetBalance(ctx); err == nil {
			t.Fatal("a response verified with the wrong platform key")
		}
	})
}
