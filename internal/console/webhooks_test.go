package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/store"
)

var endpointSecretRE = regexp.MustCompile(`id="endpoint-secret">(whsec_[^<]+)<`)

// endpointSecret is the new secret a page shows, unescaped; nil when none.
func endpointSecret(body string) []string {
	m := endpointSecretRE.FindStringSubmatch(body)
	if m != nil {
		m[1] = html.UnescapeString(m[1])
	}
	return m
}

// TestConsoleWebhookEndpoints: a merchant's admin adds an endpoint (its
// secret shown once, sealed as the API seals it), sees how its deliveries
// went, rotates its secret, disables and enables it; a viewer and another
// merchant's admin cannot touch it; an operator finds it by merchant.
func TestConsoleWebhookEndpoints(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		ctx := context.Background()
		merchant := g.Demo.App.MerchantID
		addUser(t, g, store.ConsoleMerchant, merchant, "shop@example.com", store.RoleAdmin)
		addUser(t, g, store.ConsoleMerchant, merchant, "clerk@example.com", store.RoleViewer)
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		other, err := g.API.Accounts.CreateMerchant(ctx, account.MerchantParams{Name: "Other shop"})
		if err != nil {
			t.Fatal(err)
		}
		addUser(t, g, store.ConsoleMerchant, other.ID, "other@example.com", store.RoleAdmin)
		rc := webhookReceiver(t, g) // an endpoint made through the API
		rc.ok.Store(true)

		shop := newUser(t, g.URL())
		shop.login("shop@example.com")
		if r := shop.get("/console/webhooks?lang=en"); !strings.Contains(r.body, `id="endpoint-form"`) || !strings.Contains(r.body, rc.url) {
			t.Fatalf("the webhooks page has no endpoint form or does not list the endpoint: %d", r.status)
		}
		bad := url.Values{"app": {g.Demo.App.ID}, "url": {"ftp://shop.example/hooks"}}
		if r := shop.post("/console/webhooks/endpoints", bad); r.status != http.StatusBadRequest {
			t.Errorf("an ftp URL: %d %s", r.status, errorText(r.body))
		}
		bad = url.Values{"app": {g.Demo.App.ID}, "url": {rc.url + "/2"}, "events": {"order.nosuch"}}
		if r := shop.post("/console/webhooks/endpoints", bad); r.status != http.StatusBadRequest {
			t.Errorf("an unknown event type: %d %s", r.status, errorText(r.body))
		}
		r := shop.post("/console/webhooks/endpoints", url.Values{"app": {g.Demo.App.ID}, "url": {rc.url + "/orders"},
			"events": {"order.succeeded", "refund.succeeded"}, "description": {"orders only"}})
		m := endpointSecret(r.body)
		if r.status != http.StatusOK || m == nil {
			t.Fatalf("create endpoint: %d %s", r.status, errorText(r.body))
		}
		es, _, _ := g.Store.WebhookEndpointList(ctx, g.Demo.App.ID, store.ListParams{Limit: 20})
		var e *store.WebhookEndpoint
		for _, x := range es {
			if x.URL == rc.url+"/orders" {
				e = x
			}
		}
		if e == nil || strings.Join(e.EnabledEvents, ",") != "order.succeeded,refund.succeeded" || e.Description != "orders only" {
			t.Fatalf("created endpoint %+v", e)
		}
		if plain, err := g.Box.Open(e.SecretSealed); err != nil || plain != m[1] {
			t.Fatalf("the secret shown is not the endpoint's: %v", err)
		}
		if r := shop.get("/console/webhooks"); strings.Contains(r.body, m[1]) {
			t.Error("the secret shows again")
		}

		// A payment is delivered to both endpoints; the page counts the attempts.
		o := paidOrder(t, g, "endpoint-1", 500)
		waitDeliveries(t, g, eventOf(t, g, o, "order.succeeded").ID, store.DeliverySucceeded)
		page := shop.get("/console/webhooks?lang=en").body
		row := regexp.MustCompile(`(?s)<tr data-endpoint="` + e.ID + `">.*?</tr>`).FindString(page)
		if !strings.Contains(row, "1 attempts · 100.0% 2xx") {
			t.Errorf("the endpoint's health reads %q", row)
		}

		// Rotate: a new secret, shown once; the old one signs beside it for a while.
		r = shop.post("/console/webhooks/endpoints/"+e.ID+"/rotate", nil)
		m2 := endpointSecret(r.body)
		if r.status != http.StatusOK || m2 == nil || m2[1] == m[1] {
			t.Fatalf("rotate: %d %s", r.status, errorText(r.body))
		}
		rotated, _ := g.Store.WebhookEndpointGet(ctx, e.ID)
		if plain, _ := g.Box.Open(rotated.SecretSealed); plain != m2[1] || rotated.PreviousSecretSealed != e.SecretSealed || rotated.PreviousSecretExpiresAt == nil {
			t.Errorf("after rotation: secret is the one shown %v, previous kept %v", plain == m2[1], rotated.PreviousSecretSealed == e.SecretSealed)
		}

		// Nobody else may change it.
		clerk := newUser(t, g.URL())
		clerk.login("clerk@example.com")
		if r := clerk.get("/console/webhooks"); strings.Contains(r.body, `id="endpoint-form"`) || strings.Contains(r.body, "endpoint-rotate") {
			t.Error("a viewer is offered the endpoint forms")
		}
		if r := clerk.post("/console/webhooks/endpoints/"+e.ID+"/disable", nil); r.status != http.StatusForbidden {
			t.Errorf("a viewer disables: %d", r.status)
		}
		stranger := newUser(t, g.URL())
		stranger.login("other@example.com")
		for _, action := range []string{"disable", "rotate"} {
			if r := stranger.post("/console/webhooks/endpoints/"+e.ID+"/"+action, nil); r.status != http.StatusNotFound {
				t.Errorf("another merchant's admin: %s: %d", action, r.status)
			}
		}
		if r := stranger.post("/console/webhooks/endpoints", url.Values{"app": {g.Demo.App.ID}, "url": {rc.url + "/theirs"}}); r.status != http.StatusBadRequest {
			t.Errorf("another merchant's admin adds to this app: %d", r.status)
		}
		if got, _ := g.Store.WebhookEndpointGet(ctx, e.ID); got.Disabled || got.SecretSealed != rotated.SecretSealed {
			t.Fatal("a refused change changed the endpoint")
		}

		// Disable, then enable again.
		if r := shop.post("/console/webhooks/endpoints/"+e.ID+"/disable", nil); r.status != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", r.status, errorText(r.body))
		}
		if got, _ := g.Store.WebhookEndpointGet(ctx, e.ID); !got.Disabled {
			t.Error("not disabled")
		}
		if r := shop.post("/console/webhooks/endpoints/"+e.ID+"/enable", nil); r.status != http.StatusSeeOther {
			t.Fatalf("enable: %d %s", r.status, errorText(r.body))
		}
		if got, _ := g.Store.WebhookEndpointGet(ctx, e.ID); got.Disabled {
			t.Error("not enabled again")
		}
		if r := shop.post("/console/webhooks/endpoints/"+e.ID+"/explode", nil); r.status != http.StatusNotFound {
			t.Errorf("an unknown endpoint action: %d", r.status)
		}

		// An operator picks the merchant and sees (and may rotate) its endpoints.
		op := newUser(t, g.URL())
		op.login("ops@example.com")
		if r := op.get("/console/webhooks?merchant=" + merchant); !strings.Contains(r.body, `data-endpoint="`+e.ID+`"`) {
			t.Errorf("the operator's view of %s lacks the endpoint", merchant)
		}
		if r := op.get("/console/webhooks?merchant=nope"); r.status != http.StatusBadRequest {
			t.Errorf("a bad merchant id: %d", r.status)
		}
		if r := op.post("/console/webhooks/endpoints/"+e.ID+"/rotate", nil); r.status != http.StatusOK || endpointSecret(r.body) == nil {
			t.Errorf("the operator rotates: %d %s", r.status, errorText(r.body))
		}
		for _, action := range []string{"POST /console/webhooks/endpoints", "POST /console/webhooks/endpoints/{id}/rotate", "POST /console/webhooks/endpoints/{id}/{state}"} {
			if evs, _, err := g.Store.AuditList(ctx, store.AuditFilter{Action: action}); err != nil || len(evs) == 0 {
				t.Errorf("no audit record of %s: %v", action, err)
			}
		}
	})
}
