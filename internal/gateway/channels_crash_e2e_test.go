package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/sim"
)

// These tests put the channel paths under concurrency and crashes: a
// payment learned at once from duplicated callbacks, merchant syncs and the
// worker; many refunds of one order racing for its remainder; and a
// micropay whose outcome was unknown when the process died.

// callbackCounter is a reverse proxy in front of the gateway that counts the
// channel callbacks it forwards and how they were answered, so a test can
// wait until every callback a simulator sent has been handled.
type callbackCounter struct {
	srv      *httptest.Server
	target   atomic.Pointer[url.URL]
	inFlight atomic.Int64
	ok       atomic.Int64 // answered 2xx
	failed   atomic.Int64 // answered otherwise
}

func newCallbackCounter(t *testing.T) *callbackCounter {
	t.Helper()
	cc := &callbackCounter{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(cc.target.Load())
	}}
	cc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/channels/") {
			proxy.ServeHTTP(w, r)
			return
		}
		cc.inFlight.Add(1)
		defer cc.inFlight.Add(-1)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, r)
		if rec.status/100 == 2 {
			cc.ok.Add(1)
		} else {
			cc.failed.Add(1)
		}
	}))
	t.Cleanup(cc.srv.Close)
	return cc
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// allEvents lists every event of type typ (and about objectID, when not
// empty), following the cursor past the 100-a-page limit.
func allEvents(t *testing.T, c *client.Client, typ, objectID string) []client.Event {
	t.Helper()
	var out []client.Event
	p := client.ListParams{Limit: 100, Extra: map[string]string{"type": typ}}
	if objectID != "" {
		p.Extra["object_id"] = objectID
	}
	for range 1000 {
		l, err := c.ListEvents(context.Background(), p)
		if err != nil {
			t.Fatalf("list %s events: %v", typ, err)
		}
		for _, ev := range l.Data {
			if ev.Type != typ {
				t.Fatalf("the type filter %s let through an event of type %s", typ, ev.Type)
			}
		}
		out = append(out, l.Data...)
		if !l.HasMore || len(l.Data) == 0 {
			return out
		}
		p.StartingAfter = l.Data[len(l.Data)-1].ID
	}
	t.Fatalf("listing %s events did not end", typ)
	return nil
}

// TestCallbacksRaceQueries: twenty WeChat Pay orders are paid while, for
// each, the simulator posts its callback twice, five merchant syncs query
// the channel and the worker runs in a loop. Every order succeeds once:
// one order.succeeded event, one journal entry, a clean ledger.
func TestCallbacksRaceQueries(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			callbacksRaceQueries(t, kind)
		})
	}
}

