package profitsharing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// The profit sharing service on SQLite and PostgreSQL over the payment
// service and the sandbox channel: orders are paid for real, and every
// test ends with Store.LedgerVerify.

var ctx = context.Background()

// start is 09:00 on 2026-03-14 in Shanghai.
var start = time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)

type env struct {
	*paymenttest.Env
	t   testing.TB
	svc *profitsharing.Service
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
			e := &env{Env: pe, t: t, svc: &profitsharing.Service{Store: pe.Store, Clock: pe.Clock, Channels: pe.Channels, Log: quiet}}
			f(t, e)
			e.verify()
		})
	}
}

// paidOrder pays an order of amount created with profit_sharing (or not).
func (e *env) paidOrder(sc store.Scope, no string, amount int64, sharing bool) *store.Order {
	e.t.Helper()
	o, _, err := e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: "CNY", Subject: "Tea", Method: "sandbox", ProfitSharing: sharing})
	if err != nil {
		e.t.Fatal(err)
	}
	if o, err = e.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
		e.t.Fatalf("pay: %v %v", err, o)
	}
	return o
}

func (e *env) receiver(sc store.Scope, typ, account string) *store.ProfitSharingReceiver {
	e.t.Helper()
	r, _, err := e.svc.CreateReceiver(ctx, sc, profitsharing.ReceiverParams{Type: typ, Account: account, Description: "partner"})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) balance(account string) int64 {
	e.t.Helper()
	bs, err := e.Store.Balances(ctx, account)
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	for _, b := range bs {
		if b.Account == account && b.Currency == "CNY" {
			n += b.Amount
		}
	}
	return n
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

func (e *env) eventTypes(m *store.Merchant, objectID string) []string {
	e.t.Helper()
	evs, _, err := e.Store.EventList(ctx, store.EventFilter{MerchantID: m.ID, Livemode: false, ObjectID: objectID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Type)
	}
	return out
}

func share(rcv string, amount int64) profitsharing.ShareParams {
	return profitsharing.ShareParams{Receiver: rcv, Amount: amount, Description: "commission"}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func check[T comparable](t *testing.T, got, want T, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// TestProfitSharingSplitsAndFinishes holds a sharing order's net, shares
// it with a merchant and a sandbox account holder, and releases the rest
// with a finish; a repeat returns the sharing, a conflicting one is 409.
func TestProfitSharingSplitsAndFinishes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 100) // 1% fee
		partner, _, _ := e.Merchant(t, "Seller", 0)
		o := e.paidOrder(sc, "o1", 10000, true)
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 9900, "held")
		check(t, e.balance(ledger.MerchantPending(m.ID, false)), 0, "pending")

		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		holder := e.receiver(sc, profitsharing.TypeSandbox, "buyer-openid")
		again := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		check(t, again.ID, seller.ID, "receiver registered twice")

		p := profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(seller.ID, 3000), share(holder.ID, 1000)}}
		psh, created, err := e.svc.Create(ctx, sc, p)
		if err != nil || !created {
			t.Fatalf("share: %v %v", created, err)
		}
		check(t, psh.Status, store.ProfitSharingSucceeded, "status")
		check(t, psh.Amount, int64(4000), "amount")
		check(t, e.balance(ledger.MerchantAvailable(partner.ID, false)), 3000, "seller's available")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 5900, "held after sharing")
		check(t, e.balance(ledger.MerchantSharingOut(m.ID, false)), 0, "in transit")

		rep, created, err := e.svc.Create(ctx, sc, p)
		if err != nil || created || rep.ID != psh.ID {
			t.Fatalf("repeat: %v %v %v", rep, created, err)
		}
		p.Receivers[0].Amount = 10
		_, _, err = e.svc.Create(ctx, sc, p)
		wantCode(t, err, "duplicate_out_order_no")

		fin, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s2", Finish: true})
		if err != nil {
			t.Fatal(err)
		}
		check(t, fin.Amount, int64(0), "finish amount")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held after finish")
		check(t, e.balance(ledger.MerchantAvailable(m.ID, false)), 5900, "merchant's available")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.FinishedAt != nil, true, "finished")
		check(t, st.Shared, int64(4000), "shared")
		check(t, st.Released, int64(5900), "released")
		check(t, st.UnfreezePending, false, "unfreeze pending (the sandbox has nothing to unfreeze)")
		check(t, fmt.Sprint(e.eventTypes(m, psh.ID)), "[profit_sharing.created profit_sharing.succeeded]", "sharing events")
		check(t, fmt.Sprint(e.eventTypes(m, o.ID)), "[order.succeeded profit_sharing.finished]", "order events")

		_, _, err = e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s3", Receivers: []profitsharing.ShareParams{share(seller.ID, 1)}})
		wantCode(t, err, "profit_sharing_finished")
		list, _, err := e.svc.List(ctx, sc, o.ID, store.ListParams{})
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %d %v", len(list), err)
		}
	})
}

