package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var notificationTests = []test{
	{"Webhook/Endpoints", testWebhookEndpoints},
	{"Webhook/UpdateMovesPending", testWebhookUpdateMovesPending},
	{"Webhook/DeleteFailsPending", testWebhookDeleteFailsPending},
	{"Delivery/FanOut", testDeliveryFanOut},
	{"Delivery/FanOutRollsBack", testDeliveryFanOutRollsBack},
	{"Delivery/Claim", testDeliveriesClaim},
	{"Delivery/ClaimRace", testDeliveriesClaimRace},
	{"Delivery/ClaimSkipsLocked", testDeliveriesClaimSkipsLocked},
	{"Delivery/Record", testDeliveryRecord},
	{"Delivery/RecordStale", testDeliveryRecordStale},
	{"Delivery/Redeliver", testEventRedeliver},
	{"Event/ListDeliveryStatus", testEventListDeliveryStatus},
}

// notifyURL is the notify_url of the suite's orders that have one.
const notifyURL = "https://shop.example/notify"

// lease is how long the suite's claims lease deliveries.
const lease = time.Minute

// endpoint returns an unsaved endpoint of the bundle's app, created at,
// subscribed to events.
func (b *bundle) endpoint(at time.Time, events ...string) *store.WebhookEndpoint {
	n := b.next()
	return &store.WebhookEndpoint{
		ID: id.New(id.Endpoint, at), MerchantID: b.merchant.ID, AppID: b.app.ID, Livemode: b.app.Livemode,
		URL: fmt.Sprintf("https://hooks.example/%d", n), Description: fmt.Sprintf("endpoint %d", n),
		EnabledEvents: events, SecretSealed: fmt.Sprintf("sealed:whsec_%d", n), CreatedAt: at, UpdatedAt: at,
	}
}

// newEndpoint creates an endpoint as endpoint does.
func (b *bundle) newEndpoint(at time.Time, events ...string) *store.WebhookEndpoint {
	b.t.Helper()
	e := b.endpoint(at, events...)
	b.must(b.s.WebhookEndpointCreate(b.ctx, e), "create webhook endpoint")
	return e
}

// emit closes a new order of the bundle's app at at, whose notify_url is
// url, with n events of type typ, and returns the events as stored.
func (b *bundle) emit(at time.Time, typ, url string, n int) []*store.Event {
	b.t.Helper()
	o := b.newOrder(at, func(o *store.Order) { o.NotifyURL = url })
	var evs []*store.Event
	_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderClosed, At: at,
		Effects: func(o *store.Order) (store.Effects, error) {
			for range n {
				evs = append(evs, &store.Event{
					ID: id.New(id.Event, at), Type: typ, MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode,
					ObjectType: "order", ObjectID: o.ID, Data: json.RawMessage(`{"id":"` + o.ID + `"}`),
					NotifyURL: o.NotifyURL, CreatedAt: at,
				})
			}
			return store.Effects{Events: evs}, nil
		},
	})
	b.must(err, "close order "+o.ID+" with "+typ+" events")
	return evs
}

// emitOne emits one event as emit does.
func (b *bundle) emitOne(at time.Time, typ, url string) *store.Event {
	b.t.Helper()
	return b.emit(at, typ, url, 1)[0]
}

// deliveries returns an event's deliveries.
func (b *bundle) deliveries(ev *store.Event) []*store.Delivery {
	b.t.Helper()
	ds, err := b.s.DeliveryList(b.ctx, ev.ID)
	b.must(err, "list deliveries of "+ev.ID)
	return ds
}

// delivery returns the delivery with id, found among its event's.
func (b *bundle) delivery(d *store.Delivery) *store.Delivery {
	b.t.Helper()
	for _, x := range b.deliveries(&store.Event{ID: d.EventID}) {
		if x.ID == d.ID {
			return x
		}
	}
	b.t.Fatalf("delivery %s of event %s: want it listed, it is not", d.ID, d.EventID)
	return nil
}

// pendingCount returns DeliveriesPending.
func (b *bundle) pendingCount() int {
	b.t.Helper()
	n, err := b.s.DeliveriesPending(b.ctx)
	b.must(err, "count pending deliveries")
	return n
}

