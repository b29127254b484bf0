package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/notify/notifytest"
)

// The tests in this file deliver real notifications to receivers on
// loopback (notifytest, which checks each one with the Standard Webhooks Go
// library), from gateways whose dispatcher the test drives with RunOnce and a
// fake clock: nothing sleeps for time to pass.

// startNotify runs a gateway like start, with the dispatcher stopped
// (NotifyManual) and cfg adjusted by tweak.
func startNotify(t *testing.T, kind string, tweak func(*gateway.Config)) *env {
	t.Helper()
	return startWith(t, kind, func(cfg *gateway.Config) {
		cfg.NotifyManual = true
		if tweak != nil {
			tweak(cfg)
		}
	})
}

func eachNotifyStore(t *testing.T, tweak func(*gateway.Config), f func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, startNotify(t, kind, tweak))
		})
	}
}

// deliver runs the dispatcher once and checks how many attempts it made.
func (e *env) deliver(want int) {
	e.t.Helper()
	n, err := e.g.Notifier.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
	if n != want {
		e.t.Fatalf("RunOnce made %d attempts, want %d", n, want)
	}
}

// receiver returns a receiver that checks every notification against
// secret, the platform keys and the gateway's fake clock.
func (e *env) receiver(secret string) *notifytest.Receiver {
	e.t.Helper()
	r := notifytest.New(e.t)
	r.Verify("", secret)
	r.Clock(e.clock.Now)
	keys, err := e.demo.PlatformKeys(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	r.PlatformKeys(keys)
	return r
}

// eventOf returns the one event of type typ about objectID.
func (e *env) eventOf(c *client.Client, objectID, typ string) *client.Event {
	e.t.Helper()
	list, err := c.ListEvents(context.Background(), client.ListParams{Extra: map[string]string{"object_id": objectID, "type": typ}})
	if err != nil || len(list.Data) != 1 {
		e.t.Fatalf("events %s of %s: %v, %v; want one", typ, objectID, list, err)
	}
	ev, err := c.GetEvent(context.Background(), list.Data[0].ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// waitRequests polls until the receiver has n requests (a request whose
// sender gave up is recorded when its handler returns).
func waitRequests(t *testing.T, r *notifytest.Receiver, n int) []notifytest.Request {
	t.Helper()
	r.Await(10*time.Second, func() bool { return len(r.Requests()) >= n })
	reqs := r.Requests()
	if len(reqs) != n {
		t.Fatalf("receiver got %d requests, want %d", len(reqs), n)
	}
	return reqs
}

// TestNotifyRetriesUntilAcknowledged fails the first attempts in each way a
// receiver can — HTTP 500, no answer within the timeout, connection refused —
// then acknowledges, and checks the retry times, the attempt records and that
// every attempt sent the same signed body.
func TestNotifyRetriesUntilAcknowledged(t *testing.T) {
	eachNotifyStore(t, func(c *gateway.Config) { c.NotifyTimeout = 300 * time.Millisecond }, func(t *testing.T, e *env) {
		rcv := e.receiver(e.g.Demo.WebhookSecret)
		p := orderParams("notify-retry", 1999)
		p.NotifyURL = rcv.URL("/paygate/notify")
		o := payNew(t, e.demo, p)
		var times []int64
		attempt := func(want int) {
			t.Helper()
			times = append(times, e.clock.Now().Unix())
			e.deliver(want)
		}

		rcv.Status(http.StatusInternalServerError)
		attempt(1)
		e.deliver(0) // the retry is not due yet
		e.clock.Advance(15 * time.Second)
		rcv.Hang()
		attempt(1)
		e.clock.Advance(15 * time.Second)
		rcv.Down()
		attempt(1)
		e.clock.Advance(29 * time.Second)
		e.deliver(0) // the third retry comes 30s after the third attempt
		e.clock.Advance(time.Second)
		rcv.Up()
		rcv.Status(http.StatusOK)
		attempt(1)
		e.clock.Advance(24 * time.Hour)
		e.deliver(0) // acknowledged: nothing more

		ev := e.eventOf(e.demo, o.ID, "order.succeeded")
		if ev.DeliveryStatus != "succeeded" || len(ev.Deliveries) != 1 {
			t.Fatalf("event delivery_status %q with %d deliveries, want succeeded with 1", ev.DeliveryStatus, len(ev.Deliveries))
		}
		d := ev.Deliveries[0]
		if d.Target != "notify_url" || d.EndpointID != nil || d.URL != p.NotifyURL || d.Status != "succeeded" || d.Attempts != 4 || d.NextAttemptAt != nil {
			t.Fatalf("delivery = %+v", d)
		}
		if len(ev.Attempts) != 4 {
			t.Fatalf("%d attempts listed, want 4", len(ev.Attempts))
		}
		for i, want := range []struct {
			code      int
			errPart   string
			succeeded bool
		}{{500, "HTTP 500", false}, {0, "timed out", false}, {0, "connection refused", false}, {200, "", true}} {
			a := ev.Attempts[i]
			code := 0
			if a.StatusCode != nil {
				code = *a.StatusCode
			}
			if code != want.code || a.Succeeded != want.succeeded || !strings.Contains(a.Error, want.errPart) || (want.errPart == "" && a.Error != "") {
				t.Errorf("attempt %d: status %d, succeeded %v, error %q; want %d, %v, %q", i+1, code, a.Succeeded, a.Error, want.code, want.succeeded, want.errPart)
			}
			if a.AttemptedAt.Unix() != times[i] || a.DeliveryID != d.ID || a.URL != p.NotifyURL || a.LatencyMS < 0 {
				t.Errorf("attempt %d = %+v; want attempted at %d", i+1, a, times[i])
			}
		}
		// The receiver is on loopback, the gateway's own machine: its
		// answers are not shown (a public receiver's first bytes would be).
		if ev.Attempts[0].ResponseBody != "" || ev.Attempts[3].ResponseBody != "" {
			t.Errorf("response bodies %q, %q of a loopback receiver; want none", ev.Attempts[0].ResponseBody, ev.Attempts[3].ResponseBody)
		}

		reqs := waitRequests(t, rcv, 3) // the refused attempt never arrived
		for i, r := range reqs {
			if r.ID != ev.ID || r.Path != "/paygate/notify" {
				t.Errorf("request %d: webhook-id %s to %s; want %s to /paygate/notify", i, r.ID, r.Path, ev.ID)
			}
			if string(r.Body) != string(reqs[0].Body) {
				t.Errorf("request %d body differs from the first:\n%s\n%s", i, r.Body, reqs[0].Body)
			}
		}
		for i, ti := range []int{0, 1, 3} {
			if reqs[i].Timestamp != times[ti] {
				t.Errorf("request %d: webhook-timestamp %d, want the attempt's time %d", i, reqs[i].Timestamp, times[ti])
			}
		}
		wev, err := client.ParseWebhook(reqs[0].Body)
		if err != nil || wev.ID != ev.ID || wev.Type != "order.succeeded" || !wev.Timestamp.Equal(ev.CreatedAt) {
			t.Fatalf("body = %+v, %v; want the event", wev, err)
		}
		if !strings.Contains(string(wev.Data.Object), `"status":"succeeded"`) || !strings.Contains(string(wev.Data.Object), o.ID) {
			t.Fatalf("data.object = %s, want the succeeded order", wev.Data.Object)
		}
	})
}

// TestNotifyScheduleExhaustedThenRedeliver keeps the receiver down through
// the whole default schedule (simulated hours), checks the delivery fails
// after 16 attempts, brings the receiver back and redelivers by hand.
func TestNotifyScheduleExhaustedThenRedeliver(t *testing.T) {
	eachNotifyStore(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		rcv := e.receiver(e.g.Demo.WebhookSecret)
		rcv.Down()
		p := orderParams("notify-down", 500)
		p.NotifyURL = rcv.URL("/notify")
		o := payNew(t, e.demo, p)
		schedule := gateway.DefaultRetrySchedule
		start := e.clock.Now()
		for i := 0; i <= len(schedule); i++ {
			e.deliver(1)
			if i < len(schedule) {
				e.clock.Advance(schedule[i] - time.Second)
				e.deliver(0) // not a second early
				e.clock.Advance(time.Second)
			}
		}
		t.Logf("16 attempts over %v of simulated time", e.clock.Now().Sub(start))
		e.clock.Advance(7 * 24 * time.Hour)
		e.deliver(0)

		ev := e.eventOf(e.demo, o.ID, "order.succeeded")
		if ev.DeliveryStatus != "failed" || ev.Deliveries[0].Status != "failed" || ev.Deliveries[0].Attempts != 16 || ev.Deliveries[0].NextAttemptAt != nil {
			t.Fatalf("after the schedule: delivery_status %q, delivery %+v; want failed after 16 attempts", ev.DeliveryStatus, ev.Deliveries[0])
		}
		if len(ev.Attempts) != 16 {
			t.Fatalf("%d attempts listed, want 16", len(ev.Attempts))
		}
		for i, a := range ev.Attempts {
			if a.Succeeded || a.StatusCode != nil || !strings.Contains(a.Error, "connection refused") {
				t.Errorf("attempt %d = %+v, want connection refused", i+1, a)
			}
		}
		listed := func(status string) bool {
			l, err := e.demo.ListEvents(ctx, client.ListParams{Extra: map[string]string{"delivery_status": status}})
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(l.Data, func(x client.Event) bool { return x.ID == ev.ID })
		}
		if !listed("failed") || listed("pending") || listed("succeeded") {
			t.Fatalf("delivery_status filter: failed %v, pending %v, succeeded %v; want only failed", listed("failed"), listed("pending"), listed("succeeded"))
		}

		rcv.Up()
		re, err := e.demo.RedeliverEvent(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if re.DeliveryStatus != "pending" || re.Deliveries[0].Status != "pending" || re.Deliveries[0].Attempts != 0 || len(re.Attempts) != 16 {
			t.Fatalf("after redeliver: %q, %+v, %d attempts; want pending, 0, history of 16", re.DeliveryStatus, re.Deliveries[0], len(re.Attempts))
		}
		e.deliver(1)
		ev = e.eventOf(e.demo, o.ID, "order.succeeded")
		if ev.DeliveryStatus != "succeeded" || len(ev.Attempts) != 17 || !ev.Attempts[16].Succeeded {
			t.Fatalf("after redelivery: %q with %d attempts; want succeeded, 17", ev.DeliveryStatus, len(ev.Attempts))
		}
		if !listed("succeeded") || listed("failed") {
			t.Fatal("delivery_status filter does not follow the redelivery")
		}
		if reqs := waitRequests(t, rcv, 1); reqs[0].ID != ev.ID {
			t.Fatalf("receiver got %s, want %s", reqs[0].ID, ev.ID)
		}
		if _, err := e.demo.RedeliverEvent(ctx, "evt_01hwrm3f6y2c8n4v1k7t9d5pha"); err == nil {
			t.Fatal("redelivering an unknown event succeeded")
		} else {
			apiErr(t, err, 404, "event_not_found")
		}
	})
}

// TestWebhookEndpoints subscribes endpoints to some event types, checks
// they get exactly those, rotates a secret (two v1 signatures during the
// overlap, one after), disables and deletes endpoints, and keeps other apps
// out.
func TestWebhookEndpoints(t *testing.T) {
	eachNotifyStore(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		rcv := e.receiver(e.g.Demo.WebhookSecret)
		refunds, err := e.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{
			URL: rcv.URL("/refunds"), EnabledEvents: []string{"refund.succeeded", "refund.failed"}, Description: "refunds desk",
		})
		if err != nil {
			t.Fatal(err)
		}
		all, err := e.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: rcv.URL("/all"), EnabledEvents: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, ep := range []*client.WebhookEndpoint{refunds, all} {
			if !strings.HasPrefix(ep.Secret, "whsec_") || ep.Object != "webhook_endpoint" || ep.Status != "enabled" || ep.Livemode || ep.AppID != e.g.Demo.App.ID {
				t.Fatalf("created endpoint = %+v", ep)
			}
		}
		got, err := e.demo.GetWebhookEndpoint(ctx, refunds.ID)
		if err != nil || got.Secret != "" || got.Description != "refunds desk" || !slices.Equal(got.EnabledEvents, []string{"refund.succeeded", "refund.failed"}) {
			t.Fatalf("GetWebhookEndpoint = %+v, %v; want it without its secret", got, err)
		}
		rcv.Verify("/refunds", refunds.Secret)
		rcv.Verify("/all", all.Secret)

		o := paidOrder(t, e.demo, "wh-1", 10000)
		refund := func(no string) *client.Refund {
			t.Helper()
			r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: no, Amount: 100})
			if err != nil || r.Status != "succeeded" {
				t.Fatalf("refund %s: %+v, %v", no, r, err)
			}
			return r
		}
		r1 := refund("wh-r1")
		e.deliver(3) // order.succeeded → /all; refund.succeeded → /refunds and /all
		types := func(path string) []string {
			var out []string
			for _, r := range rcv.Requests() {
				if r.Path == path {
					w, err := client.ParseWebhook(r.Body)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, w.Type)
				}
			}
			slices.Sort(out)
			return out
		}
		if got := types("/refunds"); !slices.Equal(got, []string{"refund.succeeded"}) {
			t.Fatalf("/refunds got %v, want only refund.succeeded", got)
		}
		if got := types("/all"); !slices.Equal(got, []string{"order.succeeded", "refund.succeeded"}) {
			t.Fatalf("/all got %v, want order.succeeded and refund.succeeded", got)
		}
		ev := e.eventOf(e.demo, r1.ID, "refund.succeeded")
		if len(ev.Deliveries) != 2 || ev.Deliveries[0].Target != "webhook_endpoint" || ev.DeliveryStatus != "succeeded" {
			t.Fatalf("refund event deliveries = %+v", ev.Deliveries)
		}

		// Rotate with an hour of overlap: both secrets sign.
		oldSecret := refunds.Secret
		rotated, err := e.demo.RotateWebhookEndpointSecret(ctx, refunds.ID, client.RotateWebhookSecretParams{ExpiresIn: ptr(3600)})
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Secret == oldSecret || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.PreviousSecretExpiresAt == nil ||
			rotated.PreviousSecretExpiresAt.Unix() != e.clock.Now().Add(time.Hour).Unix() {
			t.Fatalf("rotated endpoint = %+v", rotated)
		}
		rcv.Verify("/refunds", oldSecret, rotated.Secret) // every notification must verify with each
		refund("wh-r2")
		e.deliver(2)
		last := func(path string) notifytest.Request {
			reqs := rcv.Requests()
			for i := len(reqs) - 1; i >= 0; i-- {
				if reqs[i].Path == path {
					return reqs[i]
				}
			}
			t.Fatalf("nothing at %s", path)
			return notifytest.Request{}
		}
		if n := len(last("/refunds").V1()); n != 2 {
			t.Fatalf("during the overlap: %d v1 signatures, want 2", n)
		}

		// After the overlap only the new secret signs.
		e.clock.Advance(time.Hour + time.Second)
		rcv.Verify("/refunds", rotated.Secret)
		refund("wh-r3")
		e.deliver(2)
		req := last("/refunds")
		if n := len(req.V1()); n != 1 {
			t.Fatalf("after the overlap: %d v1 signatures, want 1", n)
		}
		h := http.Header{}
		h.Set("webhook-id", req.ID)
		h.Set("webhook-timestamp", fmt.Sprint(req.Timestamp))
		h.Set("webhook-signature", strings.Join(req.Signatures, " "))
		if err := client.VerifyWebhookAt(h, req.Body, oldSecret, 0, e.clock.Now()); err == nil {
			t.Fatal("the old secret still verifies after the overlap")
		}
		if err := client.VerifyWebhookAt(h, req.Body, rotated.Secret, 0, e.clock.Now()); err != nil {
			t.Fatalf("the SDK rejects a notification: %v", err)
		}
		if ep, _ := e.demo.GetWebhookEndpoint(ctx, refunds.ID); ep.PreviousSecretExpiresAt != nil {
			t.Fatalf("previous_secret_expires_at = %v after the overlap, want null", ep.PreviousSecretExpiresAt)
		}

		// Disabled: no deliveries for new events.
		if ep, err := e.demo.UpdateWebhookEndpoint(ctx, refunds.ID, client.UpdateWebhookEndpointParams{Disabled: ptr(true)}); err != nil || ep.Status != "disabled" {
			t.Fatalf("disable: %+v, %v", ep, err)
		}
		refund("wh-r4")
		e.deliver(1) // /all only

		// Deleted: gone for the app.
		del, err := e.demo.DeleteWebhookEndpoint(ctx, all.ID)
		if err != nil || !del.Deleted || del.ID != all.ID || del.Object != "webhook_endpoint" {
			t.Fatalf("delete = %+v, %v", del, err)
		}
		_, err = e.demo.GetWebhookEndpoint(ctx, all.ID)
		apiErr(t, err, 404, "webhook_endpoint_not_found")
		refund("wh-r5")
		e.deliver(0)
		list, err := e.demo.ListWebhookEndpoints(ctx, client.ListParams{})
		if err != nil || len(list.Data) != 1 || list.Data[0].ID != refunds.ID || list.Data[0].Secret != "" {
			t.Fatalf("list = %+v, %v; want the refunds endpoint without its secret", list, err)
		}

		// Other apps — of another merchant, or another app of the same merchant — see none of it.
		other := e.newMerchant("test", false)
		var sibling client.AppCreated
		if st, b := e.admin("POST", "/admin/v1/merchants/"+e.g.Demo.App.MerchantID+"/apps", map[string]any{"name": "second", "mode": "test"}, &sibling); st != 201 {
			t.Fatalf("create app: %d %s", st, b)
		}
		for _, c := range []*client.Client{other.c, e.newClient(client.WithSecretKey(sibling.SecretKey))} {
			_, err := c.GetWebhookEndpoint(ctx, refunds.ID)
			apiErr(t, err, 404, "webhook_endpoint_not_found")
			_, err = c.UpdateWebhookEndpoint(ctx, refunds.ID, client.UpdateWebhookEndpointParams{Disabled: ptr(false)})
			apiErr(t, err, 404, "webhook_endpoint_not_found")
			_, err = c.RotateWebhookEndpointSecret(ctx, refunds.ID, client.RotateWebhookSecretParams{})
			apiErr(t, err, 404, "webhook_endpoint_not_found")
			_, err = c.DeleteWebhookEndpoint(ctx, refunds.ID)
			apiErr(t, err, 404, "webhook_endpoint_not_found")
			if l, err := c.ListWebhookEndpoints(ctx, client.ListParams{}); err != nil || len(l.Data) != 0 {
				t.Fatalf("another app lists %+v, %v", l, err)
			}
		}
		_, err = other.c.GetEvent(ctx, ev.ID)
		apiErr(t, err, 404, "event_not_found")
		_, err = other.c.RedeliverEvent(ctx, ev.ID)
		apiErr(t, err, 404, "event_not_found")
	})
}

