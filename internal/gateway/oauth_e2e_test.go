package gateway_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

type oauthClient struct {
	ID           string   `json:"id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes"`
}

// appTransport names the app every request acts for.
type appTransport struct {
	app  string
	base http.RoundTripper
}

func (t appTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Paygate-App", t.app)
	return t.base.RoundTrip(r)
}

func call(t *testing.T, hc *http.Client, method, url, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestOAuthClientCredentials: a partner's client gets tokens with
// golang.org/x/oauth2/clientcredentials, unmodified, by both secret
// methods, acts for the apps it may, within its scopes, and its tokens
// can be revoked.
func TestOAuthClientCredentials(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.newMerchant("test", false)
		other := e.newMerchant("test", false)
		var oc oauthClient
		if st, b := e.admin("POST", "/admin/v1/oauth-clients", map[string]any{"name": "ISV", "merchants": []string{m.id},
			"scopes": []string{"orders:read", "orders:write", "refunds:write"}}, &oc); st != 201 || !strings.HasPrefix(oc.ClientSecret, "pgcs_") {
			t.Fatalf("create client: %d %s", st, b)
		}
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cfg := clientcredentials.Config{ClientID: oc.ID, ClientSecret: oc.ClientSecret, TokenURL: e.url + "/oauth/token",
				Scopes: []string{"orders:read", "orders:write"}, AuthStyle: style}
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatalf("token (style %d): %v", style, err)
			}
			if tok.TokenType != "Bearer" || !strings.HasPrefix(tok.AccessToken, "pgat_") || time.Until(tok.Expiry) > 16*time.Minute || time.Until(tok.Expiry) < 10*time.Minute {
				t.Fatalf("token: %+v", tok)
			}
		}
		cfg := clientcredentials.Config{ClientID: oc.ID, ClientSecret: oc.ClientSecret, TokenURL: e.url + "/oauth/token",
			Scopes: []string{"orders:read", "orders:write"}}
		hc := cfg.Client(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: appTransport{m.app.App.ID, http.DefaultTransport}}))
		st, o := call(t, hc, "POST", e.url+"/v1/orders", `{"out_trade_no":"oa-1","amount":100,"currency":"CNY","subject":"Tea","method":"sandbox"}`)
		if st != 201 || o["app_id"] != m.app.App.ID {
			t.Fatalf("create an order with a token: %d %v", st, o)
		}
		if st, got := call(t, hc, "GET", e.url+"/v1/orders/"+o["id"].(string), ""); st != 200 || got["id"] != o["id"] {
			t.Fatalf("read it: %d %v", st, got)
		}
		// Outside the token's scopes.
		if st, got := call(t, hc, "POST", e.url+"/v1/refunds", `{"order_id":"`+o["id"].(string)+`","out_refund_no":"r1","amount":1}`); st != 403 || errCode(got) != "insufficient_scope" {
			t.Fatalf("a refund with orders scopes only: %d %v", st, got)
		}
		if st, got := call(t, hc, "GET", e.url+"/v1/events", ""); st != 403 || errCode(got) != "insufficient_scope" {
			t.Fatalf("events: %d %v", st, got)
		}
		// Another merchant's app, and no app.
		hcOther := cfg.Client(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: appTransport{other.app.App.ID, http.DefaultTransport}}))
		if st, got := call(t, hcOther, "GET", e.url+"/v1/orders", ""); st != 403 || errCode(got) != "app_not_allowed" {
			t.Fatalf("another merchant's app: %d %v", st, got)
		}
		if st, got := call(t, cfg.Client(ctx), "GET", e.url+"/v1/orders", ""); st != 401 || errCode(got) != "app_required" {
			t.Fatalf("no app header: %d %v", st, got)
		}

		// RFC 6749 errors, read by the library.
		wrong := cfg
		wrong.ClientSecret = "pgcs_wrong"
		_, err := wrong.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Fatalf("a wrong secret: %v", err)
		}
		tooMuch := cfg
		tooMuch.Scopes = []string{"events:read"}
		if _, err := tooMuch.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Fatalf("a scope the client lacks: %v", err)
		}
		res, err := http.PostForm(e.url+"/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {oc.ID}, "client_secret": {oc.ClientSecret}})
		if err != nil {
			t.Fatal(err)
		}
		var oe struct{ Error string }
		json.NewDecoder(res.Body).Decode(&oe)
		res.Body.Close()
		if res.StatusCode != 400 || oe.Error != "unsupported_grant_type" || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("grant_type password: %d %v", res.StatusCode, oe)
		}

		// Revocation (RFC 7009) ends a token at once.
		tok, _ := cfg.Token(ctx)
		res, err = http.PostForm(e.url+"/oauth/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {oc.ID}, "client_secret": {oc.ClientSecret}})
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", err, res)
		}
		res.Body.Close()
		static := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: appTransport{m.app.App.ID, http.DefaultTransport}}),
			oauth2.StaticTokenSource(tok))
		if st, got := call(t, static, "GET", e.url+"/v1/orders", ""); st != 401 || errCode(got) != "oauth_token_revoked" {
			t.Fatalf("a revoked token: %d %v", st, got)
		}
		// A token expires after 15 minutes (on the gateway's clock).
		expiring := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: appTransport{m.app.App.ID, http.DefaultTransport}}),
			oauth2.StaticTokenSource(mustToken(t, cfg)))
		e.clock.Advance(15 * time.Minute)
		if st, got := call(t, expiring, "GET", e.url+"/v1/orders", ""); st != 401 || errCode(got) != "oauth_token_expired" {
			t.Fatalf("an expired token: %d %v", st, got)
		}
		// Revoking the client ends its tokens and its credentials.
		tok2, _ := cfg.Token(ctx)
		if st, b := e.admin("DELETE", "/admin/v1/oauth-clients/"+oc.ID, nil, nil); st != 200 {
			t.Fatalf("revoke client: %d %s", st, b)
		}
		static2 := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: appTransport{m.app.App.ID, http.DefaultTransport}}),
			oauth2.StaticTokenSource(tok2))
		if st, _ := call(t, static2, "GET", e.url+"/v1/orders", ""); st != 401 {
			t.Fatalf("a token of a revoked client: %d", st)
		}
		if _, err := cfg.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("a revoked client's credentials: %v", err)
		}
	})
}

