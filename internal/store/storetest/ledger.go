package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

var ledgerTests = []test{
	{"Ledger/BalancesConcurrentPayments", testBalancesConcurrentPayments},
	{"Ledger/BalancesPrefix", testBalancesPrefix},
	{"Ledger/Entries", testLedgerEntries},
	{"Ledger/VerifyClean", testLedgerVerifyClean},
	{"Ledger/VerifyCorrupt", testLedgerVerifyCorrupt},
}

// post commits entry through a transition of a new order, as Effects.
func (b *bundle) post(entry ledger.Entry) error {
	o := b.newOrder(t0)
	_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: t0,
		Effects: func(*store.Order) (store.Effects, error) { return store.Effects{Entries: []ledger.Entry{entry}}, nil },
	})
	return err
}

func testBalancesConcurrentPayments(t *testing.T, b *bundle) {
	orders := make([]*store.Order, 20)
	for i := range orders {
		orders[i] = b.newOrder(t0, func(o *store.Order) { o.Amount = 1000 })
	}
	// Twenty payments at once all move the same three accounts.
	errs := race(len(orders), func(i int) error {
		_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
			OrderID: orders[i].ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: t0,
			Channel: "sandbox", Effects: paymentEffects(t0),
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent payment %d of different orders: want no error, got %v", i, err)
		}
	}
	pending := ledger.MerchantPending(b.merchant.ID, false)
	fees := ledger.PlatformFees(false)
	receivable := ledger.ChannelReceivable("sandbox", false)

	got, err := b.s.Balances(b.ctx, ledger.MerchantPrefix(b.merchant.ID, false))
	b.must(err, "merchant balances")
	equal(t, got, []ledger.Balance{{Account: pending, Currency: "CNY", Amount: 20 * 990}}, "merchant's test balances after 20 payments of 1000 less 1% fee")
	got, err = b.s.Balances(b.ctx, "")
	b.must(err, "all balances")
	equal(t, got, []ledger.Balance{
		{Account: receivable, Currency: "CNY", Amount: -20000},
		{Account: pending, Currency: "CNY", Amount: 19800},
		{Account: fees, Currency: "CNY", Amount: 200},
	}, "every balance, by account")
	got, err = b.s.Balances(b.ctx, ledger.MerchantPrefix(b.merchant.ID, true))
	b.must(err, "merchant live balances")
	equal(t, len(got), 0, "merchant's live balances (all payments were in test mode)")

	// Balances are the sum of the shard rows, whichever rows hold it: move 5
	// into a shard of its own and the sum, and the verification, hold.
	b.must(b.exec(b.ctx, `UPDATE account_balances SET amount = amount - 5
		WHERE account = ? AND shard = (SELECT MIN(shard) FROM account_balances WHERE account = ?)`, fees, fees), "take 5 from a fee shard")
	b.must(b.exec(b.ctx, `INSERT INTO account_balances (account, currency, shard, amount) VALUES (?, 'CNY', 99, 5)`, fees), "put 5 into an extra fee shard")
	got, err = b.s.Balances(b.ctx, fees)
	b.must(err, "fee balance")
	equal(t, got, []ledger.Balance{{Account: fees, Currency: "CNY", Amount: 200}}, "fee balance summed over its shards")
	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify ledger")
	if !rep.Clean() || rep.Entries != 20 || rep.Lines != 60 {
		t.Fatalf("ledger after 20 payments: want clean with 20 entries and 60 lines, got %+v", rep)
	}
}

