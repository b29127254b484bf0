package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// The webhooks page: a merchant's endpoints with how their recent
// deliveries went, the recent failed deliveries with resend, and (for a
// merchant's admin or an operator admin) creating, disabling, enabling an
// endpoint and rotating its secret through notify.Endpoints, the code the
// API's /v1/webhook-endpoints routes use. A new secret is shown once.

// endpointView is one endpoint and how its last day of attempts went.
type endpointView struct {
	Endpoint *store.WebhookEndpoint
	App      *store.App
	Health   store.EndpointHealth
	// OKRate is the share of attempts answered 2xx, in percent.
	OKRate float64
}

// webhooksData is the webhooks page.
type webhooksData struct {
	Hours     int
	Failures  []*store.Delivery
	Merchant  string // whose endpoints are shown: the user's, or the operator's pick
	Endpoints []endpointView
	Apps      []*store.App // the merchant's apps in the mode, for the create form
	Types     []string     // the event types an endpoint may subscribe to
	// Secret is a new endpoint secret, shown once, and the endpoint it is of.
	Secret, SecretOf string
	CanManage        bool
}

// healthWindow is how far back an endpoint's delivery health looks.
const healthWindow = 24 * time.Hour

func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request) error {
	return h.showWebhooks(w, r, "", "")
}

func (h *Handler) showWebhooks(w http.ResponseWriter, r *http.Request, secret, secretOf string) error {
	p := principalOf(r)
	ctx := r.Context()
	q := r.URL.Query()
	hours, _ := strconv.Atoi(q.Get("hours"))
	if hours <= 0 || hours > 24*30 {
		hours = 24
	}
	d := webhooksData{Hours: hours, Types: notify.MerchantEventTypes(), Secret: secret, SecretOf: secretOf,
		CanManage: p.Admin() && h.cfg.Endpoints != nil}
	var err error
	if d.Failures, err = h.cfg.Store.ConsoleFailedDeliveries(ctx, p.scopeMerchant(), p.Live(), h.now().Add(-time.Duration(hours)*time.Hour), 200); err != nil {
		return err
	}
	d.Merchant = p.User.MerchantID
	if p.Operator() {
		d.Merchant = strings.TrimSpace(q.Get("merchant"))
		if d.Merchant == "" {
			d.Merchant = strings.TrimSpace(r.PostFormValue("merchant"))
		}
	}
	if d.Merchant != "" {
		if !id.Valid(id.Merchant, d.Merchant) {
			return errs.InvalidParam("merchant", "merchant must be a merchant id (mch_…).")
		}
		if err := h.loadEndpoints(r, p, &d); err != nil {
			return err
		}
	}
	return h.page(w, r, "webhooks", "Webhooks", d)
}

// loadEndpoints fills the merchant's apps of the mode, their endpoints and
// the endpoints' health.
func (h *Handler) loadEndpoints(r *http.Request, p *principal, d *webhooksData) error {
	ctx := r.Context()
	apps, _, err := h.cfg.Store.AppList(ctx, d.Merchant, store.ListParams{Limit: 100})
	if err != nil {
		return err
	}
	var ids []string
	for _, a := range apps {
		if a.Livemode != p.Live() {
			continue
		}
		d.Apps = append(d.Apps, a)
		es, _, err := h.cfg.Store.WebhookEndpointList(ctx, a.ID, store.ListParams{Limit: notify.MaxEndpointsPerApp})
		if err != nil {
			return err
		}
		for _, e := range es {
			d.Endpoints = append(d.Endpoints, endpointView{Endpoint: e, App: a})
			ids = append(ids, e.ID)
		}
	}
	health, err := h.cfg.Store.ConsoleEndpointHealth(ctx, ids, h.now().Add(-healthWindow))
	if err != nil {
		return err
	}
	for i := range d.Endpoints {
		v := &d.Endpoints[i]
		v.Health = health[v.Endpoint.ID]
		if v.Health.Attempts > 0 {
			v.OKRate = 100 * float64(v.Health.OK) / float64(v.Health.Attempts)
		}
	}
	return nil
}

// webhooksPath is the webhooks page of the merchant an operator looks at.
func webhooksPath(p *principal, merchantID string) string {
	if p.Operator() {
		return "/console/webhooks?merchant=" + merchantID
	}
	return "/console/webhooks"
}