func ptr[T any](v T) *T { return &v }

// TestNotifyURLChecks covers the address rules at the API: endpoint URLs and
// notify_urls that are refused, in test and in live mode, and the other
// validation of the endpoint routes.
func TestNotifyURLChecks(t *testing.T) {
	t.Parallel()
	e := startNotify(t, "sqlite", nil)
	ctx := context.Background()
	live := e.newMerchant("live", false)
	params := func(url string, events ...string) client.CreateWebhookEndpointParams {
		if events == nil {
			events = []string{"*"}
		}
		return client.CreateWebhookEndpointParams{URL: url, EnabledEvents: events}
	}
	for _, c := range []struct {
		c           *client.Client
		p           client.CreateWebhookEndpointParams
		code, param string
	}{
		{e.demo, params("http://10.0.0.8/hook"), "url_invalid", "url"},
		{e.demo, params("http://169.254.169.254/latest/meta-data/"), "url_invalid", "url"},
		{e.demo, params("http://[fd00:ec2::254]/"), "url_invalid", "url"},
		{e.demo, params("http://100.64.0.9/"), "url_invalid", "url"},
		{e.demo, params("ftp://example.com/"), "url_invalid", "url"},
		{e.demo, params(""), "parameter_missing", "url"},
		{e.demo, client.CreateWebhookEndpointParams{URL: "http://127.0.0.1:1/h"}, "parameter_missing", "enabled_events"},
		{e.demo, params("http://127.0.0.1:1/h", "order.paid"), "enabled_events_invalid", "enabled_events"},
		{e.demo, params("http://127.0.0.1:1/h", "*", "order.failed"), "enabled_events_invalid", "enabled_events"},
		{live.c, params("http://93.184.216.34/hook"), "url_invalid", "url"},
		{live.c, params("https://127.0.0.1/hook"), "url_invalid", "url"},
		{live.c, params("https://localhost/hook"), "url_invalid", "url"},
		{live.c, params("https://192.168.1.1/hook"), "url_invalid", "url"},
	} {
		_, err := c.c.CreateWebhookEndpoint(ctx, c.p)
		ae := apiErr(t, err, 400, c.code)
		if ae.Param == nil || *ae.Param != c.param {
			t.Errorf("%+v: param %v, want %s", c.p, ae.Param, c.param)
		}
	}
	// Test mode allows loopback; live mode a public https URL.
	if _, err := e.demo.CreateWebhookEndpoint(ctx, params("http://localhost:9/hook")); err != nil {
		t.Fatalf("test mode refuses loopback: %v", err)
	}
	ep, err := live.c.CreateWebhookEndpoint(ctx, params("https://93.184.216.34/hook", "order.succeeded"))
	if err != nil || !ep.Livemode {
		t.Fatalf("live mode refuses a public https URL: %+v, %v", ep, err)
	}
	_, err = live.c.UpdateWebhookEndpoint(ctx, ep.ID, client.UpdateWebhookEndpointParams{URL: ptr("https://10.1.1.1/")})
	apiErr(t, err, 400, "url_invalid")
	_, err = live.c.RotateWebhookEndpointSecret(ctx, ep.ID, client.RotateWebhookSecretParams{ExpiresIn: ptr(604801)})
	apiErr(t, err, 400, "expires_in_invalid")
	_, err = e.demo.GetWebhookEndpoint(ctx, ep.ID) // a live endpoint, seen from test mode
	apiErr(t, err, 404, "webhook_endpoint_not_found")
	_, err = e.demo.GetWebhookEndpoint(ctx, "whe_nope")
	apiErr(t, err, 404, "webhook_endpoint_not_found")
	if _, err := e.demo.Do(ctx, "POST", "/v1/webhook-endpoints", map[string]any{"url": "http://127.0.0.1:1/", "enabled_events": []string{"*"}, "secret": "mine"}, nil); err == nil {
		t.Fatal("an unknown field was accepted")
	} else {
		apiErr(t, err, 400, "unknown_parameter")
	}
	_, err = e.demo.ListEvents(ctx, client.ListParams{Extra: map[string]string{"delivery_status": "lost"}})
	apiErr(t, err, 400, "delivery_status_invalid")

	// notify_url of orders and refunds.
	p := orderParams("nu-1", 100)
	p.NotifyURL = "http://192.168.0.10/notify"
	_, err = e.demo.CreateOrder(ctx, p)
	if ae := apiErr(t, err, 400, "notify_url_invalid"); ae.Param == nil || *ae.Param != "notify_url" {
		t.Fatalf("param = %v, want notify_url", ae.Param)
	}
	lp := orderParams("nu-live", 100)
	lp.NotifyURL = "https://127.0.0.1/notify"
	_, err = live.c.CreateOrder(ctx, lp)
	apiErr(t, err, 400, "notify_url_invalid")
	o := paidOrder(t, e.demo, "nu-2", 100)
	_, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "nu-r", Amount: 10, NotifyURL: "http://169.254.169.254/"})
	apiErr(t, err, 400, "notify_url_invalid")

	// At most 16 endpoints per app; lists page.
	for i := 0; i < 15; i++ {
		if _, err := e.demo.CreateWebhookEndpoint(ctx, params(fmt.Sprintf("http://127.0.0.1:%d/h", 1000+i))); err != nil {
			if i < 15 {
				t.Fatalf("endpoint %d: %v", i+2, err)
			}
		}
	}
	_, err = e.demo.CreateWebhookEndpoint(ctx, params("http://127.0.0.1:2000/h"))
	apiErr(t, err, 400, "webhook_endpoint_limit")
	page, err := e.demo.ListWebhookEndpoints(ctx, client.ListParams{Limit: 10})
	if err != nil || len(page.Data) != 10 || !page.HasMore {
		t.Fatalf("first page: %d, more %v, %v", len(page.Data), page.HasMore, err)
	}
	next, err := e.demo.ListWebhookEndpoints(ctx, client.ListParams{Limit: 10, StartingAfter: page.Data[9].ID})
	if err != nil || len(next.Data) != 6 || next.HasMore {
		t.Fatalf("second page: %d, more %v, %v", len(next.Data), next.HasMore, err)
	}
}