func callbacksRaceQueries(t *testing.T, kind string) {
	// As eachStore does, but with the gateway's public URL (and so the
	// notify URL the channel is given) a proxy that counts the callbacks.
	cc := newCallbackCounter(t)
	e := startWith(t, kind, func(c *gateway.Config) { c.PublicURL = cc.srv.URL })
	target, _ := url.Parse(e.url)
	cc.target.Store(target)

	s := e.channelAccount("wechatpay", "wechat.native")
	s.sim.SetFault(sim.FaultDuplicateNotify, 0)
	ctx := context.Background()

	const nOrders, nSyncers = 20, 5
	ids := make([]string, nOrders)
	for i := range nOrders {
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: fmt.Sprintf("race-%02d", i), Amount: 1000 + int64(i), Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
		if err != nil {
			t.Fatalf("create order %d: %v", i, err)
		}
		if o.Status != "pending" || o.Channel != "wechatpay" {
			t.Fatalf("order %d: status %s channel %s, want pending on wechatpay", i, o.Status, o.Channel)
		}
		ids[i] = o.ID
	}

	// The worker runs over and over for the whole test. The orders are
	// pending native orders far from their expiry, so it has nothing
	// of its own to do with them: it races, it must not interfere.
	wctx, stopWorker := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	var workerRuns atomic.Int64
	wwg.Add(1)
	go func() {
		defer wwg.Done()
		for wctx.Err() == nil {
			e.g.Worker.RunOnce(wctx)
			workerRuns.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { stopWorker(); wwg.Wait() }()

	var errMu sync.Mutex
	var syncErrs []string
	var syncCalls atomic.Int64
	started := time.Now()
	for i, id := range ids {
		startGun := make(chan struct{})
		var wg sync.WaitGroup
		for g := range nSyncers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGun
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					o, err := e.demo.SyncOrder(ctx, id)
					syncCalls.Add(1)
					if err != nil {
						errMu.Lock()
						syncErrs = append(syncErrs, fmt.Sprintf("order %d syncer %d: %v", i, g, err))
						errMu.Unlock()
						return
					}
					switch o.Status {
					case "succeeded":
						return
					case "pending":
					default:
						errMu.Lock()
						syncErrs = append(syncErrs, fmt.Sprintf("order %d syncer %d: sync answered status %s", i, g, o.Status))
						errMu.Unlock()
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		close(startGun)
		// Vary the payer's moment, so some syncs see the trade unpaid and
		// some paid, while the callbacks land among them.
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		if err := s.sim.PayerPays(id); err != nil {
			t.Fatalf("payer pays order %d: %v", i, err)
		}
		wg.Wait()
		waitOrder(t, e.demo, id, "succeeded")
	}
	if len(syncErrs) > 0 {
		t.Fatalf("%d of %d merchant syncs failed while callbacks and the worker raced them; first: %s", len(syncErrs), syncCalls.Load(), syncErrs[0])
	}

	// Each payment was notified twice; wait until all 2×20 callbacks
	// have been acknowledged and none is still being handled.
	deadline := time.Now().Add(15 * time.Second)
	for cc.ok.Load() < 2*nOrders || cc.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s the gateway acknowledged %d channel callbacks (%d refused, %d in flight); want %d acknowledged",
				cc.ok.Load(), cc.failed.Load(), cc.inFlight.Load(), 2*nOrders)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopWorker()
	wwg.Wait()
	t.Logf("%d orders in %v: %d syncs, %d worker runs, %d callbacks acknowledged, %d refused (then retried by the simulator)",
		nOrders, time.Since(started).Round(time.Millisecond), syncCalls.Load(), workerRuns.Load(), cc.ok.Load(), cc.failed.Load())

	for i, id := range ids {
		if evs := allEvents(t, e.demo, "order.succeeded", id); len(evs) != 1 {
			t.Fatalf("order %d (%s): %d order.succeeded events, want exactly 1", i, id, len(evs))
		}
		entries, err := e.g.Store.LedgerEntries(ctx, id)
		if err != nil {
			t.Fatalf("journal entries of order %d: %v", i, err)
		}
		if len(entries) != 1 {
			t.Fatalf("order %d (%s): %d journal entries, want exactly 1", i, id, len(entries))
		}
		if st := e.storedOrder(id); st.Status != "succeeded" {
			t.Fatalf("order %d is %s at the end, want succeeded", i, st.Status)
		}
	}
	if evs := allEvents(t, e.demo, "order.succeeded", ""); len(evs) != nOrders {
		t.Fatalf("%d order.succeeded events in all, want %d", len(evs), nOrders)
	}
	e.verifyLedger()
}

// TestConcurrentChannelRefunds: thirty refunds of 100 race for a paid
// WeChat Pay order of 1000. Exactly ten are created, twenty are refused with
// refund_exceeds_amount, the ten succeed at the channel, and the order shows
// 1000 refunded with a clean ledger.
func TestConcurrentChannelRefunds(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.channelAccount("wechatpay", "wechat.native")
		ctx := context.Background()
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "crf", Amount: 1000, Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if err := s.sim.PayerPays(o.ID); err != nil {
			t.Fatalf("payer pays: %v", err)
		}
		waitOrder(t, e.demo, o.ID, "succeeded")

		const n = 30
		type result struct {
			status int
			refund client.Refund
			err    error
		}
		results := make([]result, n)
		startGun := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGun
				var r client.Refund
				res, err := e.demo.Do(ctx, http.MethodPost, "/v1/refunds", client.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("crf-%02d", i), Amount: 100}, &r)
				results[i] = result{refund: r, err: err}
				if res != nil {
					results[i].status = res.StatusCode
				}
			}()
		}
		close(startGun)
		wg.Wait()

		var created []string
		refused := 0
		for i, r := range results {
			var ae *client.Error
			switch {
			case r.err == nil && r.status == http.StatusCreated:
				if r.refund.ID == "" || r.refund.Amount != 100 || r.refund.OrderID != o.ID {
					t.Fatalf("refund %d created as %+v", i, r.refund)
				}
				if r.refund.Status != "pending" && r.refund.Status != "succeeded" {
					t.Fatalf("refund %d created with status %s, want pending or succeeded", i, r.refund.Status)
				}
				created = append(created, r.refund.ID)
			case errors.As(r.err, &ae) && ae.StatusCode == http.StatusConflict && ae.Code == "refund_exceeds_amount":
				refused++
			default:
				t.Fatalf("refund %d: status %d err %v; want 201 or 409 refund_exceeds_amount", i, r.status, r.err)
			}
		}
		if len(created) != 10 || refused != 20 {
			t.Fatalf("%d refunds created and %d refused, want 10 and 20", len(created), refused)
		}

		// The simulator settles WeChat refunds after a short delay and posts
		// REFUND.SUCCESS; a refund still pending is queried by the worker.
		deadline := time.Now().Add(15 * time.Second)
		lastPoke := time.Now()
		var advanced time.Duration
		for {
			pending := 0
			for _, id := range created {
				r, err := e.demo.GetRefund(ctx, id)
				if err != nil {
					t.Fatalf("get refund %s: %v", id, err)
				}
				switch r.Status {
				case "succeeded":
				case "pending":
					pending++
				default:
					t.Fatalf("refund %s is %s (%s: %s), want succeeded", id, r.Status, r.FailureCode, r.FailureMessage)
				}
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d refunds still pending after 15 s", pending, len(created))
			}
			// Poke the worker now and then, keeping the fake clock within the
			// simulator's five-minute signature window.
			if time.Since(lastPoke) > 300*time.Millisecond && advanced < 2*time.Minute {
				e.clock.Advance(10 * time.Second)
				advanced += 10 * time.Second
				e.g.Worker.RunOnce(ctx)
				lastPoke = time.Now()
			}
			time.Sleep(20 * time.Millisecond)
		}

		got, err := e.demo.GetOrder(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.AmountRefunded != 1000 {
			t.Fatalf("amount refunded %d, want 1000", got.AmountRefunded)
		}
		l, err := e.demo.ListRefunds(ctx, client.ListParams{Limit: 100, Extra: map[string]string{"order_id": o.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Data) != 10 {
			t.Fatalf("the order has %d refunds, want the 10 created", len(l.Data))
		}
		for _, id := range created {
			entries, err := e.g.Store.LedgerEntries(ctx, id)
			if err != nil || len(entries) != 1 {
				t.Fatalf("journal entries of refund %s: %d (%v), want exactly 1", id, len(entries), err)
			}
			if evs := allEvents(t, e.demo, "refund.succeeded", id); len(evs) != 1 {
				t.Fatalf("refund %s: %d refund.succeeded events, want exactly 1", id, len(evs))
			}
		}
		e.verifyLedger()
	})
}