// claim claims deliveries due at now for lease.
func (b *bundle) claim(now time.Time, limit int) []*store.Delivery {
	b.t.Helper()
	ds, err := b.s.DeliveriesClaim(b.ctx, now, lease, limit)
	b.must(err, fmt.Sprintf("claim %d deliveries at %v", limit, now))
	return ds
}

// record records an attempt of d at at, under d's lease, with outcome:
// Succeeded, or NextAttemptAt (nil: failed for good).
func (b *bundle) record(d *store.Delivery, at time.Time, succeeded bool, next *time.Time, a store.DeliveryAttempt) error {
	return b.s.DeliveryRecord(b.ctx, store.DeliveryResult{
		DeliveryID: d.ID, LeaseToken: d.LeaseToken, Attempt: a, Succeeded: succeeded, NextAttemptAt: next, At: at,
	})
}

// deliveryIDs returns the ids of ds.
func deliveryIDs(ds []*store.Delivery) []string {
	return ids(ds, func(d *store.Delivery) string { return d.ID })
}

// wantDelivery is what fan-out makes for ev to url (endpointID "" for the
// notify_url), with the id it was given.
func wantDelivery(got *store.Delivery, ev *store.Event, endpointID, url string) *store.Delivery {
	return &store.Delivery{
		ID: got.ID, EventID: ev.ID, MerchantID: ev.MerchantID, AppID: ev.AppID, Livemode: ev.Livemode,
		EndpointID: endpointID, URL: url, Status: store.DeliveryPending, NextAttemptAt: ev.CreatedAt,
		CreatedAt: ev.CreatedAt, UpdatedAt: ev.CreatedAt,
	}
}

func testDeliveryFanOut(t *testing.T, b *bundle) {
	onOrder := b.newEndpoint(t0, "order.succeeded", "order.closed")
	all := b.newEndpoint(t0, "*")
	onRefund := b.newEndpoint(t0, "refund.succeeded")
	disabled := b.endpoint(t0, "*")
	disabled.Disabled = true
	b.must(b.s.WebhookEndpointCreate(b.ctx, disabled), "create a disabled endpoint")
	other := b.newApp(b.merchant, false)
	otherEndpoint := b.endpoint(t0, "*")
	otherEndpoint.AppID = other.ID
	b.must(b.s.WebhookEndpointCreate(b.ctx, otherEndpoint), "create an endpoint of another app")

	at := t0.Add(time.Minute)
	ev := b.emitOne(at, "order.closed", notifyURL)
	ds := b.deliveries(ev)
	if len(ds) != 3 {
		t.Fatalf("deliveries of an order.closed event with a notify_url: want 3 (notify_url, %s, %s), got %s",
			onOrder.ID, all.ID, show(ds))
	}
	for _, d := range ds {
		if !strings.HasPrefix(d.ID, "dlv_") {
			t.Fatalf("delivery id %q: want the dlv_ prefix", d.ID)
		}
	}
	equal(t, ds, []*store.Delivery{
		wantDelivery(ds[0], ev, "", notifyURL),
		wantDelivery(ds[1], ev, onOrder.ID, onOrder.URL),
		wantDelivery(ds[2], ev, all.ID, all.URL),
	}, "deliveries of an order.closed event: the notify_url's, then the subscribed endpoints' (not the refund-only, disabled or other app's)")

	noURL := b.emitOne(at, "order.failed", "")
	ds = b.deliveries(noURL)
	equal(t, ds, []*store.Delivery{wantDelivery(ds[0], noURL, all.ID, all.URL)},
		"deliveries of an order.failed event without a notify_url (only the \"*\" endpoint is subscribed)")

	o := b.paidOrder(at, 1000)
	r := b.refund(o, at, 100)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	_, err := b.s.RefundTransition(b.ctx, store.RefundTransition{
		RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: at, Effects: refundEffects(at),
	})
	b.must(err, "refund succeeds")
	evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ObjectID: r.ID})
	b.must(err, "list the refund's events")
	if len(evs) != 1 {
		t.Fatalf("events of the refund: want 1, got %s", show(evs))
	}
	ds = b.deliveries(evs[0])
	equal(t, [][2]string{{ds[0].EndpointID, ds[0].URL}, {ds[1].EndpointID, ds[1].URL}},
		[][2]string{{all.ID, all.URL}, {onRefund.ID, onRefund.URL}}, "targets of a refund.succeeded event's deliveries")
	equal(t, len(ds), 2, "deliveries of the refund.succeeded event")

	// The payment's order.succeeded event went to onOrder and all: 3+1+2+2.
	equal(t, b.pendingCount(), 8, "pending deliveries after four events")
}

