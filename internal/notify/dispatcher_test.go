package notify_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/notify/notifytest"
	"github.com/paygate/paygate/internal/store"
)

func eachStore(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}

// attemptsOf returns the attempts of ev's deliveries, oldest first.
func attemptsOf(t *testing.T, st store.Store, ev *store.Event) []*store.DeliveryAttempt {
	t.Helper()
	as, err := st.DeliveryAttempts(context.Background(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func deliveriesOf(t *testing.T, st store.Store, ev *store.Event) []*store.Delivery {
	t.Helper()
	ds, err := st.DeliveryList(context.Background(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func runOnce(t *testing.T, ctx context.Context, run func(context.Context) (int, error), want int) {
	t.Helper()
	n, err := run(ctx)
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if n != want {
		t.Fatalf("RunOnce attempted %d deliveries, want %d", n, want)
	}
}

// TestRefusedAddressesAtDelivery stores URLs the API would refuse (as if a
// name now resolved elsewhere) and checks that the connect-time guard
// refuses them: the receiver, which would answer 200, sees nothing.
func TestRefusedAddressesAtDelivery(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		rcv := notifytest.New(t)
		st := openStore(t, kind)
		live := newFixture(t, st, 1, true)
		test := newFixture(t, st, 1, false)
		port := strings.TrimPrefix(rcv.URL(""), "http://127.0.0.1")
		cases := []struct {
			f      *fixture
			url    string
			reason string
		}{
			{live, "https://localhost" + port + "/hook", "loopback"}, // a name resolving to loopback, live mode
			{live, "https://127.0.0.1" + port + "/hook", "loopback"},
			{live, "http://93.184.216.34/hook", "https only"},
			{test, "http://10.255.255.1:9/hook", "private"},
			{test, "http://169.254.169.254/latest/meta-data/", "cloud metadata"},
			{test, "http://[fe80::1]:9/", "link-local"},
		}
		var evs []*store.Event
		for _, c := range cases {
			evs = append(evs, c.f.emit(t, 0, 1, c.url)[0])
		}
		d := live.dispatcher(st)
		d.Clock = test.clock // made second: every event is due by it
		runOnce(t, ctx, d.RunOnce, len(cases))
		for i, c := range cases {
			as := attemptsOf(t, st, evs[i])
			if len(as) != 1 {
				t.Fatalf("%s: %d attempts, want 1", c.url, len(as))
			}
			if as[0].StatusCode != 0 || !strings.Contains(as[0].Error, c.reason) {
				t.Errorf("%s: attempt = %d %q, want no response and an error about %q", c.url, as[0].StatusCode, as[0].Error, c.reason)
			}
			if ds := deliveriesOf(t, st, evs[i]); ds[0].Status != store.DeliveryPending || ds[0].Attempts != 1 {
				t.Errorf("%s: delivery %s with %d attempts, want pending for a retry", c.url, ds[0].Status, ds[0].Attempts)
			}
		}
		if n := len(rcv.Requests()); n != 0 {
			t.Fatalf("the receiver got %d requests through refused addresses", n)
		}
	})
}

// TestRedirectIsNotFollowed checks that a 3xx is a failed attempt and that
// its Location is not visited.
func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, "sqlite")
	f := newFixture(t, st, 1, false)
	rcv := notifytest.New(t)
	rcv.Verify("", f.secrets[0])
	rcv.Clock(f.clock.Now)
	rcv.Respond(func(w http.ResponseWriter, r *http.Request) int {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return http.StatusFound
	})
	ev := f.emit(t, 0, 1, rcv.URL("/hook"))[0]
	runOnce(t, ctx, f.dispatcher(st).RunOnce, 1)
	as := attemptsOf(t, st, ev)
	if len(as) != 1 || as[0].StatusCode != 302 || !strings.Contains(as[0].Error, "redirects are not followed") {
		t.Fatalf("attempts = %+v, want one failed 302", as)
	}
	if reqs := rcv.Requests(); len(reqs) != 1 || reqs[0].Path != "/hook" {
		t.Fatalf("receiver requests = %+v, want only /hook", reqs)
	}
}

// TestSlowTargetDoesNotStarveOthers holds every request to one target and
// checks, for RunOnce and for Run, that it never has more than PerTarget in
// flight while another target's notifications, made after its backlog, all
// go through.
func TestSlowTargetDoesNotStarveOthers(t *testing.T) {
	for _, mode := range []string{"RunOnce", "Run"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, "sqlite")
			f := newFixture(t, st, 2, false)
			slow, fast := notifytest.New(t), notifytest.New(t)
			for i, r := range []*notifytest.Receiver{slow, fast} {
				r.Verify("", f.secrets[i])
				r.Clock(f.clock.Now)
			}
			slow.Hang()
			slowEvents := f.emit(t, 0, 20, slow.URL("/slow"))
			fastEvents := f.emit(t, 1, 5, fast.URL("/fast"))
			d := f.dispatcher(st)
			d.PerTarget, d.Concurrency, d.Timeout, d.Batch = 4, 8, 30*time.Second, 8

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			go func() {
				if mode == "Run" {
					d.Run(ctx)
					done <- -1
					return
				}
				n, err := d.RunOnce(ctx)
				if err != nil {
					t.Error(err)
				}
				done <- n
			}()
			fastDone := fast.Await(20*time.Second, func() bool { return len(fast.Requests()) >= len(fastEvents) })
			if !fastDone || !slow.Await(20*time.Second, func() bool { return slow.InFlight("/slow") >= 4 }) {
				t.Fatalf("fast target got %d of %d while the slow one holds %d", len(fast.Requests()), len(fastEvents), slow.InFlight("/slow"))
			}
			if m := slow.MaxInFlight("/slow"); m != 4 {
				t.Fatalf("slow target had at most %d requests in flight, want PerTarget = 4", m)
			}
			slow.Status(http.StatusOK)
			slow.Release()
			if mode == "Run" {
				slow.Await(20*time.Second, func() bool { return len(slow.IDs()) >= len(slowEvents) })
				cancel()
			}
			if n := <-done; mode == "RunOnce" && n != len(slowEvents)+len(fastEvents) {
				t.Fatalf("RunOnce attempted %d, want %d", n, len(slowEvents)+len(fastEvents))
			}
			if got := len(slow.IDs()); got != len(slowEvents) {
				t.Fatalf("slow target got %d distinct events, want %d", got, len(slowEvents))
			}
			if m := slow.MaxInFlight("/slow"); m != 4 {
				t.Fatalf("slow target had at most %d requests in flight, want PerTarget = 4", m)
			}
		})
	}
}

