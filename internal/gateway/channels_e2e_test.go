package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/sim/alipay"
	"github.com/paygate/paygate/internal/sim/unionpay"
	"github.com/paygate/paygate/internal/sim/wechatpay"
	"github.com/paygate/paygate/internal/store"
)

// These tests run the gateway against the channel simulators over loopback
// HTTP: channel accounts made through the operator API, orders through the
// merchant API, payers acting at the simulator, callbacks posted by the
// simulator to the gateway, and the worker querying what it cannot know.

// simulated is a simulator on loopback with its channel account.
type simulated struct {
	sim     sim.Simulator
	url     string
	account string // channel account id
}

func newSimulator(t testing.TB, provider string) sim.Simulator {
	t.Helper()
	o := sim.Options{RetryScale: 0.0005, Hang: 2 * time.Second}
	var s sim.Simulator
	var err error
	switch provider {
	case "wechatpay":
		s, err = wechatpay.New(o)
	case "alipay":
		s, err = alipay.New(o)
	case "unionpay":
		s, err = unionpay.New(o)
	}
	if err != nil {
		t.Fatalf("simulator %s: %v", provider, err)
	}
	t.Cleanup(s.Close)
	return s
}

// channelAccount starts a simulator for provider and creates a test-mode
// channel account for it serving methods.
func (e *env) channelAccount(provider string, methods ...string) *simulated {
	e.t.Helper()
	s := newSimulator(e.t, provider)
	srv := httptest.NewServer(s)
	e.t.Cleanup(srv.Close)
	acct := s.Account(srv.URL)
	var out struct {
		ID      string   `json:"id"`
		Secrets []string `json:"secrets"`
	}
	st, b := e.admin("POST", "/admin/v1/channel-accounts", map[string]any{
		"provider": provider, "name": provider + " simulator", "livemode": false, "base_url": acct.BaseURL,
		"config": acct.Config, "secrets": acct.Secrets, "methods": methods, "fee_bps": 38,
	}, &out)
	if st != 201 {
		e.t.Fatalf("create %s channel account: %d %s", provider, st, b)
	}
	for _, v := range acct.Secrets {
		if len(v) > 8 && bytes.Contains(b, []byte(v)) {
			e.t.Fatal("the channel account's secret came back in the response")
		}
	}
	return &simulated{sim: s, url: srv.URL, account: out.ID}
}

// paidAtSimulator creates an order of method on the demo merchant, has the
// payer pay it at the simulator, and waits for the callback to succeed it.
func (e *env) paidAtSimulator(t *testing.T, s *simulated, method, outTradeNo string, amount int64) *client.Order {
	t.Helper()
	o, err := e.demo.CreateOrder(context.Background(), client.CreateOrderParams{OutTradeNo: outTradeNo, Amount: amount, Currency: "CNY", Subject: "Tea", Method: method})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := s.sim.PayerPays(o.ID); err != nil {
		t.Fatalf("payer pays: %v", err)
	}
	return waitOrder(t, e.demo, o.ID, "succeeded")
}

// storedOrder reads the order as the gateway keeps it.
func (e *env) storedOrder(id string) *store.Order {
	e.t.Helper()
	o, err := e.g.Store.OrderGet(context.Background(), id)
	if err != nil {
		e.t.Fatalf("order %s: %v", id, err)
	}
	return o
}

