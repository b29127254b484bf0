package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Webhook endpoint limits.
const (
	MaxEndpointsPerApp     = 16
	maxEndpointDescription = 1000
	maxEndpointURL         = 2048
	// DefaultSecretOverlap is how long a rotated-out secret keeps signing
	// beside the new one unless the rotation says otherwise.
	DefaultSecretOverlap = 24 * time.Hour
	maxSecretOverlap     = 7 * 24 * time.Hour
)

// ErrEndpointNotFound is a webhook endpoint that does not exist or is not the app's.
var ErrEndpointNotFound = errs.NotFound("webhook_endpoint_not_found", "No such webhook endpoint.")

// Endpoints manages apps' webhook endpoints: the URLs they may use, the
// event types they subscribe to, their limits, and their secrets (whsec_…),
// which are sealed with the master key as they are made and shown once.
type Endpoints struct {
	Store store.Store
	// Seal seals a new secret (cryptobox.Box.Seal).
	Seal func(plain string) (string, error)
	// CheckURL vets an endpoint's URL against the gateway's policy on
	// private and loopback targets; nil: the default Policy (not hosted).
	CheckURL func(ctx context.Context, url string, live bool) error
	Clock    clock.Clock
}

// EndpointParams create or change a webhook endpoint; nil fields are left
// as they are (on create, URL and EnabledEvents are required).
type EndpointParams struct {
	URL           *string
	EnabledEvents []string // event types, or ["*"] for all
	Description   *string
	Disabled      *bool
}

