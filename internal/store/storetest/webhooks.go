package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

func testWebhookEndpoints(t *testing.T, b *bundle) {
	var want []string
	var rotated *store.WebhookEndpoint
	for i := range 5 {
		e := b.endpoint(t0.Add(time.Duration(i)*time.Minute), "order.succeeded", "refund.succeeded")
		switch i {
		case 1:
			e.EnabledEvents = nil // stored as none
		case 2:
			expires := t0.Add(24 * time.Hour)
			e.PreviousSecretSealed, e.PreviousSecretExpiresAt, e.Disabled = "sealed:whsec_old", &expires, true
			rotated = e
		}
		b.must(b.s.WebhookEndpointCreate(b.ctx, e), "create webhook endpoint")
		got, err := b.s.WebhookEndpointGet(b.ctx, e.ID)
		b.must(err, "get webhook endpoint")
		if e.EnabledEvents == nil {
			e.EnabledEvents = []string{}
		}
		equal(t, got, e, "webhook endpoint read back")
		want = append([]string{e.ID}, want...)
	}
	other := b.newApp(b.merchant, false)
	theirs := b.endpoint(t0, "*")
	theirs.AppID = other.ID
	b.must(b.s.WebhookEndpointCreate(b.ctx, theirs), "create an endpoint of another app")

	checkPages(t, "webhook endpoints", want, func(p store.ListParams) ([]string, bool, error) {
		es, more, err := b.s.WebhookEndpointList(b.ctx, b.app.ID, p)
		return ids(es, func(e *store.WebhookEndpoint) string { return e.ID }), more, err
	})
	es, _, err := b.s.WebhookEndpointList(b.ctx, other.ID, store.ListParams{})
	b.must(err, "list the other app's endpoints")
	equal(t, es, []*store.WebhookEndpoint{theirs}, "endpoints of the other app")

	// Rotate the secret and change every other mutable field.
	at := t0.Add(time.Hour)
	expires := at.Add(24 * time.Hour)
	up := *rotated
	up.URL, up.Description, up.EnabledEvents, up.Disabled = "https://hooks.example/new", "renamed", []string{"*"}, false
	up.SecretSealed, up.PreviousSecretSealed, up.PreviousSecretExpiresAt = "sealed:whsec_new", rotated.SecretSealed, &expires
	up.UpdatedAt = at
	b.must(b.s.WebhookEndpointUpdate(b.ctx, b.scope(), &up), "update webhook endpoint")
	got, err := b.s.WebhookEndpointGet(b.ctx, up.ID)
	b.must(err, "get updated webhook endpoint")
	equal(t, got, &up, "webhook endpoint after rotating its secret (CreatedAt, merchant, app and mode unchanged)")
	up.PreviousSecretSealed, up.PreviousSecretExpiresAt, up.UpdatedAt = "", nil, at.Add(time.Hour)
	b.must(b.s.WebhookEndpointUpdate(b.ctx, b.scope(), &up), "drop the previous secret")
	got, err = b.s.WebhookEndpointGet(b.ctx, up.ID)
	b.must(err, "get webhook endpoint")
	equal(t, got, &up, "webhook endpoint once the previous secret is dropped")

	ghost := b.endpoint(t0, "*")
	wantErr(t, b.s.WebhookEndpointUpdate(b.ctx, b.scope(), ghost), store.ErrNotFound, "update an endpoint that does not exist")
	_, err = b.s.WebhookEndpointGet(b.ctx, ghost.ID)
	wantErr(t, err, store.ErrNotFound, "get an endpoint that does not exist")
	wantErr(t, b.s.WebhookEndpointDelete(b.ctx, b.scope(), ghost.ID, at), store.ErrNotFound, "delete an endpoint that does not exist")
	dup := b.endpoint(t0, "*")
	dup.ID = rotated.ID
	wantErr(t, b.s.WebhookEndpointCreate(b.ctx, dup), store.ErrConflict, "create an endpoint whose id exists")
	orphan := b.endpoint(t0, "*")
	orphan.AppID = id.New(id.App, t0)
	wantErr(t, b.s.WebhookEndpointCreate(b.ctx, orphan), store.ErrNotFound, "create an endpoint of an app that does not exist")
	stray := b.endpoint(t0, "*")
	stray.MerchantID = id.New(id.Merchant, t0)
	if err := b.s.WebhookEndpointCreate(b.ctx, stray); err == nil {
		t.Fatalf("create an endpoint whose merchant is not its app's: want an error, got nil")
	}
}

