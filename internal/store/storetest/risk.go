package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var riskTests = []test{
	{"Risk/RulesAndVersion", testRiskRules},
	{"Risk/ListsAndRanges", testRiskLists},
	{"Risk/Counters", testRiskCounters},
	{"Risk/CountAndRecordInOneTx", testRiskRecordTx},
	{"Risk/InTxEarly", testRiskEarly},
	{"Risk/CreateConcurrent", testRiskCreateConcurrent},
}

func testRiskRules(t *testing.T, b *bundle) {
	v0, err := b.s.RiskVersion(b.ctx)
	b.must(err, "version")
	live := true
	r := &store.RiskRule{ID: id.New(id.RiskRule, t0), Name: "cap", Owner: store.RiskOwnerMerchant, MerchantID: b.merchant.ID,
		Livemode: &live, Expression: "order.amount > 1", Template: "amount_limit", Params: json.RawMessage(`{"max_amount":1}`),
		Action: store.RiskBlock, Mode: "enforce", Priority: 3, AppliesTo: []string{"payment", "refund"}, CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.RiskRuleCreate(b.ctx, r), "create rule")
	got, err := b.s.RiskRuleGet(b.ctx, r.ID)
	b.must(err, "get rule")
	equal(t, got, r, "rule read back")
	v1, _ := b.s.RiskVersion(b.ctx)
	if v1 <= v0 {
		t.Fatalf("version %d after a create, was %d", v1, v0)
	}
	n, err := b.s.RiskRuleCount(b.ctx, b.merchant.ID)
	b.must(err, "count")
	equal(t, n, 1, "merchant's rules")
	r.Disabled, r.Livemode, r.UpdatedAt = true, nil, t0.Add(time.Second)
	b.must(b.s.RiskRuleUpdate(b.ctx, r), "update")
	all, err := b.s.RiskRulesAll(b.ctx)
	b.must(err, "all")
	equal(t, len(all), 0, "enabled rules after disabling the only one")
	l, _, err := b.s.RiskRuleList(b.ctx, store.RiskRuleFilter{MerchantID: b.merchant.ID, Livemode: &live})
	b.must(err, "list")
	equal(t, len(l), 1, "a rule of both modes is listed for live")
	b.must(b.s.RiskRuleDelete(b.ctx, r.ID), "delete")
	wantErr(t, b.s.RiskRuleDelete(b.ctx, r.ID), store.ErrNotFound, "delete twice")
}

func testRiskLists(t *testing.T, b *bundle) {
	l := &store.RiskList{ID: id.New(id.RiskList, t0), Name: "ips", Kind: "ip", CreatedAt: t0}
	b.must(b.s.RiskListCreate(b.ctx, l), "create list")
	wantErr(t, b.s.RiskListCreate(b.ctx, &store.RiskList{ID: id.New(id.RiskList, t0), Name: "ips", Kind: "ip", CreatedAt: t0}), store.ErrConflict, "a name twice")
	exp := t0.Add(time.Hour)
	b.must(b.s.RiskListEntriesPut(b.ctx, l.ID, []*store.RiskListEntry{{Value: "192.0.2.1", Reason: "a", CreatedAt: t0},
		{Value: "192.0.2.2", ExpiresAt: &exp, CreatedAt: t0}}), "put entries")
	b.must(b.s.RiskListEntriesPut(b.ctx, l.ID, []*store.RiskListEntry{{Value: "192.0.2.1", Reason: "b", CreatedAt: t0}}), "replace an entry")
	es, err := b.s.RiskListEntries(b.ctx, "")
	b.must(err, "entries")
	if len(es) != 2 || es[0].Reason != "b" || es[1].ExpiresAt == nil || !es[1].ExpiresAt.Equal(exp) {
		t.Fatalf("entries: %s", show(es))
	}
	got, err := b.s.RiskListGetByName(b.ctx, "ips")
	b.must(err, "by name")
	equal(t, got.Entries, 2, "entry count")
	b.must(b.s.RiskListEntryDelete(b.ctx, l.ID, "192.0.2.2"), "delete entry")
	b.must(b.s.RiskListDelete(b.ctx, l.ID), "delete list")
	es, _ = b.s.RiskListEntries(b.ctx, l.ID)
	equal(t, len(es), 0, "entries of a deleted list")

	rs := []store.RiskRange{{Start: "0a", End: "0f", Country: "US"}, {Start: "10", End: "1f", Country: "CN"}}
	b.must(b.s.RiskRangesReplace(b.ctx, store.RiskRangesIP, rs), "ranges")
	b.must(b.s.RiskRangesReplace(b.ctx, store.RiskRangesIP, rs[1:]), "replace ranges")
	got2, err := b.s.RiskRanges(b.ctx, store.RiskRangesIP)
	b.must(err, "read ranges")
	equal(t, got2, rs[1:], "ranges after a replace")
}