// TestTwoDispatchersNeverOverlap runs two Dispatchers, each on its own
// connections to one database (two nodes), over one batch of events: every
// event arrives, exactly once, and no delivery is ever in flight twice.
func TestTwoDispatchersNeverOverlap(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		st1, st2 := openTwice(t, kind)
		f := newFixture(t, st1, 4, false)
		rcv := notifytest.New(t)
		rcv.Verify("", f.secrets...)
		const perApp = 100
		var evs []*store.Event
		for i := range f.apps {
			// One path per app, each verified with its app's secret.
			path := "/app" + string(rune('a'+i))
			rcv.Verify(path, f.secrets[i])
			evs = append(evs, f.emit(t, i, perApp, rcv.URL(path))...)
		}
		rcv.Respond(func(w http.ResponseWriter, r *http.Request) int {
			time.Sleep(time.Millisecond) // a receiver that takes a moment, so claims interleave with attempts
			w.WriteHeader(http.StatusNoContent)
			return http.StatusNoContent
		})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, st := range []store.Store{st1, st2} {
			d := f.dispatcher(st)
			d.Clock = nil // real time: the fixture's fake clock is at creation time, so everything is due
			d.Batch = 16
			wg.Add(1)
			go func() { defer wg.Done(); d.Run(ctx) }()
		}
		rcv.Await(60*time.Second, func() bool { return len(rcv.IDs()) >= len(evs) })
		cancel()
		wg.Wait()
		got := rcv.IDs()
		for _, ev := range evs {
			switch got[ev.ID] {
			case 0:
				t.Errorf("event %s never arrived", ev.ID)
			case 1:
			default:
				t.Errorf("event %s arrived %d times; the leases never ran out, so it should have been once", ev.ID, got[ev.ID])
			}
		}
		for k, n := range rcv.MaxConcurrent() {
			if n > 1 {
				t.Errorf("%s was in flight %d times at once", k, n)
			}
		}
		if n, err := st2.DeliveriesPending(context.Background()); err != nil || n != 0 {
			t.Errorf("pending deliveries after the run = %d, %v; want 0", n, err)
		}
	})
}