// TestNotifySIGKILLDuringDelivery kills the gateway process with SIGKILL
// while notifications are in flight to a slow receiver, restarts it, and
// checks that every event is delivered (acknowledged) at least once.
func TestNotifySIGKILLDuringDelivery(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "notify.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			flags := []string{"--notify-retry-schedule", "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s", "--notify-timeout", "2s", "--notify-lease", "7s"}
			p := startProcess(t, database, flags...)
			secret := p.webhookSecret
			if p.secretKey == "" || secret == "" {
				t.Fatal("the first start printed no demo keys")
			}
			ctx := context.Background()
			c, err := client.New(p.url, client.WithSecretKey(p.secretKey))
			if err != nil {
				t.Fatal(err)
			}
			rcv := notifytest.New(t) // the gateway uses the wall clock: the library checks timestamps too
			rcv.Verify("", secret)
			keys, err := c.PlatformKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rcv.PlatformKeys(keys)
			rcv.Hang() // slow: holds every notification until the sender gives up

			const n = 12
			for i := range n {
				op := orderParams(fmt.Sprintf("kill-%d", i), 100+int64(i))
				op.NotifyURL = rcv.URL("/notify")
				o, err := c.CreateOrder(ctx, op)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.TestPayOrder(ctx, o.ID, "succeeded"); err != nil {
					t.Fatal(err)
				}
			}
			if !rcv.Await(30*time.Second, func() bool { return rcv.InFlight("/notify") >= 4 }) { // PerTarget: four at once
				t.Fatalf("only %d notifications in flight", rcv.InFlight("/notify"))
			}
			inFlight := rcv.InFlight("/notify")
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			rcv.Status(http.StatusOK) // the receiver is fast and healthy from now on
			rcv.Release()
			t.Logf("killed with %d notifications in flight", inFlight)

			p2 := startProcess(t, database, flags...)
			c2, _ := client.New(p2.url, client.WithSecretKey(p.secretKey))
			list, err := c2.ListEvents(ctx, client.ListParams{Limit: 100, Extra: map[string]string{"type": "order.succeeded"}})
			if err != nil || len(list.Data) != n {
				t.Fatalf("events after the restart: %v, %v; want %d", list, err, n)
			}
			acked := func() map[string]int {
				out := map[string]int{}
				for _, r := range rcv.Requests() {
					if r.Status == http.StatusOK {
						out[r.ID]++
					}
				}
				return out
			}
			missing := func() int {
				got, m := acked(), 0
				for _, ev := range list.Data {
					if got[ev.ID] == 0 {
						m++
					}
				}
				return m
			}
			if !rcv.Await(60*time.Second, func() bool { return missing() == 0 }) {
				t.Fatalf("%d of %d events were never acknowledged after the restart", missing(), n)
			}
			for _, ev := range list.Data {
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					got, err := c2.GetEvent(ctx, ev.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.DeliveryStatus == "succeeded" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("event %s: delivery_status %q, want succeeded", ev.ID, got.DeliveryStatus)
					}
				}
			}
			for k, m := range rcv.MaxConcurrent() {
				if m > 1 {
					t.Errorf("%s was in flight %d times at once", k, m)
				}
			}
			dup := 0
			for _, m := range acked() {
				dup += m - 1
			}
			t.Logf("all %d events acknowledged after the restart (%d acknowledged more than once)", n, dup)
		})
	}
}

