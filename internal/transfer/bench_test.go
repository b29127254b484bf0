package transfer_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
	"github.com/paygate/paygate/internal/transfer"
)

// BenchmarkTransfer makes sandbox transfers of one merchant in parallel:
// each is the locked balance check, the transfer, its entry and event in
// one transaction, the sandbox's answer, and the finish with its entry and
// event in another. All contend for one merchant's balance lock, the worst
// case. go test -run XXX -bench Transfer -benchtime 5s ./internal/transfer/
func BenchmarkTransfer(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var st store.Store
			if kind == "postgres" {
				st = postgrestest.Open(b, postgrestest.URL(b))
			} else {
				st = sqlitetest.Open(b)
			}
			pe := paymenttest.New(b, paymenttest.Options{Store: st, Start: start})
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			e := &env{Env: pe, t: b,
				svc:    &transfer.Service{Store: pe.Store, Clock: pe.Clock, Channels: pe.Channels, Log: quiet},
				fx:     &fx.Service{Store: pe.Store, Clock: pe.Clock},
				settle: &settlement.Service{Store: pe.Store, Clock: pe.Clock, Log: quiet, Holder: "bench"}}
			m, sc, _ := e.Merchant(b, "Bench", 0)
			e.fund(m, sc, 1_000_000_000_000, "CNY")
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, _, err := e.svc.Create(ctx, sc, params(fmt.Sprintf("B%d", i), 1, "o-payee")); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
		})
	}
}