// waitOrder polls the order until its status is want.
func waitOrder(t *testing.T, c *client.Client, id, want string) *client.Order {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		o, err := c.GetOrder(context.Background(), id)
		if err != nil {
			t.Fatalf("get order: %v", err)
		}
		if o.Status == want {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %s, want %s", id, o.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventsOf counts the events of type typ about object id.
func (e *env) eventsOf(c *client.Client, typ, objectID string) int {
	e.t.Helper()
	l, err := c.ListEvents(context.Background(), client.ListParams{Limit: 100})
	if err != nil {
		e.t.Fatalf("list events: %v", err)
	}
	n := 0
	for _, ev := range l.Data {
		if ev.Type == typ && strings.Contains(string(ev.Data), objectID) {
			n++
		}
	}
	return n
}

var providerMethods = map[string]struct{ qr, micropay, authPaid, authPaying, authUnknown string }{
	"wechatpay": {"wechat.native", "wechat.micropay", "134567890123450000", "134567890123451111", "134567890123453333"},
	"alipay":    {"alipay.qr", "alipay.micropay", "284567890123450000", "284567890123451111", "284567890123453333"},
	"unionpay":  {"unionpay.qr", "", "", "", ""},
}

// TestChannelCallbackPaysOnce: a payer pays at each provider's simulator, the
// simulator posts its signed callback (twice), and the order succeeds once,
// with one event and one journal entry.
func TestChannelCallbackPaysOnce(t *testing.T) {
	for _, provider := range []string{"wechatpay", "alipay", "unionpay"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := start(t, "sqlite")
			pm := providerMethods[provider]
			s := e.channelAccount(provider, pm.qr)
			s.sim.SetFault(sim.FaultDuplicateNotify, 0)
			ctx := context.Background()
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "cb-" + provider, Amount: 1999, Currency: "CNY", Subject: "Tea", Method: pm.qr})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if o.Channel != provider || o.NextAction == nil || o.NextAction.QRCode == "" {
				t.Fatalf("order channel %q next action %+v; want %s with a QR code", o.Channel, o.NextAction, provider)
			}
			stored := e.storedOrder(o.ID)
			if stored.ChannelAccountID != s.account {
				t.Fatalf("order served by %q, want %s", stored.ChannelAccountID, s.account)
			}
			var d routing.Decision
			if err := json.Unmarshal(stored.Route, &d); err != nil || d.Chosen != s.account && (len(d.Candidates) == 0 || d.Candidates[0] != s.account) {
				t.Fatalf("route decision %s (%v): want %s", stored.Route, err, s.account)
			}
			if err := s.sim.PayerPays(o.ID); err != nil {
				t.Fatalf("payer pays: %v", err)
			}
			waitOrder(t, e.demo, o.ID, "succeeded")
			// The duplicate callback lands too; give it time, then count.
			time.Sleep(300 * time.Millisecond)
			if n := e.eventsOf(e.demo, "order.succeeded", o.ID); n != 1 {
				t.Fatalf("%d order.succeeded events, want 1", n)
			}
			entries, err := e.g.Store.LedgerEntries(ctx, o.ID)
			if err != nil || len(entries) != 1 {
				t.Fatalf("journal entries for the order: %d, %v; want 1", len(entries), err)
			}
			e.verifyLedger()
		})
	}
}