// TestNotifyTwoProcessesOnePostgres runs two gateway processes on one
// PostgreSQL database and has them deliver a batch of events to a receiver
// that takes a moment per request: the receiver is down while the events are
// made, so their retries fall due together on both nodes. Every event
// arrives exactly once, no delivery is ever in flight twice at once, and
// more notifications are in flight at once than one node allows
// (--notify-concurrency 2), so both nodes delivered side by side.
func TestNotifyTwoProcessesOnePostgres(t *testing.T) {
	t.Parallel()
	database := pgSchemaURL(t)
	// Retries every 2 s for two minutes: the receiver is down while the
	// orders are made, which takes more than ten seconds on a loaded
	// machine, and no event may run out of attempts before it comes up.
	schedule := strings.TrimSuffix(strings.Repeat("2s,", 60), ",")
	flags := []string{"--notify-retry-schedule", schedule, "--notify-concurrency", "2", "--worker-interval", "1h"}
	p1 := startProcess(t, database, flags...)
	secret := p1.webhookSecret
	p2 := startProcess(t, database, flags...)
	ctx := context.Background()
	c1, _ := client.New(p1.url, client.WithSecretKey(p1.secretKey))
	c2, _ := client.New(p2.url, client.WithSecretKey(p1.secretKey))
	rcv := notifytest.New(t)
	rcv.Verify("", secret)
	rcv.Respond(func(w http.ResponseWriter, r *http.Request) int {
		time.Sleep(20 * time.Millisecond) // the receiver's own work, so the two nodes' claims interleave
		w.WriteHeader(http.StatusOK)
		return http.StatusOK
	})
	rcv.Down()
	const n = 100
	for i := range n {
		c := []*client.Client{c1, c2}[i%2] // both nodes take payments and are kicked
		op := orderParams(fmt.Sprintf("two-%d", i), 100+int64(i))
		op.NotifyURL = rcv.URL("/notify")
		o, err := c.CreateOrder(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.TestPayOrder(ctx, o.ID, "succeeded"); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for page := (client.ListParams{Limit: 100, Extra: map[string]string{"type": "order.succeeded"}}); ; {
		list, err := c1.ListEvents(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range list.Data {
			ids = append(ids, ev.ID)
		}
		if !list.HasMore {
			break
		}
		page.StartingAfter = list.Data[len(list.Data)-1].ID
	}
	if len(ids) != n {
		t.Fatalf("%d events, want %d", len(ids), n)
	}
	rcv.Up()
	rcv.Await(60*time.Second, func() bool { return len(rcv.IDs()) >= n })
	got := rcv.IDs()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("event %s arrived %d times, want once", id, got[id])
		}
	}
	for k, m := range rcv.MaxConcurrent() {
		if m > 1 {
			t.Errorf("%s was in flight %d times at once", k, m)
		}
	}
	if m := rcv.MaxInFlight("/notify"); m <= 2 {
		t.Errorf("at most %d notifications were in flight at once; one node allows 2, so the two nodes never delivered side by side", m)
	}
	t.Logf("%d events delivered once each by two processes; at most %d notifications in flight at once", n, rcv.MaxInFlight("/notify"))
}
