package client_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// seen is a request as the test server received it.
type seen struct {
	method, target string // target is the raw request-line target
	header         http.Header
	body           []byte
}

// gateway is a test server that records requests and answers with handle.
type gateway struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newGateway(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *gateway {
	t.Helper()
	g := &gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.reqs = append(g.reqs, seen{r.Method, r.RequestURI, r.Header.Clone(), body})
		g.mu.Unlock()
		handle(w, r, body)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) requests() []seen {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]seen(nil), g.reqs...)
}

func (g *gateway) last(t *testing.T) seen {
	t.Helper()
	r := g.requests()
	if len(r) == 0 {
		t.Fatal("the server saw no request")
	}
	return r[len(r)-1]
}

// reply answers with status and a JSON body.
func reply(status int, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_hdr")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const orderJSON = `{"id":"ord_1","object":"order","out_trade_no":"T1","amount":100,"currency":"CNY","status":"pending"}`

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var authRE = regexp.MustCompile(`^PAYGATE-(HMAC-SHA256|RSA-SHA256|ED25519) app_id="([^"]+)",key_id="([^"]+)",timestamp="(\d+)",nonce="([0-9a-f]{32})",signature="([A-Za-z0-9+/]+={0,2})"$`)

// signedParts checks the Authorization header format of a signed request and
// returns the message it must sign and the decoded signature.
func signedParts(t *testing.T, r seen, alg, appID, keyID string) (msg, sig []byte) {
	t.Helper()
	m := authRE.FindStringSubmatch(r.header.Get("Authorization"))
	if m == nil {
		t.Fatalf("Authorization = %q, not the API reference's format", r.header.Get("Authorization"))
	}
	if m[1] != alg || m[2] != appID || m[3] != keyID {
		t.Fatalf("alg, app_id, key_id = %s %s %s; want %s %s %s", m[1], m[2], m[3], alg, appID, keyID)
	}
	ts, _ := strconv.ParseInt(m[4], 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -5*time.Second || d > 5*time.Second {
		t.Fatalf("timestamp %d is %v off", ts, d)
	}
	sig, err := base64.StdEncoding.DecodeString(m[6])
	if err != nil {
		t.Fatal(err)
	}
	msg = []byte(r.method + "\n" + r.target + "\n" + m[4] + "\n" + m[5] + "\n" + string(r.body) + "\n")
	return msg, sig
}

func TestSigningMessage(t *testing.T) {
	t.Parallel()
	got := string(client.SigningMessage("POST", "/v1/orders?limit=5", "1700000000", "n0nce", []byte(`{"a":1}`)))
	if want := "POST\n/v1/orders?limit=5\n1700000000\nn0nce\n{\"a\":1}\n"; got != want {
		t.Errorf("SigningMessage = %q, want %q", got, want)
	}
	if got, want := string(client.SigningMessage("GET", "/v1/balance", "1", "n", nil)), "GET\n/v1/balance\n1\nn\n\n"; got != want {
		t.Errorf("SigningMessage for GET = %q, want %q", got, want)
	}
	if got, want := string(client.ResponseMessage("1", "n", []byte("{}"))), "1\nn\n{}\n"; got != want {
		t.Errorf("ResponseMessage = %q, want %q", got, want)
	}
}

func TestHMACSignedRequest(t *testing.T) {
	t.Parallel()
	g := newGateway(t, reply(201, orderJSON))
	const secret = "s3cr3t-as-issued"
	c := newClient(t, g.URL, client.WithHMACKey("app_1", "key_1", secret))
	p := client.CreateOrderParams{OutTradeNo: "T1", Amount: 100, Currency: "CNY", Subject: "Tea"}
	o, err := c.CreateOrder(context.Background(), p, client.WithIdempotencyKey("idem-1"))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "ord_1" || o.Amount != 100 {
		t.Fatalf("order = %+v", o)
	}
	r := g.last(t)
	msg, sig := signedParts(t, r, "HMAC-SHA256", "app_1", "key_1")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(msg)
	if !hmac.Equal(mac.Sum(nil), sig) {
		t.Fatal("HMAC does not verify over the request as received")
	}
	want, _ := json.Marshal(p)
	if string(r.body) != string(want) || r.target != "/v1/orders" || r.method != "POST" {
		t.Fatalf("sent %s %s %s, want POST /v1/orders %s", r.method, r.target, r.body, want)
	}
	if r.header.Get("Idempotency-Key") != "idem-1" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", r.header)
	}
}

func TestAsymmetricSignedRequests(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		alg    string
		opt    client.Option
		verify func(msg, sig []byte) bool
	}{
		{"RSA-SHA256", client.WithRSAKey("app_1", "key_rsa", rsaKey), func(msg, sig []byte) bool {
			d := sha256.Sum256(msg)
			return rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, d[:], sig) == nil
		}},
		{"ED25519", client.WithEd25519Key("app_1", "key_ed", edPriv), func(msg, sig []byte) bool { return ed25519.Verify(edPub, msg, sig) }},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, reply(200, `{"object":"list","data":[],"has_more":false}`))
			c := newClient(t, g.URL, tt.opt)
			if _, err := c.ListOrders(context.Background(), client.ListParams{Limit: 5, Status: "succeeded"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListOrders(context.Background(), client.ListParams{Limit: 5, Status: "succeeded"}); err != nil {
				t.Fatal(err)
			}
			reqs := g.requests()
			keyID := map[string]string{"RSA-SHA256": "key_rsa", "ED25519": "key_ed"}[tt.alg]
			for _, r := range reqs {
				msg, sig := signedParts(t, r, tt.alg, "app_1", keyID)
				if !tt.verify(msg, sig) {
					t.Fatalf("signature does not verify over %q", msg)
				}
				if r.target != "/v1/orders?limit=5&status=succeeded" || len(r.body) != 0 {
					t.Fatalf("sent %s with body %q", r.target, r.body)
				}
			}
			n0 := authRE.FindStringSubmatch(reqs[0].header.Get("Authorization"))[5]
			n1 := authRE.FindStringSubmatch(reqs[1].header.Get("Authorization"))[5]
			if n0 == n1 {
				t.Fatal("two requests carried the same nonce")
			}
		})
	}
}

