package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDeliveryBacklog measures how fast a Dispatcher empties a backlog
// of due notifications to a local receiver that answers 204 at once, on
// SQLite and PostgreSQL, with the events spread over 1 and 16 targets (apps;
// PerTarget bounds each). The backlog is 10,000 events, or
// PAYGATE_BENCH_BACKLOG:
//
//	PAYGATE_BENCH_BACKLOG=100000 go test -run '^$' -bench DeliveryBacklog -benchtime 1x ./internal/notify/
//
// It reports events/s: the backlog size over the time from starting Run to
// the store counting no pending delivery. Seeding is not timed.
func BenchmarkDeliveryBacklog(b *testing.B) {
	backlog := 10000
	if v, err := strconv.Atoi(os.Getenv("PAYGATE_BENCH_BACKLOG")); err == nil && v > 0 {
		backlog = v
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, kind := range storeKinds {
		for _, targets := range []int{1, 16} {
			b.Run(kind+"/targets="+strconv.Itoa(targets), func(b *testing.B) {
				st := openStore(b, kind)
				f := newFixture(b, st, targets, false)
				ctx := context.Background()
				var total time.Duration
				for range b.N {
					b.StopTimer()
					for i := range targets {
						f.emit(b, i, backlog/targets, srv.URL+"/hook")
					}
					d := f.dispatcher(st)
					d.Clock = nil // real time: every event is due
					b.StartTimer()
					start := time.Now()
					runCtx, cancel := context.WithCancel(ctx)
					done := make(chan struct{})
					go func() { d.Run(runCtx); close(done) }()
					for {
						n, err := st.DeliveriesPending(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if n == 0 {
							break
						}
						time.Sleep(20 * time.Millisecond) // polling the backlog
					}
					total += time.Since(start)
					cancel()
					<-done
				}
				b.ReportMetric(float64(backlog*b.N)/total.Seconds(), "events/s")
			})
		}
	}
}
