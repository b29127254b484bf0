package recon_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// The reconciliation service over the payment service, on SQLite and
// PostgreSQL, with a fake clock and a fake channel whose trades, refunds
// and bill the tests control.

var ctx = context.Background()

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// start is 09:00 on 2026-03-14 in Shanghai; the tests reconcile that day.
var start = time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)

const day = "2026-03-14"

// fakeChannel is a channel's memory: trades by order id, refunds by
// refund id, and what its bill says beyond them.
type fakeChannel struct {
	mu      sync.Mutex
	trades  map[string]*trade
	refunds map[string]*fakeRefund
	edit    func([]channel.BillRecord) []channel.BillRecord
	// refundPending makes refunds answer PROCESSING (the channel then
	// says SUCCESS when queried).
	refundPending bool
	feeBps        int64
}

type trade struct {
	no     string
	amount int64
	paid   bool
	at     time.Time
}

type fakeRefund struct {
	id, orderID string
	amount      int64
	at          time.Time
}

func (f *fakeChannel) fee(a int64) int64 { return (a*f.feeBps + 5000) / 10000 }

func (f *fakeChannel) connector(clock func() time.Time) *channeltest.Fake {
	return &channeltest.Fake{ProviderName: "fakepay",
		Caps: channel.Capabilities{Methods: []string{"alipay.qr"}, Refund: true, Query: true, Bill: true},
		PayFunc: func(r channel.PayRequest) (*channel.PayResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.trades[r.OrderID] = &trade{no: "T" + r.OrderID[4:], amount: r.Amount}
			return &channel.PayResponse{ChannelTradeNo: "T" + r.OrderID[4:], Status: channel.TradeNotPay,
				NextAction: &channel.NextAction{Type: "qr_code", QRCode: "https://qr.example/" + r.OrderID}}, nil
		},
		QueryFunc: func(r channel.QueryRequest) (*channel.QueryResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			t := f.trades[r.OrderID]
			if t == nil {
				return nil, channel.ErrTradeNotFound
			}
			st := channel.TradeNotPay
			if t.paid {
				st = channel.TradeSuccess
			}
			return &channel.QueryResponse{ChannelTradeNo: t.no, Status: st, Amount: t.amount, Currency: "CNY", PaidAt: t.at}, nil
		},
		RefundFunc: func(r channel.RefundRequest) (*channel.RefundResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.refunds[r.RefundID] = &fakeRefund{id: r.RefundID, orderID: r.OrderID, amount: r.Amount, at: clock()}
			st := channel.RefundSuccess
			if f.refundPending {
				st = channel.RefundProcessing
			}
			return &channel.RefundResponse{ChannelRefundNo: "R" + r.RefundID[4:], Status: st}, nil
		},
		RefundQueryFunc: func(r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.refunds[r.RefundID] == nil {
				return nil, channel.ErrTradeNotFound
			}
			return &channel.RefundResponse{ChannelRefundNo: "R" + r.RefundID[4:], Status: channel.RefundSuccess}, nil
		},
		BillFunc: func(r channel.BillRequest) (*channel.Bill, error) {
			return &channel.Bill{Format: "fake", Records: f.bill(r.Date)}, nil
		},
	}
}

// pay marks a trade paid at the channel (the payer paid) at.
func (f *fakeChannel) pay(orderID string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trades[orderID].paid = true
	f.trades[orderID].at = at
}

// bill is the channel's statement of a day (in Shanghai): a line per
// trade paid and per refund made that day, in time order, then the test's
// edits.
func (f *fakeChannel) bill(date time.Time) []channel.BillRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, shanghai)
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(from.AddDate(0, 0, 1)) }
	var out []channel.BillRecord
	for id, t := range f.trades {
		if t.paid && in(t.at) {
			out = append(out, channel.BillRecord{Kind: channel.NotifyPayment, OrderID: id, ChannelTradeNo: t.no, Amount: t.amount,
				Fee: f.fee(t.amount), Currency: "CNY", At: t.at})
		}
	}
	for id, r := range f.refunds {
		if !in(r.at) {
			continue
		}
		out = append(out, channel.BillRecord{Kind: channel.NotifyRefund, OrderID: r.orderID, ChannelTradeNo: f.trades[r.orderID].no,
			RefundID: id, ChannelRefundNo: "R" + id[4:], Amount: r.amount, Fee: -f.fee(r.amount), Currency: "CNY", At: r.at})
	}
	// A stable order: by time, then id.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if f.edit != nil {
		out = f.edit(out)
	}
	return out
}

