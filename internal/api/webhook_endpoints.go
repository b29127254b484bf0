package api

import (
	"net/http"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// webhookEndpointObjectName is the object name of webhook endpoints.
const webhookEndpointObjectName = "webhook_endpoint"

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

// webhookEndpointRoutes are the merchant API's webhook endpoints.
func (s *Server) webhookEndpointRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/webhook-endpoints", Access: merchant, Handler: s.createWebhookEndpoint},
		{Method: "GET", Pattern: "/v1/webhook-endpoints", Access: merchant, Handler: s.listWebhookEndpoints, Query: true},
		{Method: "GET", Pattern: "/v1/webhook-endpoints/{id}", Access: merchant, Handler: s.getWebhookEndpoint},
		{Method: "POST", Pattern: "/v1/webhook-endpoints/{id}", Access: merchant, Handler: s.updateWebhookEndpoint},
		{Method: "DELETE", Pattern: "/v1/webhook-endpoints/{id}", Access: merchant, Handler: s.deleteWebhookEndpoint},
		{Method: "POST", Pattern: "/v1/webhook-endpoints/{id}/rotate-secret", Access: merchant, Handler: s.rotateWebhookEndpointSecret},
	}
}

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var req createWebhookEndpointRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	e, secret, err := s.Endpoints.Create(r.Context(), scopeOf(r), notify.EndpointParams{
		URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, endpointObject(e, secret, s.now()))
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Endpoints.Get(r.Context(), scopeOf(r), r.PathValue("id"))
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
	endpoints, more, err := s.Endpoints.List(r.Context(), scopeOf(r), lp)
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
	e, err := s.Endpoints.Update(r.Context(), scopeOf(r), r.PathValue("id"), notify.EndpointParams{
		URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description, Disabled: req.Disabled,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointObject(e, "", s.now()))
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	e, err := s.Endpoints.Delete(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.DeletedObject{ID: e.ID, Object: webhookEndpointObjectName, Deleted: true})
}

// rotateWebhookEndpointSecret gives the endpoint a new secret; the current
// one signs beside it for expires_in seconds (notify.Endpoints.RotateSecret).
func (s *Server) rotateWebhookEndpointSecret(w http.ResponseWriter, r *http.Request) error {
	var req rotateWebhookSecretRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	var overlap *time.Duration
	if req.ExpiresIn != nil {
		if *req.ExpiresIn < 0 || *req.ExpiresIn > 7*86400 {
			return errs.InvalidParam("expires_in", "expires_in must be 0 to 604800 seconds.")
		}
		d := time.Duration(*req.ExpiresIn) * time.Second
		overlap = &d
	}
	e, secret, err := s.Endpoints.RotateSecret(r.Context(), scopeOf(r), r.PathValue("id"), overlap)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointObject(e, secret, s.now()))
}
