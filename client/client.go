// Package client is the Go SDK for the Paygate merchant API (docs/api.md).
//
// A Client authenticates with a Bearer secret key (WithSecretKey) or signs
// every request with one of the app's signing keys (WithHMACKey, WithRSAKey,
// WithEd25519Key): the Authorization header is then
//
//	PAYGATE-<ALG> app_id="..",key_id="..",timestamp="..",nonce="..",signature=".."
//
// over SigningMessage of the exact method, request target and body sent. It
// can also verify that each response was signed by the gateway's platform
// key (WithPlatformKeys, WithVerifyResponses).
//
// The request target signed is the path of the base URL plus the API path, so
// a gateway behind a proxy that rewrites paths will reject signed requests.
// A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Version is the SDK version sent in the User-Agent header.
const Version = "0.1.0"

// maxResponse bounds the bytes read from one response.
const maxResponse = 16 << 20

// Client calls the Paygate API. Make one with New.
type Client struct {
	baseURL   string // scheme://host[/prefix], no trailing slash
	http      *http.Client
	secretKey string
	signer    *requestSigner
	now       func() time.Time

	fixedKeys map[string]crypto.PublicKey // WithPlatformKeys
	fetchKeys bool                        // WithVerifyResponses

	keysMu sync.Mutex
	keys   map[string]crypto.PublicKey // fetched from /v1/platform-keys
}

// Option configures a Client in New.
type Option func(*Client) error

// WithSecretKey authenticates with `Authorization: Bearer <sk>`; sk is an
// sk_test_ or sk_live_ key.
func WithSecretKey(sk string) Option {
	return func(c *Client) error {
		if !strings.HasPrefix(sk, "sk_test_") && !strings.HasPrefix(sk, "sk_live_") {
			return errors.New("paygate: a secret key starts with sk_test_ or sk_live_")
		}
		c.secretKey = sk
		return nil
	}
}

// WithHMACKey signs requests with an HMAC-SHA256 signing key; secret is used
// as the UTF-8 bytes of the string exactly as issued.
func WithHMACKey(appID, keyID, secret string) Option {
	return func(c *Client) error {
		if secret == "" {
			return errors.New("paygate: empty HMAC secret")
		}
		return c.setSigner(hmacSigner(appID, keyID, secret))
	}
}

// WithRSAKey signs requests with RSASSA-PKCS1-v1_5 SHA-256; the key must be
// at least 2048 bits and its public half registered with the app.
func WithRSAKey(appID, keyID string, key *rsa.PrivateKey) Option {
	return func(c *Client) error {
		if key == nil || key.N.BitLen() < 2048 {
			return errors.New("paygate: RSA signing key must be at least 2048 bits")
		}
		return c.setSigner(rsaSigner(appID, keyID, key))
	}
}

// WithEd25519Key signs requests with Ed25519; the public half must be
// registered with the app.
func WithEd25519Key(appID, keyID string, key ed25519.PrivateKey) Option {
	return func(c *Client) error {
		if len(key) != ed25519.PrivateKeySize {
			return errors.New("paygate: malformed Ed25519 private key")
		}
		return c.setSigner(ed25519Signer(appID, keyID, key))
	}
}

func (c *Client) setSigner(s *requestSigner) error {
	if s.appID == "" || s.keyID == "" {
		return errors.New("paygate: a signing key needs its app id and key id")
	}
	c.signer = s
	return nil
}

// WithHTTPClient sends requests with hc instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("paygate: nil http.Client")
		}
		c.http = hc
		return nil
	}
}

// WithPlatformKeys verifies every response against keys (as listed by GET
// /v1/platform-keys): a response not signed by one of them, or whose
// timestamp is more than ResponseWindow off, fails with ErrResponseSignature.
func WithPlatformKeys(keys []PlatformKey) Option {
	return func(c *Client) error {
		m, err := parsePlatformKeys(keys, false)
		if err != nil {
			return err
		}
		c.fixedKeys = m
		return nil
	}
}

// WithVerifyResponses verifies every response like WithPlatformKeys, with
// keys fetched from GET /v1/platform-keys on first use (and again when a
// response names a key the client has not seen, as after a rotation). The
// fetch trusts TLS; pin keys with WithPlatformKeys to trust nothing else.
// WithPlatformKeys, when also given, takes precedence.
func WithVerifyResponses() Option {
	return func(c *Client) error {
		c.fetchKeys = true
		return nil
	}
}