// createEndpoint adds an endpoint to one of the merchant's apps: the URL,
// the event types ticked (none: every type) and a description. Its secret
// is shown on the page this once.
func (h *Handler) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Endpoints == nil {
		return errNotFound
	}
	p := principalOf(r)
	ctx := r.Context()
	appID := r.PostFormValue("app")
	if !id.Valid(id.App, appID) {
		return errs.InvalidParam("app", "Choose an app.")
	}
	app, err := h.cfg.Store.AppGet(ctx, appID)
	if err != nil || !p.maysee(app.MerchantID) {
		return errs.InvalidParam("app", "Choose an app.")
	}
	if err := r.ParseForm(); err != nil {
		return errs.InvalidParam("events", "The form could not be read.")
	}
	events := r.PostForm["events"]
	if len(events) == 0 || slices.Contains(events, "*") {
		events = []string{"*"}
	}
	u, desc := strings.TrimSpace(r.PostFormValue("url")), strings.TrimSpace(r.PostFormValue("description"))
	e, secret, err := h.cfg.Endpoints.Create(ctx, store.Scope{MerchantID: app.MerchantID, AppID: app.ID, Livemode: app.Livemode},
		notify.EndpointParams{URL: &u, EnabledEvents: events, Description: &desc})
	if err != nil {
		return err
	}
	h.cfg.Log.Info("console webhook endpoint created", "user", p.User.ID, "endpoint", e.ID, "app", app.ID)
	return h.afterEndpointChange(w, r, p, e, secret)
}

// endpointOf loads the endpoint of the path if the user may see it, and
// its scope.
func (h *Handler) endpointOf(r *http.Request, p *principal) (*store.WebhookEndpoint, store.Scope, error) {
	endpointID := r.PathValue("id")
	if h.cfg.Endpoints == nil || !id.Valid(id.Endpoint, endpointID) {
		return nil, store.Scope{}, errNotFound
	}
	e, err := h.cfg.Store.WebhookEndpointGet(r.Context(), endpointID)
	if err != nil || !p.maysee(e.MerchantID) {
		return nil, store.Scope{}, errNotFound
	}
	return e, store.Scope{MerchantID: e.MerchantID, AppID: e.AppID, Livemode: e.Livemode}, nil
}

// setEndpointDisabled turns an endpoint off (its deliveries stop) or on again.
func (h *Handler) setEndpointDisabled(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	e, sc, err := h.endpointOf(r, p)
	if err != nil {
		return err
	}
	var disabled bool
	switch r.PathValue("state") {
	case "disable":
		disabled = true
	case "enable":
	default:
		return errNotFound
	}
	if e, err = h.cfg.Endpoints.Update(r.Context(), sc, e.ID, notify.EndpointParams{Disabled: &disabled}); err != nil {
		return err
	}
	done := "Endpoint enabled."
	if disabled {
		done = "Endpoint disabled."
	}
	return back(w, r, webhooksPath(p, e.MerchantID), done)
}

// rotateEndpoint gives an endpoint a new secret; the old one keeps signing
// beside it for notify.DefaultSecretOverlap so receivers can move over.
func (h *Handler) rotateEndpoint(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	e, sc, err := h.endpointOf(r, p)
	if err != nil {
		return err
	}
	e, secret, err := h.cfg.Endpoints.RotateSecret(r.Context(), sc, e.ID, nil)
	if err != nil {
		return err
	}
	h.cfg.Log.Info("console webhook secret rotated", "user", p.User.ID, "endpoint", e.ID)
	return h.afterEndpointChange(w, r, p, e, secret)
}

// afterEndpointChange shows the webhooks page of the endpoint's merchant
// with the new secret (not a redirect: the secret is in no URL or log).
func (h *Handler) afterEndpointChange(w http.ResponseWriter, r *http.Request, p *principal, e *store.WebhookEndpoint, secret string) error {
	q := r.URL.Query()
	if p.Operator() {
		q.Set("merchant", e.MerchantID)
	}
	u := *r.URL
	u.Path, u.RawQuery = "/console/webhooks", q.Encode() // the page's own links (the language switch) are the page's
	r.URL = &u
	return h.showWebhooks(w, r, secret, e.ID)
}

// resendFailed queues again every event with a failed delivery in the
// range (the failures page's "resend all").
func (h *Handler) resendFailed(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	ctx := r.Context()
	hours, _ := strconv.Atoi(r.PostFormValue("hours"))
	if hours <= 0 || hours > 24*30 {
		return errs.InvalidParam("hours", "hours must be 1 to 720.")
	}
	ds, err := h.cfg.Store.ConsoleFailedDeliveries(ctx, p.scopeMerchant(), p.Live(), h.now().Add(-time.Duration(hours)*time.Hour), 5000)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, d := range ds {
		if done[d.EventID] {
			continue
		}
		done[d.EventID] = true
		if _, err := h.cfg.Store.EventRedeliver(ctx, store.Scope{MerchantID: d.MerchantID, AppID: d.AppID, Livemode: d.Livemode}, d.EventID, h.now()); err != nil {
			return err
		}
	}
	if h.cfg.Notify != nil && len(done) > 0 {
		h.cfg.Notify()
	}
	h.cfg.Log.Info("console resend failed", "user", p.User.ID, "events", len(done))
	return back(w, r, "/console/webhooks?hours="+strconv.Itoa(hours), "Events queued again.")
}