// TestProfitSharingBadInput: each refusal has its stable code and moves
// nothing.
func TestProfitSharingBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		partner, _, _ := e.Merchant(t, "Seller", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		plain := e.paidOrder(sc, "o2", 10000, false)
		unpaid, _, err := e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "o3", Amount: 500, Currency: "CNY", Subject: "Tea", ProfitSharing: true})
		if err != nil {
			t.Fatal(err)
		}
		try := func(no, orderID string, shares ...profitsharing.ShareParams) error {
			_, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: orderID, OutOrderNo: no, Receivers: shares})
			return err
		}
		wantCode(t, try("b1", o.ID, share(seller.ID, 10001)), "profit_sharing_exceeds_available")
		wantCode(t, try("b2", o.ID, share("rcv_00000000000000000000000000", 100)), "receiver_not_found")
		wantCode(t, try("b3", plain.ID, share(seller.ID, 100)), "order_not_profit_sharing")
		wantCode(t, try("b4", unpaid.ID, share(seller.ID, 100)), "order_not_paid")
		wantCode(t, try("b5", o.ID), "parameter_missing")
		wantCode(t, try("b6", o.ID, share(seller.ID, 0)), "receivers.amount_invalid")
		wantCode(t, try("b7", o.ID, share(seller.ID, 1), share(seller.ID, 1)), "receivers_invalid")
		wantCode(t, try("b8", "ord_nope", share(seller.ID, 1)), "order_not_found")
		_, _, err = e.svc.CreateReceiver(ctx, sc, profitsharing.ReceiverParams{Type: profitsharing.TypeMerchant, Account: m.ID})
		wantCode(t, err, "account_invalid")
		_, _, err = e.svc.CreateReceiver(ctx, sc, profitsharing.ReceiverParams{Type: profitsharing.TypeWeChatMerchant, Account: "1900000109"})
		wantCode(t, err, "parameter_missing") // WeChat Pay requires a merchant receiver's full name
		_, _, err = e.svc.CreateReceiver(ctx, sc, profitsharing.ReceiverParams{Type: "bank", Account: "x"})
		wantCode(t, err, "type_invalid")
		_, _, err = e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "o4", Amount: 500, Currency: "CNY", Subject: "Tea", ProfitSharing: true,
			Installments: &payment.InstallmentsParams{Count: 3, FeePayer: "payer"}})
		wantCode(t, err, "profit_sharing_unsupported")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 10000, "held")
		check(t, e.balance(ledger.MerchantPending(m.ID, false)), 10000, "pending (the plain order)")
	})
}

// keepShares is reverse_shares: false, for refunds that must not take
// receivers' shares back (reverse_test.go tests those that do).
var keepShares = false

// TestConcurrentSharingsAndRefundsNeverExceed races 16 sharings and 16
// refunds of 1000 each against an order holding 10000: exactly ten pass,
// the rest are refused, and the held money ends at zero, never below.
func TestConcurrentSharingsAndRefundsNeverExceed(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		partner, _, _ := e.Merchant(t, "Seller", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		const n = 32
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					_, _, results[i] = e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: fmt.Sprintf("s%d", i), Receivers: []profitsharing.ShareParams{share(seller.ID, 1000)}})
				} else {
					_, _, results[i] = e.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("r%d", i), Amount: 1000, ReverseShares: &keepShares})
				}
			}()
		}
		wg.Wait()
		passed, refused := 0, 0
		for _, err := range results {
			switch code := errs.Code(err); {
			case err == nil:
				passed++
			case code == "profit_sharing_exceeds_available" || code == "profit_sharing_return_required":
				refused++
			default:
				t.Fatalf("share or refund: %v", err)
			}
		}
		check(t, passed, 10, "sharings and refunds that passed")
		check(t, refused, n-10, "refused")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Held-st.Reserved, int64(0), "available to share")
	})
}