func testBalancesPrefix(t *testing.T, b *bundle) {
	// Names with LIKE's wildcards, a different case and a non-ASCII rune:
	// a prefix matches exactly the names that start with it, byte for byte.
	amounts := map[string]int64{"w_a:1": 1, "wXa:2": 2, "w_ab:3": 4, "w%a:4": 8, "W_a:6": 16, "w_é:7": 32, "w_a": 64}
	var total int64
	entry := ledger.Entry{ID: id.New(id.Entry, t0), Kind: "adjustment", RefID: "adj_1", CreatedAt: t0}
	for acct, amt := range amounts {
		entry.Lines = append(entry.Lines, ledger.Line{Account: acct, Currency: "CNY", Amount: amt})
		total += amt
	}
	entry.Lines = append(entry.Lines, ledger.Line{Account: "w_b:5", Currency: "CNY", Amount: -total})
	slices.SortFunc(entry.Lines, func(x, y ledger.Line) int { return strings.Compare(x.Account, y.Account) })
	b.must(b.post(entry), "post entry")

	bal := func(acct string) ledger.Balance {
		return ledger.Balance{Account: acct, Currency: "CNY", Amount: amounts[acct]}
	}
	for _, tc := range []struct {
		prefix string
		want   []ledger.Balance
	}{
		{"w_a", []ledger.Balance{bal("w_a"), bal("w_a:1"), bal("w_ab:3")}},
		{"w_a:", []ledger.Balance{bal("w_a:1")}},
		{"w%", []ledger.Balance{bal("w%a:4")}},
		{"w_", []ledger.Balance{bal("w_a"), bal("w_a:1"), bal("w_ab:3"), {Account: "w_b:5", Currency: "CNY", Amount: -total}, bal("w_é:7")}},
		{"w_é", []ledger.Balance{bal("w_é:7")}},
		{"W", []ledger.Balance{bal("W_a:6")}},
		{"x", nil},
	} {
		got, err := b.s.Balances(b.ctx, tc.prefix)
		b.must(err, fmt.Sprintf("balances of prefix %q", tc.prefix))
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		equal(t, got, tc.want, fmt.Sprintf("balances of the accounts starting with %q", tc.prefix))
	}
}

func testLedgerEntries(t *testing.T, b *bundle) {
	o := b.newOrder(t0)
	at := t0.Add(time.Minute)
	want := ledger.Payment(id.New(id.Entry, at), o.ID, b.merchant.ID, "sandbox", false, "CNY", 1000, 10, at)
	_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: at, Channel: "sandbox",
		Effects: func(*store.Order) (store.Effects, error) { return store.Effects{Entries: []ledger.Entry{want}}, nil },
	})
	b.must(err, "pay order")
	got, err := b.s.LedgerEntries(b.ctx, o.ID)
	b.must(err, "entries of the order")
	equal(t, got, []ledger.Entry{want}, "entries of the order, with their lines in order")
	got, err = b.s.LedgerEntries(b.ctx, "ord_none")
	b.must(err, "entries of an object without entries")
	equal(t, len(got), 0, "entries of an object without entries")

	// A second payment entry for the same order is a conflict, and nothing commits.
	other := b.newOrder(t0)
	dup := ledger.Payment(id.New(id.Entry, at), o.ID, b.merchant.ID, "sandbox", false, "CNY", 1000, 10, at)
	_, err = b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: other.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: at, Channel: "sandbox",
		Effects: func(*store.Order) (store.Effects, error) { return store.Effects{Entries: []ledger.Entry{dup}}, nil },
	})
	wantErr(t, err, store.ErrConflict, "a second payment entry for one order")
	stored, err := b.s.OrderGet(b.ctx, other.ID)
	b.must(err, "get order")
	equal(t, stored.Status, store.OrderPending, "status of the order whose entry conflicted (rolled back)")

	// An entry and an event without id or time get them from the transition.
	bare := ledger.Payment("", other.ID, b.merchant.ID, "sandbox", false, "CNY", 1000, 10, time.Time{})
	ev := &store.Event{Type: "order.succeeded", MerchantID: b.merchant.ID, AppID: b.app.ID, ObjectType: "order", ObjectID: other.ID}
	_, err = b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: other.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: at, Channel: "sandbox",
		Effects: func(*store.Order) (store.Effects, error) {
			return store.Effects{Entries: []ledger.Entry{bare}, Events: []*store.Event{ev}}, nil
		},
	})
	b.must(err, "pay with an entry and event without id or time")
	got, err = b.s.LedgerEntries(b.ctx, other.ID)
	b.must(err, "entries of the second order")
	if len(got) != 1 || !id.Valid(id.Entry, got[0].ID) || !got[0].CreatedAt.Equal(at) {
		t.Fatalf("entry written without id or time: want one with a jnl_ id created at the transition's time %v, got %+v", at, got)
	}
	if !id.Valid(id.Event, ev.ID) || !ev.CreatedAt.Equal(at) {
		t.Fatalf("event written without id or time: want an evt_ id and the transition's time %v, got %q at %v", at, ev.ID, ev.CreatedAt)
	}
	stored2, err := b.s.EventGet(b.ctx, ev.ID)
	b.must(err, "get the event by the id it was given")
	equal(t, stored2.Data, nil, "Data of an event written without data (stays nil)")
}