func testDeliveryFanOutRollsBack(t *testing.T, b *bundle) {
	b.newEndpoint(t0, "*")
	old := b.emitOne(t0, "order.closed", notifyURL)
	equal(t, b.pendingCount(), 2, "pending deliveries of the first event")

	at := t0.Add(time.Minute)
	o := b.newOrder(at, func(o *store.Order) { o.NotifyURL = notifyURL })
	fresh := &store.Event{
		ID: id.New(id.Event, at), Type: "order.closed", MerchantID: o.MerchantID, AppID: o.AppID,
		ObjectType: "order", ObjectID: o.ID, NotifyURL: notifyURL, CreatedAt: at,
	}
	dup := *fresh
	dup.ID = old.ID // written after fresh and its deliveries; its insert fails
	_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderClosed, At: at,
		Effects: func(*store.Order) (store.Effects, error) {
			return store.Effects{Events: []*store.Event{fresh, &dup}}, nil
		},
	})
	wantErr(t, err, store.ErrConflict, "close an order with a new event and one whose id is taken")
	_, err = b.s.EventGet(b.ctx, fresh.ID)
	wantErr(t, err, store.ErrNotFound, "get the new event of the rolled-back transition")
	equal(t, len(b.deliveries(fresh)), 0, "deliveries of the rolled-back event")
	equal(t, b.pendingCount(), 2, "pending deliveries after the rolled-back transition (only the first event's)")

	boom := errors.New("boom")
	_, err = b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderClosed, At: at,
		Effects: func(*store.Order) (store.Effects, error) { return store.Effects{}, boom },
	})
	wantErr(t, err, boom, "close an order whose Effects fails")
	equal(t, b.pendingCount(), 2, "pending deliveries after a failed Effects")
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, got.Status, store.OrderPending, "status of the order after both transitions rolled back")
}

func testDeliveriesClaim(t *testing.T, b *bundle) {
	e := b.newEndpoint(t0, "*")
	ev1 := b.emitOne(t0.Add(1*time.Minute), "order.closed", notifyURL)
	ev2 := b.emitOne(t0.Add(2*time.Minute), "order.closed", notifyURL)
	ev3 := b.emitOne(t0.Add(5*time.Minute), "order.closed", notifyURL) // due after the first leases end
	d1, d2, d3 := b.deliveries(ev1), b.deliveries(ev2), b.deliveries(ev3)

	now := t0.Add(150 * time.Second)
	got := b.claim(now, 10)
	equal(t, deliveryIDs(got), []string{d1[0].ID, d1[1].ID, d2[0].ID, d2[1].ID}, "deliveries claimed at t0+2m30s (due ones, oldest due first)")
	until := now.Add(lease)
	for i, d := range got {
		ev := map[string]*store.Event{ev1.ID: ev1, ev2.ID: ev2}[d.EventID]
		stored, err := b.s.EventGet(b.ctx, d.EventID)
		b.must(err, "get event")
		equal(t, d.Event, stored, fmt.Sprintf("event of claimed delivery %d", i))
		if d.LeaseToken == "" {
			t.Fatalf("claimed delivery %d: want a lease token, got none", i)
		}
		want := wantDelivery(d, ev, []string{"", e.ID}[i%2], []string{notifyURL, e.URL}[i%2])
		want.LeaseToken, want.LeaseUntil, want.Event = d.LeaseToken, &until, d.Event
		equal(t, d, want, fmt.Sprintf("claimed delivery %d", i))
		equal(t, b.delivery(d).LeaseUntil, &until, fmt.Sprintf("stored lease of claimed delivery %d", i))
	}

	equal(t, len(b.claim(now, 10)), 0, "deliveries claimed again at once (all due ones are leased)")
	equal(t, len(b.claim(until.Add(-time.Microsecond), 10)), 0, "deliveries claimed a microsecond before the leases end")

	later := t0.Add(10 * time.Minute)
	again := b.claim(later, 3)
	equal(t, deliveryIDs(again), []string{d1[0].ID, d1[1].ID, d2[0].ID}, "3 deliveries claimed once the leases ended")
	if again[0].LeaseToken == got[0].LeaseToken {
		t.Fatalf("lease token of a delivery claimed again: want a new one, got the old %q", again[0].LeaseToken)
	}
	rest := b.claim(later, 10)
	equal(t, deliveryIDs(rest), []string{d2[1].ID, d3[0].ID, d3[1].ID}, "the rest claimed at t0+10m")
	equal(t, len(b.claim(later, 10)), 0, "deliveries claimed when all are leased")
	equal(t, b.pendingCount(), 6, "pending deliveries (leased ones are still pending)")

	if _, err := b.s.DeliveriesClaim(b.ctx, later, 0, 10); err == nil {
		t.Fatalf("claim with a lease of 0: want an error, got nil")
	}
}