// attempt records one payment attempt of the bundle's merchant.
func (b *bundle) attempt(at time.Time, payer, ip string, amount int64, decision string) *store.RiskAttempt {
	b.t.Helper()
	a := &store.RiskAttempt{ID: id.New(id.RiskAttempt, at), Kind: store.RiskKindPayment, MerchantID: b.merchant.ID, AppID: b.app.ID,
		Livemode: b.app.Livemode, OrderID: id.New(id.Order, at), PayerID: payer, IP: ip, Country: "CN", Amount: amount, Currency: "CNY",
		Decision: decision, Rules: json.RawMessage(`[]`), Context: json.RawMessage(`{}`), CreatedAt: at}
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error { return tx.RiskAttemptAdd(b.ctx, a, "2026-03-14") }), "record attempt")
	return a
}

func testRiskCounters(t *testing.T, b *bundle) {
	b.attempt(t0.Add(-23*time.Hour), "p1", "192.0.2.1", 100, store.RiskAllow)
	b.attempt(t0.Add(-30*time.Minute), "p1", "192.0.2.2", 200, store.RiskAllow)
	b.attempt(t0.Add(-5*time.Minute), "p1", "192.0.2.1", 400, store.RiskBlock)
	b.attempt(t0.Add(-25*time.Hour), "p1", "192.0.2.1", 800, store.RiskAllow) // out of every window
	b.attempt(t0.Add(-1*time.Minute), "p2", "192.0.2.1", 1600, store.RiskReview)
	q := store.RiskCounterQuery{Need: store.RiskCountPayer | store.RiskCountIP | store.RiskCountMerchantToday | store.RiskCountPayerFailures | store.RiskCountPayerUsualCountry,
		MerchantID: b.merchant.ID, Livemode: b.app.Livemode, Currency: "CNY", PayerID: "p1", IP: "192.0.2.1", Day: "2026-03-14", Now: t0}
	c, err := b.s.RiskCount(b.ctx, q)
	b.must(err, "count")
	equal(t, c.Payer, store.RiskWindows{Count10m: 1, Count1h: 2, Count24h: 3, Amount10m: 0, Amount1h: 200, Amount24h: 300}, "payer windows (a blocked amount left out)")
	equal(t, c.IP, store.RiskWindows{Count10m: 2, Count1h: 2, Count24h: 3, Amount10m: 1600, Amount1h: 1600, Amount24h: 1700}, "IP windows, every payer's")
	equal(t, c.PayerDistinctIPs24h, int64(2), "distinct IPs")
	equal(t, c.MerchantAmountToday, int64(100+200+800+1600), "the day's total (blocked left out)")
	equal(t, c.MerchantCountToday, int64(4), "the day's count")
	equal(t, c.PayerFailuresInRow, int64(1), "failures in a row (the blocked one, then orders that never existed)")
	equal(t, c.PayerUsualCountry, "CN", "usual country")
	// Another currency's amounts are not summed.
	q.Currency = "USD"
	c, _ = b.s.RiskCount(b.ctx, q)
	equal(t, c.Payer.Amount24h, int64(0), "amounts in another currency")
}

