package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

var txTests = []test{
	{"Tx/ComposesAndCommits", testTxComposes},
	{"Tx/ErrorRollsBackEverything", testTxRollsBack},
	{"Tx/RepeatedPostingConflicts", testTxRepeatedPosting},
	{"Tx/ManyPostingsToOneAccount", testTxManyPostings},
}

// testTxManyPostings posts more entries to one pair of accounts in one
// transaction than a balance has shards, so two of them land on one shard
// row: the store must still add every one (PostgreSQL's write-behind
// transactions may not send two upserts of one row in one statement).
func testTxManyPostings(t *testing.T, b *bundle) {
	const n = 80
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		for i := range n {
			e := ledger.Entry{ID: id.New(id.Entry, t0), Kind: "adjustment", RefID: fmt.Sprintf("adj_many_%d", i), CreatedAt: t0,
				Lines: []ledger.Line{{Account: "many:a", Currency: "CNY", Amount: int64(i + 1)}, {Account: "many:b", Currency: "CNY", Amount: -int64(i + 1)}}}
			if err := tx.LedgerPost(b.ctx, t0, e); err != nil {
				return err
			}
		}
		return nil
	}), "post many entries in one transaction")
	bals, err := b.s.Balances(b.ctx, "many:")
	b.must(err, "balances")
	equal(t, bals, []ledger.Balance{{Account: "many:a", Currency: "CNY", Amount: n * (n + 1) / 2}, {Account: "many:b", Currency: "CNY", Amount: -n * (n + 1) / 2}},
		"balances after the postings")
}

// txPayment is what a use case composed of Tx queries writes for a payment:
// the compare-and-set, its entry and its event, as three calls.
func txPayment(b *bundle, tx store.Tx, o *store.Order) (*store.Order, error) {
	after, err := tx.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: t0, Channel: "sandbox",
	})
	if err != nil {
		return nil, err
	}
	m, err := tx.MerchantGet(b.ctx, after.MerchantID)
	if err != nil {
		return nil, err
	}
	entry := ledger.Payment(id.New(id.Entry, t0), after.ID, after.MerchantID, "sandbox", after.Livemode, after.Currency, after.Amount, after.Amount*int64(m.FeeRateBps)/10000, t0)
	if err := tx.LedgerPost(b.ctx, t0, entry); err != nil {
		return nil, err
	}
	ev := &store.Event{Type: "order.succeeded", MerchantID: after.MerchantID, AppID: after.AppID, Livemode: after.Livemode,
		ObjectType: "order", ObjectID: after.ID, Data: json.RawMessage(`{"id":"` + after.ID + `"}`)}
	return after, tx.EventAdd(b.ctx, t0, ev)
}

func testTxComposes(t *testing.T, b *bundle) {
	o := b.newOrder(t0, func(o *store.Order) { o.Amount = 10000 })
	var inside *store.Order
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		var err error
		if inside, err = txPayment(b, tx, o); err != nil {
			return err
		}
		// The transaction reads its own writes.
		again, err := tx.OrderGet(b.ctx, o.ID)
		if err != nil {
			return err
		}
		equal(t, again.Status, store.OrderSucceeded, "status read back inside the transaction")
		return nil
	}), "pay in one transaction")
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, got.Status, store.OrderSucceeded, "status after commit")
	equal(t, inside.Status, store.OrderSucceeded, "status returned by the transition")
	bal, err := b.s.Balances(b.ctx, ledger.MerchantPrefix(b.merchant.ID, false))
	b.must(err, "balances")
	equal(t, bal, []ledger.Balance{{Account: ledger.MerchantPending(b.merchant.ID, false), Currency: "CNY", Amount: 9940}}, "merchant's pending balance after a 10000 payment less 60 bps")
	evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ObjectID: o.ID, ListParams: store.ListParams{Limit: 10}})
	b.must(err, "list events")
	equal(t, len(evs), 1, "events of the order")
	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	if !rep.Clean() {
		t.Fatalf("ledger after a composed payment: %+v", rep)
	}
}

func testTxRollsBack(t *testing.T, b *bundle) {
	o := b.newOrder(t0)
	boom := errors.New("boom after every write")
	err := b.s.InTx(b.ctx, func(tx store.Tx) error {
		if _, err := txPayment(b, tx, o); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom, "InTx returns fn's error")
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, got.Status, store.OrderPending, "status after the rolled-back transaction")
	bal, err := b.s.Balances(b.ctx, "")
	b.must(err, "balances")
	equal(t, len(bal), 0, "balances after the rolled-back transaction")
	entries, err := b.s.LedgerEntries(b.ctx, o.ID)
	b.must(err, "entries")
	equal(t, len(entries), 0, "entries after the rolled-back transaction")
	evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ListParams: store.ListParams{Limit: 10}})
	b.must(err, "list events")
	equal(t, len(evs), 0, "events after the rolled-back transaction")

	// The store is usable after a rollback, and the same work then commits.
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { _, err := txPayment(b, tx, o); return err }), "pay after the rollback")
}

func testTxRepeatedPosting(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 500)
	// The order already has its payment entry: posting another is refused,
	// and takes the transaction's other writes with it.
	again := ledger.Payment(id.New(id.Entry, t0), o.ID, o.MerchantID, "sandbox", false, "CNY", 500, 5, t0)
	err := b.s.InTx(b.ctx, func(tx store.Tx) error {
		if _, err := tx.OrderTransition(b.ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderSucceeded}, To: store.OrderSucceeded, At: t0}); err != nil {
			return err
		}
		return tx.LedgerPost(b.ctx, t0, again)
	})
	wantErr(t, err, store.ErrConflict, "a second payment entry of one order")
	entries, err := b.s.LedgerEntries(b.ctx, o.ID)
	b.must(err, "entries")
	equal(t, len(entries), 1, "entries of the order")
	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	if !rep.Clean() {
		t.Fatalf("ledger after a refused repeat: %+v", rep)
	}
}