func testDeliveriesClaimRace(t *testing.T, b *bundle) {
	const n, workers, batch = 200, 4, 7
	evs := b.emit(t0, "order.closed", notifyURL, n)
	all := map[string]bool{}
	for _, ev := range evs {
		for _, d := range b.deliveries(ev) {
			all[d.ID] = true
		}
	}
	equal(t, len(all), n, "deliveries to claim")

	now := t0.Add(time.Hour)
	claimed := make([][]string, workers)
	errs := race(workers, func(i int) error {
		for {
			ds, err := b.s.DeliveriesClaim(b.ctx, now, lease, batch)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				return nil
			}
			claimed[i] = append(claimed[i], deliveryIDs(ds)...)
		}
	})
	ok, _ := countErrs(t, errs, nil, "racing claims")
	equal(t, ok, workers, "claimers that finished without an error")
	seen := map[string]int{}
	for i, c := range claimed {
		t.Logf("claimer %d leased %d deliveries", i, len(c))
		for _, d := range c {
			if prev, dup := seen[d]; dup {
				t.Fatalf("delivery %s: claimed by claimer %d and again by claimer %d while the lease held", d, prev, i)
			}
			if !all[d] {
				t.Fatalf("delivery %s: claimed, but not one of the due deliveries", d)
			}
			seen[d] = i
		}
	}
	equal(t, len(seen), n, "deliveries claimed by the racing claimers together (every due one, each once)")
}

func testDeliveriesClaimSkipsLocked(t *testing.T, b *bundle) {
	if b.hold == nil {
		t.Skip("the database runs one write transaction at a time: there are no row locks to skip")
	}
	evs := b.emit(t0, "order.closed", notifyURL, 10)
	var all []string
	for _, ev := range evs {
		all = append(all, deliveryIDs(b.deliveries(ev))...)
	}
	slices.Sort(all) // all due at t0: claims take them in id order
	locked := all[:3]
	release, err := b.hold(b.ctx, `SELECT id FROM deliveries WHERE id IN ('`+strings.Join(locked, `', '`)+`') FOR UPDATE`)
	b.must(err, "lock the 3 oldest deliveries from another connection")
	var once sync.Once
	defer once.Do(release)

	// A claim that waited for the locks would wait until the deadline.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	got, err := b.s.DeliveriesClaim(ctx, t0.Add(time.Hour), lease, 100)
	b.must(err, "claim while another transaction holds the 3 oldest (want no wait)")
	equal(t, deliveryIDs(got), all[3:], "deliveries claimed while the 3 oldest are locked (the others, at once)")

	once.Do(release)
	got = b.claim(t0.Add(time.Hour), 100)
	equal(t, deliveryIDs(got), locked, "deliveries claimed once the lock is released")
}