// TestRefundOfSharedOrderAfterReturn: a refund that would take money the
// receivers have is refused until a receiver returns its share.
func TestRefundOfSharedOrderAfterReturn(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		partner, _, _ := e.Merchant(t, "Seller", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(seller.ID, 8000)}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: "r1", Amount: 5000, ReverseShares: &keepShares})
		wantCode(t, err, "profit_sharing_return_required")

		ret := profitsharing.ReturnParams{ProfitSharing: psh.ID, OutReturnNo: "rt1", Receiver: seller.ID, Amount: 3000, Description: "refund"}
		if _, _, err := e.svc.CreateReturn(ctx, sc, ret); err != nil {
			t.Fatal(err)
		}
		if _, created, err := e.svc.CreateReturn(ctx, sc, ret); err != nil || created {
			t.Fatalf("repeated return: %v %v", created, err)
		}
		ret.OutReturnNo, ret.Amount = "rt2", 5001
		_, _, err = e.svc.CreateReturn(ctx, sc, ret)
		wantCode(t, err, "return_exceeds_share")

		r, _, err := e.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: "r1", Amount: 5000})
		if err != nil {
			t.Fatal(err)
		}
		check(t, r.Status, store.RefundSucceeded, "refund")
		check(t, e.balance(ledger.MerchantAvailable(partner.ID, false)), 5000, "seller's available")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held")
		check(t, e.balance(ledger.MerchantPending(m.ID, false)), 0, "pending")
		check(t, fmt.Sprint(e.eventTypes(m, r.ID)), "[refund.succeeded]", "refund events")
	})
}

// TestProfitSharingUnknownOutcome: a sharing whose answer is lost stays
// processing, with its money in transit; the worker resolves it once, and
// a finish that waited for it then releases the rest.
func TestProfitSharingUnknownOutcome(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		lost := e.receiver(sc, profitsharing.TypeSandbox, sandbox.ReceiverTimeout)
		o := e.paidOrder(sc, "o1", 10000, true)
		psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(lost.ID, 2500)}, Finish: true})
		if err != nil {
			t.Fatal(err)
		}
		check(t, psh.Status, store.ProfitSharingProcessing, "status")
		check(t, e.balance(ledger.MerchantSharingOut(m.ID, false)), 2500, "in transit")
		check(t, e.balance(ledger.MerchantAvailable(m.ID, false)), 0, "available before the answer")

		if n, err := e.svc.ResolveDue(ctx, e.Clock.Now(), 10); err != nil || n != 0 {
			t.Fatalf("resolved early: %d %v", n, err)
		}
		e.Clock.Advance(2 * time.Minute)
		if n, err := e.svc.ResolveDue(ctx, e.Clock.Now(), 10); err != nil || n != 1 {
			t.Fatalf("resolve: %d %v", n, err)
		}
		if n, err := e.svc.ResolveDue(ctx, e.Clock.Now().Add(time.Hour), 10); err != nil || n != 0 {
			t.Fatalf("resolved twice: %d %v", n, err)
		}
		got, err := e.svc.Get(ctx, sc, psh.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got.Status, store.ProfitSharingSucceeded, "status after the query")
		check(t, e.balance(ledger.MerchantSharingOut(m.ID, false)), 0, "in transit after")
		check(t, e.balance(ledger.MerchantAvailable(m.ID, false)), 7500, "released")
		check(t, e.balance(ledger.ChannelReceivable("cha_00000000000000000000sandbx", false)), -7500, "the sandbox owes the order less the share")
	})
}