// testRiskRecordTx: counting and recording in one transaction, from many
// writers at once, counts every earlier attempt exactly once.
func testRiskRecordTx(t *testing.T, b *bundle) {
	const n = 24
	counts := make([]int64, n)
	errs := race(n, func(i int) error {
		return b.s.InTx(b.ctx, func(tx store.Tx) error {
			if err := tx.RiskLock(b.ctx, []string{"payer:" + b.merchant.ID + ":p"}); err != nil {
				return err
			}
			c, err := tx.RiskCount(b.ctx, store.RiskCounterQuery{Need: store.RiskCountPayer, MerchantID: b.merchant.ID, Livemode: b.app.Livemode,
				Currency: "CNY", PayerID: "p", Now: t0})
			if err != nil {
				return err
			}
			counts[i] = c.Payer.Count10m
			a := &store.RiskAttempt{ID: id.New(id.RiskAttempt, t0), Kind: store.RiskKindPayment, MerchantID: b.merchant.ID, AppID: b.app.ID,
				Livemode: b.app.Livemode, OrderID: id.New(id.Order, t0), PayerID: "p", Amount: 1, Currency: "CNY", Decision: store.RiskAllow,
				Rules: json.RawMessage(`[]`), Context: json.RawMessage(`{}`), CreatedAt: t0}
			return tx.RiskAttemptAdd(b.ctx, a, "")
		})
	})
	seen := make([]bool, n)
	for i, err := range errs {
		b.must(err, "count and record")
		if counts[i] < 0 || counts[i] >= n || seen[counts[i]] {
			t.Fatalf("writer %d counted %d earlier attempts; counts %v: each of 0..%d exactly once", i, counts[i], counts, n-1)
		}
		seen[counts[i]] = true
	}
}

// testRiskEarly: InTxEarly's writes are seen by later writes before its
// commit is waited for, and durable reports the commit.
func testRiskEarly(t *testing.T, b *bundle) {
	a := &store.RiskAttempt{ID: id.New(id.RiskAttempt, t0), Kind: store.RiskKindPayment, MerchantID: b.merchant.ID, AppID: b.app.ID,
		OrderID: id.New(id.Order, t0), Amount: 1, Currency: "CNY", Decision: store.RiskAllow, CreatedAt: t0}
	durable, err := b.s.InTxEarly(b.ctx, func(tx store.Tx) error { return tx.RiskAttemptAdd(b.ctx, a, "") })
	b.must(err, "early write")
	var seen bool
	b.must(b.s.InTx(b.ctx, func(tx store.Tx) error {
		var err error
		seen, err = tx.RiskAttemptExists(b.ctx, a.ID)
		return err
	}), "later write")
	equal(t, seen, true, "a later write sees the early one")
	b.must(durable(), "durable")
	_, err = b.s.RiskAttemptGet(b.ctx, a.ID)
	b.must(err, "read after durable")
	_, err = b.s.InTxEarly(b.ctx, func(tx store.Tx) error { return store.ErrStale })
	wantErr(t, err, store.ErrStale, "an early write's error")
}