func testDeliveryRecord(t *testing.T, b *bundle) {
	e := b.newEndpoint(t0, "*")
	at := t0.Add(time.Minute)
	ev := b.emitOne(at, "order.closed", notifyURL)
	got := b.claim(at, 10)
	if len(got) != 2 {
		t.Fatalf("claim the event's deliveries: want 2, got %s", show(got))
	}
	dN, dE := got[0], got[1]

	// Success, with every attempt field given.
	ok := store.DeliveryAttempt{
		ID: id.New("att_", at), DeliveryID: dN.ID, EventID: ev.ID, URL: notifyURL, AttemptedAt: at,
		StatusCode: 200, Latency: 1234567 * time.Microsecond, ResponseBody: "SUCCESS",
	}
	b.must(b.record(dN, at.Add(time.Second), true, nil, ok), "record a successful attempt")
	want := wantDelivery(dN, ev, "", notifyURL)
	want.Status, want.Attempts, want.UpdatedAt = store.DeliverySucceeded, 1, at.Add(time.Second)
	equal(t, b.delivery(dN), want, "delivery after a successful attempt (lease freed)")

	// A retry, with the fields the store fills in left empty.
	next := at.Add(15 * time.Second)
	retry := store.DeliveryAttempt{
		StatusCode: 503, Latency: 250 * time.Millisecond, Error: "non-2xx response: 503",
		ResponseBody: "busy \xff\x00 binary", // not UTF-8, and a NUL: kept byte for byte
	}
	b.must(b.record(dE, at.Add(2*time.Second), false, &next, retry), "record an attempt to retry")
	want = wantDelivery(dE, ev, e.ID, e.URL)
	want.Attempts, want.NextAttemptAt, want.LastError, want.UpdatedAt = 1, next, retry.Error, at.Add(2*time.Second)
	equal(t, b.delivery(dE), want, "delivery after an attempt to retry (pending, due at the retry, lease freed)")

	equal(t, len(b.claim(next.Add(-time.Microsecond), 10)), 0, "deliveries claimed just before the retry is due")
	again := b.claim(next, 10)
	equal(t, deliveryIDs(again), []string{dE.ID}, "deliveries claimed when the retry is due")
	equal(t, again[0].Attempts, 1, "attempts of the delivery claimed for its retry")

	// The schedule is spent: failed for good.
	final := store.DeliveryAttempt{AttemptedAt: next.Add(time.Second), Error: "dial tcp: connection refused\x00\xfe"}
	b.must(b.record(again[0], next.Add(11*time.Second), false, nil, final), "record a final failed attempt")
	want.Status, want.Attempts, want.LastError, want.UpdatedAt = store.DeliveryFailed, 2, "dial tcp: connection refused\uFFFD\uFFFD", next.Add(11*time.Second)
	equal(t, b.delivery(dE), want, "delivery after its final attempt failed (error text stored as valid UTF-8)")
	equal(t, b.pendingCount(), 0, "pending deliveries once both are done")

	as, err := b.s.DeliveryAttempts(b.ctx, ev.ID)
	b.must(err, "list attempts")
	if len(as) != 3 || !strings.HasPrefix(as[1].ID, "att_") || !strings.HasPrefix(as[2].ID, "att_") {
		t.Fatalf("attempts: want 3, the store's ids with the att_ prefix, got %s", show(as))
	}
	equal(t, as, []*store.DeliveryAttempt{
		&ok,
		{ID: as[1].ID, DeliveryID: dE.ID, EventID: ev.ID, EndpointID: e.ID, URL: e.URL, AttemptedAt: at.Add(2 * time.Second),
			StatusCode: 503, Latency: 250 * time.Millisecond, Error: retry.Error, ResponseBody: retry.ResponseBody},
		{ID: as[2].ID, DeliveryID: dE.ID, EventID: ev.ID, EndpointID: e.ID, URL: e.URL, AttemptedAt: next.Add(time.Second),
			Error: "dial tcp: connection refused\uFFFD\uFFFD"},
	}, "attempts of the event, oldest first, every field read back")

	wantErr(t, b.record(dN, at.Add(time.Hour), true, nil, ok), store.ErrStale, "record again under a lease the first record freed")
	err = b.record(&store.Delivery{ID: id.New("dlv_", at), LeaseToken: dN.LeaseToken}, at, true, nil, store.DeliveryAttempt{})
	wantErr(t, err, store.ErrNotFound, "record an attempt of a delivery that does not exist")
	if err := b.record(dE, at, true, nil, store.DeliveryAttempt{DeliveryID: dN.ID}); err == nil {
		t.Fatalf("record an attempt whose DeliveryID is another delivery's: want an error, got nil")
	}
	as, err = b.s.DeliveryAttempts(b.ctx, ev.ID)
	b.must(err, "list attempts")
	equal(t, len(as), 3, "attempts after the refused records")
}

