package storetest

import (
	"testing"

	"github.com/paygate/paygate/internal/store"
)

var scopeTests = []test{
	{"Scope/OtherTenantsAreNotFound", testScopeOtherTenants},
}

// testScopeOtherTenants reads and changes the bundle app's objects from
// every scope that must not see them: another merchant, the other mode, and
// (for webhook endpoints, which are an app's) another app of the same
// merchant. Each is ErrNotFound and changes nothing; the owner's scope works.
func testScopeOtherTenants(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 1000)
	r := b.refund(o, t0, 100)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	ev := b.emitOne(t0, "order.closed", notifyURL)
	e := b.newEndpoint(t0, "*")

	owner := b.scope()
	sibling := owner
	sibling.AppID = b.newApp(b.merchant, false).ID
	otherMerchant := store.Scope{MerchantID: b.newMerchant().ID, AppID: owner.AppID, Livemode: false}
	otherMode := owner
	otherMode.Livemode = true

	for _, sc := range []struct {
		name string
		sc   store.Scope
	}{{"another merchant", otherMerchant}, {"the other mode", otherMode}} {
		_, err := b.s.OrderGetInScope(b.ctx, sc.sc, o.ID)
		wantErr(t, err, store.ErrNotFound, "order from "+sc.name)
		_, err = b.s.RefundGetInScope(b.ctx, sc.sc, r.ID)
		wantErr(t, err, store.ErrNotFound, "refund from "+sc.name)
		_, err = b.s.EventGetInScope(b.ctx, sc.sc, ev.ID)
		wantErr(t, err, store.ErrNotFound, "event from "+sc.name)
		_, err = b.s.EventRedeliver(b.ctx, sc.sc, ev.ID, t0)
		wantErr(t, err, store.ErrNotFound, "redeliver an event from "+sc.name)
	}
	for _, sc := range []struct {
		name string
		sc   store.Scope
	}{{"another merchant", otherMerchant}, {"the other mode", otherMode}, {"another app of the merchant", sibling}} {
		_, err := b.s.WebhookEndpointGetInScope(b.ctx, sc.sc, e.ID)
		wantErr(t, err, store.ErrNotFound, "endpoint from "+sc.name)
		changed := *e
		changed.URL = "https://attacker.example/"
		wantErr(t, b.s.WebhookEndpointUpdate(b.ctx, sc.sc, &changed), store.ErrNotFound, "update an endpoint from "+sc.name)
		wantErr(t, b.s.WebhookEndpointDelete(b.ctx, sc.sc, e.ID, t0), store.ErrNotFound, "delete an endpoint from "+sc.name)
	}

	// Orders, refunds and events are the merchant's, whichever app asks.
	for _, sc := range []store.Scope{owner, sibling} {
		got, err := b.s.OrderGetInScope(b.ctx, sc, o.ID)
		b.must(err, "order from its merchant")
		equal(t, got.ID, o.ID, "order from its merchant")
		gotR, err := b.s.RefundGetInScope(b.ctx, sc, r.ID)
		b.must(err, "refund from its merchant")
		equal(t, gotR.ID, r.ID, "refund from its merchant")
		gotE, err := b.s.EventGetInScope(b.ctx, sc, ev.ID)
		b.must(err, "event from its merchant")
		equal(t, gotE.ID, ev.ID, "event from its merchant")
	}
	got, err := b.s.WebhookEndpointGetInScope(b.ctx, owner, e.ID)
	b.must(err, "endpoint from its app")
	equal(t, got, e, "endpoint from its app, unchanged by the refused updates")
	b.must(b.s.WebhookEndpointDelete(b.ctx, owner, e.ID, t0), "delete the endpoint from its app")
}
