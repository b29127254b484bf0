package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// FuzzOAuthTokenHTTP sends requests to POST /oauth/token and /oauth/revoke
// of a real Server (on SQLite, over loopback HTTP, with a client made
// through the operator API): any content type, Authorization header and
// body. No answer is a 5xx; an error is RFC 6749's JSON shape; and a token
// is issued only to a request that presented the client's real secret or
// one of the assertions its key signed.
func FuzzOAuthTokenHTTP(f *testing.F) {
	st := sqlitetest.Open(f)
	box, err := cryptobox.New(bytes.Repeat([]byte{9}, cryptobox.KeySize))
	if err != nil {
		f.Fatal(err)
	}
	const opToken = "op_fuzz_oauth"
	s := &Server{Store: st, Box: box, OperatorTokenHash: auth.HashSecret(opToken), Clock: clock.Real{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s)
	f.Cleanup(srv.Close)

	now := time.Now()
	m := &store.Merchant{ID: id.New(id.Merchant, now), Name: "Partner's shop", Timezone: "Asia/Shanghai", SettlementCurrency: "CNY", CreatedAt: now}
	if err := st.MerchantCreate(f.Context(), m); err != nil {
		f.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	reqBody, _ := json.Marshal(map[string]any{"name": "partner", "merchants": []string{m.ID}, "scopes": []string{"orders:read", "orders:write"},
		"public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	req, _ := http.NewRequest("POST", srv.URL+"/admin/v1/oauth-clients", bytes.NewReader(reqBody))
	req.Header.Set("Authorization", "Bearer "+opToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		f.Fatal(err)
	}
	var client struct {
		ID     string `json:"id"`
		Secret string `json:"client_secret"`
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(b, &client); err != nil || client.ID == "" || client.Secret == "" {
		f.Fatalf("create OAuth client: %d %s", res.StatusCode, b)
	}

	assertions := map[string]bool{}
	assertion := func(jti string) string {
		h := b64(`{"alg":"EdDSA","typ":"JWT"}`)
		p := b64(fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":"/oauth/token","exp":%d,"jti":%q}`, client.ID, client.ID, now.Add(50*time.Minute).Unix(), jti))
		jws := h + "." + p + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(h+"."+p)))
		assertions[jws] = true
		return jws
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(client.ID+":"+client.Secret))
	const form = "application/x-www-form-urlencoded"
	// The fixture works: the real credentials get a token.
	req, _ = http.NewRequest("POST", srv.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", form)
	req.Header.Set("Authorization", basic)
	if res, err = srv.Client().Do(req); err != nil || res.StatusCode != http.StatusOK {
		f.Fatalf("token with the client's secret: %v %v", res, err)
	}
	res.Body.Close()
	f.Add(false, form, basic, []byte("grant_type=client_credentials&scope=orders%3Aread"))
	f.Add(false, form, "", []byte("grant_type=client_credentials&client_id="+client.ID+"&client_secret="+client.Secret))
	f.Add(false, form, "", []byte("grant_type=client_credentials&client_assertion_type="+url.QueryEscape(jwtBearer)+"&client_assertion="+assertion("j1")))
	f.Add(false, form, basic, []byte("grant_type=client_credentials&scope=refunds%3Awrite"))
	f.Add(false, form, basic, []byte("grant_type=password"))
	f.Add(false, form, "Basic !!!", []byte("grant_type=client_credentials"))
	f.Add(false, "application/json", basic, []byte(`{"grant_type":"client_credentials"}`))
	f.Add(false, form+"; charset=latin1", "Bearer x", []byte("%zz&grant_type=client_credentials&grant_type=client_credentials"))
	f.Add(true, form, basic, []byte("token=pgat_unknown&token_type_hint=access_token"))
	f.Add(true, form, "", []byte("token="))

	presented := func(authz string, body []byte) bool {
		r := &http.Request{Header: http.Header{"Authorization": {authz}}}
		if _, p, ok := r.BasicAuth(); ok {
			if u, err := url.QueryUnescape(p); p == client.Secret || (err == nil && u == client.Secret) {
				return true
			}
		}
		vals, _ := url.ParseQuery(string(body))
		return slices.Contains(vals["client_secret"], client.Secret) || slices.ContainsFunc(vals["client_assertion"], func(a string) bool { return assertions[a] })
	}
	codes := []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "unsupported_token_type"}
	f.Fuzz(func(t *testing.T, revoke bool, contentType, authz string, body []byte) {
		path := "/oauth/token"
		if revoke {
			path = "/oauth/revoke"
		}
		req, err := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		if !validHeader(contentType) || !validHeader(authz) {
			return // net/http would refuse to send it
		}
		req.Header.Set("Content-Type", contentType)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q %q %q: %d %s", path, contentType, authz, body, res.StatusCode, got)
		}
		if res.StatusCode >= 400 && res.StatusCode != http.StatusTooManyRequests {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(got, &e) != nil || !slices.Contains(codes, e.Error) {
				t.Fatalf("%s %q: %d %s, want an RFC 6749 error", path, body, res.StatusCode, got)
			}
		}
		if !revoke && res.StatusCode == http.StatusOK {
			if !presented(authz, body) {
				t.Fatalf("a token issued without the client's credentials: %q %q", authz, body)
			}
			if !strings.Contains(string(got), `"access_token":"`+oauthTokenPrefix) {
				t.Fatalf("token answer %s", got)
			}
		}
	})
}

// validHeader reports whether v can be sent as a header value.
func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