// testRiskCreateConcurrent: many creates at once, each a transaction of a
// risk attempt, its day's total and the order (the API's create; on
// PostgreSQL such transactions share statements, stmtbatch.go), some
// repeating an out_trade_no and some of an app that does not exist: each
// succeeds or fails on its own, a failed one leaves neither its attempt
// nor its amount behind, and the day's total is exactly the created
// orders'.
func testRiskCreateConcurrent(t *testing.T, b *bundle) {
	const distinct, dups, bad = 48, 8, 4
	const day = "2026-03-14"
	type create struct {
		o *store.Order
		a *store.RiskAttempt
	}
	creates := make([]create, 0, distinct+dups+bad)
	add := func(outTradeNo string, amount int64, appID string) {
		o := b.order(t0, func(o *store.Order) { o.OutTradeNo, o.Amount, o.AppID = outTradeNo, amount, appID })
		a := &store.RiskAttempt{ID: id.New(id.RiskAttempt, t0), Kind: store.RiskKindPayment, MerchantID: b.merchant.ID, AppID: appID,
			Livemode: b.app.Livemode, OrderID: o.ID, OutTradeNo: outTradeNo, Amount: amount, Currency: "CNY", Decision: store.RiskAllow,
			Rules: json.RawMessage(`[]`), Context: json.RawMessage(`{}`), CreatedAt: t0}
		creates = append(creates, create{o, a})
	}
	for i := range distinct {
		add(fmt.Sprintf("RISKY-%02d", i), int64(100+i), b.app.ID)
	}
	for i := range dups {
		add(fmt.Sprintf("RISKY-%02d", i), 100000, b.app.ID)
	}
	for i := range bad {
		add(fmt.Sprintf("NOAPP-%02d", i), 7, "app_does_not_exist")
	}
	batches, _ := b.s.(interface{ StatementBatches() (int64, int64) })
	var stmts0, txs0 int64
	if batches != nil {
		stmts0, txs0 = batches.StatementBatches()
	}
	errs := race(len(creates), func(i int) error {
		return b.s.InTx(b.ctx, func(tx store.Tx) error {
			if err := tx.RiskAttemptAdd(b.ctx, creates[i].a, day); err != nil {
				return err
			}
			return tx.OrderCreate(b.ctx, creates[i].o)
		})
	})
	var total, count int64
	won := map[string]int{}
	for i, c := range creates {
		_, oerr := b.s.OrderGet(b.ctx, c.o.ID)
		_, aerr := b.s.RiskAttemptGet(b.ctx, c.a.ID)
		switch {
		case errs[i] == nil:
			b.must(oerr, "read back created order "+c.o.OutTradeNo)
			b.must(aerr, "read back the attempt of created order "+c.o.OutTradeNo)
			total += c.o.Amount
			count++
			won[c.o.OutTradeNo]++
		case i >= distinct+dups || errors.Is(errs[i], store.ErrConflict):
			wantErr(t, oerr, store.ErrNotFound, "the order of a failed create "+c.o.OutTradeNo)
			wantErr(t, aerr, store.ErrNotFound, "the attempt of a failed create "+c.o.OutTradeNo)
		default:
			t.Errorf("create %s: want nil or ErrConflict, got %v", c.o.OutTradeNo, errs[i])
		}
	}
	for i := range bad {
		if errs[distinct+dups+i] == nil {
			t.Errorf("order %s of an app that does not exist was created", creates[distinct+dups+i].o.OutTradeNo)
		}
	}
	for i := range distinct {
		if n := won[fmt.Sprintf("RISKY-%02d", i)]; n != 1 {
			t.Errorf("out_trade_no RISKY-%02d: %d creates succeeded, want exactly 1", i, n)
		}
	}
	if batches != nil {
		// Where creates share statements, 60 at once did.
		if stmts, txs := batches.StatementBatches(); stmts > stmts0 && txs-txs0 <= stmts-stmts0 {
			t.Errorf("%d transactions went in %d statements: none shared one", txs-txs0, stmts-stmts0)
		}
	}
	c, err := b.s.RiskCount(b.ctx, store.RiskCounterQuery{Need: store.RiskCountMerchantToday, MerchantID: b.merchant.ID,
		Livemode: b.app.Livemode, Currency: "CNY", Day: day, Now: t0})
	b.must(err, "count the day")
	equal(t, c.MerchantAmountToday, total, "the day's total: the created orders' amounts")
	equal(t, c.MerchantCountToday, count, "the day's count: the created orders")
}