// TestProfitSharingFailedShareIsHeldAgain: a share the channel refuses
// goes back to the order's held money.
func TestProfitSharingFailedShareIsHeldAgain(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		bad := e.receiver(sc, profitsharing.TypeSandbox, sandbox.ReceiverInvalid)
		o := e.paidOrder(sc, "o1", 10000, true)
		psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(bad.ID, 2500)}})
		if err != nil {
			t.Fatal(err)
		}
		check(t, psh.Status, store.ProfitSharingFailed, "status")
		check(t, psh.FailureCode, "receiver_invalid", "failure code")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 10000, "held again")
		check(t, fmt.Sprint(e.eventTypes(m, psh.ID)), "[profit_sharing.created profit_sharing.failed]", "events")
	})
}

type rawExec interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
}

// TestProfitSharingNotSettledAndReleasedAfterLimit: settlement leaves a
// reconciled sharing order alone; the worker releases it 180 days after
// its payment.
func TestProfitSharingNotSettledAndReleasedAfterLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		o := e.paidOrder(sc, "o1", 10000, true)
		if _, err := e.Store.(rawExec).ExecRaw(ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
			VALUES (?, 'payment', 'cha_00000000000000000000sandbx', '2026-03-14', 0, 'CNY', 'matched', 'rcn_test', ?)`, o.ID, start.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		e.Clock.Set(time.Date(2026, 3, 15, 5, 0, 0, 0, time.UTC))
		stl := &settlement.Service{Store: e.Store, Clock: e.Clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Holder: "node-a"}
		if _, err := stl.Run(ctx, settlement.RunParams{Day: "2026-03-14", MerchantID: m.ID}); err != nil {
			t.Fatal(err)
		}
		check(t, e.balance(ledger.MerchantAvailable(m.ID, false)), 0, "available after settlement")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 10000, "held after settlement")

		if n, err := e.svc.ReleaseDue(ctx, e.Clock.Now(), 10); err != nil || n != 0 {
			t.Fatalf("released early: %d %v", n, err)
		}
		e.Clock.Set(start.Add(profitsharing.DefaultReleaseAfter))
		if n, err := e.svc.ReleaseDue(ctx, e.Clock.Now(), 10); err != nil || n != 1 {
			t.Fatalf("release: %d %v", n, err)
		}
		if n, err := e.svc.ReleaseDue(ctx, e.Clock.Now(), 10); err != nil || n != 0 {
			t.Fatalf("released twice: %d %v", n, err)
		}
		check(t, e.balance(ledger.MerchantAvailable(m.ID, false)), 10000, "available after the release")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held after the release")
	})
}

// TestLedgerVerifyChecksSharing: the ledger check notices an order whose
// recorded held money differs from its account, and a sharing whose
// status its entries do not bear out.
func TestLedgerVerifyChecksSharing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, sc, _ := e.Merchant(t, "Market", 0)
		partner, _, _ := e.Merchant(t, "Seller", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(seller.ID, 1000)}})
		if err != nil {
			t.Fatal(err)
		}
		raw := e.Store.(rawExec)
		for _, c := range []struct {
			break_, undo string
			arg          string
			found        func(*store.VerifyReport) int
		}{
			{`UPDATE profit_sharing_orders SET held = held + 1 WHERE order_id = ?`, `UPDATE profit_sharing_orders SET held = held - 1 WHERE order_id = ?`, o.ID,
				func(r *store.VerifyReport) int { return len(r.BalanceMismatches) }},
			{`UPDATE profit_sharings SET status = 'failed' WHERE id = ?`, `UPDATE profit_sharings SET status = 'succeeded' WHERE id = ?`, psh.ID,
				func(r *store.VerifyReport) int { return len(r.MissingEntries) }},
		} {
			if _, err := raw.ExecRaw(ctx, c.break_, c.arg); err != nil {
				t.Fatal(err)
			}
			rep, err := e.Store.LedgerVerify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.found(rep) != 1 || rep.Clean() {
				t.Fatalf("after %q: %+v", c.break_, rep)
			}
			if _, err := raw.ExecRaw(ctx, c.undo, c.arg); err != nil {
				t.Fatal(err)
			}
		}
	})
}