// TestChannelCallbackTampered: a callback whose body was changed, or that
// names an account of another provider, changes nothing.
func TestChannelCallbackTampered(t *testing.T) {
	e := start(t, "sqlite")
	s := e.channelAccount("wechatpay", "wechat.native")
	ctx := context.Background()
	o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "tamper", Amount: 500, Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// The simulator's own callbacks are kept away: only forged ones arrive.
	s.sim.SetFault(sim.FaultDropNotify, 0)
	if err := s.sim.PayerPays(o.ID); err != nil {
		t.Fatalf("payer pays: %v", err)
	}
	callback := e.url + "/channels/wechatpay/notify/" + s.account
	post := func(body []byte, h http.Header) int {
		req, _ := http.NewRequest("POST", callback, bytes.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("post callback: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// A forged notification: well-formed, signed with nothing we trust.
	forged := []byte(`{"id":"EV-1","create_time":"2026-11-26T10:00:00+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","associated_data":"transaction","nonce":"abcdefabcdef"}}`)
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", fmt.Sprint(time.Now().Unix()))
	h.Set("Wechatpay-Nonce", "n0nce")
	h.Set("Wechatpay-Signature", "c2lnbmF0dXJl")
	h.Set("Wechatpay-Serial", "0")
	if st := post(forged, h); st < 400 {
		t.Fatalf("forged callback answered %d, want a failure", st)
	}
	// A callback stamped as a signature test probe is refused too.
	h.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/c2lnbmF0dXJl")
	if st := post(forged, h); st < 400 {
		t.Fatalf("signature probe answered %d, want a failure", st)
	}
	// A provider mismatch and an unknown account are 404s.
	req, _ := http.NewRequest("POST", e.url+"/channels/alipay/notify/"+s.account, strings.NewReader("a=b"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Fatalf("callback to the wrong provider: %v %v, want 404", res, err)
	}
	req, _ = http.NewRequest("POST", e.url+"/channels/wechatpay/notify/cha_nosuch", strings.NewReader("{}"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Fatalf("callback to an unknown account: %v %v, want 404", res, err)
	}
	if got := e.storedOrder(o.ID); got.Status != store.OrderPending {
		t.Fatalf("order is %s after forged callbacks, want pending", got.Status)
	}
	// The truth still arrives: a sync asks the simulator.
	if o, err = e.demo.SyncOrder(ctx, o.ID); err != nil || o.Status != "succeeded" {
		t.Fatalf("sync: %+v %v", o, err)
	}
}

// TestFailoverWhenAChannelIsDown: with two WeChat Pay accounts and the first
// answering 5xx, every order succeeds on the second; once the breaker has
// opened, the first is not even tried; after OpenFor it is probed again.
func TestFailoverWhenAChannelIsDown(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		down := e.channelAccount("wechatpay", "wechat.native")
		up := e.channelAccount("wechatpay", "wechat.native")
		e.g.Router.OpenFor = 200 * time.Millisecond
		// This test is about the breaker; the success-rate floor would keep
		// the failed channel out for its whole window (internal/routing
		// tests that).
		e.g.Router.SuccessRateFloor = -1
		down.sim.SetFault(sim.Fault5xx, 0)
		m := e.newMerchant("test", false)
		var route map[string]any
		if st, b := e.admin("PUT", "/admin/v1/merchants/"+m.id+"/routes/wechat.native", map[string]any{
			"livemode": false, "strategy": "priority",
			"candidates": []map[string]any{{"channel_account": down.account}, {"channel_account": up.account}},
		}, &route); st != 200 {
			t.Fatalf("put route: %d %s", st, b)
		}
		const n = 1000
		ctx := context.Background()
		tried := 0
		var first string
		for i := range n {
			o, err := m.c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: fmt.Sprintf("fo-%d", i), Amount: 100 + int64(i), Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
			if err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
			if o.Status != "pending" || o.NextAction == nil || o.NextAction.QRCode == "" {
				t.Fatalf("order %d: %+v", i, o)
			}
			if i == 0 {
				first = o.ID
			}
			stored := e.storedOrder(o.ID)
			if stored.ChannelAccountID != up.account {
				t.Fatalf("order %d served by %s, want the healthy %s", i, stored.ChannelAccountID, up.account)
			}
			var d routing.Decision
			json.Unmarshal(stored.Route, &d)
			if len(d.Attempts) > 1 {
				tried++
			}
		}
		// The breaker opens after 5 consecutive failures (the router's
		// default), and lets one probe through every OpenFor; 1,000
		// orders run for longer than 200 ms, so a few probes happen.
		if tried < 5 || tried > n/2 {
			t.Fatalf("the down channel was tried on %d of %d orders; want the breaker to keep it out after 5", tried, n)
		}
		if h := e.g.Router.Health(down.account); h.Breaker == "closed" {
			t.Fatalf("down channel health %+v: want the breaker open or half-open", h)
		}
		// The operator sees why: the first order tried the down channel,
		// failed over, and was taken by the healthy one.
		var routed client.OrderRouting
		if st, b := e.admin("GET", "/admin/v1/orders/"+first+"/routing", nil, &routed); st != 200 {
			t.Fatalf("order routing: %d %s", st, b)
		}
		d := routed.Decision
		if routed.ChannelAccount != up.account || d == nil || d.Chosen != up.account || len(d.Attempts) != 2 ||
			d.Attempts[0].ChannelAccount != down.account || d.Attempts[0].Error != "unavailable" || d.Source != "merchant_route" {
			t.Fatalf("first order's routing %+v decision %+v: want a failover from %s to %s", routed, d, down.account, up.account)
		}
		var acct struct {
			Health *client.ChannelHealth `json:"health"`
		}
		if st, b := e.admin("GET", "/admin/v1/channel-accounts/"+down.account, nil, &acct); st != 200 || acct.Health == nil || acct.Health.Breaker == "closed" {
			t.Fatalf("down account as the operator sees it: %d %s", st, b)
		}
		// The channel comes back: after OpenFor a probe succeeds and closes the breaker.
		down.sim.SetFault(sim.FaultNone, 0)
		time.Sleep(250 * time.Millisecond)
		o, err := m.c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "fo-back", Amount: 100, Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.storedOrder(o.ID).ChannelAccountID; got != down.account {
			t.Fatalf("after recovery the order went to %s, want the first-priority %s", got, down.account)
		}
		if h := e.g.Router.Health(down.account); h.Breaker != "closed" {
			t.Fatalf("health after a good probe: %+v, want closed", h)
		}
	})
}

// TestMicropayUnknownThenQueried: a micropay whose answer is SYSTEMERROR
// stays processing until the worker queries and finds it paid; one whose
// payer never confirms is reversed at the deadline.
func TestMicropayUnknownThenQueried(t *testing.T) {
	for _, provider := range []string{"wechatpay", "alipay"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := startWith(t, "sqlite", func(c *gateway.Config) { c.MicropayDeadline = time.Minute })
			pm := providerMethods[provider]
			e.channelAccount(provider, pm.micropay)
			ctx := context.Background()
			// No method: the payment code says which channel issued it.
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "mp-unknown", Amount: 880, Currency: "CNY", Subject: "Bun", AuthCode: pm.authUnknown})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			// Alipay posts the payment's callback, which may land before the
			// create answers; WeChat's v2 micropay posts none.
			if o.Method != pm.micropay || o.Status != "processing" && !(provider == "alipay" && o.Status == "succeeded") {
				t.Fatalf("micropay with an unknown outcome: method %s status %s, want %s processing", o.Method, o.Status, pm.micropay)
			}
			e.clock.Advance(10 * time.Second)
			e.g.Worker.RunOnce(ctx)
			waitOrder(t, e.demo, o.ID, "succeeded")

			paying, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "mp-paying", Amount: 990, Currency: "CNY", Subject: "Bun", AuthCode: pm.authPaying})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if paying.Status != "processing" {
				t.Fatalf("micropay while the payer confirms: %s, want processing", paying.Status)
			}
			e.clock.Advance(10 * time.Second)
			e.g.Worker.RunOnce(ctx)
			st := e.storedOrder(paying.ID)
			if st.Status != store.OrderProcessing || st.SyncAttempts != 1 || st.NextSyncAt == nil {
				t.Fatalf("after one fruitless query: %s attempts %d next %v; want processing, 1, a next time", st.Status, st.SyncAttempts, st.NextSyncAt)
			}
			e.g.Worker.RunOnce(ctx) // not due yet: no query, no attempt counted
			if st := e.storedOrder(paying.ID); st.SyncAttempts != 1 {
				t.Fatalf("a query ran before its backoff: attempts %d", st.SyncAttempts)
			}
			e.clock.Advance(2 * time.Minute)
			e.g.Worker.RunOnce(ctx)
			// The worker reverses the trade and fails the order; Alipay also
			// posts the trade's closing, which may land first and close it.
			got, err := e.demo.GetOrder(ctx, paying.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case got.Status == "failed" && got.FailureCode == "payer_timeout":
			case got.Status == "closed" && provider == "alipay":
			default:
				t.Fatalf("reversed micropay: %s (%s), want failed with payer_timeout", got.Status, got.FailureCode)
			}
			e.verifyLedger()
		})
	}
}

