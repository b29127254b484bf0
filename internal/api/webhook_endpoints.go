package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

var errWebhookEndpointNotFound = errs.NotFound("webhook_endpoint_not_found", "No such webhook endpoint.")

// eventTypes are the event types an endpoint may subscribe to.
var eventTypes = []string{
	payment.EventOrderSucceeded, payment.EventOrderFailed, payment.EventOrderClosed,
	payment.EventRefundSucceeded, payment.EventRefundFailed,
}

// Webhook endpoint limits.
const (
	maxEndpointsPerApp        = 16
	maxEndpointDescription    = 1000
	maxEndpointURL            = 2048
	defaultSecretOverlap      = 86400
	maxSecretOverlap          = 7 * 86400
	webhookEndpointObjectName = "webhook_endpoint"
)

type createWebhookEndpointRequest struct {
	URL           *string  `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   *string  `json:"description"`
}

type updateWebhookEndpointRequest struct {
	URL           *string  `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   *string  `json:"description"`
	Disabled      *bool    `json:"disabled"`
}

type rotateWebhookSecretRequest struct {
	ExpiresIn *int64 `json:"expires_in"`
}

func (s *Server) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// endpointObject renders e; secret is shown only when it was just made.
func endpointObject(e *store.WebhookEndpoint, secret string, now time.Time) client.WebhookEndpoint {
	out := client.WebhookEndpoint{
		ID: e.ID, Object: webhookEndpointObjectName, AppID: e.AppID, URL: e.URL, Description: e.Description,
		EnabledEvents: append([]string{}, e.EnabledEvents...), Status: "enabled", Livemode: e.Livemode,
		Secret: secret, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
	if e.Disabled {
		out.Status = "disabled"
	}
	if e.PreviousSecretSealed != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		t := e.PreviousSecretExpiresAt.UTC()
		out.PreviousSecretExpiresAt = &t
	}
	return out
}

// checkEndpointURL checks a webhook endpoint's URL: 400 url_invalid when it
// is malformed or refused (notify.Policy.CheckURL, with the operator's
// NotifyPolicy).
func (s *Server) checkEndpointURL(ctx context.Context, raw string, live bool) error {
	if raw == "" {
		return errs.Missing("url")
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxEndpointURL || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errs.InvalidParam("url", "url must be an absolute http or https URL of at most 2048 characters.")
	}
	if err := s.NotifyPolicy.CheckURL(ctx, raw, live); err != nil {
		return errs.InvalidParam("url", "url is refused: "+err.Error()+".")
	}
	return nil
}