// TestOAuthPrivateKeyJWT: a client with a registered Ed25519 key
// authenticates with a signed assertion (RFC 7523), once per jti.
func TestOAuthPrivateKeyJWT(t *testing.T) {
	e := start(t, "sqlite")
	m := e.newMerchant("test", false)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	var oc oauthClient
	if st, b := e.admin("POST", "/admin/v1/oauth-clients", map[string]any{"name": "ISV", "apps": []string{m.app.App.ID},
		"scopes": []string{"orders:read"}, "public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, &oc); st != 201 {
		t.Fatalf("create client: %d %s", st, b)
	}
	assertion := func(jti string, key ed25519.PrivateKey) string {
		enc := base64.RawURLEncoding.EncodeToString
		h := enc([]byte(`{"alg":"EdDSA","typ":"JWT"}`))
		c, _ := json.Marshal(map[string]any{"iss": oc.ID, "sub": oc.ID, "aud": e.g.Payments.PublicURL + "/oauth/token", "jti": jti,
			"exp": time.Now().Add(5 * time.Minute).Unix()})
		p := enc(c)
		return h + "." + p + "." + enc(ed25519.Sign(key, []byte(h+"."+p)))
	}
	post := func(a string) (int, map[string]any) {
		res, err := http.PostForm(e.url+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	a := assertion("jti-1", priv)
	if st, out := post(a); st != 200 || !strings.HasPrefix(out["access_token"].(string), "pgat_") || out["scope"] != "orders:read" {
		t.Fatalf("private_key_jwt: %d %v", st, out)
	}
	if st, out := post(a); st != 401 || out["error"] != "invalid_client" {
		t.Fatalf("the same assertion again: %d %v", st, out)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if st, out := post(assertion("jti-2", other)); st != 401 || out["error"] != "invalid_client" {
		t.Fatalf("signed with another key: %d %v", st, out)
	}
	// A client with a key still has its secret, for client_secret_basic.
	cfg := clientcredentials.Config{ClientID: oc.ID, ClientSecret: oc.ClientSecret, TokenURL: e.url + "/oauth/token"}
	if _, err := cfg.Token(context.Background()); err != nil {
		t.Fatalf("the secret of a client with a key: %v", err)
	}
}

func mustToken(t *testing.T, cfg clientcredentials.Config) *oauth2.Token {
	t.Helper()
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
