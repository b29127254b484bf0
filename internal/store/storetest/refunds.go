package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var refundTests = []test{
	{"Refund/Create", testRefundCreate},
	{"Refund/CreateRace", testRefundCreateRace},
	{"Refund/Transition", testRefundTransition},
	{"Refund/FailedGivesBack", testRefundFailedGivesBack},
	{"Refund/ListAndPending", testRefundListAndPending},
}

// refundedOf reads an order's AmountRefunded.
func (b *bundle) refundedOf(orderID string) int64 {
	b.t.Helper()
	o, err := b.s.OrderGet(b.ctx, orderID)
	b.must(err, "get order "+orderID)
	return o.AmountRefunded
}

func testRefundCreate(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 1000)
	at := t0.Add(time.Hour)
	r := b.refund(o, at, 300)
	r.Metadata = map[string]string{"ticket": "T-9"}
	r.NotifyURL = "https://shop.example/refund-notify"
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	got, err := b.s.RefundGet(b.ctx, r.ID)
	b.must(err, "get refund")
	equal(t, got, r, "refund read back")
	got, err = b.s.RefundGetByOutRefundNo(b.ctx, o.AppID, r.OutRefundNo)
	b.must(err, "get refund by out_refund_no")
	equal(t, got, r, "refund found by out_refund_no")
	equal(t, b.refundedOf(o.ID), int64(300), "AmountRefunded after a refund of 300")

	dup := b.refund(o, at, 100)
	dup.OutRefundNo = r.OutRefundNo
	wantErr(t, b.s.RefundCreate(b.ctx, dup), store.ErrConflict, "create a refund whose out_refund_no the app used")
	equal(t, b.refundedOf(o.ID), int64(300), "AmountRefunded after a refused duplicate (nothing reserved)")
	big := b.refund(o, at, 900)
	big.OutRefundNo = r.OutRefundNo
	wantErr(t, b.s.RefundCreate(b.ctx, big), store.ErrConflict, "repeat a refund request once the rest would not cover it (the conflict wins)")

	wantErr(t, b.s.RefundCreate(b.ctx, b.refund(o, at, 701)), store.ErrRefundExceeds, "refund 701 of the 700 left")
	b.must(b.s.RefundCreate(b.ctx, b.refund(o, at, 700)), "refund exactly the 700 left")
	equal(t, b.refundedOf(o.ID), int64(1000), "AmountRefunded after refunding everything")
	wantErr(t, b.s.RefundCreate(b.ctx, b.refund(o, at, 1)), store.ErrRefundExceeds, "refund a fully refunded order")

	pending := b.newOrder(t0)
	wantErr(t, b.s.RefundCreate(b.ctx, b.refund(pending, at, 1)), store.ErrStale, "refund an order that is not succeeded")
	equal(t, b.refundedOf(pending.ID), int64(0), "AmountRefunded of the pending order")
	ghost := b.order(t0)
	wantErr(t, b.s.RefundCreate(b.ctx, b.refund(ghost, at, 1)), store.ErrNotFound, "refund an order that does not exist")
	if err := b.s.RefundCreate(b.ctx, b.refund(o, at, 0)); err == nil {
		t.Fatalf("create a refund of 0: want an error, got nil")
	}

	_, err = b.s.RefundGet(b.ctx, id.New(id.Refund, t0))
	wantErr(t, err, store.ErrNotFound, "get a refund that does not exist")
	_, err = b.s.RefundGetByOutRefundNo(b.ctx, o.AppID, "nope")
	wantErr(t, err, store.ErrNotFound, "get a refund by an out_refund_no never used")
}