// parseEnabledEvents checks a list of event types: known types, or "*" alone.
func parseEnabledEvents(in []string) ([]string, error) {
	if in == nil {
		return nil, errs.Missing("enabled_events")
	}
	if len(in) == 0 {
		return nil, errs.InvalidParam("enabled_events", `enabled_events must list at least one event type, or be ["*"] for all.`)
	}
	var out []string
	for _, t := range in {
		switch {
		case t == "*":
			if len(in) > 1 {
				return nil, errs.InvalidParam("enabled_events", `"*" subscribes to every event type and must be the only entry.`)
			}
		case !slices.Contains(eventTypes, t):
			return nil, errs.InvalidParam("enabled_events", fmt.Sprintf("Unknown event type %q: use %s, or \"*\" for all.", clip(t), strings.Join(eventTypes, ", ")))
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

// newWebhookSecret makes a whsec_ secret and its sealed form.
func (s *Server) newWebhookSecret() (secret, sealed string, err error) {
	secret = auth.NewWebhookSecret()
	sealed, err = s.Box.Seal(secret)
	if err != nil {
		return "", "", fmt.Errorf("seal webhook secret: %w", err)
	}
	return secret, sealed, nil
}

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var req createWebhookEndpointRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	sc := scopeOf(r)
	if err := s.checkEndpointURL(r.Context(), str(req.URL), sc.Livemode); err != nil {
		return err
	}
	events, err := parseEnabledEvents(req.EnabledEvents)
	if err != nil {
		return err
	}
	if err := checkDescription(str(req.Description)); err != nil {
		return err
	}
	existing, _, err := s.Store.WebhookEndpointList(r.Context(), sc.AppID, store.ListParams{Limit: maxEndpointsPerApp})
	if err != nil {
		return err
	}
	if len(existing) >= maxEndpointsPerApp {
		return errs.Invalid("webhook_endpoint_limit", fmt.Sprintf("An app may have at most %d webhook endpoints; delete one first.", maxEndpointsPerApp))
	}
	secret, sealed, err := s.newWebhookSecret()
	if err != nil {
		return err
	}
	now := s.now()
	e := &store.WebhookEndpoint{
		ID: id.New(id.Endpoint, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		URL: *req.URL, Description: str(req.Description), EnabledEvents: events, SecretSealed: sealed,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Store.WebhookEndpointCreate(r.Context(), e); err != nil {
		return fmt.Errorf("create webhook endpoint: %w", err)
	}
	return writeJSON(w, http.StatusCreated, endpointObject(e, secret, now))
}

// endpointOf returns the endpoint named in the path if the calling app owns it.
func (s *Server) endpointOf(r *http.Request) (*store.WebhookEndpoint, error) {
	endpointID := r.PathValue("id")
	if !id.Valid(id.Endpoint, endpointID) {
		return nil, errWebhookEndpointNotFound
	}
	e, err := s.Store.WebhookEndpointGet(r.Context(), endpointID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errWebhookEndpointNotFound
	}
	if err != nil {
		return nil, err
	}
	sc := scopeOf(r)
	if e.AppID != sc.AppID || e.MerchantID != sc.MerchantID || e.Livemode != sc.Livemode {
		return nil, errWebhookEndpointNotFound
	}
	return e, nil
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.endpointOf(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointObject(e, "", s.now()))
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	endpoints, more, err := s.Store.WebhookEndpointList(r.Context(), scopeOf(r).AppID, lp)
	if err != nil {
		return err
	}
	now := s.now()
	data := make([]client.WebhookEndpoint, len(endpoints))
	for i, e := range endpoints {
		data[i] = endpointObject(e, "", now)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var req updateWebhookEndpointRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	e, err := s.endpointOf(r)
	if err != nil {
		return err
	}
	if req.URL != nil {
		if err := s.checkEndpointURL(r.Context(), *req.URL, e.Livemode); err != nil {
			return err
		}
		e.URL = *req.URL
	}
	if req.EnabledEvents != nil {
		if e.EnabledEvents, err = parseEnabledEvents(req.EnabledEvents); err != nil {
			return err
		}
	}
	if req.Description != nil {
		if err := checkDescription(*req.Description); err != nil {
			return err
		}
		e.Description = *req.Description
	}
	if req.Disabled != nil {
		e.Disabled = *req.Disabled
	}
	now := s.now()
	e.UpdatedAt = now
	if err := s.Store.WebhookEndpointUpdate(r.Context(), e); errors.Is(err, store.ErrNotFound) {
		return errWebhookEndpointNotFound
	} else if err != nil {
		return fmt.Errorf("update webhook endpoint %s: %w", e.ID, err)
	}
	return writeJSON(w, http.StatusOK, endpointObject(e, "", now))
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	e, err := s.endpointOf(r)
	if err != nil {
		return err
	}
	if err := s.Store.WebhookEndpointDelete(r.Context(), e.ID, s.now()); errors.Is(err, store.ErrNotFound) {
		return errWebhookEndpointNotFound
	} else if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", e.ID, err)
	}
	return writeJSON(w, http.StatusOK, client.DeletedObject{ID: e.ID, Object: webhookEndpointObjectName, Deleted: true})
}

// rotateWebhookEndpointSecret gives the endpoint a new secret. The current
// one becomes the previous secret and signs beside the new one for
// expires_in seconds; a previous secret from an earlier rotation is dropped.
func (s *Server) rotateWebhookEndpointSecret(w http.ResponseWriter, r *http.Request) error {
	var req rotateWebhookSecretRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	overlap := int64(defaultSecretOverlap)
	if req.ExpiresIn != nil {
		overlap = *req.ExpiresIn
	}
	if overlap < 0 || overlap > maxSecretOverlap {
		return errs.InvalidParam("expires_in", "expires_in must be 0 to 604800 seconds.")
	}
	e, err := s.endpointOf(r)
	if err != nil {
		return err
	}
	secret, sealed, err := s.newWebhookSecret()
	if err != nil {
		return err
	}
	now := s.now()
	e.PreviousSecretSealed, e.PreviousSecretExpiresAt = "", nil
	if overlap > 0 {
		until := now.Add(time.Duration(overlap) * time.Second)
		e.PreviousSecretSealed, e.PreviousSecretExpiresAt = e.SecretSealed, &until
	}
	e.SecretSealed, e.UpdatedAt = sealed, now
	if err := s.Store.WebhookEndpointUpdate(r.Context(), e); errors.Is(err, store.ErrNotFound) {
		return errWebhookEndpointNotFound
	} else if err != nil {
		return fmt.Errorf("rotate secret of webhook endpoint %s: %w", e.ID, err)
	}
	return writeJSON(w, http.StatusOK, endpointObject(e, secret, now))
}
