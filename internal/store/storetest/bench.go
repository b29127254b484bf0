package storetest

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Bench measures the store's hot writes on s: an order insert, and a payment
// success (the compare-and-set with its journal entry and event), each from
// one goroutine and from 64 at once. Drivers call it from their own
// benchmarks:
//
//	go test -run '^$' -bench Store ./internal/store/sqlite/ ./internal/store/postgres/
func Bench(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := &store.Merchant{ID: id.New(id.Merchant, now), Name: "bench", Timezone: "Asia/Shanghai", SettlementCurrency: "CNY", FeeRateBps: 60, CreatedAt: now}
	if err := s.MerchantCreate(ctx, m); err != nil {
		b.Fatal(err)
	}
	app := &store.App{ID: id.New(id.App, now), MerchantID: m.ID, Name: "bench", WebhookSecretSealed: "x", CreatedAt: now}
	if err := s.AppCreate(ctx, app, nil); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	newOrder := func() *store.Order {
		n := seq.Add(1)
		t := time.Now().UTC().Truncate(time.Microsecond)
		return &store.Order{ID: id.New(id.Order, t), MerchantID: m.ID, AppID: app.ID, OutTradeNo: "b" + strconv.FormatInt(n, 10),
			Amount: 1000, Currency: "CNY", Subject: "bench", Method: "sandbox", Status: store.OrderPending, Channel: "sandbox",
			Metadata: map[string]string{"k": "v"}, RequestHash: "h", CreatedAt: t, UpdatedAt: t, ExpiresAt: t.Add(time.Hour)}
	}
	pay := func(o *store.Order) error {
		at := time.Now().UTC().Truncate(time.Microsecond)
		_, err := s.OrderTransition(ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: at, ChannelTradeNo: "t" + o.ID,
			Effects: func(after *store.Order) (store.Effects, error) {
				data, _ := json.Marshal(map[string]any{"object": map[string]any{"id": after.ID, "status": after.Status}})
				return store.Effects{
					Entries: []ledger.Entry{ledger.Payment(id.New(id.Entry, at), after.ID, after.MerchantID, after.Channel, false, after.Currency, after.Amount, 6, at)},
					Events:  []*store.Event{{ID: id.New(id.Event, at), Type: "order.succeeded", MerchantID: after.MerchantID, AppID: after.AppID, ObjectType: "order", ObjectID: after.ID, Data: data, CreatedAt: at}},
				}, nil
			}})
		return err
	}
	for _, conc := range []int{1, 64} {
		b.Run("OrderCreate/goroutines="+strconv.Itoa(conc), func(b *testing.B) {
			runConcurrent(b, conc, func() error { return s.OrderCreate(ctx, newOrder()) })
		})
		b.Run("PaymentSucceeded/goroutines="+strconv.Itoa(conc), func(b *testing.B) {
			orders := make(chan *store.Order, b.N)
			for i := 0; i < b.N; i++ {
				o := newOrder()
				if err := s.OrderCreate(ctx, o); err != nil {
					b.Fatal(err)
				}
				orders <- o
			}
			close(orders)
			b.ResetTimer()
			runConcurrent(b, conc, func() error { return pay(<-orders) })
		})
	}
}

// runConcurrent runs f b.N times from conc goroutines, stopping at the first error.
func runConcurrent(b *testing.B, conc int, f func() error) {
	var n atomic.Int64
	errs := make(chan error, conc)
	for w := 0; w < conc; w++ {
		go func() {
			for n.Add(1) <= int64(b.N) {
				if err := f(); err != nil {
					n.Store(int64(b.N))
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < conc; w++ {
		if err := <-errs; err != nil {
			b.Error(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