func testRefundCreateRace(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 1000)
	errs := race(30, func(int) error { return b.s.RefundCreate(b.ctx, b.refund(o, t0.Add(time.Hour), 100)) })
	ok, exceeded := countErrs(t, errs, store.ErrRefundExceeds, "racing RefundCreate")
	if ok != 10 || exceeded != 20 {
		t.Fatalf("30 racing refunds of 10%%: want 10 successes and 20 ErrRefundExceeds, got %d and %d", ok, exceeded)
	}
	equal(t, b.refundedOf(o.ID), int64(1000), "AmountRefunded after the race (the whole amount, no more)")
	rs, _, err := b.s.RefundList(b.ctx, store.RefundFilter{MerchantID: b.merchant.ID, OrderID: o.ID, ListParams: store.ListParams{Limit: 100}})
	b.must(err, "list refunds of the order")
	equal(t, len(rs), 10, "refunds stored after the race")
}

func testRefundTransition(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 1000)
	r := b.refund(o, t0.Add(time.Hour), 400)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")

	at := t0.Add(2 * time.Hour)
	var seenRefund *store.Refund
	var seenOrder *store.Order
	effects := refundEffects(at)
	got, err := b.s.RefundTransition(b.ctx, store.RefundTransition{
		RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: at, ChannelRefundNo: "CR-1",
		Effects: func(x *store.Refund, y *store.Order) (store.Effects, error) {
			seenRefund, seenOrder = x, y
			return effects(x, y)
		},
	})
	b.must(err, "refund succeeds")
	want := *r
	want.Status, want.UpdatedAt, want.SucceededAt, want.ChannelRefundNo = store.RefundSucceeded, at, &at, "CR-1"
	equal(t, got, &want, "refund after it succeeded")
	equal(t, seenRefund, &want, "refund given to Effects")
	if seenOrder == nil || seenOrder.ID != o.ID || seenOrder.AmountRefunded != 400 {
		t.Fatalf("order given to Effects: want order %s with 400 refunded, got %s", o.ID, show(seenOrder))
	}
	entries, err := b.s.LedgerEntries(b.ctx, r.ID)
	b.must(err, "entries of the refund")
	if len(entries) != 1 || entries[0].Kind != "refund" || len(entries[0].Lines) != 2 || entries[0].Lines[0].Amount != -400 {
		t.Fatalf("entries of the refund: want one refund entry taking 400 from the merchant, got %+v", entries)
	}

	_, err = b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundFailed, At: at})
	wantErr(t, err, store.ErrStale, "fail a succeeded refund as if pending")
	_, err = b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: id.New(id.Refund, t0), From: []store.RefundStatus{store.RefundPending}, To: store.RefundFailed, At: at})
	wantErr(t, err, store.ErrNotFound, "move a refund that does not exist")

	r2 := b.refund(o, at, 100)
	b.must(b.s.RefundCreate(b.ctx, r2), "create second refund")
	boom := errors.New("boom")
	_, err = b.s.RefundTransition(b.ctx, store.RefundTransition{
		RefundID: r2.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: at,
		Effects: func(*store.Refund, *store.Order) (store.Effects, error) { return store.Effects{}, boom },
	})
	wantErr(t, err, boom, "refund transition whose Effects fails")
	stored, err := b.s.RefundGet(b.ctx, r2.ID)
	b.must(err, "get second refund")
	equal(t, stored, r2, "refund after the failed transition (unchanged)")

	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify ledger")
	if !rep.Clean() || rep.Entries != 2 {
		t.Fatalf("ledger after a payment and a refund: want clean with 2 entries, got %+v", rep)
	}
}