func (s *Endpoints) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// Create adds an endpoint to the scope's app and returns it with its secret,
// shown this once.
func (s *Endpoints) Create(ctx context.Context, sc store.Scope, p EndpointParams) (*store.WebhookEndpoint, string, error) {
	if p.URL == nil {
		return nil, "", errs.Missing("url")
	}
	if err := s.checkURL(ctx, *p.URL, sc.Livemode); err != nil {
		return nil, "", err
	}
	events, err := parseEnabledEvents(p.EnabledEvents)
	if err != nil {
		return nil, "", err
	}
	desc := ""
	if p.Description != nil {
		desc = *p.Description
	}
	if err := checkDescription(desc); err != nil {
		return nil, "", err
	}
	existing, _, err := s.Store.WebhookEndpointList(ctx, sc.AppID, store.ListParams{Limit: MaxEndpointsPerApp})
	if err != nil {
		return nil, "", err
	}
	if len(existing) >= MaxEndpointsPerApp {
		return nil, "", errs.Invalid("webhook_endpoint_limit", fmt.Sprintf("An app may have at most %d webhook endpoints; delete one first.", MaxEndpointsPerApp))
	}
	secret, sealed, err := s.newSecret()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	e := &store.WebhookEndpoint{
		ID: id.New(id.Endpoint, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		URL: *p.URL, Description: desc, EnabledEvents: events, SecretSealed: sealed, CreatedAt: now, UpdatedAt: now,
	}
	if p.Disabled != nil {
		e.Disabled = *p.Disabled
	}
	if err := s.Store.WebhookEndpointCreate(ctx, e); err != nil {
		return nil, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	return e, secret, nil
}

// Get returns the app's endpoint.
func (s *Endpoints) Get(ctx context.Context, sc store.Scope, endpointID string) (*store.WebhookEndpoint, error) {
	if !id.Valid(id.Endpoint, endpointID) {
		return nil, ErrEndpointNotFound
	}
	e, err := s.Store.WebhookEndpointGetInScope(ctx, sc, endpointID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrEndpointNotFound
	}
	return e, err
}

// List pages through the app's endpoints.
func (s *Endpoints) List(ctx context.Context, sc store.Scope, p store.ListParams) ([]*store.WebhookEndpoint, bool, error) {
	return s.Store.WebhookEndpointList(ctx, sc.AppID, p)
}

// Update changes the fields p gives.
func (s *Endpoints) Update(ctx context.Context, sc store.Scope, endpointID string, p EndpointParams) (*store.WebhookEndpoint, error) {
	e, err := s.Get(ctx, sc, endpointID)
	if err != nil {
		return nil, err
	}
	if p.URL != nil {
		if err := s.checkURL(ctx, *p.URL, e.Livemode); err != nil {
			return nil, err
		}
		e.URL = *p.URL
	}
	if p.EnabledEvents != nil {
		if e.EnabledEvents, err = parseEnabledEvents(p.EnabledEvents); err != nil {
			return nil, err
		}
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return nil, err
		}
		e.Description = *p.Description
	}
	if p.Disabled != nil {
		e.Disabled = *p.Disabled
	}
	e.UpdatedAt = s.now()
	return e, s.update(ctx, sc, e, "update")
}

// Delete deletes the app's endpoint; its pending deliveries fail.
func (s *Endpoints) Delete(ctx context.Context, sc store.Scope, endpointID string) (*store.WebhookEndpoint, error) {
	e, err := s.Get(ctx, sc, endpointID)
	if err != nil {
		return nil, err
	}
	if err := s.Store.WebhookEndpointDelete(ctx, sc, e.ID, s.now()); errors.Is(err, store.ErrNotFound) {
		return nil, ErrEndpointNotFound
	} else if err != nil {
		return nil, fmt.Errorf("delete webhook endpoint %s: %w", e.ID, err)
	}
	return e, nil
}

// RotateSecret gives the endpoint a new secret, returned this once. The
// current secret becomes the previous one and signs beside the new one for
// overlap (nil: DefaultSecretOverlap; 0 drops it at once); a previous secret
// from an earlier rotation is dropped.
func (s *Endpoints) RotateSecret(ctx context.Context, sc store.Scope, endpointID string, overlap *time.Duration) (*store.WebhookEndpoint, string, error) {
	keep := DefaultSecretOverlap
	if overlap != nil {
		keep = *overlap
	}
	if keep < 0 || keep > maxSecretOverlap {
		return nil, "", errs.InvalidParam("expires_in", "expires_in must be 0 to 604800 seconds.")
	}
	e, err := s.Get(ctx, sc, endpointID)
	if err != nil {
		return nil, "", err
	}
	secret, sealed, err := s.newSecret()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	e.PreviousSecretSealed, e.PreviousSecretExpiresAt = "", nil
	if keep > 0 {
		until := now.Add(keep)
		e.PreviousSecretSealed, e.PreviousSecretExpiresAt = e.SecretSealed, &until
	}
	e.SecretSealed, e.UpdatedAt = sealed, now
	if err := s.update(ctx, sc, e, "rotate secret of"); err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

func (s *Endpoints) update(ctx context.Context, sc store.Scope, e *store.WebhookEndpoint, what string) error {
	if err := s.Store.WebhookEndpointUpdate(ctx, sc, e); errors.Is(err, store.ErrNotFound) {
		return ErrEndpointNotFound
	} else if err != nil {
		return fmt.Errorf("%s webhook endpoint %s: %w", what, e.ID, err)
	}
	return nil
}

// newSecret makes a whsec_ secret and its sealed form.
func (s *Endpoints) newSecret() (secret, sealed string, err error) {
	secret = auth.NewWebhookSecret()
	sealed, err = s.Seal(secret)
	if err != nil {
		return "", "", fmt.Errorf("seal webhook secret: %w", err)
	}
	return secret, sealed, nil
}

// checkURL checks an endpoint's URL: url_invalid when it is malformed or
// the target is refused.
func (s *Endpoints) checkURL(ctx context.Context, raw string, live bool) error {
	if raw == "" {
		return errs.Missing("url")
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxEndpointURL || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errs.InvalidParam("url", "url must be an absolute http or https URL of at most 2048 characters.")
	}
	check := s.CheckURL
	if check == nil {
		check = Policy{}.CheckURL
	}
	if err := check(ctx, raw, live); err != nil {
		return errs.InvalidParam("url", "url is refused: "+err.Error()+".")
	}
	return nil
}

// parseEnabledEvents checks a list of event types: merchant event types of
// the table, or "*" alone.
func parseEnabledEvents(in []string) ([]string, error) {
	if in == nil {
		return nil, errs.Missing("enabled_events")
	}
	if len(in) == 0 {
		return nil, errs.InvalidParam("enabled_events", `enabled_events must list at least one event type, or be ["*"] for all.`)
	}
	known := MerchantEventTypes()
	var out []string
	for _, t := range in {
		switch {
		case t == "*":
			if len(in) > 1 {
				return nil, errs.InvalidParam("enabled_events", `"*" subscribes to every event type and must be the only entry.`)
			}
		case !slices.Contains(known, t):
			return nil, errs.InvalidParam("enabled_events", fmt.Sprintf("Unknown event type %q: use %s, or \"*\" for all.", clip(t), strings.Join(known, ", ")))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func checkDescription(d string) error {
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) > maxEndpointDescription {
		return errs.InvalidParam("description", "description must be at most 1000 characters.")
	}
	for _, r := range d {
		if r < 0x20 && r != '\n' && r != '\t' {
			return errs.InvalidParam("description", "description must not contain control characters.")
		}
	}
	return nil
}
