package billing_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
)

// BenchmarkRenewals times the worker's renewal pass against the sandbox:
// N subscriptions on active card agreements, seeded due straight into the
// store, are each renewed (the next period and its invoice, one
// compare-and-set transaction), charged (an order through the payment
// path: insert, the sandbox's charge, the succeeded transition with its
// ledger entry and event) and settled (the invoice paid). It reports
// renewals charged per second.
//
//	go test ./internal/billing -run '^$' -bench Renewals -benchtime 3x
//	PAYGATE_TEST_POSTGRES=postgres://… go test ./internal/billing -run '^$' -bench Renewals/postgres -benchtime 3x
func BenchmarkRenewals(b *testing.B) {
	const n = 500
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
			opts := paymenttest.Options{}
			if kind == "postgres" {
				if os.Getenv("PAYGATE_TEST_POSTGRES") == "" {
					b.Skip("PAYGATE_TEST_POSTGRES is not set")
				}
				opts.Store = postgrestest.Open(b, postgrestest.URL(b))
			}
			pe := paymenttest.New(b, opts)
			e := &env{Env: pe}
			e.b = newBilling(pe, "bench")
			pe.Payments.Sources, pe.Payments.OrderSettled = e.b, e.b.OrderSettled
			e.m, e.sc, _ = pe.Merchant(b, "Bench shop", 60)
			prod := must(e.b.CreateProduct(ctx, e.sc, billing.ProductParams{Name: "Plan"}))
			price := must(e.b.CreatePrice(ctx, e.sc, billing.PriceParams{Product: prod.ID, Amount: 990, Currency: "CNY", Interval: "month"}))
			var renewed int
			var elapsed time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				now := pe.Clock.Now().UTC().Truncate(time.Microsecond)
				seedDue(b, e, price, n, now)
				b.StartTimer()
				start := time.Now()
				steps, err := e.b.ProcessDue(ctx, "", now)
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				renewed += steps / 2 // a renewal and its collection
				pe.Clock.Advance(24 * time.Hour)
			}
			b.StopTimer()
			if renewed != n*b.N {
				b.Fatalf("renewed %d, want %d", renewed, n*b.N)
			}
			b.ReportMetric(float64(renewed)/elapsed.Seconds(), "renewals/s")
		})
	}
}

// seedDue inserts n customers with an active card agreement each and a
// monthly subscription whose period ended a minute before now.
func seedDue(b *testing.B, e *env, price *store.Price, n int, now time.Time) {
	b.Helper()
	c := context.Background()
	start := now.AddDate(0, -1, 0).Add(-time.Minute)
	for i := range n {
		cus := &store.Customer{ID: id.New(id.Customer, now), MerchantID: e.sc.MerchantID, Livemode: false, CreatedAt: now}
		if err := e.Store.CustomerCreate(c, cus); err != nil {
			b.Fatal(err)
		}
		agrID := id.New(id.Agreement, now)
		a := &store.Agreement{ID: agrID, MerchantID: e.sc.MerchantID, AppID: e.sc.AppID, CustomerID: cus.ID, Method: "card.agreement",
			Channel: "sandbox", ChannelAccountID: channelaccount.SandboxAccountID, ChannelAgreementNo: "sbxa_100000_" + agrID[len(id.Agreement):],
			Status: store.AgreementActive, Description: "Plan", MaxAmountPerCharge: 100000, Currency: "CNY", Period: "month",
			CreatedAt: now, UpdatedAt: now, ActivatedAt: &now}
		if err := e.Store.AgreementCreate(c, a); err != nil {
			b.Fatal(err)
		}
		end := start.AddDate(0, 1, 0)
		sub := &store.Subscription{ID: id.New(id.Subscription, now), MerchantID: e.sc.MerchantID, AppID: e.sc.AppID, CustomerID: cus.ID,
			PriceID: price.ID, Quantity: 1, Status: store.SubscriptionActive, AgreementID: a.ID, BillingCycleAnchor: start,
			CurrentPeriodStart: start, CurrentPeriodEnd: end, RenewsAt: &end, AfterDunning: "cancel", CreatedAt: start, UpdatedAt: start,
			Metadata: map[string]string{"n": fmt.Sprint(i)}}
		if err := e.Store.InTx(c, func(tx store.Tx) error { return tx.SubscriptionCreate(c, sub) }); err != nil {
			b.Fatal(err)
		}
	}
}
