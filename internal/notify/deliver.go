package notify

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/client"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/paygate/paygate/internal/tracing"
)

// AttemptPrefix is the id prefix of delivery attempts.
const AttemptPrefix = "att_"

// ResponseSnippet is how many bytes of a response an attempt records. An
// answer from an address that is not public (a loopback target in test
// mode) is not recorded at all: see answerExcerpt.
const ResponseSnippet = 256

// UserAgent is sent with every notification.
const UserAgent = "Paygate-Webhooks/1"

// recordTimeout bounds recording an attempt, which runs even while the
// Dispatcher shuts down.
const recordTimeout = 10 * time.Second

// newHTTPClient returns the client of one mode. It follows no redirects (a
// 3xx is a failed attempt), uses no proxy, and refuses at connect time the
// addresses CheckURL refuses.
func newHTTPClient(p Policy, live bool, perTarget int) *http.Client {
	dialer := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second, Control: p.dialControl(live)}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // a proxy would connect on our behalf, past the address guard
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 2 * perTarget,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: DefaultTimeout,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// target is where and how one attempt is sent.
type target struct {
	url  string
	keys [][]byte // HMAC keys: the current secret, then a previous one still in its overlap
	// fail, when set, fails the attempt without sending; final means the
	// delivery cannot succeed (its endpoint is gone).
	fail  string
	final bool
}

// resolve finds the URL and secrets of a delivery as they are now.
func (d *Dispatcher) resolve(ctx context.Context, dl *store.Delivery, now time.Time) (target, error) {
	if dl.EndpointID == "" {
		key, err := d.appKey(ctx, dl.AppID)
		if err != nil {
			return target{}, err
		}
		return target{url: dl.URL, keys: [][]byte{key}}, nil
	}
	e, err := d.Store.WebhookEndpointGet(ctx, dl.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return target{url: dl.URL, fail: "the webhook endpoint was deleted", final: true}, nil
	}
	if err != nil {
		return target{}, err
	}
	t := target{url: e.URL}
	if e.Disabled {
		t.fail = "the webhook endpoint is disabled"
		return t, nil
	}
	key, err := d.unsealKey(e.SecretSealed)
	if err != nil {
		return target{}, fmt.Errorf("endpoint %s: %w", e.ID, err)
	}
	t.keys = append(t.keys, key)
	if e.PreviousSecretSealed != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		prev, err := d.unsealKey(e.PreviousSecretSealed)
		if err != nil {
			return target{}, fmt.Errorf("endpoint %s previous secret: %w", e.ID, err)
		}
		t.keys = append(t.keys, prev)
	}
	return t, nil
}

func (d *Dispatcher) unsealKey(sealed string) ([]byte, error) {
	secret, err := d.Unseal(sealed)
	if err != nil {
		return nil, fmt.Errorf("open webhook secret: %w", err)
	}
	return client.WebhookSecretKey(secret)
}

// appKey returns the HMAC key of an app's webhook secret, which signs
// notify_url deliveries. App secrets do not change, so they are cached.
func (d *Dispatcher) appKey(ctx context.Context, appID string) ([]byte, error) {
	if k, ok := d.appKeys.get(appID); ok {
		return k, nil
	}
	a, err := d.Store.AppGet(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", appID, err)
	}
	k, err := d.unsealKey(a.WebhookSecretSealed)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", appID, err)
	}
	d.appKeys.put(appID, k)
	return k, nil
}

// keyCache is a small map of app id to HMAC key, emptied when it grows past
// maxCachedKeys.
type keyCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

const maxCachedKeys = 10000

func (c *keyCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *keyCache) put(k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = map[string][]byte{}
	}
	c.m[k] = v
}

// attempt makes one attempt of dl and returns what record is to store.
func (d *Dispatcher) attempt(ctx context.Context, dl *store.Delivery) store.DeliveryResult {
	now := d.Clock.Now().UTC()
	att := store.DeliveryAttempt{
		ID: id.New(AttemptPrefix, now), DeliveryID: dl.ID, EventID: dl.EventID, EndpointID: dl.EndpointID,
		URL: dl.URL, AttemptedAt: now,
	}
	final := false
	switch t, err := d.resolve(ctx, dl, now); {
	case err != nil:
		d.Log.Error("notification target", "delivery", dl.ID, "event", dl.EventID, "err", err)
		att.Error = "internal error preparing the notification; it will be retried"
	case t.fail != "":
		att.URL, att.Error, final = t.url, t.fail, t.final
	case dl.Event == nil:
		att.URL, att.Error = t.url, "internal error: the delivery came without its event"
	default:
		att.URL = t.url
		d.send(ctx, dl, t, now, &att)
	}
	res := store.DeliveryResult{DeliveryID: dl.ID, LeaseToken: dl.LeaseToken, Attempt: att, At: now}
	res.Succeeded = att.Error == "" && att.StatusCode >= 200 && att.StatusCode <= 299
	if !res.Succeeded && !final {
		if n := dl.Attempts + 1; n <= len(d.Schedule) {
			next := now.Add(d.Schedule[n-1])
			res.NextAttemptAt = &next
		}
	}
	outcome := "succeeded"
	if !res.Succeeded {
		outcome = "retry"
		if res.NextAttemptAt == nil {
			outcome = "failed"
		}
	}
	d.Metrics.WebhookAttempt(outcome, att.Latency)
	return res
}

