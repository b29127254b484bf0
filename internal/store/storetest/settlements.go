package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

var settlementTests = []test{
	{"Settlements/Settings", testSettlementSettings},
	{"Settlements/CollectsReconciledOnce", testSettlementCollect},
	{"Settlements/ListScopeAndLines", testSettlementListScopeLines},
	{"Settlements/CarryAndRelease", testSettlementCarryRelease},
	{"Settlements/Transition", testSettlementTransition},
	{"Settlements/CurrenciesCursorSince", testSettlementCurrenciesCursor},
	{"Settlements/Statements", testSettlementStatements},
	{"Settlements/VerifyNoticesDamage", testSettlementVerify},
	{"Settlements/MerchantEventFansOut", testMerchantEventFansOut},
}

// reconcile records refID as reconciled with the channel's fee, as
// reconciliation would.
func (b *bundle) reconcile(refID, kind string, channelFee int64, how string) {
	b.t.Helper()
	b.must(b.exec(b.ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, ?, 'cha_test', '2026-03-14', ?, 'CNY', ?, 'rcn_test', ?)`, refID, kind, channelFee, how, t0.UnixMicro()), "reconcile "+refID)
}

// succeededRefund refunds amount of o at at, through its transition with its entry.
func (b *bundle) succeededRefund(o *store.Order, at time.Time, amount int64) *store.Refund {
	b.t.Helper()
	r := b.refund(o, at, amount)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	got, err := b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending},
		To: store.RefundSucceeded, At: at, Effects: refundEffects(at)})
	b.must(err, "refund succeeds")
	return got
}

// window is the bundle's merchant's test-mode window [from, until) in CNY.
func (b *bundle) window(from, until time.Time) store.SettlementWindow {
	return store.SettlementWindow{MerchantID: b.merchant.ID, Livemode: false, Currency: "CNY", From: from, Until: until,
		Recent: from, PendingAccount: ledger.MerchantPending(b.merchant.ID, false)}
}

// newSettlement returns an unsaved batch of the bundle's merchant.
func (b *bundle) newSettlement(day string, cutoff time.Time) *store.Settlement {
	return &store.Settlement{ID: id.New(id.Settlement, t0), MerchantID: b.merchant.ID, Currency: "CNY", Day: day,
		SettleDate: day, Timezone: "Asia/Shanghai", Cutoff: cutoff, Status: store.SettlementPending, CreatedAt: t0, UpdatedAt: t0}
}

func testSettlementSettings(t *testing.T, b *bundle) {
	_, err := b.s.SettlementSettingsGet(b.ctx, b.merchant.ID)
	wantErr(t, err, store.ErrNotFound, "settings of a merchant that has none")
	st := &store.SettlementSettings{MerchantID: b.merchant.ID, SettleDays: 2, ReserveBps: 500, ReserveDays: 30, FixedFee: 10,
		MethodFees: []store.MethodFee{{Method: "wechat.native", FeeRateBps: 38, FixedFee: 0}}, CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.SettlementSettingsPut(b.ctx, st), "put settings")
	got, err := b.s.SettlementSettingsGet(b.ctx, b.merchant.ID)
	b.must(err, "get settings")
	equal(t, got, st, "settings read back")

	later := *st
	later.SettleDays, later.MethodFees, later.UpdatedAt = 3, nil, t0.Add(time.Hour)
	b.must(b.s.SettlementSettingsPut(b.ctx, &later), "replace settings")
	got, err = b.s.SettlementSettingsGet(b.ctx, b.merchant.ID)
	b.must(err, "get settings again")
	later.MethodFees = []store.MethodFee{}
	equal(t, got, &later, "settings after the replacement (a nil list is stored as empty)")
}

// testSettlementCollect: a batch takes the reconciled payments and refunds
// of its window, with their fee and net from the ledger and the channel's
// fee from reconciliation, and nothing twice; the rest waits.
func testSettlementCollect(t *testing.T, b *bundle) {
	day := t0.Truncate(24 * time.Hour)
	p1 := b.paidOrder(t0, 10000) // fee 100 (paymentEffects takes 1%)
	p2 := b.paidOrder(t0.Add(time.Minute), 5000)
	p3 := b.paidOrder(t0.Add(2*time.Minute), 700)                // not reconciled: waits
	late := b.paidOrder(day.Add(24*time.Hour+time.Minute), 3000) // after the window
	r1 := b.succeededRefund(p1, t0.Add(3*time.Minute), 2500)
	b.reconcile(p1.ID, "payment", 60, "matched")
	b.reconcile(p2.ID, "payment", 30, "matched")
	b.reconcile(r1.ID, "refund", -15, "matched")
	b.reconcile(late.ID, "payment", 18, "matched")

	w := b.window(time.Time{}, day.Add(24*time.Hour))
	w.Recent = day
	stl := b.newSettlement("2026-03-14", w.Until)
	var n int
	var waiting store.SettlementWaiting
	var sums []store.SettlementSum
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, stl); err != nil {
			return err
		}
		var err error
		if n, err = tx.SettlementCollect(b.ctx, stl.ID, w); err != nil {
			return err
		}
		if waiting, err = tx.SettlementWaiting(b.ctx, w); err != nil {
			return err
		}
		sums, err = tx.SettlementSums(b.ctx, stl.ID)
		return err
	}), "collect a batch")
	equal(t, n, 3, "lines collected (two reconciled payments and a reconciled refund)")
	equal(t, sums, []store.SettlementSum{
		{Kind: store.LinePayment, Count: 2, Amount: 15000, Fee: 150, Net: 14850, ChannelFee: 90},
		{Kind: store.LineRefund, Count: 1, Amount: -2500, Fee: 0, Net: -2500, ChannelFee: -15},
	}, "the batch's sums by kind")
	equal(t, waiting, store.SettlementWaiting{Payments: store.Tally{Count: 1, Amount: 700}, Since: p3.PaidAt.UTC(), Recent: 1},
		"what waits: the unreconciled payment")

	lines, more, err := b.s.SettlementLines(b.ctx, stl.ID, "", 10)
	b.must(err, "lines")
	equal(t, more, false, "more lines")
	equal(t, len(lines), 3, "lines listed")
	equal(t, *lines[0], store.SettlementLine{Kind: store.LinePayment, RefID: p1.ID, SettlementID: stl.ID, Currency: "CNY",
		Amount: 10000, Fee: 100, Net: 9900, ChannelFee: 60, OccurredAt: *p1.PaidAt}, "the first payment's line")
	equal(t, *lines[2], store.SettlementLine{Kind: store.LineRefund, RefID: r1.ID, SettlementID: stl.ID, Currency: "CNY",
		Amount: -2500, Fee: 0, Net: -2500, ChannelFee: -15, OccurredAt: *r1.SucceededAt}, "the refund's line")

	// Nothing settles twice: a second batch of a later day over the same
	// window finds only what was not settled, and the batch of the same
	// merchant, mode, currency and day cannot be made again.
	again := b.newSettlement("2026-03-15", w.Until)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, again); err != nil {
			return err
		}
		var err error
		n, err = tx.SettlementCollect(b.ctx, again.ID, w)
		return err
	}), "collect the window again")
	equal(t, n, 0, "lines collected the second time")
	err = b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SettlementCreate(b.ctx, b.newSettlement("2026-03-14", w.Until)) })
	wantErr(t, err, store.ErrConflict, "a second batch of the same day")

	// Once reconciled, the waiting payment settles; an error rolls the
	// batch back whole.
	b.reconcile(p3.ID, "payment", 4, "matched")
	boom := errors.New("boom")
	rolled := b.newSettlement("2026-03-16", w.Until)
	err = b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, rolled); err != nil {
			return err
		}
		if _, err := tx.SettlementCollect(b.ctx, rolled.ID, w); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom, "a batch whose use case fails")
	_, err = b.s.SettlementGet(b.ctx, rolled.ID)
	wantErr(t, err, store.ErrNotFound, "the rolled-back batch")
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, rolled); err != nil {
			return err
		}
		var err error
		n, err = tx.SettlementCollect(b.ctx, rolled.ID, w)
		return err
	}), "collect after the reconciliation")
	equal(t, n, 1, "the formerly waiting payment settles")
}

func testSettlementListScopeLines(t *testing.T, b *bundle) {
	day := t0.Truncate(24 * time.Hour)
	var orders []*store.Order
	for i := range 5 {
		o := b.paidOrder(t0.Add(time.Duration(i)*time.Second), int64(100*(i+1)))
		b.reconcile(o.ID, "payment", 0, "matched")
		orders = append(orders, o)
	}
	w := b.window(time.Time{}, day.Add(24*time.Hour))
	stl := b.newSettlement("2026-03-14", w.Until)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, stl); err != nil {
			return err
		}
		if _, err := tx.SettlementCollect(b.ctx, stl.ID, w); err != nil {
			return err
		}
		stl.Status, stl.Gross, stl.Fees, stl.Net, stl.PaymentCount = store.SettlementPending, 1500, 15, 1485, 5
		stl.Waiting = store.SettlementWaiting{Payments: store.Tally{Count: 2, Amount: 42}}
		return tx.SettlementFinalize(b.ctx, stl)
	}), "make a batch")
	got, err := b.s.SettlementGet(b.ctx, stl.ID)
	b.must(err, "get settlement")
	stl.Waiting.Since, stl.Waiting.Recent = time.Time{}, 0 // not kept
	equal(t, got, stl, "settlement read back")

	other := b.newMerchant()
	_, err = b.s.SettlementGetInScope(b.ctx, store.Scope{MerchantID: other.ID}, stl.ID)
	wantErr(t, err, store.ErrNotFound, "another merchant's settlement")
	_, err = b.s.SettlementGetInScope(b.ctx, store.Scope{MerchantID: b.merchant.ID, Livemode: true}, stl.ID)
	wantErr(t, err, store.ErrNotFound, "the merchant's settlement seen in live mode")
	got, err = b.s.SettlementGetInScope(b.ctx, b.scope(), stl.ID)
	b.must(err, "settlement in scope")
	equal(t, got.ID, stl.ID, "settlement in scope")

	test, live := false, true
	for _, c := range []struct {
		f    store.SettlementFilter
		want int
	}{
		{store.SettlementFilter{MerchantID: b.merchant.ID, Livemode: &test}, 1},
		{store.SettlementFilter{MerchantID: b.merchant.ID, Livemode: &live}, 0},
		{store.SettlementFilter{MerchantID: other.ID}, 0},
		{store.SettlementFilter{Status: store.SettlementPending}, 1},
		{store.SettlementFilter{Status: store.SettlementPaid}, 0},
		{store.SettlementFilter{Currency: "USD"}, 0},
		{store.SettlementFilter{Day: "2026-03-14"}, 1},
		{store.SettlementFilter{Day: "2026-03-15"}, 0},
	} {
		list, _, err := b.s.SettlementList(b.ctx, c.f)
		b.must(err, "list settlements")
		equal(t, len(list), c.want, "settlements listed with filter "+show(c.f))
	}

	// Lines page in time order; the stream gives every line with the
	// merchant's numbers.
	var paged []string
	after := ""
	for {
		page, more, err := b.s.SettlementLines(b.ctx, stl.ID, after, 2)
		b.must(err, "page of lines")
		for _, l := range page {
			paged = append(paged, l.RefID)
		}
		if !more {
			break
		}
		after = page[len(page)-1].RefID
	}
	var want, outNos []string
	for _, o := range orders {
		want = append(want, o.ID)
		outNos = append(outNos, o.OutTradeNo)
	}
	equal(t, paged, want, "lines paged two at a time")
	_, _, err = b.s.SettlementLines(b.ctx, stl.ID, "ord_nosuchline", 2)
	wantErr(t, err, store.ErrNotFound, "a page after a line that is not the batch's")
	var streamed, streamedOut []string
	b.must(b.s.SettlementLinesEach(b.ctx, stl.ID, func(l *store.SettlementLine) error {
		streamed = append(streamed, l.RefID)
		streamedOut = append(streamedOut, l.OutNo)
		return nil
	}), "stream lines")
	equal(t, streamed, want, "lines streamed")
	equal(t, streamedOut, outNos, "the out_trade_no of each streamed line")
	stop := errors.New("stop")
	count := 0
	err = b.s.SettlementLinesEach(b.ctx, stl.ID, func(*store.SettlementLine) error { count++; return stop })
	wantErr(t, err, stop, "a stream whose callback fails")
	equal(t, count, 1, "lines streamed before the callback failed")
}

// testSettlementCarryRelease: an earlier batch with a negative net or a
// reserve due is open until a later batch takes it, once.
func testSettlementCarryRelease(t *testing.T, b *bundle) {
	carried := b.newSettlement("2026-03-10", t0)
	carried.Status, carried.Net = store.SettlementCarriedForward, -300
	held := b.newSettlement("2026-03-11", t0)
	held.Net, held.ReserveHeld, held.ReserveReleaseDate = 900, 100, "2026-03-20"
	zero := b.newSettlement("2026-03-12", t0)
	zero.Status = store.SettlementCarriedForward
	for _, s := range []*store.Settlement{carried, held, zero} {
		b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
			if err := tx.SettlementCreate(b.ctx, s); err != nil {
				return err
			}
			return tx.SettlementFinalize(b.ctx, s)
		}), "make batch "+s.Day)
	}
	open := func(settleDate string) []string {
		var ids []string
		b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
			list, err := tx.SettlementsOpen(b.ctx, b.merchant.ID, false, "CNY", settleDate)
			for _, s := range list {
				ids = append(ids, s.ID)
			}
			return err
		}), "open batches")
		return ids
	}
	equal(t, open("2026-03-19"), []string{carried.ID}, "open before the reserve is due")
	equal(t, open("2026-03-20"), []string{carried.ID, held.ID}, "open once the reserve is due")
	cs, err := b.s.SettlementCurrencies(b.ctx, b.window(t0, t0.Add(time.Hour)), "2026-03-20")
	b.must(err, "currencies")
	equal(t, cs, []string{"CNY"}, "currencies with an open batch and no transaction")

	later := b.newSettlement("2026-03-21", t0)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, later); err != nil {
			return err
		}
		if err := tx.SettlementLineAdd(b.ctx,
			&store.SettlementLine{Kind: store.LineCarryForward, RefID: carried.ID, SettlementID: later.ID, Currency: "CNY", Amount: -300, Net: -300, OccurredAt: t0},
			&store.SettlementLine{Kind: store.LineReserveRelease, RefID: held.ID, SettlementID: later.ID, Currency: "CNY", Amount: 100, Net: 100, OccurredAt: t0},
		); err != nil {
			return err
		}
		if err := tx.SettlementCarried(b.ctx, carried.ID, later.ID, t0); err != nil {
			return err
		}
		return tx.SettlementReserveReleased(b.ctx, held.ID, later.ID, t0)
	}), "carry and release")
	equal(t, len(open("2026-12-31")), 0, "open batches after a later batch took them")
	got, err := b.s.SettlementGet(b.ctx, carried.ID)
	b.must(err, "get carried")
	equal(t, got.CarriedTo, later.ID, "carried_to")
	got, err = b.s.SettlementGet(b.ctx, held.ID)
	b.must(err, "get held")
	equal(t, got.ReserveReleasedBy, later.ID, "reserve_released_by")

	err = b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SettlementCarried(b.ctx, carried.ID, "stl_other", t0) })
	wantErr(t, err, store.ErrStale, "carrying a batch twice")
	err = b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SettlementReserveReleased(b.ctx, held.ID, "stl_other", t0) })
	wantErr(t, err, store.ErrStale, "releasing a reserve twice")
	err = b.s.InTx(b.ctx, func(tx store.Tx) error {
		return tx.SettlementLineAdd(b.ctx, &store.SettlementLine{Kind: store.LineCarryForward, RefID: carried.ID,
			SettlementID: later.ID, Currency: "CNY", OccurredAt: t0})
	})
	wantErr(t, err, store.ErrConflict, "a second line carrying the same batch")
}

func testSettlementTransition(t *testing.T, b *bundle) {
	stl := b.newSettlement("2026-03-14", t0)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SettlementCreate(b.ctx, stl) }), "make batch")
	at := t0.Add(time.Hour)
	var got *store.Settlement
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.SettlementTransition(b.ctx, store.SettlementTransition{SettlementID: stl.ID,
			From: []string{store.SettlementPending}, To: store.SettlementInTransit, At: at})
		return err
	}), "start the payout")
	equal(t, got.Status, store.SettlementInTransit, "status after the payout started")
	equal(t, got.PayoutStartedAt, &at, "payout_started_at")
	err := b.s.InTx(b.ctx, func(tx store.Tx) error {
		_, err := tx.SettlementTransition(b.ctx, store.SettlementTransition{SettlementID: stl.ID,
			From: []string{store.SettlementPending}, To: store.SettlementInTransit, At: at})
		return err
	})
	wantErr(t, err, store.ErrStale, "starting the payout twice")
	paidAt := at.Add(time.Hour)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.SettlementTransition(b.ctx, store.SettlementTransition{SettlementID: stl.ID,
			From: []string{store.SettlementInTransit}, To: store.SettlementPaid, At: paidAt, BankReference: "BANK-42"})
		return err
	}), "pay")
	equal(t, []any{got.Status, got.BankReference, *got.PaidAt, *got.PayoutStartedAt}, []any{store.SettlementPaid, "BANK-42", paidAt, at},
		"status, bank reference, paid_at and payout_started_at once paid")
	err = b.s.InTx(b.ctx, func(tx store.Tx) error {
		_, err := tx.SettlementTransition(b.ctx, store.SettlementTransition{SettlementID: "stl_nosuch",
			From: []string{store.SettlementPending}, To: store.SettlementPaid, At: at})
		return err
	})
	wantErr(t, err, store.ErrNotFound, "a transition of no settlement")

	// Racing payouts: exactly one wins.
	race2 := b.newSettlement("2026-03-15", t0)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.SettlementCreate(b.ctx, race2) }), "make batch")
	errs := race(8, func(int) error {
		return b.s.InTx(b.ctx, func(tx store.Tx) error {
			_, err := tx.SettlementTransition(b.ctx, store.SettlementTransition{SettlementID: race2.ID,
				From: []string{store.SettlementPending}, To: store.SettlementInTransit, At: at})
			return err
		})
	})
	ok, stale := countErrs(t, errs, store.ErrStale, "racing payouts")
	equal(t, []int{ok, stale}, []int{1, 7}, "racing payouts that won and lost")
}

func testSettlementCurrenciesCursor(t *testing.T, b *bundle) {
	_, err := b.s.SettlementCursorGet(b.ctx, b.merchant.ID, false)
	wantErr(t, err, store.ErrNotFound, "cursor of a merchant never settled")
	c := &store.SettlementCursor{MerchantID: b.merchant.ID, LastDay: "2026-03-13", ScanFrom: t0, UpdatedAt: t0}
	b.must(b.s.SettlementCursorPut(b.ctx, c), "put cursor")
	c.LastDay, c.ScanFrom = "2026-03-14", t0.Add(time.Hour)
	b.must(b.s.SettlementCursorPut(b.ctx, c), "move cursor")
	got, err := b.s.SettlementCursorGet(b.ctx, b.merchant.ID, false)
	b.must(err, "get cursor")
	equal(t, got, c, "cursor read back")
	_, err = b.s.SettlementCursorGet(b.ctx, b.merchant.ID, true)
	wantErr(t, err, store.ErrNotFound, "the other mode's cursor")

	usd := b.paidOrder(t0, 100)
	b.must(b.exec(b.ctx, `UPDATE orders SET currency = 'USD' WHERE id = ?`, usd.ID), "make an order in USD")
	cny := b.paidOrder(t0.Add(time.Minute), 200)
	b.succeededRefund(cny, t0.Add(2*time.Minute), 50)
	w := b.window(t0, t0.Add(time.Hour))
	cs, err := b.s.SettlementCurrencies(b.ctx, w, "2026-03-14")
	b.must(err, "currencies")
	equal(t, cs, []string{"CNY", "USD"}, "currencies with unsettled transactions")
	cs, err = b.s.SettlementCurrencies(b.ctx, b.window(t0.Add(time.Hour), t0.Add(2*time.Hour)), "2026-03-14")
	b.must(err, "currencies of an empty window")
	equal(t, len(cs), 0, "currencies of an empty window")

	since, err := b.s.SettlementUnsettledSince(b.ctx, w)
	b.must(err, "unsettled since, in CNY")
	equal(t, since, t0.Add(time.Minute), "the oldest unsettled transaction in CNY")
	w.Currency = ""
	since, err = b.s.SettlementUnsettledSince(b.ctx, w)
	b.must(err, "unsettled since")
	equal(t, since, t0, "the oldest unsettled transaction in any currency")
	_, err = b.s.SettlementUnsettledSince(b.ctx, b.window(t0.Add(time.Hour), t0.Add(2*time.Hour)))
	wantErr(t, err, store.ErrNotFound, "unsettled since, in an empty window")
}

func testSettlementStatements(t *testing.T, b *bundle) {
	from := t0.Truncate(time.Hour)
	before := b.paidOrder(from.Add(-time.Second), 900) // the day before
	o1 := b.paidOrder(from, 10000)
	o2 := b.paidOrder(from.Add(time.Minute), 300)
	r1 := b.succeededRefund(o1, from.Add(2*time.Minute), 4000)
	_ = b.succeededRefund(before, from.Add(-time.Millisecond), 100) // before the window too
	b.reconcile(o1.ID, "payment", 0, "matched")
	w := b.window(time.Time{}, from.Add(time.Hour))
	stl := b.newSettlement("2026-03-14", w.Until)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, stl); err != nil {
			return err
		}
		_, err := tx.SettlementCollect(b.ctx, stl.ID, w)
		return err
	}), "settle o1")

	q := store.StatementQuery{MerchantID: b.merchant.ID, From: from, Until: from.Add(time.Hour),
		PendingAccount: ledger.MerchantPending(b.merchant.ID, false)}
	var trades []store.StatementTrade
	b.must(b.s.StatementTrades(b.ctx, q, func(tr *store.StatementTrade) error { trades = append(trades, *tr); return nil }), "trades")
	equal(t, trades, []store.StatementTrade{
		{OrderID: o1.ID, OutTradeNo: o1.OutTradeNo, AppID: b.app.ID, Channel: "sandbox", Currency: "CNY", Amount: 10000,
			Net: 9900, AmountRefunded: 4000, PaidAt: from, SettlementID: stl.ID},
		{OrderID: o2.ID, OutTradeNo: o2.OutTradeNo, AppID: b.app.ID, Channel: "sandbox", Currency: "CNY", Amount: 300,
			Net: 297, PaidAt: from.Add(time.Minute)},
	}, "the window's trades, the first settled")
	var refunds []store.StatementRefund
	b.must(b.s.StatementRefunds(b.ctx, q, func(r *store.StatementRefund) error { refunds = append(refunds, *r); return nil }), "refunds")
	equal(t, refunds, []store.StatementRefund{
		{RefundID: r1.ID, OutRefundNo: r1.OutRefundNo, OrderID: o1.ID, AppID: b.app.ID, Currency: "CNY", Amount: 4000,
			Net: -4000, SucceededAt: from.Add(2 * time.Minute)},
	}, "the window's refunds")
	live := q
	live.Livemode = true
	n := 0
	b.must(b.s.StatementTrades(b.ctx, live, func(*store.StatementTrade) error { n++; return nil }), "live trades")
	equal(t, n, 0, "trades of the other mode")
}

// testSettlementVerify: LedgerVerify notices a batch whose totals differ
// from its lines, one whose entry does not match its status, and payout
// entries that do not match it.
func testSettlementVerify(t *testing.T, b *bundle) {
	o := b.paidOrder(t0, 10000)
	b.reconcile(o.ID, "payment", 0, "matched")
	w := b.window(time.Time{}, t0.Add(time.Hour))
	stl := b.newSettlement("2026-03-14", w.Until)
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(b.ctx, stl); err != nil {
			return err
		}
		if _, err := tx.SettlementCollect(b.ctx, stl.ID, w); err != nil {
			return err
		}
		stl.Gross, stl.Fees, stl.Net, stl.PaymentCount = 10000, 100, 9900, 1
		if err := tx.SettlementFinalize(b.ctx, stl); err != nil {
			return err
		}
		return tx.LedgerPost(b.ctx, t0, ledger.Settlement("", stl.ID, b.merchant.ID, false, "CNY",
			ledger.SettlementMoves{FromPending: 9900, ToAvailable: 9900}, t0))
	}), "a batch and its entry")
	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	if !rep.Clean() {
		t.Fatalf("a batch that matches its lines and entry: want clean, got %+v", rep)
	}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		if _, err := tx.SettlementTransition(b.ctx, store.SettlementTransition{SettlementID: stl.ID,
			From: []string{store.SettlementPending}, To: store.SettlementInTransit, At: t0}); err != nil {
			return err
		}
		return tx.LedgerPost(b.ctx, t0, ledger.PayoutStart("", stl.ID, b.merchant.ID, false, "CNY", 9900, t0))
	}), "payout")
	rep, err = b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	if !rep.Clean() {
		t.Fatalf("a batch in transit with its payout entry: want clean, got %+v", rep)
	}

	b.must(b.exec(b.ctx, `UPDATE settlements SET net = 9000 WHERE id = ?`, stl.ID), "damage the batch's net")
	rep, err = b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	text := strings.Join(rep.SettlementMismatches, "\n")
	for _, want := range []string{stl.ID + ": net 9000, lines sum to 9900", "puts 9900 into available", "payout entries moving 9900"} {
		if !strings.Contains(text, want) {
			t.Errorf("verify after damaging the net: want a finding with %q, got:\n%s", want, text)
		}
	}
	b.must(b.exec(b.ctx, `UPDATE settlements SET net = 9900, status = 'paid' WHERE id = ?`, stl.ID), "mark paid without its entry")
	rep, err = b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	if len(rep.SettlementMismatches) != 1 || !strings.Contains(rep.SettlementMismatches[0], "0 payout_paid entries") {
		t.Fatalf("verify of a paid batch without its payout_paid entry: got %q", rep.SettlementMismatches)
	}
	b.must(b.exec(b.ctx, `UPDATE settlements SET status = 'in_transit' WHERE id = ?`, stl.ID), "restore")
	b.must(b.post(ledger.Entry{Kind: ledger.KindPayoutPaid, RefID: "stl_nosuch", Lines: []ledger.Line{
		{Account: "a", Currency: "CNY", Amount: 1}, {Account: "b", Currency: "CNY", Amount: -1}}}), "post a stray entry")
	rep, err = b.s.LedgerVerify(b.ctx)
	b.must(err, "verify")
	if len(rep.SettlementMismatches) != 1 || !strings.Contains(rep.SettlementMismatches[0], "settlement stl_nosuch does not exist") {
		t.Fatalf("verify with a stray payout_paid entry: got %q", rep.SettlementMismatches)
	}
	if rep.Clean() {
		t.Fatal("a report with settlement mismatches is clean")
	}
}

// testMerchantEventFansOut: an event of a merchant with no app goes to the
// subscribed endpoints of every app of the merchant in its mode, and to no
// other's.
func testMerchantEventFansOut(t *testing.T, b *bundle) {
	second := b.newApp(b.merchant, false)
	liveApp := b.newApp(b.merchant, true)
	other := b.newApp(b.newMerchant(), false)
	mk := func(a *store.App, events ...string) *store.WebhookEndpoint {
		e := &store.WebhookEndpoint{ID: id.New(id.Endpoint, t0), MerchantID: a.MerchantID, AppID: a.ID, Livemode: a.Livemode,
			URL: "https://" + a.ID + ".example/hook", EnabledEvents: events, SecretSealed: "sealed", CreatedAt: t0, UpdatedAt: t0}
		b.must(b.s.WebhookEndpointCreate(b.ctx, e), "create endpoint")
		return e
	}
	e1 := mk(b.app, "*")
	e2 := mk(second, "settlement.paid")
	mk(second, "order.succeeded")
	mk(liveApp, "*")
	mk(other, "*")
	ev := &store.Event{Type: "settlement.paid", MerchantID: b.merchant.ID, Livemode: false, ObjectType: "settlement",
		ObjectID: "stl_x", Data: []byte(`{}`), CreatedAt: t0}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.EventAdd(b.ctx, t0, ev) }), "add a merchant event")
	ds, err := b.s.DeliveryList(b.ctx, ev.ID)
	b.must(err, "deliveries")
	got := map[string]string{}
	for _, d := range ds {
		got[d.EndpointID] = d.AppID
	}
	equal(t, got, map[string]string{e1.ID: b.app.ID, e2.ID: second.ID}, "deliveries by endpoint, with each endpoint's app")
	listed, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ListParams: store.ListParams{Limit: 10}})
	b.must(err, "list events")
	equal(t, len(listed), 1, "the merchant's events")
}