// New returns a Client for the gateway at baseURL, e.g.
// "https://pay.example.com". Give at most one credential option.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("paygate: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("paygate: base URL %q: want http(s)://host[/path]", baseURL)
	}
	c := &Client{baseURL: strings.TrimRight(u.String(), "/"), http: http.DefaultClient, now: time.Now}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.secretKey != "" && c.signer != nil {
		return nil, errors.New("paygate: give either a secret key or a signing key, not both")
	}
	return c, nil
}

// Response is an HTTP response from the gateway.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	RequestID  string // the Request-Id header
}

// RequestOption configures one request.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
}

// WithIdempotencyKey sends an Idempotency-Key header: the gateway answers a
// repeat of the same POST with the same key with the first response.
func WithIdempotencyKey(key string) RequestOption {
	return func(rc *requestConfig) { rc.idempotencyKey = key }
}

// Do sends a request to path (with any ?query, already escaped) and decodes
// a 2xx JSON response into out (when not nil). body is sent as JSON; a
// []byte or json.RawMessage is sent as is; nil sends no body. A non-2xx
// response returns the Response and an *Error. With response verification
// on, a response that does not verify returns ErrResponseSignature and no
// decoded value.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, opts ...RequestOption) (*Response, error) {
	var rc requestConfig
	for _, opt := range opts {
		opt(&rc)
	}
	var payload []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = b
	case json.RawMessage:
		payload = b
	default:
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("paygate: encode %s %s: %w", method, path, err)
		}
	}
	res, err := c.send(ctx, method, path, payload, rc)
	if err != nil {
		return nil, err
	}
	if err := c.checkResponse(ctx, res); err != nil {
		return res, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res, decodeError(res)
	}
	if out != nil && len(res.Body) > 0 {
		if err := unmarshalBody(res, out); err != nil {
			return res, err
		}
	}
	return res, nil
}

// send makes one authenticated request and reads the whole response.
func (c *Client) send(ctx context.Context, method, path string, payload []byte, rc requestConfig) (*Response, error) {
	req, err := c.newRequest(ctx, method, path, payload, rc)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("paygate: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("paygate: %s %s: read response: %w", method, path, err)
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("paygate: %s %s: response larger than %d bytes", method, path, maxResponse)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: data, RequestID: resp.Header.Get("Request-Id")}, nil
}

// newRequest builds an authenticated request of path with payload.
func (c *Client) newRequest(ctx context.Context, method, path string, payload []byte, rc requestConfig) (*http.Request, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("paygate: path %q must start with /", path)
	}
	var reader io.Reader
	if payload != nil {
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return nil, fmt.Errorf("paygate: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "paygate-go/"+Version)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rc.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", rc.idempotencyKey)
	}
	switch {
	case c.signer != nil:
		// RequestURI is what the transport writes on the request line.
		auth, err := c.signer.authorization(method, req.URL.RequestURI(), payload, c.now())
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", auth)
	case c.secretKey != "":
		req.Header.Set("Authorization", "Bearer "+c.secretKey)
	}
	return req, nil
}

// decodeError turns a non-2xx response into an *Error. A body that is not
// the API's error shape becomes Code "unexpected_response".
func decodeError(res *Response) *Error {
	var eb ErrorBody
	if err := json.Unmarshal(res.Body, &eb); err != nil || eb.Error.Code == "" {
		return unexpected(res, fmt.Sprintf("HTTP %d response is not a Paygate error: %s", res.StatusCode, snippet(res.Body)))
	}
	e := eb.Error
	e.StatusCode = res.StatusCode
	if e.RequestID == "" {
		e.RequestID = res.RequestID
	}
	return &e
}

// unmarshalBody decodes a 2xx JSON body into out.
func unmarshalBody(res *Response, out any) error {
	if err := json.Unmarshal(res.Body, out); err != nil {
		return unexpected(res, fmt.Sprintf("cannot decode HTTP %d response: %v", res.StatusCode, err))
	}
	return nil
}

func unexpected(res *Response, msg string) *Error {
	return &Error{StatusCode: res.StatusCode, Type: "api_error", Code: "unexpected_response", Message: msg, RequestID: res.RequestID}
}

// snippet quotes the start of a body for an error message.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
