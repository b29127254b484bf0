package client

import (
	"context"
	"net/http"
	"time"
)

// Event types (docs/api.md, "Notifications").
const (
	EventOrderSucceeded  = "order.succeeded"
	EventOrderFailed     = "order.failed"
	EventOrderClosed     = "order.closed"
	EventRefundSucceeded = "refund.succeeded"
	EventRefundFailed    = "refund.failed"
)

// WebhookEndpoint is a URL of an app that receives the events it subscribes
// to. Secret, the whsec_ secret its notifications are signed with, is
// present only in the responses that create the endpoint or rotate its secret.
type WebhookEndpoint struct {
	ID            string   `json:"id"`
	Object        string   `json:"object"` // "webhook_endpoint"
	AppID         string   `json:"app_id"`
	URL           string   `json:"url"`
	Description   string   `json:"description"`
	EnabledEvents []string `json:"enabled_events"` // event types, or ["*"] for all
	Status        string   `json:"status"`         // "enabled" or "disabled"
	Livemode      bool     `json:"livemode"`
	Secret        string   `json:"secret,omitempty"`
	// PreviousSecretExpiresAt is when the secret before the last rotation
	// stops signing notifications; null when there is none.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// CreateWebhookEndpointParams are the parameters of POST /v1/webhook-endpoints.
type CreateWebhookEndpointParams struct {
	URL           string   `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   string   `json:"description,omitempty"`
}

// UpdateWebhookEndpointParams are the parameters of POST
// /v1/webhook-endpoints/{id}; fields left nil are not changed.
type UpdateWebhookEndpointParams struct {
	URL           *string  `json:"url,omitempty"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
	Description   *string  `json:"description,omitempty"`
	Disabled      *bool    `json:"disabled,omitempty"`
}

// RotateWebhookSecretParams are the parameters of POST
// /v1/webhook-endpoints/{id}/rotate-secret. ExpiresIn is how many seconds
// the old secret keeps signing beside the new one (0 to 604800; nil means
// the default, 86400).
type RotateWebhookSecretParams struct {
	ExpiresIn *int `json:"expires_in,omitempty"`
}

// DeletedObject is the response to a DELETE.
type DeletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// Delivery is one event owed to one target: the notify_url of the event's
// order or refund, or a webhook endpoint.
type Delivery struct {
	ID         string  `json:"id"`
	Object     string  `json:"object"` // "delivery"
	EventID    string  `json:"event_id"`
	Target     string  `json:"target"`      // "notify_url" or "webhook_endpoint"
	EndpointID *string `json:"endpoint_id"` // null for the notify_url
	URL        string  `json:"url"`
	Status     string  `json:"status"`   // "pending", "succeeded" or "failed"
	Attempts   int     `json:"attempts"` // since created or last redelivered
	// NextAttemptAt is when the next attempt is due; null unless pending.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// DeliveryAttempt is one HTTP attempt of a delivery.
type DeliveryAttempt struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"` // "delivery_attempt"
	DeliveryID  string    `json:"delivery_id"`
	EndpointID  *string   `json:"endpoint_id"`
	URL         string    `json:"url"`
	AttemptedAt time.Time `json:"attempted_at"`
	Succeeded   bool      `json:"succeeded"`
	// StatusCode is the response's HTTP status; null when none came.
	StatusCode *int    `json:"status_code"`
	LatencyMS  float64 `json:"latency_ms"`
	// Error says why the attempt failed ("connection refused", "HTTP 500", …); empty when it succeeded.
	Error string `json:"error"`
	// ResponseBody is the first 256 bytes of the response; empty when the
	// answer came from an address that is not public (a loopback target in
	// test mode), of which only the status code is kept.
	ResponseBody string `json:"response_body"`
}

// CreateWebhookEndpoint creates a webhook endpoint of the calling app; the
// result's Secret is shown only this once.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, p CreateWebhookEndpointParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	return call[WebhookEndpoint](ctx, c, http.MethodPost, "/v1/webhook-endpoints", p, opts)
}

// GetWebhookEndpoint retrieves a webhook endpoint.
func (c *Client) GetWebhookEndpoint(ctx context.Context, id string, opts ...RequestOption) (*WebhookEndpoint, error) {
	seg, err := segment("webhook endpoint id", id)
	if err != nil {
		return nil, err
	}
	return call[WebhookEndpoint](ctx, c, http.MethodGet, "/v1/webhook-endpoints/"+seg, nil, opts)
}

// ListWebhookEndpoints lists the calling app's webhook endpoints, newest first.
func (c *Client) ListWebhookEndpoints(ctx context.Context, p ListParams, opts ...RequestOption) (*List[WebhookEndpoint], error) {
	return call[List[WebhookEndpoint]](ctx, c, http.MethodGet, "/v1/webhook-endpoints"+p.query(), nil, opts)
}

// UpdateWebhookEndpoint changes the fields of p that are set.
func (c *Client) UpdateWebhookEndpoint(ctx context.Context, id string, p UpdateWebhookEndpointParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	seg, err := segment("webhook endpoint id", id)
	if err != nil {
		return nil, err
	}
	return call[WebhookEndpoint](ctx, c, http.MethodPost, "/v1/webhook-endpoints/"+seg, p, opts)
}

// DeleteWebhookEndpoint deletes a webhook endpoint; its pending deliveries fail.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string, opts ...RequestOption) (*DeletedObject, error) {
	seg, err := segment("webhook endpoint id", id)
	if err != nil {
		return nil, err
	}
	return call[DeletedObject](ctx, c, http.MethodDelete, "/v1/webhook-endpoints/"+seg, nil, opts)
}

// RotateWebhookEndpointSecret gives the endpoint a new secret, returned in
// Secret this once; the old one keeps signing beside it for p.ExpiresIn seconds.
func (c *Client) RotateWebhookEndpointSecret(ctx context.Context, id string, p RotateWebhookSecretParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	seg, err := segment("webhook endpoint id", id)
	if err != nil {
		return nil, err
	}
	return call[WebhookEndpoint](ctx, c, http.MethodPost, "/v1/webhook-endpoints/"+seg+"/rotate-secret", p, opts)
}

// ListEvents lists events, newest first. Filter with ListParams.Extra:
// "type", "object_id", "delivery_status" (pending, succeeded, failed).
func (c *Client) ListEvents(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Event], error) {
	return call[List[Event]](ctx, c, http.MethodGet, "/v1/events"+p.query(), nil, opts)
}

// GetEvent retrieves an event with its deliveries and their attempts.
func (c *Client) GetEvent(ctx context.Context, id string, opts ...RequestOption) (*Event, error) {
	seg, err := segment("event id", id)
	if err != nil {
		return nil, err
	}
	return call[Event](ctx, c, http.MethodGet, "/v1/events/"+seg, nil, opts)
}

// RedeliverEvent makes every delivery of the event due again now, with a
// fresh retry schedule, and returns the event with its deliveries.
func (c *Client) RedeliverEvent(ctx context.Context, id string, opts ...RequestOption) (*Event, error) {
	seg, err := segment("event id", id)
	if err != nil {
		return nil, err
	}
	return call[Event](ctx, c, http.MethodPost, "/v1/events/"+seg+"/redeliver", noParams, opts)
}