func testDeliveryRecordStale(t *testing.T, b *bundle) {
	at := t0.Add(time.Minute)
	ev := b.emitOne(at, "order.closed", notifyURL)
	first := b.claim(at, 10)
	second := b.claim(at.Add(lease), 10) // the first lease ran out: another worker takes it
	if len(first) != 1 || len(second) != 1 || first[0].LeaseToken == second[0].LeaseToken {
		t.Fatalf("claims before and after the lease ran out: want the delivery twice with different tokens, got %s and %s", show(first), show(second))
	}
	before := b.delivery(first[0])

	err := b.record(first[0], at.Add(lease+time.Second), true, nil, store.DeliveryAttempt{StatusCode: 200})
	wantErr(t, err, store.ErrStale, "record under a lease another claim has taken over")
	equal(t, b.delivery(first[0]), before, "delivery after the stale record (unchanged, still leased to the second claim)")
	as, err := b.s.DeliveryAttempts(b.ctx, ev.ID)
	b.must(err, "list attempts")
	equal(t, len(as), 0, "attempts after the stale record (none written)")

	b.must(b.record(second[0], at.Add(lease+2*time.Second), true, nil, store.DeliveryAttempt{StatusCode: 200}), "record under the lease that holds")
	equal(t, b.delivery(first[0]).Status, store.DeliverySucceeded, "status after the record under the current lease")

	// A lease that ran out but that no one took over still holds.
	ev2 := b.emitOne(at, "order.closed", notifyURL)
	late := b.claim(at.Add(2*lease), 10)
	equal(t, deliveryIDs(late), deliveryIDs(b.deliveries(ev2)), "claim the second event's delivery")
	b.must(b.record(late[0], at.Add(10*lease), true, nil, store.DeliveryAttempt{StatusCode: 204}), "record after the lease ran out, no other claim having taken it")
}

func testEventRedeliver(t *testing.T, b *bundle) {
	quiet := b.emitOne(t0, "order.closed", "") // no notify_url, no endpoints yet
	n, err := b.s.EventRedeliver(b.ctx, b.scope(), quiet.ID, t0.Add(time.Minute))
	b.must(err, "redeliver an event without deliveries")
	equal(t, n, 0, "deliveries redelivered of an event without any")
	_, err = b.s.EventRedeliver(b.ctx, b.scope(), id.New(id.Event, t0), t0)
	wantErr(t, err, store.ErrNotFound, "redeliver an event that does not exist")

	e1 := b.newEndpoint(t0, "*")
	e2 := b.newEndpoint(t0, "*")
	at := t0.Add(time.Minute)
	ev := b.emitOne(at, "order.closed", notifyURL)
	ds := b.claim(at, 10)
	if len(ds) != 3 {
		t.Fatalf("claim the event's deliveries: want 3, got %s", show(ds))
	}
	retry := at.Add(time.Hour)
	b.must(b.record(ds[0], at, true, nil, store.DeliveryAttempt{StatusCode: 200}), "notify_url delivery succeeds")
	b.must(b.record(ds[1], at, false, nil, store.DeliveryAttempt{StatusCode: 500, Error: "non-2xx response: 500"}), "first endpoint's delivery fails")
	b.must(b.record(ds[2], at, false, &retry, store.DeliveryAttempt{Error: "timeout"}), "second endpoint's delivery to retry")
	b.must(b.s.WebhookEndpointDelete(b.ctx, b.scope(), e2.ID, at.Add(time.Second)), "delete the second endpoint")
	equal(t, b.pendingCount(), 0, "pending deliveries before the redelivery")

	now := t0.Add(2 * time.Hour)
	n, err = b.s.EventRedeliver(b.ctx, b.scope(), ev.ID, now)
	b.must(err, "redeliver the event")
	equal(t, n, 2, "deliveries redelivered (the deleted endpoint's stays failed)")
	got := b.deliveries(ev)
	for i, target := range [][2]string{{"", notifyURL}, {e1.ID, e1.URL}} {
		want := wantDelivery(got[i], ev, target[0], target[1])
		want.NextAttemptAt, want.UpdatedAt = now, now
		equal(t, got[i], want, fmt.Sprintf("delivery %d after the redelivery (pending, due now, Attempts 0, no error)", i))
	}
	equal(t, [2]string{got[2].Status, got[2].LastError}, [2]string{store.DeliveryFailed, "endpoint deleted"}, "deleted endpoint's delivery after the redelivery")
	as, err := b.s.DeliveryAttempts(b.ctx, ev.ID)
	b.must(err, "list attempts")
	equal(t, len(as), 3, "attempts after the redelivery (the history stays)")
	equal(t, b.pendingCount(), 2, "pending deliveries after the redelivery")
	equal(t, deliveryIDs(b.claim(now, 10)), deliveryIDs(got[:2]), "deliveries claimed after the redelivery")

	// Redelivering takes the deliveries back from a worker that holds them.
	n, err = b.s.EventRedeliver(b.ctx, b.scope(), ev.ID, now.Add(time.Second))
	b.must(err, "redeliver while the deliveries are leased")
	equal(t, n, 2, "deliveries redelivered while leased")
	wantErr(t, b.record(got[0], now, true, nil, store.DeliveryAttempt{}), store.ErrStale, "record under a lease the redelivery freed")
}

