package client

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers of every notification (docs/api.md, "Notifications").
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultWebhookTolerance is how far a notification's webhook-timestamp may
// be from the local clock when VerifyWebhook is given no tolerance.
const DefaultWebhookTolerance = 5 * time.Minute

// ErrWebhookSignature is returned, wrapped with the reason, when a
// notification does not verify. Test with errors.Is.
var ErrWebhookSignature = errors.New("paygate: webhook signature does not verify")

// VerifyWebhook checks that a notification was signed with secret (the app's
// or the endpoint's whsec_ secret) and is recent: webhook-timestamp must be
// within tolerance of now (DefaultWebhookTolerance when tolerance is 0), and
// one of the "v1," signatures in webhook-signature must be the standard
// base64 HMAC-SHA256, keyed with the secret's decoded bytes, of
// "{webhook-id}.{webhook-timestamp}.{body}". Pass the raw body, before any
// JSON decoding. This is the Standard Webhooks scheme, so its libraries
// verify the same notifications. Use webhook-id (the event id) to drop
// repeats: delivery is at least once.
func VerifyWebhook(header http.Header, body []byte, secret string, tolerance time.Duration) error {
	return VerifyWebhookAt(header, body, secret, tolerance, time.Now())
}

// VerifyWebhookAt is VerifyWebhook with the time to check the timestamp against.
func VerifyWebhookAt(header http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	key, err := WebhookSecretKey(secret)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookSignature, err)
	}
	id, ts, sigs, err := webhookHeaders(header, tolerance, now)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write(WebhookSignedContent(id, ts, body))
	want := m.Sum(nil)
	for _, s := range sigs {
		sig, ok := strings.CutPrefix(s, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches the secret", ErrWebhookSignature)
}

// VerifyWebhookPlatformKeys checks the "v1a," Ed25519 signature of a
// notification against the platform's public keys (GET /v1/platform-keys),
// with the timestamp rule of VerifyWebhookAt. It proves the gateway sent the
// notification without sharing a secret with it.
func VerifyWebhookPlatformKeys(header http.Header, body []byte, keys []PlatformKey, tolerance time.Duration, now time.Time) error {
	pubs, err := parsePlatformKeys(keys, true)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookSignature, err)
	}
	id, ts, sigs, err := webhookHeaders(header, tolerance, now)
	if err != nil {
		return err
	}
	content := WebhookSignedContent(id, ts, body)
	for _, s := range sigs {
		sig, ok := strings.CutPrefix(s, "v1a,")
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		for _, pub := range pubs {
			if ed, ok := pub.(ed25519.PublicKey); ok && ed25519.Verify(ed, content, raw) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1a signature by a platform key", ErrWebhookSignature)
}

func webhookHeaders(header http.Header, tolerance time.Duration, now time.Time) (id string, ts int64, sigs []string, err error) {
	id, tsText, sigText := header.Get(HeaderWebhookID), header.Get(HeaderWebhookTimestamp), header.Get(HeaderWebhookSignature)
	if id == "" || tsText == "" || sigText == "" {
		return "", 0, nil, fmt.Errorf("%w: missing webhook-id, webhook-timestamp or webhook-signature", ErrWebhookSignature)
	}
	ts, err = strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", 0, nil, fmt.Errorf("%w: malformed webhook-timestamp", ErrWebhookSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	if t := time.Unix(ts, 0); t.Before(now.Add(-tolerance)) || t.After(now.Add(tolerance)) {
		return "", 0, nil, fmt.Errorf("%w: webhook-timestamp %d is more than %v from the local clock", ErrWebhookSignature, ts, tolerance)
	}
	return id, ts, strings.Fields(sigText), nil
}

// WebhookSignedContent is what both webhook signature schemes sign:
// "{webhook-id}.{webhook-timestamp}.{body}".
func WebhookSignedContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

// WebhookEvent is the body of a notification.
type WebhookEvent struct {
	ID        string    `json:"id"`   // the event id, also in webhook-id
	Type      string    `json:"type"` // order.succeeded, refund.failed, …
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		// Object is the order or refund as it was right after the change.
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// ParseWebhook decodes a notification body. Verify it first.
func ParseWebhook(body []byte) (*WebhookEvent, error) {
	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("paygate: webhook body: %w", err)
	}
	if ev.ID == "" || ev.Type == "" {
		return nil, errors.New("paygate: webhook body has no id or type")
	}
	return &ev, nil
}
