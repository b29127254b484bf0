package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

var profitSharingTests = []test{
	{"ProfitSharingReceivers", testProfitSharingReceivers},
	{"ProfitSharingOrderState", testProfitSharingOrderState},
	{"ProfitSharings", testProfitSharings},
}

// testProfitSharingReceivers: a receiver is unique per merchant, mode,
// type and account; it is found by id only in its merchant's mode.
func testProfitSharingReceivers(t *testing.T, b *bundle) {
	r := &store.ProfitSharingReceiver{ID: id.New(id.ProfitSharingReceiver, t0), MerchantID: b.merchant.ID, Type: "sandbox", Account: "buyer-1", CreatedAt: t0}
	b.must(b.s.ProfitSharingReceiverCreate(b.ctx, r), "create receiver")
	dup := *r
	dup.ID = id.New(id.ProfitSharingReceiver, t0)
	if err := b.s.ProfitSharingReceiverCreate(b.ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same receiver twice: %v", err)
	}
	if got, err := b.s.ProfitSharingReceiverFind(b.ctx, b.merchant.ID, false, "sandbox", "buyer-1"); err != nil || got.ID != r.ID {
		t.Fatalf("find: %v %+v", err, got)
	}
	if _, err := b.s.ProfitSharingReceiverGet(b.ctx, b.merchant.ID, true, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get in live mode: %v", err)
	}
	list, more, err := b.s.ProfitSharingReceiverList(b.ctx, b.merchant.ID, false, store.ListParams{})
	if err != nil || more || len(list) != 1 || list[0].ID != r.ID {
		t.Fatalf("list: %v %v %+v", err, more, list)
	}
}

// paidForSharing pays an order of amount whose net (1% fee) goes to the
// merchant's profit_sharing account.
func (b *bundle) paidForSharing(at time.Time, amount int64) *store.Order {
	b.t.Helper()
	o := b.newOrder(at, func(o *store.Order) { o.Amount, o.ProfitSharing = amount, true })
	got, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: at, Channel: "sandbox",
		Effects: func(o *store.Order) (store.Effects, error) {
			return store.Effects{Entries: []ledger.Entry{ledger.PaymentHeld(id.New(id.Entry, at), o.ID, o.MerchantID, "sandbox", false, o.Currency, o.Amount, o.Amount/100, at)}}, nil
		},
	})
	b.must(err, "pay order for sharing")
	if !got.ProfitSharing {
		b.t.Fatal("the order lost its profit_sharing flag")
	}
	return got
}

// testProfitSharingOrderState: an order's sharing state is made from its
// payment the first time it is locked, kept by Put, and listed for the
// release until finished; a refund's hold is released once.
func testProfitSharingOrderState(t *testing.T, b *bundle) {
	o := b.paidForSharing(t0, 10000)
	plain := b.paidOrder(t0, 500)
	if st, err := b.s.ProfitSharingOrderGet(b.ctx, o.ID); err != nil || st.Net != 9900 || st.Held != 9900 {
		t.Fatalf("state before any lock: %v %+v", err, st)
	}
	if ids, err := b.s.ProfitSharingOrdersToRelease(b.ctx, t0, 10); err != nil || len(ids) != 1 || ids[0] != o.ID {
		t.Fatalf("to release: %v %v", err, ids)
	}
	err := b.s.InTx(b.ctx, func(tx store.Tx) error {
		if _, err := tx.ProfitSharingOrderLock(b.ctx, plain.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("lock of an order paid without sharing: %v", err)
		}
		st, err := tx.ProfitSharingOrderLock(b.ctx, o.ID)
		if err != nil {
			return err
		}
		st.Held, st.Released, st.FinishedAt = 0, 9900, &t0
		if err := tx.ProfitSharingOrderPut(b.ctx, st); err != nil {
			return err
		}
		if err := tx.ProfitSharingRefundHold(b.ctx, "rfd_x", o.ID, 100); err != nil {
			return err
		}
		if n, err := tx.ProfitSharingRefundRelease(b.ctx, "rfd_x"); err != nil || n != 100 {
			t.Errorf("release hold: %v %d", err, n)
		}
		if _, err := tx.ProfitSharingRefundRelease(b.ctx, "rfd_x"); !errors.Is(err, store.ErrStale) {
			t.Errorf("release a hold twice: %v", err)
		}
		return nil
	})
	b.must(err, "lock and put")
	if st, err := b.s.ProfitSharingOrderGet(b.ctx, o.ID); err != nil || st.Held != 0 || st.Released != 9900 || st.FinishedAt == nil {
		t.Fatalf("state after put: %v %+v", err, st)
	}
	if ids, err := b.s.ProfitSharingOrdersToRelease(b.ctx, t0, 10); err != nil || len(ids) != 0 {
		t.Fatalf("to release after the finish: %v %v", err, ids)
	}
}