func testLedgerVerifyClean(t *testing.T, b *bundle) {
	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify an empty ledger")
	if !rep.Clean() || rep.Entries != 0 || rep.Lines != 0 {
		t.Fatalf("empty ledger: want clean with 0 entries and 0 lines, got %+v", rep)
	}
	o := b.paidOrder(t0, 1000)
	b.paidOrder(t0, 50) // fee 0: two lines
	r := b.refund(o, t0.Add(time.Hour), 300)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	_, err = b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: t0.Add(time.Hour), Effects: refundEffects(t0.Add(time.Hour))})
	b.must(err, "refund succeeds")
	failed := b.refund(o, t0.Add(time.Hour), 100)
	b.must(b.s.RefundCreate(b.ctx, failed), "create refund")
	_, err = b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: failed.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundFailed, At: t0.Add(time.Hour)})
	b.must(err, "refund fails")

	rep, err = b.s.LedgerVerify(b.ctx)
	b.must(err, "verify ledger")
	equal(t, rep, &store.VerifyReport{Entries: 3, Lines: 7}, "report on a good ledger of two payments and a refund")
}

func testLedgerVerifyCorrupt(t *testing.T, b *bundle) {
	paid := b.paidOrder(t0, 1000)
	refunded := b.paidOrder(t0, 1000)
	r := b.refund(refunded, t0.Add(time.Hour), 300)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	_, err := b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: t0.Add(time.Hour), Effects: refundEffects(t0.Add(time.Hour))})
	b.must(err, "refund succeeds")
	unpaid := b.newOrder(t0)
	entries, err := b.s.LedgerEntries(b.ctx, paid.ID)
	b.must(err, "entries of the paid order")
	entryID := entries[0].ID
	entries, err = b.s.LedgerEntries(b.ctx, r.ID)
	b.must(err, "entries of the refund")
	refundEntryID := entries[0].ID
	fees := ledger.PlatformFees(false)

	for _, q := range []struct {
		what, sql string
		args      []any
	}{
		{"add a stray line to an entry", `INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount) VALUES (?, 99, 'corrupt:test:x', 'CNY', 5)`, []any{entryID}},
		{"bump a fee shard", `UPDATE account_balances SET amount = amount + 7
			WHERE account = ? AND shard = (SELECT MIN(shard) FROM account_balances WHERE account = ?)`, []any{fees, fees}},
		{"mark an unpaid order succeeded", `UPDATE orders SET status = 'succeeded' WHERE id = ?`, []any{unpaid.ID}},
		{"mark a paid order failed", `UPDATE orders SET status = 'failed' WHERE id = ?`, []any{paid.ID}},
		{"mark a succeeded refund pending", `UPDATE refunds SET status = 'pending' WHERE id = ?`, []any{r.ID}},
	} {
		b.must(b.exec(b.ctx, q.sql, q.args...), q.what)
	}

	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify the damaged ledger")
	equal(t, rep, &store.VerifyReport{
		Entries:           3,
		Lines:             9, // 3 + 3 + 2, and the stray one
		UnbalancedEntries: []string{entryID + ": CNY sums to 5"},
		BalanceMismatches: []string{
			"corrupt:test:x CNY: balance 0, lines sum to 5",
			fees + " CNY: balance 27, lines sum to 20",
		},
		MissingEntries: []string{
			fmt.Sprintf("order %s: succeeded with 0 payment entries", unpaid.ID),
			fmt.Sprintf("payment entry %s: order %s is failed", entryID, paid.ID),
			fmt.Sprintf("refund entry %s: refund %s is pending", refundEntryID, r.ID),
		},
	}, "report on a ledger with an unbalanced entry, a bumped balance, and objects out of step with their entries")
	if rep.Clean() {
		t.Fatalf("damaged ledger: want Clean() false")
	}
}
