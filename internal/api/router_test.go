package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestFirstRequestsAtOnce sends many requests at the same moment to servers
// that have not routed anything yet. The router is built on first use, and
// it was once built without synchronisation: a request that arrived while
// another was still registering routes was answered 404 route_not_found or
// 405 (seen as rare errors at the start of `paygate bench`). Every request
// must find its route; run with -race, the detector also catches it.
func TestFirstRequestsAtOnce(t *testing.T) {
	for round := range 20 {
		s := &Server{Log: slog.New(slog.DiscardHandler)}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		bad := map[string]int{}
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil)
				if i%2 == 1 {
					// An operator route at the end of the table, the last a
					// half-built router gets: without a token it is 401,
					// never 404 or 405.
					req = httptest.NewRequest(http.MethodDelete, "/admin/v1/merchants/mch_1/routes/wechat.native", nil)
				}
				<-start
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed || (i%2 == 0 && rec.Code != http.StatusOK) {
					mu.Lock()
					bad[req.Method+" "+req.URL.Path+" → "+http.StatusText(rec.Code)]++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(bad) > 0 {
			t.Fatalf("round %d: requests that did not find their route: %v", round, bad)
		}
	}
}