// testProfitSharings: a sharing is unique per app and out_order_no, seen
// only in its merchant's scope, changed once from processing, listed by
// order and due for a query at its time.
func testProfitSharings(t *testing.T, b *bundle) {
	o := b.paidForSharing(t0, 10000)
	p := &store.ProfitSharing{ID: id.New(id.ProfitSharing, t0), MerchantID: b.merchant.ID, AppID: b.app.ID, OrderID: o.ID, OutOrderNo: "S1",
		Amount: 300, Currency: "CNY", Receivers: []store.ProfitSharingShare{{Receiver: "rcv_x", Type: "sandbox", Account: "a", Amount: 300}},
		Status: store.ProfitSharingProcessing, Channel: "sandbox", NextQueryAt: t0.Add(time.Minute), CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.ProfitSharingCreate(b.ctx, p) }), "create sharing")
	dup := *p
	dup.ID = id.New(id.ProfitSharing, t0)
	if err := b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.ProfitSharingCreate(b.ctx, &dup) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same out_order_no twice: %v", err)
	}
	if got, err := b.s.ProfitSharingGetByOutOrderNo(b.ctx, b.app.ID, "S1"); err != nil || got.ID != p.ID || len(got.Receivers) != 1 || got.Receivers[0].Amount != 300 {
		t.Fatalf("by out_order_no: %v %+v", err, got)
	}
	other := b.newMerchant()
	if _, err := b.s.ProfitSharingGetInScope(b.ctx, store.Scope{MerchantID: other.ID}, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another merchant's sharing: %v", err)
	}
	if due, err := b.s.ProfitSharingsDue(b.ctx, t0, 10); err != nil || len(due) != 0 {
		t.Fatalf("due early: %v %d", err, len(due))
	}
	if due, err := b.s.ProfitSharingsDue(b.ctx, t0.Add(time.Minute), 10); err != nil || len(due) != 1 {
		t.Fatalf("due: %v %d", err, len(due))
	}
	err := b.s.InTx(b.ctx, func(tx store.Tx) error {
		if busy, err := tx.ProfitSharingProcessing(b.ctx, o.ID); err != nil || !busy {
			t.Errorf("processing: %v %v", err, busy)
		}
		got, err := tx.ProfitSharingTransition(b.ctx, store.ProfitSharingTransition{ID: p.ID, To: store.ProfitSharingSucceeded, At: t0, ChannelSharingNo: "CH1"})
		if err != nil || got.Status != store.ProfitSharingSucceeded || got.ChannelSharingNo != "CH1" || got.FinishedAt == nil {
			t.Errorf("finish: %v %+v", err, got)
		}
		if _, err := tx.ProfitSharingTransition(b.ctx, store.ProfitSharingTransition{ID: p.ID, To: store.ProfitSharingFailed, At: t0}); !errors.Is(err, store.ErrStale) {
			t.Errorf("finish twice: %v", err)
		}
		return nil
	})
	b.must(err, "transition")
	list, _, err := b.s.ProfitSharingList(b.ctx, b.scope(), o.ID, store.ListParams{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %d", err, len(list))
	}
}