func less(a, b channel.BillRecord) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return a.OrderID+a.RefundID < b.OrderID+b.RefundID
}

type env struct {
	*paymenttest.Env
	t    *testing.T
	ch   *fakeChannel
	acct *store.ChannelAccount
	svc  *recon.Service
	sc   store.Scope
	m    *store.Merchant
}

// eachStore runs f as a parallel subtest on SQLite and on PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, e *env)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var st store.Store
			if kind == "postgres" {
				st = postgrestest.Open(t, postgrestest.URL(t))
			} else {
				st = sqlitetest.Open(t)
			}
			f(t, newEnv(t, st))
		})
	}
}

func newEnv(t *testing.T, st store.Store) *env {
	ch := &fakeChannel{trades: map[string]*trade{}, refunds: map[string]*fakeRefund{}, feeBps: 30}
	e := &env{t: t, ch: ch}
	conn := ch.connector(func() time.Time { return e.Clock.Now() })
	e.Env = paymenttest.New(t, paymenttest.Options{Store: st, Start: start, Providers: []channel.Provider{conn.Provider()}})
	e.acct = e.Account(t, "fakepay", false, "alipay.qr")
	e.m, e.sc, _ = e.Merchant(t, "Shop", 100)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.svc = &recon.Service{Store: e.Store, Clock: e.Clock, Log: quiet, Accounts: e.Channels, Payments: e.Payments, Holder: "node-a", Chunk: 3}
	return e
}

// order creates an order at the fake channel.
func (e *env) order(no string, amount int64) *store.Order {
	e.t.Helper()
	o, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: "CNY", Subject: "Tea", Method: "alipay.qr"})
	if err != nil {
		e.t.Fatalf("create order %s: %v", no, err)
	}
	return o
}

// paid creates an order, has the payer pay it, and tells the gateway.
func (e *env) paid(no string, amount int64) *store.Order {
	e.t.Helper()
	o := e.order(no, amount)
	e.ch.pay(o.ID, e.Clock.Now())
	o, err := e.Payments.RecheckOrder(ctx, o.ID)
	if err != nil || o.Status != store.OrderSucceeded {
		e.t.Fatalf("pay %s: %v (%v)", no, err, o)
	}
	return o
}

func (e *env) refund(o *store.Order, no string, amount int64) *store.Refund {
	e.t.Helper()
	r, _, err := e.Payments.CreateRefund(ctx, e.sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: no, Amount: amount})
	if err != nil {
		e.t.Fatalf("refund %s: %v", no, err)
	}
	return r
}

func (e *env) later(d time.Duration) { e.Clock.Set(e.Clock.Now().Add(d)) }

// nextMorning is 11:00 on the day after day, in Shanghai.
func (e *env) nextMorning() { e.Clock.Set(time.Date(2026, 3, 15, 3, 0, 0, 0, time.UTC)) }

func (e *env) run(p recon.RunParams) *store.ReconRun {
	e.t.Helper()
	if p.ChannelAccountID == "" {
		p.ChannelAccountID = e.acct.ID
	}
	if p.Date == "" {
		p.Date = day
	}
	r, err := e.svc.Run(ctx, p)
	if err != nil {
		e.t.Fatalf("reconcile %s: %v", p.Date, err)
	}
	return r
}

