package gateway_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// TestDuplicatePayerActions sends the payer's "paid" ten times at once, as a
// channel repeating its callback would: the order is paid once, with one
// journal entry and one order.succeeded event.
func TestDuplicatePayerActions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o, err := e.demo.CreateOrder(ctx, orderParams("dup-1", 1000))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Every call after the first sees a paid order: 409 order_already_paid, or the paid order.
				e.demo.TestPayOrder(ctx, o.ID, "succeeded")
			}()
		}
		wg.Wait()
		entries, err := e.g.Store.LedgerEntries(ctx, o.ID)
		if err != nil || len(entries) != 1 || entries[0].Kind != ledger.KindPayment {
			t.Fatalf("journal entries of the order = %+v, %v; want exactly one payment", entries, err)
		}
		events, _, err := e.g.Store.EventList(ctx, store.EventFilter{MerchantID: e.g.Demo.App.MerchantID, ObjectID: o.ID, ListParams: store.ListParams{Limit: 100}})
		if err != nil || len(events) != 1 || events[0].Type != "order.succeeded" {
			t.Fatalf("events of the order = %d, %v; want one order.succeeded", len(events), err)
		}
		e.verifyLedger()
	})
}

// TestRefundLeftPendingByACrash plays a crash between a refund's reservation
// and the channel call: the refund row is pending and the channel never
// heard of it. The worker asks the channel again and finishes it, with its
// journal entry.
func TestRefundLeftPendingByACrash(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := paidOrder(t, e.demo, "crash-rf", 5000)
		now := e.clock.Now().UTC().Truncate(time.Microsecond)
		r := &store.Refund{ID: id.New(id.Refund, now), OrderID: o.ID, MerchantID: e.g.Demo.App.MerchantID, AppID: o.AppID,
			OutRefundNo: "crash-rf-1", Amount: 2000, Currency: "CNY", Status: store.RefundPending, Channel: "sandbox",
			RequestHash: "h", CreatedAt: now, UpdatedAt: now}
		if err := e.g.Store.RefundCreate(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.demo.GetOrder(ctx, o.ID); got.AmountRefunded != 2000 {
			t.Fatalf("the pending refund reserves %d, want 2000", got.AmountRefunded)
		}
		e.g.Worker.RunOnce(ctx) // too recent: left alone
		if got, _ := e.demo.GetRefund(ctx, r.ID); got.Status != "pending" {
			t.Fatalf("a fresh pending refund was retried at once: %s", got.Status)
		}
		e.clock.Advance(10 * time.Second)
		e.g.Worker.RunOnce(ctx)
		got, err := e.demo.GetRefund(ctx, r.ID)
		if err != nil || got.Status != "succeeded" {
			t.Fatalf("after the worker, refund = %+v, %v; want succeeded", got, err)
		}
		bal, _ := e.demo.GetBalance(ctx)
		// 5000 paid less the 30 fee (60 bps), 2000 refunded.
		if len(bal.Pending) != 1 || bal.Pending[0].Amount != 5000-30-2000 {
			t.Fatalf("pending balance = %+v, want 2970", bal.Pending)
		}
		e.verifyLedger()
	})
}