func TestSecretKeyAndPaths(t *testing.T) {
	t.Parallel()
	g := newGateway(t, reply(200, orderJSON))
	c := newClient(t, g.URL+"/gw/", client.WithSecretKey("sk_test_abc"))
	ctx := context.Background()
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))
	calls := []struct {
		do           func() error
		method, want string
		body         string
	}{
		{func() error { _, err := c.GetOrder(ctx, "ord_1"); return err }, "GET", "/gw/v1/orders/ord_1", ""},
		{func() error { _, err := c.GetOrderByOutTradeNo(ctx, "a/b c|*.x"); return err }, "GET", "/gw/v1/orders/by-out-trade-no/a%2Fb%20c%7C%2A.x", ""},
		{func() error { _, err := c.CloseOrder(ctx, "ord_1"); return err }, "POST", "/gw/v1/orders/ord_1/close", "{}"},
		{func() error { _, err := c.ReverseOrder(ctx, "ord_1"); return err }, "POST", "/gw/v1/orders/ord_1/reverse", "{}"},
		{func() error { _, err := c.SyncOrder(ctx, "ord_1"); return err }, "POST", "/gw/v1/orders/ord_1/sync", "{}"},
		{func() error { _, err := c.TestPayOrder(ctx, "ord_1", "succeeded"); return err }, "POST", "/gw/v1/test/orders/ord_1/pay", `{"outcome":"succeeded"}`},
		{func() error {
			_, err := c.CreateRefund(ctx, client.CreateRefundParams{OrderID: "ord_1", OutRefundNo: "R1", Amount: 5})
			return err
		}, "POST", "/gw/v1/refunds", `{"order_id":"ord_1","out_refund_no":"R1","amount":5}`},
		{func() error { _, err := c.GetRefund(ctx, "rfd_1"); return err }, "GET", "/gw/v1/refunds/rfd_1", ""},
		{func() error { _, err := c.GetRefundByOutRefundNo(ctx, "R/1"); return err }, "GET", "/gw/v1/refunds/by-out-refund-no/R%2F1", ""},
		{func() error {
			_, err := c.ListRefunds(ctx, client.ListParams{StartingAfter: "rfd_9", CreatedGTE: &since, Extra: map[string]string{"order_id": "ord_1"}})
			return err
		}, "GET", "/gw/v1/refunds?created_gte=2026-01-01T19%3A04%3A05Z&order_id=ord_1&starting_after=rfd_9", ""},
		{func() error { _, err := c.GetBalance(ctx); return err }, "GET", "/gw/v1/balance", ""},
	}
	for _, call := range calls {
		if err := call.do(); err != nil {
			t.Fatalf("%s %s: %v", call.method, call.want, err)
		}
		r := g.last(t)
		if r.method != call.method || r.target != call.want || string(r.body) != call.body {
			t.Errorf("sent %s %s %q, want %s %s %q", r.method, r.target, r.body, call.method, call.want, call.body)
		}
		if got := r.header.Get("Authorization"); got != "Bearer sk_test_abc" {
			t.Errorf("Authorization = %q", got)
		}
	}
	n := len(g.requests())
	if _, err := c.GetOrder(ctx, ""); err == nil {
		t.Error("GetOrder with an empty id succeeded")
	}
	if len(g.requests()) != n {
		t.Error("an empty id was sent")
	}
}

func TestErrorDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		status                  int
		body                    string
		wantCode, wantRequestID string
		wantParam               string
	}{
		{"api error", 404, `{"error":{"type":"invalid_request_error","code":"order_not_found","message":"No such order.","param":"id","request_id":"req_body"}}`, "order_not_found", "req_body", "id"},
		{"request id from header", 401, `{"error":{"type":"authentication_error","code":"signature_invalid","message":"x","param":null}}`, "signature_invalid", "req_hdr", ""},
		{"html from a proxy", 502, `<html>Bad Gateway</html>`, "unexpected_response", "req_hdr", ""},
		{"json without error", 500, `{"message":"boom"}`, "unexpected_response", "req_hdr", ""},
		{"empty", 503, ``, "unexpected_response", "req_hdr", ""},
		{"2xx not json", 200, `not json`, "unexpected_response", "req_hdr", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, reply(tt.status, tt.body))
			c := newClient(t, g.URL, client.WithSecretKey("sk_test_abc"))
			var out client.Order
			res, err := c.Do(context.Background(), "GET", "/v1/orders/ord_1", nil, &out)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *client.Error", err)
			}
			if e.StatusCode != tt.status || e.Code != tt.wantCode || e.RequestID != tt.wantRequestID {
				t.Fatalf("error = %+v, want %d %s %s", e, tt.status, tt.wantCode, tt.wantRequestID)
			}
			if tt.wantParam != "" && (e.Param == nil || *e.Param != tt.wantParam) {
				t.Fatalf("param = %v, want %s", e.Param, tt.wantParam)
			}
			if res == nil || res.StatusCode != tt.status || res.Header.Get("Request-Id") != "req_hdr" || string(res.Body) != tt.body {
				t.Fatalf("response = %+v", res)
			}
		})
	}
}

func TestDoRawBody(t *testing.T) {
	t.Parallel()
	g := newGateway(t, reply(200, `{}`))
	c := newClient(t, g.URL, client.WithHMACKey("app_1", "key_1", "k"))
	raw := []byte(`{"amount": 100 , "z":1}`) // sent and signed byte for byte
	res, err := c.Do(context.Background(), "POST", "/v1/orders?x=1", raw, nil)
	if err != nil || res.StatusCode != 200 || res.RequestID != "req_hdr" {
		t.Fatalf("Do = %+v, %v", res, err)
	}
	r := g.last(t)
	msg, sig := signedParts(t, r, "HMAC-SHA256", "app_1", "key_1")
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write(msg)
	if string(r.body) != string(raw) || !hmac.Equal(mac.Sum(nil), sig) {
		t.Fatalf("body %q sent or signed differently", r.body)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		url  string
		opts []client.Option
	}{
		{"relative url", "/v1", nil},
		{"ftp url", "ftp://x", nil},
		{"url with query", "https://x/?a=1", nil},
		{"not a secret key", "https://x", []client.Option{client.WithSecretKey("pk_test_1")}},
		{"two credentials", "https://x", []client.Option{client.WithSecretKey("sk_test_1"), client.WithEd25519Key("app_1", "key_1", edPriv)}},
		{"small rsa key", "https://x", []client.Option{client.WithRSAKey("app_1", "key_1", small)}},
		{"signing key without app", "https://x", []client.Option{client.WithHMACKey("", "key_1", "s")}},
		{"empty hmac secret", "https://x", []client.Option{client.WithHMACKey("app_1", "key_1", "")}},
		{"short ed25519 key", "https://x", []client.Option{client.WithEd25519Key("app_1", "key_1", edPriv[:10])}},
		{"nil http client", "https://x", []client.Option{client.WithHTTPClient(nil)}},
		{"bad platform key", "https://x", []client.Option{client.WithPlatformKeys([]client.PlatformKey{{ID: "pk_1", Alg: "ED25519", PublicKey: "x"}})}},
		{"no platform keys", "https://x", []client.Option{client.WithPlatformKeys(nil)}},
	}
	for _, tt := range tests {
		if _, err := client.New(tt.url, tt.opts...); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}
