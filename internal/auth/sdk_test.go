package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
)

// sdkServer authenticates every request with a and answers with an order
// whose metadata echoes what the server saw, signing responses with rs.
func sdkServer(t *testing.T, a *Authenticator, rs *ResponseSigner) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var status int
		var out any
		if p, err := a.Authenticate(r.Context(), r, body); err != nil {
			e := errs.As(err)
			// What internal/api's kind table answers for the kinds Authenticate returns.
			typ := "invalid_request_error"
			status = http.StatusBadRequest
			switch e.Kind {
			case errs.KindUnauthenticated:
				status, typ = http.StatusUnauthorized, "authentication_error"
			case errs.KindPermission:
				status, typ = http.StatusForbidden, "permission_error"
			}
			out = map[string]any{"error": map[string]any{"type": typ, "code": e.Code, "message": e.Message, "param": nil, "request_id": "req_1"}}
		} else {
			status = http.StatusOK
			out = client.Order{ID: "ord_1", Object: "order", AppID: p.App.ID, Metadata: map[string]string{
				"target": r.RequestURI, "body": string(body), "key": p.Key.ID, "idempotency_key": r.Header.Get("Idempotency-Key"),
			}}
		}
		data, _ := json.Marshal(out)
		rs.Sign(w.Header(), data)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSDKAgainstAuthenticator checks that what the client SDK sends is what
// the Authenticator accepts, for every credential, and that the SDK accepts
// what the ResponseSigner signs.
func TestSDKAgainstAuthenticator(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.auth.Clock = clock.Real{} // the SDK signs with the wall clock
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	rs := &ResponseSigner{KeyID: "pk_1", Key: priv}
	srv := sdkServer(t, f.auth, rs)
	platform := client.WithPlatformKeys([]client.PlatformKey{{ID: "pk_1", Alg: client.AlgEd25519, PublicKey: publicPEM(t, pub), Status: "current"}})

	creds := []struct {
		name string
		opt  client.Option
		key  string
	}{
		{"secret key", client.WithSecretKey(f.secretKey), "key_sk"},
		{"hmac", client.WithHMACKey(f.app.ID, f.hmacKey.ID, f.hmacSecret), f.hmacKey.ID},
		{"rsa", client.WithRSAKey(f.app.ID, f.rsaKey.ID, f.rsaPriv), f.rsaKey.ID},
		{"ed25519", client.WithEd25519Key(f.app.ID, f.edKey.ID, f.edPriv), f.edKey.ID},
	}
	for _, cr := range creds {
		t.Run(cr.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(srv.URL, cr.opt, platform)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			o, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "T1", Amount: 100, Currency: "CNY", Subject: "Tea"},
				client.WithIdempotencyKey("idem-1"))
			if err != nil {
				t.Fatalf("CreateOrder: %v", err)
			}
			if o.AppID != f.app.ID || o.Metadata["key"] != cr.key || o.Metadata["idempotency_key"] != "idem-1" {
				t.Fatalf("server saw app %s key %s idempotency %q", o.AppID, o.Metadata["key"], o.Metadata["idempotency_key"])
			}
			o, err = c.GetOrderByOutTradeNo(ctx, "a/b c|*.")
			if err != nil {
				t.Fatalf("GetOrderByOutTradeNo: %v", err)
			}
			if want := "/v1/orders/by-out-trade-no/a%2Fb%20c%7C%2A."; o.Metadata["target"] != want {
				t.Fatalf("target = %q, want %q", o.Metadata["target"], want)
			}
			if _, err := c.ListOrders(ctx, client.ListParams{Limit: 5, Status: "succeeded", Extra: map[string]string{"q": "a b&c"}}); err != nil {
				t.Fatalf("ListOrders: %v", err)
			}
			if _, err := c.CloseOrder(ctx, "ord_1"); err != nil {
				t.Fatalf("CloseOrder: %v", err)
			}
		})
	}

	t.Run("signed key of another app", func(t *testing.T) {
		t.Parallel()
		c, _ := client.New(srv.URL, client.WithHMACKey(f.otherApp.ID, f.hmacKey.ID, f.hmacSecret), platform)
		_, err := c.GetBalance(context.Background())
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 401 || e.Code != "api_key_invalid" {
			t.Fatalf("err = %v, want 401 api_key_invalid", err)
		}
	})
	t.Run("wrong hmac secret", func(t *testing.T) {
		t.Parallel()
		c, _ := client.New(srv.URL, client.WithHMACKey(f.app.ID, f.hmacKey.ID, NewHMACSecret()), platform)
		_, err := c.GetBalance(context.Background())
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 401 || e.Code != "signature_invalid" {
			t.Fatalf("err = %v, want 401 signature_invalid", err)
		}
	})
}