func testRefundFailedGivesBack(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 1000)
	r := b.refund(o, t0.Add(time.Hour), 600)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	wantErr(t, b.s.RefundCreate(b.ctx, b.refund(o, t0.Add(time.Hour), 600)), store.ErrRefundExceeds, "a second refund of 600 while the first is pending")

	at := t0.Add(2 * time.Hour)
	var seen *store.Order
	got, err := b.s.RefundTransition(b.ctx, store.RefundTransition{
		RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundFailed, At: at,
		FailureCode: "channel_refused", FailureMessage: "account frozen",
		Effects: func(_ *store.Refund, x *store.Order) (store.Effects, error) { seen = x; return store.Effects{}, nil },
	})
	b.must(err, "refund fails")
	equal(t, [3]string{string(got.Status), got.FailureCode, got.FailureMessage}, [3]string{"failed", "channel_refused", "account frozen"}, "status and failure of the failed refund")
	equal(t, got.SucceededAt, (*time.Time)(nil), "SucceededAt of a failed refund")
	if seen == nil || seen.AmountRefunded != 0 {
		t.Fatalf("order given to Effects of a failed refund: want AmountRefunded 0 (given back), got %s", show(seen))
	}
	equal(t, b.refundedOf(o.ID), int64(0), "AmountRefunded after the refund failed")

	// Failing it again must not give the amount back twice, whatever From says.
	_, err = b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending, store.RefundFailed}, To: store.RefundFailed, At: at})
	wantErr(t, err, store.ErrStale, "fail a failed refund again")
	equal(t, b.refundedOf(o.ID), int64(0), "AmountRefunded after failing a failed refund")

	b.must(b.s.RefundCreate(b.ctx, b.refund(o, at, 1000)), "refund the whole amount once the failed refund gave it back")
}

func testRefundListAndPending(t *testing.T, b *bundle) {
	o1 := b.paidOrder(t0, 10000)
	o2 := b.paidOrder(t0, 10000)
	var all, ofO2, succeeded []string
	for i := range 8 {
		o := o1
		if i%2 == 1 {
			o = o2
		}
		at := t0.Add(time.Duration(i+1) * time.Minute)
		r := b.refund(o, at, 100)
		b.must(b.s.RefundCreate(b.ctx, r), fmt.Sprintf("create refund %d", i))
		if i%4 == 0 {
			_, err := b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: t0.Add(time.Hour), Effects: refundEffects(t0.Add(time.Hour))})
			b.must(err, "refund succeeds")
			succeeded = append(succeeded, r.ID)
		}
		if o == o2 {
			ofO2 = append(ofO2, r.ID)
		}
		all = append(all, r.ID)
	}
	for _, s := range [][]string{all, ofO2, succeeded} {
		slices.Reverse(s)
	}
	list := func(f store.RefundFilter) func(store.ListParams) ([]string, bool, error) {
		return func(p store.ListParams) ([]string, bool, error) {
			f.MerchantID, f.ListParams = b.merchant.ID, p
			rs, more, err := b.s.RefundList(b.ctx, f)
			return ids(rs, func(r *store.Refund) string { return r.ID }), more, err
		}
	}
	checkPages(t, "refunds", all, list(store.RefundFilter{}))
	checkPages(t, "refunds of one order", ofO2, list(store.RefundFilter{OrderID: o2.ID}))
	got, _, err := list(store.RefundFilter{Status: store.RefundSucceeded})(store.ListParams{})
	b.must(err, "list succeeded refunds")
	equal(t, got, succeeded, "succeeded refunds")
	got, _, err = list(store.RefundFilter{Livemode: true})(store.ListParams{})
	b.must(err, "list live refunds")
	equal(t, len(got), 0, "live refunds (all were in test mode)")

	pending, err := b.s.RefundsPending(b.ctx, t0.Add(5*time.Minute), 10)
	b.must(err, "list pending refunds")
	// Refunds 1, 2 and 3 are pending and were updated at t0+2m, t0+3m, t0+4m.
	want := []string{all[6], all[5], all[4]}
	equal(t, ids(pending, func(r *store.Refund) string { return r.ID }), want, "pending refunds updated before t0+5m, least recently updated first")
	pending, err = b.s.RefundsPending(b.ctx, t0.Add(time.Hour), 2)
	b.must(err, "list 2 pending refunds")
	equal(t, ids(pending, func(r *store.Refund) string { return r.ID }), want[:2], "first 2 pending refunds")
}
