package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paygate/paygate/client"
)

// BenchmarkCreateOrder measures create-order over real HTTP on loopback with
// a Bearer key, durable on each store, with one client and with 64 at once.
//
//	PAYGATE_TEST_POSTGRES=postgres://… go test -run '^$' -bench CreateOrder ./internal/gateway/
func BenchmarkCreateOrder(b *testing.B) {
	for _, kind := range storeKinds {
		for _, conc := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", kind, conc), func(b *testing.B) {
				e := start(b, kind)
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
				c, err := client.New(e.url, client.WithSecretKey(e.g.Demo.SecretKey), client.WithHTTPClient(hc))
				if err != nil {
					b.Fatal(err)
				}
				var n atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := 0; w < conc; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := n.Add(1)
							if i > int64(b.N) {
								return
							}
							if _, err := c.CreateOrder(context.Background(), orderParams(fmt.Sprintf("bench-%d", i), 100)); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
			})
		}
	}
}