func (e *env) verify() {
	e.t.Helper()
	rep, err := e.Store.LedgerVerify(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.Clean() {
		e.t.Fatalf("ledger verify: %+v", rep)
	}
}

func (e *env) balance(account string) int64 {
	e.t.Helper()
	bs, err := e.Store.Balances(ctx, account)
	if err != nil {
		e.t.Fatal(err)
	}
	var sum int64
	for _, b := range bs {
		if b.Account == account {
			sum += b.Amount
		}
	}
	return sum
}

func (e *env) discrepancies(f store.DiscrepancyFilter) []*store.Discrepancy {
	e.t.Helper()
	f.Limit = 100
	ds, _, err := e.svc.Discrepancies(ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *env) reconciled(refID string) (how string, ok bool) {
	e.t.Helper()
	var got []string
	err := e.Store.InTx(ctx, func(tx store.Tx) error {
		for _, kind := range []string{"payment", "refund"} {
			m, err := tx.ReconLookup(ctx, kind, []string{refID})
			if err != nil {
				return err
			}
			if t := m[refID]; t != nil && t.ReconciledDay != "" {
				got = append(got, t.ReconciledRun)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return "", len(got) == 1
}

func counts(r *store.ReconRun) map[string]int {
	out := map[string]int{}
	for k, v := range r.Tallies {
		if v.Count != 0 {
			out[k] = v.Count
		}
	}
	return out
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestReconcileADay: a day with payments, a partial refund, a lost
// callback on an order that was then closed (长款, repaired and the late
// payment refunded), an amount the channel changed, a trade only the
// channel has, a refund pending at the gateway that the channel finished,
// a payment the bill lacks (短款), a duplicate line, a line of another
// day and a wrong fee. Matched money moves from the receivable to settled
// cash net of the fee; the ledger verifies; a rerun changes nothing.
func TestReconcileADay(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		a := e.paid("A", 10000)
		b := e.paid("B", 5000)
		c := e.paid("C", 3000)
		ra := e.refund(a, "RA", 2000) // succeeds at once
		if ra.Status != store.RefundSucceeded {
			t.Fatalf("refund A is %s", ra.Status)
		}
		e.later(time.Hour)
		d := e.order("D", 8000)
		e.ch.pay(d.ID, e.Clock.Now()) // the callback is lost …
		if _, err := e.Store.OrderTransition(ctx, store.OrderTransition{OrderID: d.ID, From: []store.OrderStatus{store.OrderPending},
			To: store.OrderClosed, At: e.Clock.Now()}); err != nil { // … and the order expires
			t.Fatal(err)
		}
		e.ch.refundPending = true
		rb := e.refund(b, "RB", 1000) // pending at the gateway, done at the channel
		e.ch.refundPending = false
		if rb.Status != store.RefundPending {
			t.Fatalf("refund B is %s, want pending", rb.Status)
		}
		h := e.paid("H", 700) // the channel's bill will not list it
		i := e.paid("I", 12345)
		e.ch.edit = func(lines []channel.BillRecord) []channel.BillRecord {
			var out []channel.BillRecord
			for _, l := range lines {
				switch {
				case l.OrderID == h.ID && l.Kind == channel.NotifyPayment:
					continue
				case l.OrderID == c.ID && l.Kind == channel.NotifyPayment:
					l.Amount = 2900 // the channel changed the amount
				case l.OrderID == i.ID && l.Kind == channel.NotifyPayment:
					l.Fee += 5
				}
				out = append(out, l)
				if l.OrderID == b.ID && l.Kind == channel.NotifyPayment {
					out = append(out, l) // listed twice
				}
			}
			out = append(out,
				channel.BillRecord{Kind: channel.NotifyPayment, OrderID: "ord_01kzzzzzzzzzzzzzzzzzzzzzzz", ChannelTradeNo: "Tonly", Amount: 4200, Fee: 13, Currency: "CNY", At: start.Add(3 * time.Hour)},
				channel.BillRecord{Kind: channel.NotifyPayment, OrderID: "ord_01kyyyyyyyyyyyyyyyyyyyyyyy", ChannelTradeNo: "Tyday", Amount: 100, Fee: 0, Currency: "CNY", At: start.Add(-24 * time.Hour)},
			)
			return out
		}
		e.nextMorning()
		run := e.run(recon.RunParams{})

		want := map[string]int{recon.Matched: 5, recon.AmountMismatch: 1, recon.FeeMismatch: 1, recon.ChannelOnly: 1,
			recon.GatewayOnly: 1, recon.Duplicate: 1, recon.OtherDay: 1, recon.TallyRepaired: 2}
		if got := counts(run); !sameCounts(got, want) {
			t.Fatalf("classes %v, want %v", got, want)
		}
		if run.Status != store.ReconCompleted || run.Cursor != 10 {
			t.Fatalf("run %s at line %d, want completed at 10", run.Status, run.Cursor)
		}
		// The lost payment is succeeded now, and given back (the default).
		if o, _ := e.Store.OrderGet(ctx, d.ID); o.Status != store.OrderSucceeded || o.AmountRefunded != 8000 {
			t.Fatalf("order D is %s with %d refunded; want succeeded and refunded in full", o.Status, o.AmountRefunded)
		}
		if r, err := e.Store.RefundGetByOutRefundNo(ctx, d.AppID, payment.LateRefundPrefix+d.ID); err != nil || r.Amount != 8000 {
			t.Fatalf("late refund of D: %v %v", r, err)
		}
		if r, _ := e.Store.RefundGet(ctx, rb.ID); r.Status != store.RefundSucceeded {
			t.Fatalf("refund B is %s after reconciliation; want succeeded", r.Status)
		}
		for _, id := range []string{a.ID, b.ID, ra.ID, rb.ID, d.ID} {
			if _, ok := e.reconciled(id); !ok {
				t.Errorf("%s is not reconciled", id)
			}
		}
		for _, id := range []string{c.ID, h.ID, i.ID} {
			if _, ok := e.reconciled(id); ok {
				t.Errorf("%s is reconciled; it has a discrepancy", id)
			}
		}
		// Settled cash is the matched lines net of the channel's fee.
		fee := e.ch.fee
		wantSettled := (10000 - fee(10000)) + (5000 - fee(5000)) + (8000 - fee(8000)) - (2000 - fee(2000)) - (1000 - fee(1000))
		if got := -e.balance(ledger.ChannelSettled(e.acct.ID, false)); got != wantSettled {
			t.Errorf("settled cash %d, want %d", got, wantSettled)
		}
		// What is left in the receivable is what is not proved: C, H, I,
		// less D's late refund (on the next day's bill).
		if got := -e.balance(ledger.ChannelReceivable(e.acct.ID, false)); got != 3000+700+12345-8000 {
			t.Errorf("receivable %d, want %d", got, 3000+700+12345-8000)
		}
		e.verify()

		open := e.discrepancies(store.DiscrepancyFilter{RunID: run.ID, Status: store.DiscrepancyOpen})
		if len(open) != 6 {
			t.Fatalf("%d open discrepancies, want 6", len(open))
		}
		repaired := e.discrepancies(store.DiscrepancyFilter{RunID: run.ID, Status: store.DiscrepancyRepaired})
		if len(repaired) != 2 {
			t.Fatalf("%d repaired discrepancies, want 2", len(repaired))
		}
		evs, _, err := e.Store.EventList(ctx, store.EventFilter{Type: notify.ReconciliationCompleted})
		if err != nil || len(evs) != 1 {
			t.Fatalf("reconciliation.completed events: %d %v", len(evs), err)
		}
		if evs, _, _ := e.Store.EventList(ctx, store.EventFilter{Type: notify.ReconciliationDiscrepancyFound}); len(evs) != 1 {
			t.Fatalf("%d reconciliation.discrepancy_found events, want 1", len(evs))
		}

		// A rerun is a new pass that finds the same and posts nothing.
		entries := e.ledgerEntries()
		again := e.run(recon.RunParams{})
		if again.ID != run.ID || again.Pass != 2 {
			t.Fatalf("rerun is %s pass %d; want %s pass 2", again.ID, again.Pass, run.ID)
		}
		if got := counts(again); !sameCounts(got, want) {
			t.Fatalf("rerun classes %v, want %v", got, want)
		}
		if n := e.ledgerEntries(); n != entries {
			t.Fatalf("rerun posted: %d entries, had %d", n, entries)
		}
		if n := len(e.discrepancies(store.DiscrepancyFilter{RunID: run.ID})); n != 8 {
			t.Fatalf("%d discrepancies after the rerun, want 8", n)
		}
		e.verify()
	})
}

func (e *env) ledgerEntries() int {
	e.t.Helper()
	rep, err := e.Store.LedgerVerify(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep.Entries
}

// TestResolveDiscrepancies: explained refuses a difference; write_off
// books it and reconciles the transaction (so it settles); a resolved
// discrepancy cannot be resolved again; who and why are kept.
func TestResolveDiscrepancies(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		c := e.paid("C", 3000)
		h := e.paid("H", 700)
		e.ch.edit = func(lines []channel.BillRecord) []channel.BillRecord {
			var out []channel.BillRecord
			for _, l := range lines {
				if l.OrderID == h.ID {
					continue
				}
				if l.OrderID == c.ID {
					l.Amount = 2900
				}
				out = append(out, l)
			}
			return out
		}
		e.nextMorning()
		run := e.run(recon.RunParams{})
		ds := e.discrepancies(store.DiscrepancyFilter{RunID: run.ID, Class: recon.AmountMismatch})
		if len(ds) != 1 || ds[0].RefID != c.ID || ds[0].BillAmount != 2900 || ds[0].GatewayAmount != 3000 {
			t.Fatalf("amount mismatches: %+v", ds)
		}
		_, err := e.svc.Resolve(ctx, ds[0].ID, recon.ResolveParams{Action: recon.Explained, Note: "fine", By: "ops@example"})
		if !errors.Is(err, recon.ErrDifference) {
			t.Fatalf("explained with a difference: %v", err)
		}
		if _, err := e.svc.Resolve(ctx, ds[0].ID, recon.ResolveParams{Action: recon.WriteOff, By: "ops@example"}); errs.As(err) == nil || errs.As(err).Param != "note" {
			t.Fatalf("resolve without a note: %v", err)
		}
		d, err := e.svc.Resolve(ctx, ds[0].ID, recon.ResolveParams{Action: recon.WriteOff, Note: "channel short-paid 1 yuan; claim filed", By: "ops@example"})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != store.DiscrepancyResolved || d.ResolvedBy != "ops@example" || d.Action != recon.WriteOff || d.ResolvedAt == nil {
			t.Fatalf("resolved: %+v", d)
		}
		if _, ok := e.reconciled(c.ID); !ok {
			t.Fatal("C is not reconciled after its resolution")
		}
		if got := e.balance(ledger.ReconWriteOffs(false)); got != -100 {
			t.Fatalf("write-offs %d, want -100", got)
		}
		if _, err := e.svc.Resolve(ctx, ds[0].ID, recon.ResolveParams{Action: recon.WriteOff, Note: "again", By: "x"}); !errors.Is(err, recon.ErrAlreadyResolved) {
			t.Fatalf("resolve twice: %v", err)
		}
		gw := e.discrepancies(store.DiscrepancyFilter{Class: recon.GatewayOnly, Status: store.DiscrepancyOpen})
		if len(gw) != 1 || gw[0].RefID != h.ID {
			t.Fatalf("gateway_only: %+v", gw)
		}
		if _, err := e.svc.Resolve(ctx, gw[0].ID, recon.ResolveParams{Action: recon.Adjust, Note: "recover from the channel", By: "ops"}); err != nil {
			t.Fatal(err)
		}
		if got := e.balance(ledger.ReconAdjustments(false)); got != -700 {
			t.Fatalf("adjustments %d, want -700", got)
		}
		if got := e.balance(ledger.ChannelReceivable(e.acct.ID, false)); got != 0 {
			t.Fatalf("receivable %d after every discrepancy is resolved, want 0", got)
		}
		e.verify()
	})
}

// TestLatePaymentKept: a merchant that keeps late payments keeps them.
func TestLatePaymentKept(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		if err := e.svc.SetLatePayment(ctx, e.m.ID, recon.LateKeep); err != nil {
			t.Fatal(err)
		}
		d := e.order("D", 8000)
		e.ch.pay(d.ID, e.Clock.Now())
		if _, err := e.Store.OrderTransition(ctx, store.OrderTransition{OrderID: d.ID, From: []store.OrderStatus{store.OrderPending},
			To: store.OrderClosed, At: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		e.nextMorning()
		run := e.run(recon.RunParams{})
		if got := counts(run); !sameCounts(got, map[string]int{recon.Matched: 1, recon.TallyRepaired: 1}) {
			t.Fatalf("classes %v", got)
		}
		if o, _ := e.Store.OrderGet(ctx, d.ID); o.Status != store.OrderSucceeded || o.AmountRefunded != 0 {
			t.Fatalf("order D is %s with %d refunded; want succeeded and kept", o.Status, o.AmountRefunded)
		}
		e.verify()
	})
}

// TestBadInput: a day that has not ended, a malformed date, an unknown
// account, a bill of another day and a bill of another account are
// refused, and nothing is written.
func TestBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		a := e.paid("A", 1000)
		check := func(what string, p recon.RunParams, code string) {
			t.Helper()
			if p.ChannelAccountID == "" {
				p.ChannelAccountID = e.acct.ID
			}
			_, err := e.svc.Run(ctx, p)
			if ae := errs.As(err); ae == nil || ae.Code != code {
				t.Fatalf("%s: %v, want %s", what, err, code)
			}
		}
		check("today", recon.RunParams{Date: day}, "bill_not_available")
		e.nextMorning()
		check("bad date", recon.RunParams{Date: "2026-3-14"}, "date_invalid")
		check("unknown account", recon.RunParams{Date: day, ChannelAccountID: "cha_01kzzzzzzzzzzzzzzzzzzzzzzz"}, "channel_account_not_found")
		e.ch.edit = func(lines []channel.BillRecord) []channel.BillRecord {
			for i := range lines {
				lines[i].At = lines[i].At.Add(-48 * time.Hour)
			}
			return lines
		}
		check("another day's bill", recon.RunParams{Date: day}, "bill_invalid")
		// The sandbox account serves another order; its bill is not ours.
		other := e.sandboxPaid("S", 500)
		e.ch.edit = func([]channel.BillRecord) []channel.BillRecord {
			return []channel.BillRecord{{Kind: channel.NotifyPayment, OrderID: other.ID, ChannelTradeNo: other.ChannelTradeNo, Amount: 500, Currency: "CNY", At: start}}
		}
		check("another account's bill", recon.RunParams{Date: day}, "bill_invalid")
		if _, err := e.Store.ReconRunByDay(ctx, e.acct.ID, day); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused bill left a run: %v", err)
		}
		if _, ok := e.reconciled(a.ID); ok {
			t.Fatal("a refused bill reconciled a payment")
		}
		e.verify()
	})
}