func testWebhookUpdateMovesPending(t *testing.T, b *bundle) {
	e := b.newEndpoint(t0, "*")
	done := b.emitOne(t0, "order.closed", "")
	ds := b.claim(t0, 10)
	b.must(b.record(ds[0], t0, true, nil, store.DeliveryAttempt{StatusCode: 200}), "first delivery succeeds")
	waiting := b.emitOne(t0.Add(time.Minute), "order.closed", "")

	at := t0.Add(time.Hour)
	moved := *e
	moved.URL, moved.UpdatedAt = "https://hooks.example/moved", at
	b.must(b.s.WebhookEndpointUpdate(b.ctx, b.scope(), &moved), "move the endpoint")
	d := b.deliveries(waiting)[0]
	equal(t, [2]any{d.URL, d.UpdatedAt}, [2]any{moved.URL, at}, "URL and UpdatedAt of a pending delivery once its endpoint moved")
	equal(t, b.deliveries(done)[0].URL, e.URL, "URL of a succeeded delivery once its endpoint moved (as it went)")
	as, err := b.s.DeliveryAttempts(b.ctx, done.ID)
	b.must(err, "list attempts")
	equal(t, as[0].URL, e.URL, "URL of the attempt made before the move")
}

func testWebhookDeleteFailsPending(t *testing.T, b *bundle) {
	keep := b.newEndpoint(t0, "*")
	gone := b.newEndpoint(t0, "*")
	at := t0.Add(time.Minute)
	ev1 := b.emitOne(at, "order.closed", notifyURL)
	claimed := b.claim(at, 10) // the notify_url's, keep's and gone's
	if len(claimed) != 3 {
		t.Fatalf("claim the first event's deliveries: want 3, got %s", show(claimed))
	}
	b.must(b.record(claimed[1], at, true, nil, store.DeliveryAttempt{StatusCode: 200}), "keep's delivery succeeds")
	ev2 := b.emitOne(at, "order.closed", "")
	equal(t, b.pendingCount(), 4, "pending deliveries before the delete")

	del := t0.Add(time.Hour)
	b.must(b.s.WebhookEndpointDelete(b.ctx, b.scope(), gone.ID, del), "delete an endpoint with pending deliveries")
	_, err := b.s.WebhookEndpointGet(b.ctx, gone.ID)
	wantErr(t, err, store.ErrNotFound, "get a deleted endpoint")
	wantErr(t, b.s.WebhookEndpointDelete(b.ctx, b.scope(), gone.ID, del), store.ErrNotFound, "delete the endpoint again")

	failed := func(d *store.Delivery) *store.Delivery {
		x := *d
		x.Status, x.LastError, x.LeaseToken, x.LeaseUntil, x.UpdatedAt, x.Event = store.DeliveryFailed, "endpoint deleted", "", nil, del, nil
		return &x
	}
	d1 := b.deliveries(ev1)
	equal(t, d1[2], failed(claimed[2]), "the deleted endpoint's leased delivery (failed, lease freed)")
	equal(t, [2]string{d1[0].Status, d1[1].Status}, [2]string{store.DeliveryPending, store.DeliverySucceeded}, "statuses of the notify_url's and the kept endpoint's deliveries")
	d2 := b.deliveries(ev2)
	equal(t, d2[1], failed(&store.Delivery{
		ID: d2[1].ID, EventID: ev2.ID, MerchantID: ev2.MerchantID, AppID: ev2.AppID, EndpointID: gone.ID, URL: gone.URL,
		NextAttemptAt: at, CreatedAt: at,
	}), "the deleted endpoint's unclaimed delivery (failed)")
	equal(t, d2[0].Status, store.DeliveryPending, "status of the kept endpoint's delivery of the second event")
	equal(t, b.pendingCount(), 2, "pending deliveries after the delete")
	wantErr(t, b.record(claimed[2], del, true, nil, store.DeliveryAttempt{StatusCode: 200}), store.ErrStale, "record the deleted endpoint's delivery under its old lease")

	ev3 := b.emitOne(del, "order.closed", "")
	d3 := b.deliveries(ev3)
	equal(t, len(d3), 1, "deliveries of an event after the delete")
	equal(t, d3[0].EndpointID, keep.ID, "endpoint of the event's one delivery")
}