func testEventListDeliveryStatus(t *testing.T, b *bundle) {
	none := b.emitOne(t0.Add(1*time.Minute), "order.closed", "") // before any endpoint: no deliveries
	b.newEndpoint(t0, "*")
	succeeded := b.emitOne(t0.Add(2*time.Minute), "order.closed", notifyURL)
	pendingFailed := b.emitOne(t0.Add(3*time.Minute), "order.closed", notifyURL)
	failedSucceeded := b.emitOne(t0.Add(4*time.Minute), "order.closed", notifyURL)
	at := t0.Add(5 * time.Minute)
	ds := b.claim(at, 10)
	equal(t, len(ds), 6, "deliveries claimed")
	retry := at.Add(time.Hour)
	for i, outcome := range []struct {
		succeeded bool
		next      *time.Time
	}{{true, nil}, {true, nil}, {false, &retry}, {false, nil}, {false, nil}, {true, nil}} {
		b.must(b.record(ds[i], at, outcome.succeeded, outcome.next, store.DeliveryAttempt{}), fmt.Sprintf("record delivery %d", i))
	}
	onlyPending := b.emitOne(t0.Add(6*time.Minute), "order.closed", notifyURL)

	list := func(status string, p store.ListParams) ([]string, bool) {
		t.Helper()
		evs, more, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, DeliveryStatus: status, ListParams: p})
		b.must(err, "list events with delivery status "+status)
		return ids(evs, func(e *store.Event) string { return e.ID }), more
	}
	for _, tc := range []struct {
		status string
		want   []*store.Event
	}{
		{"", []*store.Event{onlyPending, failedSucceeded, pendingFailed, succeeded, none}},
		{store.DeliveryPending, []*store.Event{onlyPending, pendingFailed}},
		{store.DeliveryFailed, []*store.Event{failedSucceeded}},
		{store.DeliverySucceeded, []*store.Event{succeeded}},
	} {
		got, _ := list(tc.status, store.ListParams{})
		equal(t, got, ids(tc.want, func(e *store.Event) string { return e.ID }), fmt.Sprintf("events whose delivery status is %q", tc.status))
	}
	got, more := list(store.DeliveryPending, store.ListParams{Limit: 1})
	equal(t, got, []string{onlyPending.ID}, "first page of 1 of events with a pending delivery")
	equal(t, more, true, "has_more of that page")
	if _, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, DeliveryStatus: "bogus"}); err == nil {
		t.Fatalf("list events with delivery status \"bogus\": want an error, got nil")
	}
}