// TestLoopbackAnswerNotKept: a test-mode notification may go to a loopback
// address (local development), but what a service on the gateway's own
// machine answers must not come back to the merchant: the attempt keeps
// the status code and no excerpt of the body.
func TestLoopbackAnswerNotKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, "sqlite")
	f := newFixture(t, st, 1, false)
	rcv := notifytest.New(t)
	rcv.Verify("", f.secrets[0])
	rcv.Clock(f.clock.Now)
	rcv.Respond(func(w http.ResponseWriter, r *http.Request) int {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte("redis_version:7.2.4 internal admin console"))
		return http.StatusForbidden
	})
	ev := f.emit(t, 0, 1, rcv.URL("/hook"))[0]
	runOnce(t, ctx, f.dispatcher(st).RunOnce, 1)
	as := attemptsOf(t, st, ev)
	if len(as) != 1 || as[0].StatusCode != http.StatusForbidden {
		t.Fatalf("attempts = %+v, want one answered 403", as)
	}
	if as[0].ResponseBody != "" {
		t.Fatalf("the attempt keeps %q of a loopback target's answer, want nothing", as[0].ResponseBody)
	}
}

// TestHostedRefusesLoopbackAtDelivery: on a hosted gateway a test-mode
// notification to a loopback address, stored before the gateway was
// hosted or through a name that now resolves there, is refused as it
// connects: the receiver on the gateway's machine sees nothing. The same
// delivery goes through on a gateway that is not hosted.
func TestHostedRefusesLoopbackAtDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, "sqlite")
	f := newFixture(t, st, 1, false)
	rcv := notifytest.New(t)
	rcv.Verify("", f.secrets[0])
	rcv.Clock(f.clock.Now)
	port := strings.TrimPrefix(rcv.URL(""), "http://127.0.0.1")
	evs := []*store.Event{f.emit(t, 0, 1, rcv.URL("/hook"))[0], f.emit(t, 0, 1, "http://localhost"+port+"/hook")[0]}
	hosted := f.dispatcher(st)
	hosted.Policy = notify.Policy{Hosted: true}
	runOnce(t, ctx, hosted.RunOnce, 2)
	for _, ev := range evs {
		as := attemptsOf(t, st, ev)
		if len(as) != 1 || as[0].StatusCode != 0 || !strings.Contains(as[0].Error, "hosted") {
			t.Fatalf("attempts on a hosted gateway = %+v, want one refused because the gateway is hosted", as)
		}
	}
	if n := len(rcv.Requests()); n != 0 {
		t.Fatalf("a hosted gateway sent %d notifications to loopback", n)
	}
	f.clock.Advance(time.Minute)
	runOnce(t, ctx, f.dispatcher(st).RunOnce, 2)
	if n := len(rcv.Requests()); n != 2 {
		t.Fatalf("a gateway for local development sent %d notifications to loopback, want 2", n)
	}
}