// TestProcessingSurvivesRestart: the real binary takes a WeChat Pay micropay
// whose answer is SYSTEMERROR (the payer did pay), so the order is
// processing; the process is SIGKILLed; started again on the same database,
// its worker queries the channel and the order succeeds; the ledger verifies.
func TestProcessingSurvivesRestart(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "restart.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			const interval = "100ms"
			p := startProcess(t, database, "--worker-interval", interval)
			// env.admin and env.channelAccount only need the URL: the
			// simulator lives in this process and outlives the gateway's.
			(&env{t: t, url: p.url}).channelAccount("wechatpay", "wechat.micropay")
			c, err := client.New(p.url, client.WithSecretKey(p.secretKey))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			pm := providerMethods["wechatpay"]
			o, err := c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "mp-restart", Amount: 880, Currency: "CNY", Subject: "Bun", AuthCode: pm.authUnknown})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if o.Method != pm.micropay || o.Status != "processing" {
				t.Fatalf("micropay with an unknown outcome: method %s status %s, want %s processing", o.Method, o.Status, pm.micropay)
			}
			created := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			killed := time.Now()

			p2 := startProcess(t, database, "--worker-interval", interval)
			c2, err := client.New(p2.url, client.WithSecretKey(p.secretKey))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c2.GetOrder(ctx, o.ID); err != nil {
				t.Fatalf("the processing order after the restart: %v", err)
			} else if got.Status != "processing" && got.Status != "succeeded" {
				t.Fatalf("the processing order is %s after the restart", got.Status)
			}
			// Nothing else will tell the gateway: v2 micropay trades post no
			// callbacks, and nobody syncs. Only the restarted worker's query.
			deadline := time.Now().Add(20 * time.Second)
			for {
				got, err := c2.GetOrder(ctx, o.ID)
				if err != nil {
					t.Fatalf("get order: %v", err)
				}
				if got.Status == "succeeded" {
					break
				}
				if got.Status != "processing" {
					t.Fatalf("after the restart the order became %s (%s), want succeeded: the simulator says the payer paid", got.Status, got.FailureCode)
				}
				if time.Now().After(deadline) {
					t.Fatalf("the order is still processing 20 s after the restart: the restarted worker never resolved it")
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("succeeded %v after the create, %v after the kill", time.Since(created).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
			if evs := allEvents(t, c2, "order.succeeded", o.ID); len(evs) != 1 {
				t.Fatalf("%d order.succeeded events, want exactly 1", len(evs))
			}
			p2.cmd.Process.Signal(syscall.SIGTERM)
			p2.cmd.Wait()
			out, err := exec.Command(paygateBinary(t), "ledger", "verify", "--database", database).CombinedOutput()
			if err != nil {
				t.Fatalf("ledger verify after the restart: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "ledger verify: ok") || !strings.Contains(string(out), "entries: 1,") {
				t.Fatalf("ledger verify said: %s; want ok with the one payment entry", out)
			}
		})
	}
}