// TestRefundThroughChannel: a refund of a simulator-paid order goes to the
// channel and succeeds (by its answer or its callback), with its entry.
func TestRefundThroughChannel(t *testing.T) {
	for _, provider := range []string{"wechatpay", "alipay", "unionpay"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := start(t, "sqlite")
			pm := providerMethods[provider]
			s := e.channelAccount(provider, pm.qr)
			ctx := context.Background()
			o := e.paidAtSimulator(t, s, pm.qr, "rf-"+provider, 3000)
			var ids []string
			for i, amount := range []int64{1000, 500} {
				r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("r%d", i), Amount: amount})
				if err != nil {
					t.Fatalf("refund: %v", err)
				}
				ids = append(ids, r.ID)
			}
			for _, id := range ids {
				deadline := time.Now().Add(15 * time.Second)
				for {
					r, err := e.demo.GetRefund(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if r.Status == "succeeded" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("refund %s is %s", id, r.Status)
					}
					// A refund the channel is still processing is finished by
					// its callback or, failing that, by the worker's query.
					e.clock.Advance(10 * time.Second)
					e.g.Worker.RunOnce(ctx)
					time.Sleep(50 * time.Millisecond)
				}
			}
			got, _ := e.demo.GetOrder(ctx, o.ID)
			if got.AmountRefunded != 1500 {
				t.Fatalf("amount refunded %d, want 1500", got.AmountRefunded)
			}
			e.verifyLedger()
		})
	}
}

