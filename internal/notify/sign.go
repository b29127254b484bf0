package notify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// Standard Webhooks headers (standardwebhooks.com, "Webhook headers").
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// payload is the body of a notification: the Standard Webhooks payload
// structure with the event id beside it.
type payload struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Payload renders the body delivered for ev:
// {"id","type","timestamp","data":{"object":{…}}}, where timestamp is the
// event's creation time in RFC 3339 (as its created_at in the API) and data
// is the event's data, compacted. It depends on nothing but the event, so
// every attempt of every delivery of an event sends the same bytes.
func Payload(ev *store.Event) ([]byte, error) {
	var data bytes.Buffer
	if err := json.Compact(&data, ev.Data); err != nil {
		return nil, fmt.Errorf("event %s: data is not JSON: %w", ev.ID, err)
	}
	return json.Marshal(payload{ID: ev.ID, Type: ev.Type, Timestamp: ev.CreatedAt.UTC().Format(time.RFC3339Nano), Data: data.Bytes()})
}

// Signature returns the webhook-signature header value for one attempt: a
// "v1,<base64 HMAC-SHA256>" for each HMAC key (the current secret and,
// while a rotation overlaps, the previous one), then "v1a,<base64 Ed25519>"
// with the platform key when it is set, separated by single spaces.
func Signature(msgID string, timestamp int64, body []byte, hmacKeys [][]byte, platformKey ed25519.PrivateKey) string {
	content := client.WebhookSignedContent(msgID, timestamp, body)
	var sigs []string
	for _, k := range hmacKeys {
		m := hmac.New(sha256.New, k)
		m.Write(content)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	if len(platformKey) == ed25519.PrivateKeySize {
		sigs = append(sigs, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(platformKey, content)))
	}
	return strings.Join(sigs, " ")
}

// SetHeaders sets the three Standard Webhooks headers on h.
func SetHeaders(h http.Header, msgID string, at time.Time, body []byte, hmacKeys [][]byte, platformKey ed25519.PrivateKey) {
	ts := at.Unix()
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Signature(msgID, ts, body, hmacKeys, platformKey))
}
