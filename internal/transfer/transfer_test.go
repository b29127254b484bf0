package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
	"github.com/paygate/paygate/internal/transfer"
)

// The transfer service on SQLite and PostgreSQL over the payment and
// settlement services, with the sandbox channel: merchants are funded by
// paying, reconciling (the row reconciliation writes, by hand) and
// settling orders, so their available balance is real.

var ctx = context.Background()

// start is 09:00 on 2026-03-14 in Shanghai.
var start = time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)

type env struct {
	*paymenttest.Env
	t       testing.TB
	svc     *transfer.Service
	fx      *fx.Service
	settle  *settlement.Service
	settled bool
}

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
			pe := paymenttest.New(t, paymenttest.Options{Store: st, Start: start})
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			f(t, &env{Env: pe, t: t,
				svc:    &transfer.Service{Store: pe.Store, Clock: pe.Clock, Channels: pe.Channels, Log: quiet},
				fx:     &fx.Service{Store: pe.Store, Clock: pe.Clock},
				settle: &settlement.Service{Store: pe.Store, Clock: pe.Clock, Log: quiet, Holder: "node-a"}})
		})
	}
}

type rawExec interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
}

// fund pays, reconciles and settles an order of amount for the scope's
// merchant (fee 0), so that amount is available; once per env, on 14 March.
func (e *env) fund(m *store.Merchant, sc store.Scope, amount int64, currency string) {
	e.t.Helper()
	if e.settled {
		e.t.Fatal("fund once per test")
	}
	e.settled = true
	o, _, err := e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "fund-" + currency, Amount: amount, Currency: currency, Subject: "Tea", Method: "sandbox"})
	if err != nil {
		e.t.Fatal(err)
	}
	if o, err = e.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
		e.t.Fatalf("pay: %v %v", err, o)
	}
	if _, err := e.Store.(rawExec).ExecRaw(ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, 'payment', 'cha_00000000000000000000sandbx', '2026-03-14', 0, ?, 'matched', 'rcn_test', ?)`, o.ID, currency, start.UnixMicro()); err != nil {
		e.t.Fatal(err)
	}
	e.Clock.Set(time.Date(2026, 3, 15, 5, 0, 0, 0, time.UTC)) // 13:00 in Shanghai
	if _, err := e.settle.Run(ctx, settlement.RunParams{Day: "2026-03-14", MerchantID: m.ID}); err != nil {
		e.t.Fatal(err)
	}
	if got := e.available(m, sc.Livemode, currency); got != amount {
		e.t.Fatalf("funded %d, available %d", amount, got)
	}
}

func (e *env) balance(m *store.Merchant, live bool) ledger.MerchantBalance {
	e.t.Helper()
	b, err := ledger.MerchantBalances(ctx, e.Store, m.ID, live)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func amountIn(l []ledger.Amount, currency string) int64 {
	for _, a := range l {
		if a.Currency == currency {
			return a.Amount
		}
	}
	return 0
}

func (e *env) available(m *store.Merchant, live bool, currency string) int64 {
	return amountIn(e.balance(m, live).Available, currency)
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

func (e *env) events(objectID string) []string {
	e.t.Helper()
	t, err := e.Store.TransferGet(ctx, objectID)
	if err != nil {
		e.t.Fatal(err)
	}
	evs, _, err := e.Store.EventList(ctx, store.EventFilter{MerchantID: t.MerchantID, Livemode: t.Livemode, ObjectID: objectID})
	if err != nil {
		e.t.Fatal(err)
	}
	var types []string
	for i := len(evs) - 1; i >= 0; i-- {
		types = append(types, evs[i].Type)
	}
	return types
}

func params(no string, amount int64, account string) transfer.CreateParams {
	return transfer.CreateParams{OutTransferNo: no, Amount: amount, Currency: "CNY",
		Destination: client.TransferDestination{Method: "wechatpay", Account: account}, Description: "Seller payout"}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

func check[T comparable](t *testing.T, got, want T, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// TestTransferPays pays a transfer out of the available balance, with its
// entries and events; a repeat returns it, a conflicting repeat is
// refused, and another merchant cannot see it.
func TestTransferPays(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		e.fund(m, sc, 10000, "CNY")
		tr, created, err := e.svc.Create(ctx, sc, params("T1", 3000, "o-openid-1"))
		if err != nil || !created {
			t.Fatalf("create: %v %v", err, created)
		}
		check(t, tr.Status, store.TransferSucceeded, "status")
		check(t, tr.Channel, "sandbox", "channel")
		if tr.ChannelTransferNo == "" || tr.FinishedAt == nil {
			t.Fatalf("transfer = %+v", tr)
		}
		b := e.balance(m, false)
		check(t, amountIn(b.Available, "CNY"), 7000, "available")
		check(t, amountIn(b.InTransit, "CNY"), 0, "in transit")
		check(t, fmt.Sprint(e.events(tr.ID)), "[transfer.created transfer.succeeded]", "events")
		entries, err := e.Store.LedgerEntries(ctx, tr.ID)
		if err != nil || len(entries) != 2 || entries[0].Kind != ledger.KindTransfer || entries[1].Kind != ledger.KindTransferPaid {
			t.Fatalf("entries: %v %+v", err, entries)
		}

		again, created, err := e.svc.Create(ctx, sc, params("T1", 3000, "o-openid-1"))
		if err != nil || created || again.ID != tr.ID || again.Status != store.TransferSucceeded {
			t.Fatalf("repeat: %v %v %+v", err, created, again)
		}
		_, _, err = e.svc.Create(ctx, sc, params("T1", 3001, "o-openid-1"))
		wantCode(t, err, "duplicate_out_transfer_no")
		check(t, e.available(m, false, "CNY"), 7000, "available after the repeats")

		got, err := e.svc.Get(ctx, sc, tr.ID)
		if err != nil || got.ID != tr.ID {
			t.Fatalf("get: %v", err)
		}
		_, other, _ := e.Merchant(t, "Other", 0)
		_, err = e.svc.Get(ctx, other, tr.ID)
		wantCode(t, err, "transfer_not_found")
		list, more, err := e.svc.List(ctx, sc, store.TransferSucceeded, store.ListParams{})
		if err != nil || more || len(list) != 1 {
			t.Fatalf("list: %v %v %d", err, more, len(list))
		}
		_, _, err = e.svc.List(ctx, sc, "paid", store.ListParams{})
		wantCode(t, err, "status_invalid")
		e.verify()
	})
}

// TestTransferRefused: bad input, a short balance, a currency never held,
// a live destination no channel account pays, and a payee the channel
// refuses (the money comes back).
func TestTransferRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, live := e.Merchant(t, "Market", 0)
		e.fund(m, sc, 5000, "CNY")
		for _, c := range []struct {
			mutate func(*transfer.CreateParams)
			code   string
		}{
			{func(p *transfer.CreateParams) { p.OutTransferNo = "" }, "parameter_missing"},
			{func(p *transfer.CreateParams) { p.OutTransferNo = "a b" }, "out_transfer_no_invalid"},
			{func(p *transfer.CreateParams) { p.Amount = 0 }, "amount_invalid"},
			{func(p *transfer.CreateParams) { p.Currency = "cny" }, "currency_invalid"},
			{func(p *transfer.CreateParams) { p.Destination.Method = "bank" }, "destination.method_invalid"},
			{func(p *transfer.CreateParams) { p.Destination.Account = "" }, "parameter_missing"},
			{func(p *transfer.CreateParams) { p.Destination.Account = " x" }, "destination.account_invalid"},
			{func(p *transfer.CreateParams) { p.Description = "a\nb" }, "description_invalid"},
			{func(p *transfer.CreateParams) { p.Amount = 5001 }, "insufficient_balance"},
			{func(p *transfer.CreateParams) { p.Currency = "USD" }, "currency_not_held"},
		} {
			p := params("R1", 1000, "o-openid-1")
			c.mutate(&p)
			_, _, err := e.svc.Create(ctx, sc, p)
			wantCode(t, err, c.code)
		}
		_, _, err := e.svc.Create(ctx, live, params("L1", 1000, "o-openid-1"))
		wantCode(t, err, "transfers_not_supported")
		lp := params("L2", 1000, "x")
		lp.Destination.Method = "sandbox"
		_, _, err = e.svc.Create(ctx, live, lp)
		wantCode(t, err, "destination.method_invalid")

		tr, _, err := e.svc.Create(ctx, sc, params("R2", 2000, sandbox.PayeeInvalid))
		if err != nil || tr.Status != store.TransferFailed || tr.FailureCode != "payee_account_invalid" {
			t.Fatalf("refused payee: %v %+v", err, tr)
		}
		check(t, e.available(m, false, "CNY"), 5000, "available after a failed transfer")
		check(t, fmt.Sprint(e.events(tr.ID)), "[transfer.created transfer.failed]", "events")
		// The whole balance is still there to pay.
		if tr, _, err := e.svc.Create(ctx, sc, params("R3", 5000, "o-openid-2")); err != nil || tr.Status != store.TransferSucceeded {
			t.Fatalf("transfer of the whole balance: %v %+v", err, tr)
		}
		_, _, err = e.svc.Create(ctx, sc, params("R4", 1, "o-openid-2"))
		wantCode(t, err, "insufficient_balance")
		e.verify()
	})
}

// TestTransferUnknownOutcome: a lost answer and a slow channel leave the
// transfer processing, its money in transit; the worker resolves them
// when they are due, and a channel that forgot a transfer (or never got
// it) is sent it again, under the same id.
func TestTransferUnknownOutcome(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		e.fund(m, sc, 10000, "CNY")
		lost, _, err := e.svc.Create(ctx, sc, params("U1", 1000, sandbox.PayeeTimeout))
		if err != nil || lost.Status != store.TransferProcessing || lost.QueryAttempts != 1 {
			t.Fatalf("lost answer: %v %+v", err, lost)
		}
		slow, _, err := e.svc.Create(ctx, sc, params("U2", 2000, sandbox.PayeeSlow))
		if err != nil || slow.Status != store.TransferProcessing || slow.ChannelTransferNo == "" {
			t.Fatalf("slow: %v %+v", err, slow)
		}
		b := e.balance(m, false)
		check(t, amountIn(b.Available, "CNY"), 7000, "available")
		check(t, amountIn(b.InTransit, "CNY"), 3000, "in transit")
		e.verify()

		n, err := e.svc.ResolveDue(ctx, e.Clock.Now(), 100)
		if err != nil || n != 0 {
			t.Fatalf("resolved %d before they were due: %v", n, err)
		}
		// The sandbox restarts and forgets the slow transfer: the worker
		// finds nothing there and sends it again.
		e.Sandbox.ForgetTransfers()
		e.Clock.Advance(2 * time.Minute)
		n, err = e.svc.ResolveDue(ctx, e.Clock.Now(), 100)
		if err != nil || n != 2 {
			t.Fatalf("resolved %d: %v", n, err)
		}
		got, _ := e.Store.TransferGet(ctx, slow.ID)
		check(t, got.Status, store.TransferProcessing, "the slow transfer sent again")
		got, _ = e.Store.TransferGet(ctx, lost.ID)
		check(t, got.Status, store.TransferProcessing, "the lost transfer, sent again and lost again")
		e.Clock.Advance(time.Hour)
		if _, err := e.svc.ResolveDue(ctx, e.Clock.Now(), 100); err != nil {
			t.Fatal(err)
		}
		got, _ = e.Store.TransferGet(ctx, slow.ID)
		check(t, got.Status, store.TransferSucceeded, "the slow transfer")
		got, _ = e.Store.TransferGet(ctx, lost.ID)
		check(t, got.Status, store.TransferSucceeded, "the lost transfer")
		b = e.balance(m, false)
		check(t, amountIn(b.Available, "CNY"), 7000, "available")
		check(t, amountIn(b.InTransit, "CNY"), 0, "in transit")
		check(t, fmt.Sprint(e.events(lost.ID)), "[transfer.created transfer.succeeded]", "events")
		// Resolving a finished transfer again changes nothing.
		if again, err := e.svc.Resolve(ctx, got); err != nil || again.Status != store.TransferSucceeded {
			t.Fatalf("resolve again: %v %+v", err, again)
		}
		e.verify()
	})
}

// TestConcurrentTransfersNeverOverdraw races 32 transfers of 1000 against
// an available balance of 10000: exactly ten are paid, the rest are
// refused as insufficient, and the balance ends at zero, never below.
func TestConcurrentTransfersNeverOverdraw(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		e.fund(m, sc, 10000, "CNY")
		const n = 32
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, results[i] = e.svc.Create(ctx, sc, params(fmt.Sprintf("C%d", i), 1000, fmt.Sprintf("o-openid-%d", i)))
			}()
		}
		wg.Wait()
		paid, short := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				paid++
			case errs.Code(err) == "insufficient_balance":
				short++
			default:
				t.Fatalf("transfer: %v", err)
			}
		}
		check(t, paid, 10, "transfers paid")
		check(t, short, n-10, "transfers refused")
		check(t, e.available(m, false, "CNY"), 0, "available")
		e.verify()
	})
}

// TestSettlementPayoutAfterTransfers: a settlement's payout is refused
// when transfers spent the money the batch settled.
func TestSettlementPayoutAfterTransfers(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		e.fund(m, sc, 10000, "CNY")
		if _, _, err := e.svc.Create(ctx, sc, params("S1", 4000, "o-openid-1")); err != nil {
			t.Fatal(err)
		}
		list, _, err := e.settle.List(ctx, store.SettlementFilter{MerchantID: m.ID})
		if err != nil || len(list) != 1 {
			t.Fatalf("settlements: %v %d", err, len(list))
		}
		_, err = e.settle.StartPayout(ctx, list[0].ID)
		wantCode(t, err, "insufficient_available")
		check(t, e.available(m, false, "CNY"), 6000, "available")
		e.verify()
	})
}

// TestTransfersRacePayout races transfers against the payout of the
// settlement that funded the balance: both debit available under its
// lock, so exactly one side wins the money, and it never goes negative.
func TestTransfersRacePayout(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		e.fund(m, sc, 10000, "CNY")
		list, _, err := e.settle.List(ctx, store.SettlementFilter{MerchantID: m.ID})
		if err != nil || len(list) != 1 {
			t.Fatalf("settlements: %v %d", err, len(list))
		}
		var wg sync.WaitGroup
		var payoutErr error
		results := make([]error, 8)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, payoutErr = e.settle.StartPayout(ctx, list[0].ID)
		}()
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, results[i] = e.svc.Create(ctx, sc, params(fmt.Sprintf("P%d", i), 2500, "o-payee"))
			}()
		}
		wg.Wait()
		paid := 0
		for _, err := range results {
			if err == nil {
				paid++
			} else if errs.Code(err) != "insufficient_balance" {
				t.Fatalf("transfer: %v", err)
			}
		}
		b := e.balance(m, false)
		switch {
		case payoutErr == nil:
			// The payout took the whole 10000 first: no transfer can have.
			check(t, paid, 0, "transfers paid beside the payout")
			check(t, amountIn(b.InTransit, "CNY"), 10000, "in transit")
		case errs.Code(payoutErr) == "insufficient_available":
			check(t, paid > 0, true, "some transfer paid before the refused payout")
			check(t, amountIn(b.Available, "CNY"), 10000-2500*int64(paid), "available")
		default:
			t.Fatalf("payout: %v", payoutErr)
		}
		if amountIn(b.Available, "CNY") < 0 {
			t.Fatalf("available went negative: %+v", b)
		}
		e.verify()
	})
}