func (e *env) sandboxPaid(no string, amount int64) *store.Order {
	e.t.Helper()
	o, _, err := e.Payments.CreateOrder(ctx, e.sc, payment.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: "CNY", Subject: "Tea", Method: "sandbox"})
	if err != nil {
		e.t.Fatal(err)
	}
	if o, err = e.Payments.TestPay(ctx, e.sc, o.ID, true); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// flakyRefunds fails the first late-payment refund, as if the run died
// between the recheck and the refund.
type flakyRefunds struct {
	recon.Payments
	failed bool
}

func (f *flakyRefunds) RefundLatePayment(ctx context.Context, orderID, reason string) (*store.Refund, error) {
	if !f.failed {
		f.failed = true
		return nil, errors.New("killed")
	}
	return f.Payments.RefundLatePayment(ctx, orderID, reason)
}

// TestLatePaymentRefundedByTheRerun: a run that repaired a late payment
// but did not get to refund it leaves the discrepancy open; the rerun,
// which finds the order succeeded already, still refunds it.
func TestLatePaymentRefundedByTheRerun(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		d := e.order("D", 8000)
		e.ch.pay(d.ID, e.Clock.Now())
		if _, err := e.Store.OrderTransition(ctx, store.OrderTransition{OrderID: d.ID, From: []store.OrderStatus{store.OrderPending},
			To: store.OrderClosed, At: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		e.nextMorning()
		e.svc.Payments = &flakyRefunds{Payments: e.Payments}
		run := e.run(recon.RunParams{})
		if got := counts(run); !sameCounts(got, map[string]int{recon.ChannelOnly: 1}) {
			t.Fatalf("first run: classes %v", got)
		}
		if o, _ := e.Store.OrderGet(ctx, d.ID); o.Status != store.OrderSucceeded || o.AmountRefunded != 0 {
			t.Fatalf("after the first run order D is %s with %d refunded", o.Status, o.AmountRefunded)
		}
		run = e.run(recon.RunParams{})
		if got := counts(run); !sameCounts(got, map[string]int{recon.Matched: 1, recon.TallyRepaired: 1}) {
			t.Fatalf("rerun: classes %v", got)
		}
		if o, _ := e.Store.OrderGet(ctx, d.ID); o.AmountRefunded != 8000 {
			t.Fatalf("after the rerun order D has %d refunded, want 8000", o.AmountRefunded)
		}
		e.verify()
	})
}

// TestTradeNumberDiffers: a line whose channel trade number is not the
// one the gateway recorded for the order is not matched, whatever its
// amount: a person looks.
func TestTradeNumberDiffers(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		a := e.paid("A", 1000)
		e.ch.edit = func(lines []channel.BillRecord) []channel.BillRecord {
			for i := range lines {
				if lines[i].OrderID == a.ID {
					lines[i].ChannelTradeNo = "Tsomeoneelse"
				}
			}
			return lines
		}
		e.nextMorning()
		run := e.run(recon.RunParams{})
		if got := counts(run); !sameCounts(got, map[string]int{recon.StatusMismatch: 1}) {
			t.Fatalf("classes %v", got)
		}
		if _, ok := e.reconciled(a.ID); ok {
			t.Fatal("a line of another trade number reconciled the payment")
		}
		ds := e.discrepancies(store.DiscrepancyFilter{RunID: run.ID, Status: store.DiscrepancyOpen})
		if len(ds) != 1 || ds[0].ChannelTradeNo != "Tsomeoneelse" || ds[0].RefID != a.ID {
			t.Fatalf("discrepancies %+v", ds)
		}
		e.verify()
	})
}