// TestUnknownOutcomeNeverFailsOver: a micropay whose first channel takes the
// money but whose answer never comes must not be tried on the second
// channel, or the payer would pay twice. The order waits in processing on
// the first channel, whose query later finds it paid.
func TestUnknownOutcomeNeverFailsOver(t *testing.T) {
	e := start(t, "sqlite")
	slow := e.channelAccount("wechatpay", "wechat.micropay")
	other := e.channelAccount("wechatpay", "wechat.micropay")
	e.g.Payments.ChannelTimeout = 300 * time.Millisecond
	m := e.newMerchant("test", false)
	if st, b := e.admin("PUT", "/admin/v1/merchants/"+m.id+"/routes/wechat.micropay", map[string]any{
		"livemode": false, "candidates": []map[string]any{{"channel_account": slow.account}, {"channel_account": other.account}},
	}, nil); st != 200 {
		t.Fatalf("put route: %d %s", st, b)
	}
	slow.sim.SetFault(sim.FaultTimeout, 1)
	ctx := context.Background()
	o, err := m.c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "no-double", Amount: 4200, Currency: "CNY", Subject: "Rice", AuthCode: providerMethods["wechatpay"].authPaid})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if o.Status != "processing" || o.ChannelAccount != slow.account {
		t.Fatalf("order %s on %s; want processing on the channel that may have taken the money (%s)", o.Status, o.ChannelAccount, slow.account)
	}
	var routed client.OrderRouting
	e.admin("GET", "/admin/v1/orders/"+o.ID+"/routing", nil, &routed)
	if d := routed.Decision; d == nil || len(d.Attempts) != 1 || d.Chosen != slow.account {
		t.Fatalf("decision %+v: want one attempt, on %s", routed.Decision, slow.account)
	}
	e.clock.Advance(10 * time.Second)
	e.g.Worker.RunOnce(ctx)
	if got := waitOrder(t, m.c, o.ID, "succeeded"); got.ChannelAccount != slow.account {
		t.Fatalf("paid on %s, want %s", got.ChannelAccount, slow.account)
	}
	// The other channel never saw the order: a query there finds nothing.
	conn, _, err := e.g.Payments.Accounts.ConnectorByID(ctx, other.account)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := conn.Query(ctx, channel.QueryRequest{OrderID: o.ID, CreatedAt: o.CreatedAt}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("the second channel knows the order: %+v, %v", q, err)
	}
	e.verifyLedger()
}

// TestRouteLimits: a candidate's amount limit keeps larger payments away;
// with no candidate left the merchant gets method_unsupported saying why,
// without the platform's channel account ids, and no order is made.
func TestRouteLimits(t *testing.T) {
	e := start(t, "sqlite")
	s := e.channelAccount("wechatpay", "wechat.native")
	m := e.newMerchant("test", false)
	if st, b := e.admin("PUT", "/admin/v1/merchants/"+m.id+"/routes/wechat.native", map[string]any{
		"livemode": false, "candidates": []map[string]any{{"channel_account": s.account, "max_amount": 1000}},
	}, nil); st != 200 {
		t.Fatalf("put route: %d %s", st, b)
	}
	ctx := context.Background()
	if o, err := m.c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "small", Amount: 1000, Currency: "CNY", Subject: "Tea", Method: "wechat.native"}); err != nil || o.ChannelAccount != s.account {
		t.Fatalf("within the limit: %+v, %v", o, err)
	}
	_, err := m.c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "large", Amount: 1001, Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
	ae := apiErr(t, err, 400, "method_unsupported")
	if !strings.Contains(ae.Message, "amount_above_max") || strings.Contains(ae.Message, s.account) {
		t.Fatalf("message %q: want the reason, not the account id", ae.Message)
	}
	if _, err := m.c.GetOrderByOutTradeNo(ctx, "large"); err == nil {
		t.Fatal("a refused order was recorded")
	}
}

// TestChannelBill: the operator downloads a channel account's statement of
// the day, and it lists the payment and the refund with the gateway's ids.
func TestChannelBill(t *testing.T) {
	for _, provider := range []string{"wechatpay", "alipay", "unionpay"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := start(t, "sqlite")
			pm := providerMethods[provider]
			s := e.channelAccount(provider, pm.qr)
			ctx := context.Background()
			o := e.paidAtSimulator(t, s, pm.qr, "bill-"+provider, 2500)
			r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "bill-r", Amount: 700})
			if err != nil {
				t.Fatal(err)
			}
			day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
			path := "/admin/v1/channel-accounts/" + s.account + "/bill?date=" + day
			deadline := time.Now().Add(15 * time.Second)
			for {
				var bill client.ChannelBill
				if st, b := e.admin("GET", path, nil, &bill); st != 200 {
					t.Fatalf("bill: %d %s", st, b)
				}
				var paid, refunded bool
				for _, rec := range bill.Records {
					paid = paid || rec.Kind == "payment" && rec.Order == o.ID && rec.Amount == 2500
					refunded = refunded || rec.Kind == "refund" && rec.Refund == r.ID && rec.Amount == 700
				}
				if paid && refunded && bill.RawBytes > 0 && bill.Format != "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("bill of %s lacks the payment or the refund: %+v", day, bill)
				}
				// A refund the channel settles later shows once settled.
				e.clock.Advance(10 * time.Second)
				e.g.Worker.RunOnce(ctx)
				time.Sleep(50 * time.Millisecond)
			}
			if st, b := e.admin("GET", "/admin/v1/channel-accounts/"+s.account+"/bill?date=26-11-2026", nil, nil); st != 400 || !strings.Contains(string(b), "date_invalid") {
				t.Fatalf("bad date: %d %s", st, b)
			}
		})
	}
}