// record stores the result of an attempt of dl.
func (d *Dispatcher) record(ctx context.Context, dl *store.Delivery, res store.DeliveryResult) {
	rctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	if err := d.Store.DeliveryRecord(rctx, res); errors.Is(err, store.ErrStale) {
		// The lease ended before the attempt was recorded (a stalled
		// process); another claim owns the delivery now and will attempt it.
		d.Log.Warn("delivery lease lost before recording", "delivery", dl.ID, "event", dl.EventID)
	} else if err != nil {
		d.Log.Error("record delivery attempt", "delivery", dl.ID, "event", dl.EventID, "err", err)
	}
}

// send POSTs the event to t and fills att with what happened.
func (d *Dispatcher) send(ctx context.Context, dl *store.Delivery, t target, now time.Time, att *store.DeliveryAttempt) {
	u, err := url.Parse(t.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		att.Error = "the URL is not an absolute http or https URL"
		return
	}
	if dl.Livemode && u.Scheme != "https" {
		att.Error = "live-mode notifications are sent over https only"
		return
	}
	body, err := Payload(dl.Event)
	if err != nil {
		d.Log.Error("render notification", "event", dl.EventID, "err", err)
		att.Error = "internal error rendering the event"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		att.Error = "the URL cannot be requested"
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if tracing.Enabled() {
		// The attempt is a span in the trace of the request that wrote the
		// event (a root span when that request was not traced); the
		// receiver gets its traceparent, and so joins that trace too.
		var span trace.Span
		ctx, span = tracing.Tracer().Start(tracing.WithTraceParent(ctx, dl.Event.TraceParent), "webhook deliver", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("paygate.event_type", dl.Event.Type)))
		defer func() {
			span.SetAttributes(attribute.Int("http.response.status_code", att.StatusCode))
			if att.Error != "" {
				span.SetStatus(codes.Error, "attempt failed")
			}
			span.End()
		}()
		req = req.WithContext(ctx)
		tracing.Inject(ctx, req.Header)
	}
	SetHeaders(req.Header, dl.EventID, now, body, t.keys, d.PlatformKey)
	client := d.clients[0]
	if dl.Livemode {
		client = d.clients[1]
	}
	var remote atomic.Pointer[net.TCPAddr] // the address the request went to
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(c httptrace.GotConnInfo) {
			if a, ok := c.Conn.RemoteAddr().(*net.TCPAddr); ok {
				remote.Store(a)
			}
		},
	}))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		att.Latency = time.Since(start)
		att.Error = describe(err, d.Timeout)
		return
	}
	defer resp.Body.Close()
	snippet := make([]byte, ResponseSnippet)
	n, _ := io.ReadFull(resp.Body, snippet) // the status decides; a short or cut body is fine
	att.Latency = time.Since(start)
	att.StatusCode = resp.StatusCode
	att.ResponseBody = answerExcerpt(remote.Load(), snippet[:n])
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		att.Error = fmt.Sprintf("HTTP %d: redirects are not followed; point the URL at its final location", resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		att.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	// Drain a little more so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
}

// answerExcerpt is what an attempt keeps of the answer it got from remote:
// the first bytes, as text, from a public address; nothing from any other
// (a loopback target in test mode, the gateway's own machine), whose
// answer is no business of the merchant's: the status code says whether
// the notification was taken.
func answerExcerpt(remote *net.TCPAddr, body []byte) string {
	if remote == nil {
		return ""
	}
	addr, ok := netip.AddrFromSlice(remote.IP)
	if !ok || Classify(addr.Unmap()) != "" {
		return ""
	}
	return clean(body)
}

// describe turns a request error into a sentence for the merchant.
func describe(err error, timeout time.Duration) string {
	var refusedErr *RefusedError
	var dnsErr *net.DNSError
	var certErr *x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.As(err, &refusedErr):
		return refusedErr.Reason
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Sprintf("timed out after %s without a response", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "the host " + dnsErr.Name + " does not resolve"
		}
		return "the host " + dnsErr.Name + " could not be resolved"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return "TLS certificate not accepted: " + clean([]byte(err.Error()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection without a response"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clean([]byte(err.Error()))
}

// clean makes b safe to store as text: valid UTF-8 without NUL bytes.
func clean(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}
