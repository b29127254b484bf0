package settlement_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// The settlement service tested directly over the payment service, on
// SQLite and PostgreSQL, with a fake clock and the sandbox channel; the
// rows reconciliation would write are inserted by hand.

var ctx = context.Background()

// start is 09:00 on 2026-03-14 in Shanghai.
var start = time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)

type env struct {
	*paymenttest.Env
	svc *settlement.Service
	t   *testing.T
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
	pe := paymenttest.New(t, paymenttest.Options{Store: st, Start: start})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &env{Env: pe, t: t, svc: &settlement.Service{Store: pe.Store, Clock: pe.Clock, Log: quiet, Holder: "node-a"}}
}

// pay creates a sandbox order and pays it.
func (e *env) pay(sc store.Scope, no string, amount int64, currency string) *store.Order {
	e.t.Helper()
	o, _, err := e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: no, Amount: amount, Currency: currency, Subject: "Tea", Method: "sandbox"})
	if err != nil {
		e.t.Fatalf("create order %s: %v", no, err)
	}
	if o, err = e.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
		e.t.Fatalf("pay order %s: %v (%v)", no, err, o)
	}
	return o
}

// refund refunds amount of o; the sandbox answers at once.
func (e *env) refund(sc store.Scope, o *store.Order, no string, amount int64) *store.Refund {
	e.t.Helper()
	r, _, err := e.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: no, Amount: amount})
	if err != nil || r.Status != store.RefundSucceeded {
		e.t.Fatalf("refund %s: %v (%v)", no, err, r)
	}
	return r
}

type rawExec interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
}

// reconcile writes the row reconciliation writes for a matched transaction.
func (e *env) reconcile(refID, kind string, channelFee int64) {
	e.t.Helper()
	if _, err := e.Store.(rawExec).ExecRaw(ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, ?, 'cha_00000000000000000000sandbx', '2026-03-14', ?, 'CNY', 'matched', 'rcn_test', ?)`, refID, kind, channelFee, start.UnixMicro()); err != nil {
		e.t.Fatalf("reconcile %s: %v", refID, err)
	}
}

// at sets the clock to a local time in Shanghai.
func (e *env) at(day string, hour int) {
	d, err := time.ParseInLocation("2006-01-02", day, shanghai)
	if err != nil {
		e.t.Fatal(err)
	}
	e.Clock.Set(d.Add(time.Duration(hour) * time.Hour))
}

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// run settles merchant m through day and returns the batches made.
func (e *env) run(m *store.Merchant, day string) []*store.Settlement {
	e.t.Helper()
	rep, err := e.svc.Run(ctx, settlement.RunParams{Day: day, MerchantID: m.ID})
	if err != nil {
		e.t.Fatalf("settle %s through %s: %v", m.ID, day, err)
	}
	return rep.Settlements
}

func (e *env) balance(m *store.Merchant, live bool) ledger.MerchantBalance {
	e.t.Helper()
	b, err := ledger.MerchantBalances(ctx, e.Store, m.ID, live)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
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

func cny(n int64) []ledger.Amount { return []ledger.Amount{{Currency: "CNY", Amount: n}} }

func check[T comparable](t *testing.T, got, want T, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func checkAmounts(t *testing.T, got, want []ledger.Amount, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

// TestSettleADay settles a merchant's day: only reconciled transactions,
// fees from the ledger, the rest waiting; the balance moves from pending
// to available, a rerun changes nothing, the waiting payment settles the
// next day, and the payout goes out with its event.
func TestSettleADay(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Tea House", 60)
		o1 := e.pay(sc, "A1", 10000, "CNY") // fee 60
		o2 := e.pay(sc, "A2", 5000, "CNY")  // fee 30
		o3 := e.pay(sc, "A3", 2000, "CNY")  // fee 12; not reconciled
		r1 := e.refund(sc, o1, "R1", 3000)
		e.reconcile(o1.ID, "payment", 30)
		e.reconcile(o2.ID, "payment", 15)
		e.reconcile(r1.ID, "refund", -9)

		_, err := e.svc.Run(ctx, settlement.RunParams{Day: "2026-03-14", MerchantID: m.ID})
		wantCode(t, err, "date_invalid") // the day has not ended in Shanghai

		e.at("2026-03-15", 12)
		got := e.run(m, "2026-03-14")
		if len(got) != 1 {
			t.Fatalf("batches = %d, want 1 (test mode, CNY)", len(got))
		}
		s := got[0]
		check(t, s.Status, store.SettlementPending, "status")
		check(t, s.Livemode, false, "livemode")
		check(t, s.Day+" "+s.SettleDate, "2026-03-14 2026-03-15", "day and settle date")
		check(t, [6]int64{s.Gross, s.Refunds, s.Fees, s.Adjustments, s.ReserveHeld, s.Net}, [6]int64{15000, 3000, 90, 0, 0, 11910},
			"gross, refunds, fees, adjustments, reserve, net")
		check(t, [2]int{s.PaymentCount, s.RefundCount}, [2]int{2, 1}, "payments and refunds settled")
		check(t, s.ChannelFees, 36, "channel fees (30 + 15 − 9)")
		check(t, s.Waiting.Payments, store.Tally{Count: 1, Amount: 2000}, "waiting payments")
		obj := settlement.Object(s, true)
		check(t, *obj.Margin, 54, "margin")
		check(t, obj.Waiting.Reason, "not_reconciled", "waiting reason")
		if m := settlement.Object(s, false); m.Margin != nil || m.ChannelFees != nil || m.MerchantID != "" {
			t.Fatalf("the merchant's view shows the platform's figures: %+v", m)
		}

		b := e.balance(m, false)
		checkAmounts(t, b.Pending, cny(1988), "pending (the waiting payment less its fee)")
		checkAmounts(t, b.Available, cny(11910), "available")
		e.verify()

		// A rerun makes nothing new.
		if again := e.run(m, "2026-03-14"); len(again) != 0 {
			t.Fatalf("a rerun made %d batches", len(again))
		}
		checkAmounts(t, e.balance(m, false).Available, cny(11910), "available after a rerun")

		// The next day: the waiting payment is reconciled and settles with
		// a new payment.
		e.at("2026-03-15", 15)
		o4 := e.pay(sc, "A4", 1000, "CNY")
		e.reconcile(o3.ID, "payment", 6)
		e.reconcile(o4.ID, "payment", 3)
		e.at("2026-03-16", 12)
		next := e.run(m, "2026-03-15")
		if len(next) != 1 || next[0].PaymentCount != 2 || next[0].Net != 1988+994 || next[0].Waiting.Payments.Count != 0 {
			t.Fatalf("the next day's batch = %+v", next)
		}
		checkAmounts(t, e.balance(m, false).Pending, cny(0), "pending after the second batch")
		checkAmounts(t, e.balance(m, false).Available, cny(11910+2982), "available after the second batch")

		// Payout: started, then confirmed with the bank's reference.
		out, err := e.svc.StartPayout(ctx, s.ID)
		if err != nil || out.Status != store.SettlementInTransit {
			t.Fatalf("start payout: %v %+v", err, out)
		}
		checkAmounts(t, e.balance(m, false).InTransit, cny(11910), "in transit")
		paid, err := e.svc.Pay(ctx, s.ID, "CMB-20260315-0001")
		if err != nil || paid.Status != store.SettlementPaid || paid.BankReference != "CMB-20260315-0001" || paid.PaidAt == nil {
			t.Fatalf("pay: %v %+v", err, paid)
		}
		b = e.balance(m, false)
		checkAmounts(t, b.InTransit, cny(0), "in transit once paid")
		checkAmounts(t, b.Available, cny(2982), "available once the first batch is paid")
		again, err := e.svc.Pay(ctx, s.ID, "CMB-20260315-0001")
		if err != nil || again.Status != store.SettlementPaid {
			t.Fatalf("paying again with the same reference: %v", err)
		}
		_, err = e.svc.Pay(ctx, s.ID, "OTHER")
		wantCode(t, err, "settlement_already_paid")
		// Pay straight from pending: both moves in one go.
		if p2, err := e.svc.Pay(ctx, next[0].ID, "CMB-2"); err != nil || p2.Status != store.SettlementPaid || p2.PayoutStartedAt == nil {
			t.Fatalf("pay a pending batch: %v %+v", err, p2)
		}
		checkAmounts(t, e.balance(m, false).Available, cny(0), "available once both are paid")
		paidOut, err := e.Store.Balances(ctx, ledger.PaidOut(false))
		if err != nil || len(paidOut) != 1 || paidOut[0].Amount != 11910+2982 {
			t.Fatalf("paid out: %v %v", paidOut, err)
		}
		evs, _, err := e.Store.EventList(ctx, store.EventFilter{MerchantID: m.ID, Type: notify.SettlementPaid, ListParams: store.ListParams{Limit: 10}})
		if err != nil || len(evs) != 2 || evs[1].ObjectID != s.ID {
			t.Fatalf("settlement.paid events: %v %v", evs, err)
		}
		e.verify()
	})
}

// TestNegativeNetCarriesForward: a day whose refunds exceed its payments
// pays nothing and moves nothing; its deficit is the first line of the
// next batch, which pays the rest.
func TestNegativeNetCarriesForward(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Shoe Shop", 60)
		o1 := e.pay(sc, "B1", 10000, "CNY") // net 9940
		e.reconcile(o1.ID, "payment", 0)
		e.at("2026-03-15", 12)
		first := e.run(m, "2026-03-14")
		if len(first) != 1 || first[0].Net != 9940 {
			t.Fatalf("first batch = %+v", first)
		}
		e.at("2026-03-15", 14)
		r := e.refund(sc, o1, "RB1", 8000)
		o2 := e.pay(sc, "B2", 1000, "CNY") // net 994
		e.reconcile(r.ID, "refund", 0)
		e.reconcile(o2.ID, "payment", 0)
		e.at("2026-03-16", 12)
		second := e.run(m, "2026-03-15")
		if len(second) != 1 {
			t.Fatalf("second day's batches = %d", len(second))
		}
		c := second[0]
		check(t, c.Status, store.SettlementCarriedForward, "status of a negative batch")
		check(t, c.Net, -7006, "net of a negative batch")
		b := e.balance(m, false)
		checkAmounts(t, b.Pending, cny(-7006), "pending: the deficit stays there")
		checkAmounts(t, b.Available, cny(9940), "available: untouched by the negative batch")
		_, err := e.svc.Pay(ctx, c.ID, "X")
		wantCode(t, err, "settlement_not_payable")
		e.verify()

		e.at("2026-03-16", 14)
		o3 := e.pay(sc, "B3", 20000, "CNY") // net 19880
		e.reconcile(o3.ID, "payment", 0)
		e.at("2026-03-17", 12)
		third := e.run(m, "2026-03-16")
		if len(third) != 1 {
			t.Fatalf("third day's batches = %d", len(third))
		}
		s := third[0]
		check(t, [3]int64{s.Gross, s.Adjustments, s.Net}, [3]int64{20000, -7006, 12874}, "gross, adjustments and net after the carry")
		lines, _, err := e.svc.Lines(ctx, s, "", 10)
		if err != nil || len(lines) != 2 || lines[0].Kind != store.LineCarryForward || lines[0].RefID != c.ID || lines[0].Net != -7006 {
			t.Fatalf("lines of the batch that carries: %v %+v", err, lines)
		}
		carried, err := e.svc.Get(ctx, c.ID)
		if err != nil || carried.CarriedTo != s.ID {
			t.Fatalf("carried_to of the negative batch: %v %+v", err, carried)
		}
		b = e.balance(m, false)
		checkAmounts(t, b.Pending, cny(0), "pending after the carry")
		checkAmounts(t, b.Available, cny(9940+12874), "available after the carry")
		e.verify()
	})
}

// TestRollingReserve holds a share of each batch and releases it in the
// first batch on or after its release date.
func TestRollingReserve(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Ticket Agency", 0)
		if _, _, err := e.svc.UpdateSettings(ctx, m.ID, settlement.SettingsParams{ReserveBps: ptr(1000), ReserveDays: ptr(2)}); err != nil {
			t.Fatal(err)
		}
		day := func(d string, amount int64) *store.Settlement {
			t.Helper()
			dd, _ := settlement.ParseDay(d)
			e.at(d, 10)
			o := e.pay(sc, "C-"+d, amount, "CNY")
			e.reconcile(o.ID, "payment", 0)
			e.at(dd.AddDate(0, 0, 1).Format(settlement.DayLayout), 12)
			got := e.run(m, d)
			if len(got) != 1 {
				t.Fatalf("batches of %s = %d", d, len(got))
			}
			return got[0]
		}
		s1 := day("2026-03-14", 10000)
		check(t, [3]int64{s1.ReserveHeld, s1.ReserveReleased, s1.Net}, [3]int64{1000, 0, 9000}, "day 1: held, released, net")
		check(t, s1.ReserveReleaseDate, "2026-03-17", "release date (settle date 03-15 + 2 days)")
		checkAmounts(t, e.balance(m, false).Reserved, cny(1000), "reserved after day 1")
		s2 := day("2026-03-15", 5000)
		check(t, [3]int64{s2.ReserveHeld, s2.ReserveReleased, s2.Net}, [3]int64{500, 0, 4500}, "day 2: held, released, net")
		s3 := day("2026-03-16", 2000) // settles on 03-17: day 1's reserve is due
		check(t, [3]int64{s3.ReserveHeld, s3.ReserveReleased, s3.Net}, [3]int64{200, 1000, 2800}, "day 3: held, released, net")
		b := e.balance(m, false)
		checkAmounts(t, b.Reserved, cny(700), "reserved after day 3 (day 2's and day 3's)")
		checkAmounts(t, b.Available, cny(9000+4500+2800), "available after day 3")
		checkAmounts(t, b.Pending, cny(0), "pending after day 3")
		e.verify()
	})
}

func ptr[T any](v T) *T { return &v }

func accountParams(name, timezone string) account.MerchantParams {
	return account.MerchantParams{Name: name, Timezone: timezone}
}

// app makes a test-mode app of m and returns its scope.
func (e *env) app(t *testing.T, m *store.Merchant) store.Scope {
	t.Helper()
	na, err := e.Accounts.CreateApp(ctx, m.ID, account.AppParams{Name: "app", Mode: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return store.Scope{MerchantID: m.ID, AppID: na.App.ID}
}

// TestFeesFromTheSchedule: per-method rates and fixed fees apply when a
// payment succeeds; under pro_rata a refund returns its share of the fee
// and the settlement nets it.
func TestFeesFromTheSchedule(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Bakery", 60)
		if _, _, err := e.svc.UpdateSettings(ctx, m.ID, settlement.SettingsParams{FixedFee: ptr[int64](5),
			MethodFees: []store.MethodFee{{Method: "sandbox", FeeRateBps: 100, FixedFee: 20}}}); err != nil {
			t.Fatal(err)
		}
		e.Payments.RefundFeePolicy = settlement.RefundFeeProRata
		o := e.pay(sc, "D1", 10000, "CNY")  // 100 + 20
		usd := e.pay(sc, "D2", 1000, "USD") // 10, no fixed fee outside CNY
		r := e.refund(sc, o, "RD1", 2500)   // returns 120 × 2500 / 10000 = 30
		fees, err := e.Store.Balances(ctx, ledger.PlatformFees(false))
		if err != nil || len(fees) != 2 || fees[0].Currency != "CNY" || fees[0].Amount != 90 || fees[1].Amount != 10 {
			t.Fatalf("platform fees: %v %v", fees, err)
		}
		for _, id := range []string{o.ID, usd.ID} {
			e.reconcile(id, "payment", 0)
		}
		e.reconcile(r.ID, "refund", 0)
		e.at("2026-03-15", 12)
		got := e.run(m, "2026-03-14")
		if len(got) != 2 {
			t.Fatalf("batches = %d, want one per currency", len(got))
		}
		by := map[string]*store.Settlement{}
		for _, s := range got {
			by[s.Currency] = s
		}
		c := by["CNY"]
		check(t, [4]int64{c.Gross, c.Refunds, c.Fees, c.Net}, [4]int64{10000, 2500, 90, 7410}, "CNY: gross, refunds, fees (120 − 30), net")
		u := by["USD"]
		check(t, [3]int64{u.Gross, u.Fees, u.Net}, [3]int64{1000, 10, 990}, "USD: gross, fees, net")
		e.verify()
	})
}

func TestFeeScheduleAndShares(t *testing.T) {
	f := settlement.FeeSchedule{RateBps: 60, FixedFee: 10, Currency: "CNY",
		Methods: map[string]store.MethodFee{"wechat.native": {Method: "wechat.native", FeeRateBps: 38}}}
	for _, c := range []struct {
		method, currency string
		amount, want     int64
	}{
		{"alipay.qr", "CNY", 10000, 70},     // 60 + 10
		{"alipay.qr", "CNY", 8333, 60},      // 49.998 → 50, + 10
		{"wechat.native", "CNY", 10000, 38}, // its rule: no fixed fee
		{"alipay.qr", "USD", 10000, 60},     // no fixed fee outside CNY
		{"alipay.qr", "CNY", 5, 5},          // never more than the payment
	} {
		got, err := f.Fee(c.method, c.currency, c.amount)
		if err != nil || got != c.want {
			t.Errorf("Fee(%s, %s, %d) = %d, %v; want %d", c.method, c.currency, c.amount, got, err, c.want)
		}
	}
	for _, c := range []struct {
		policy               settlement.RefundFeePolicy
		fee, payment, refund int64
		want                 int64
	}{
		{settlement.RefundFeeKeep, 60, 10000, 10000, 0},
		{settlement.RefundFeeProRata, 60, 10000, 10000, 60},
		{settlement.RefundFeeProRata, 60, 10000, 3333, 19}, // 19.998 rounded down
		{settlement.RefundFeeProRata, 7, 999_999_999_999, 999_999_999_998, 6},
	} {
		got, err := settlement.RefundFeeShare(c.policy, c.fee, c.payment, c.refund)
		if err != nil || got != c.want {
			t.Errorf("RefundFeeShare(%s, %d, %d, %d) = %d, %v; want %d", c.policy, c.fee, c.payment, c.refund, got, err, c.want)
		}
	}
	// Three refunds of a third each never return more than the fee.
	var sum int64
	for range 3 {
		s, _ := settlement.RefundFeeShare(settlement.RefundFeeProRata, 100, 999, 333)
		sum += s
	}
	if sum > 100 {
		t.Fatalf("three thirds returned %d of a fee of 100", sum)
	}
	if _, err := settlement.ParseRefundFeePolicy("sometimes"); err == nil {
		t.Fatal("an unknown refund fee policy parsed")
	}
}

// TestSettingsValidation refuses bad settings with stable codes.
func TestSettingsValidation(t *testing.T) {
	e := newEnv(t, sqlitetest.Open(t))
	m, _, _ := e.Merchant(t, "Shop", 60)
	for _, c := range []struct {
		p    settlement.SettingsParams
		code string
	}{
		{settlement.SettingsParams{SettleDays: ptr(0)}, "settle_days_invalid"},
		{settlement.SettingsParams{SettleDays: ptr(31)}, "settle_days_invalid"},
		{settlement.SettingsParams{ReserveBps: ptr(10001)}, "reserve_bps_invalid"},
		{settlement.SettingsParams{ReserveBps: ptr(500)}, "reserve_days_invalid"},
		{settlement.SettingsParams{FixedFee: ptr[int64](-1)}, "fixed_fee_invalid"},
		{settlement.SettingsParams{MethodFees: []store.MethodFee{{Method: "bitcoin"}}}, "method_fees_invalid"},
		{settlement.SettingsParams{MethodFees: []store.MethodFee{{Method: "sandbox"}, {Method: "sandbox"}}}, "method_fees_invalid"},
		{settlement.SettingsParams{MethodFees: []store.MethodFee{{Method: "sandbox", FeeRateBps: -1}}}, "method_fees_invalid"},
	} {
		_, _, err := e.svc.UpdateSettings(ctx, m.ID, c.p)
		wantCode(t, err, c.code)
	}
	_, _, err := e.svc.UpdateSettings(ctx, "mch_nosuch", settlement.SettingsParams{})
	wantCode(t, err, "merchant_not_found")
	_, st, err := e.svc.UpdateSettings(ctx, m.ID, settlement.SettingsParams{SettleDays: ptr(3)})
	if err != nil || st.SettleDays != 3 || st.ReserveBps != 0 {
		t.Fatalf("valid settings: %v %+v", err, st)
	}
}

// TestRunDueFollowsEachMerchantsClock: day T of a merchant is due on T+N
// after SettleAt in its own time zone; days not settled are settled in
// order.
func TestRunDueFollowsEachMerchantsClock(t *testing.T) {
	e := newEnv(t, sqlitetest.Open(t))
	sh, scSh, _ := e.Merchant(t, "Shanghai Shop", 0)
	ny, err := e.Accounts.CreateMerchant(ctx, accountParams("New York Shop", "America/New_York"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.UpdateSettings(ctx, ny.ID, settlement.SettingsParams{SettleDays: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	scNY := e.app(t, ny)
	e.Clock.Set(time.Date(2026, 3, 14, 16, 0, 0, 0, time.UTC)) // 00:00 on 03-15 in Shanghai, 12:00 on 03-14 in New York
	for _, x := range []struct {
		sc store.Scope
		no string
	}{{scSh, "S1"}, {scNY, "N1"}} {
		o := e.pay(x.sc, x.no, 1000, "CNY")
		e.reconcile(o.ID, "payment", 0)
	}
	due := func(at time.Time) []string {
		t.Helper()
		e.Clock.Set(at)
		rep, err := e.svc.RunDue(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range rep.Settlements {
			out = append(out, s.MerchantID+" "+s.Day)
		}
		return out
	}
	// 11:00 on 03-16 in Shanghai: not yet noon.
	if got := due(time.Date(2026, 3, 16, 3, 0, 0, 0, time.UTC)); len(got) != 0 {
		t.Fatalf("due before noon: %v", got)
	}
	// 12:00 on 03-16 in Shanghai: its 03-15 is due (T+1), with the
	// payment made that day. New York's 03-14 (T+2) is due only on 03-16
	// at noon New York time.
	got := due(time.Date(2026, 3, 16, 4, 0, 0, 0, time.UTC))
	if len(got) != 1 || got[0] != sh.ID+" 2026-03-15" {
		t.Fatalf("due at noon in Shanghai: %v", got)
	}
	got = due(time.Date(2026, 3, 16, 16, 0, 0, 0, time.UTC)) // 12:00 on 03-16 in New York
	if len(got) != 1 || got[0] != ny.ID+" 2026-03-14" {
		t.Fatalf("due at noon in New York: %v", got)
	}
	if got := due(time.Date(2026, 3, 16, 17, 0, 0, 0, time.UTC)); len(got) != 0 {
		t.Fatalf("due again: %v", got)
	}
	// Days left alone are settled in order, each its own batch.
	for i, no := range []string{"S2", "S3"} {
		e.Clock.Set(time.Date(2026, 3, 17+i, 2, 0, 0, 0, time.UTC))
		o := e.pay(scSh, no, 1000, "CNY")
		e.reconcile(o.ID, "payment", 0)
	}
	got = due(time.Date(2026, 3, 20, 4, 0, 0, 0, time.UTC))
	want := []string{sh.ID + " 2026-03-17", sh.ID + " 2026-03-18"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("catching up: %v, want %v", got, want)
	}
	e.verify()
}

// TestTwoNodesSettleADayOnce runs the same day on two nodes at once.
func TestTwoNodesSettleADayOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Busy Shop", 60)
		for i := range 20 {
			o := e.pay(sc, "E"+strconv.Itoa(i), int64(1000+i), "CNY")
			e.reconcile(o.ID, "payment", 0)
		}
		e.at("2026-03-15", 12)
		nodes := []*settlement.Service{e.svc, {Store: e.Store, Clock: e.Clock, Log: e.svc.Log, Holder: "node-b"}}
		var wg sync.WaitGroup
		made := make([]int, 2)
		errsOf := make([]error, 2)
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := n.Run(ctx, settlement.RunParams{Day: "2026-03-14", MerchantID: m.ID})
				errsOf[i] = err
				if rep != nil {
					made[i] = len(rep.Settlements)
				}
			}()
		}
		wg.Wait()
		for _, err := range errsOf {
			if err != nil && !errors.Is(err, settlement.ErrRunInProgress) {
				t.Fatalf("run: %v", err)
			}
		}
		if made[0]+made[1] != 1 {
			t.Fatalf("batches made by the two nodes: %v, want 1 in all", made)
		}
		list, _, err := e.svc.List(ctx, store.SettlementFilter{MerchantID: m.ID})
		if err != nil || len(list) != 1 || list[0].PaymentCount != 20 {
			t.Fatalf("settlements: %v %v", list, err)
		}
		e.verify()
	})
}

// TestStatementsAgreeWithTheSettlement writes the day's three statements
// and checks their totals against the settlement and each other.
func TestStatementsAgreeWithTheSettlement(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Florist", 60)
		e.at("2026-03-14", 0) // local midnight: the day's first moment
		o1 := e.pay(sc, "F1", 10000, "CNY")
		e.at("2026-03-14", 23)
		o2 := e.pay(sc, "F2", 3000, "CNY")
		r := e.refund(sc, o1, "RF1", 1000)
		e.at("2026-03-15", 0) // the next day
		o3 := e.pay(sc, "F3", 7000, "CNY")
		for _, id := range []string{o1.ID, o2.ID, o3.ID} {
			e.reconcile(id, "payment", 0)
		}
		e.reconcile(r.ID, "refund", 0)
		e.at("2026-03-15", 12)
		got := e.run(m, "2026-03-14")
		if len(got) != 1 {
			t.Fatalf("batches = %d", len(got))
		}
		s := got[0]

		rows := func(typ string) [][]string {
			t.Helper()
			st, err := e.svc.Statement(ctx, sc, "2026-03-14", typ)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := st.Write(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatalf("%s statement is not CSV: %v\n%s", typ, err, buf.String())
			}
			return recs
		}
		trades := rows("trades")
		if len(trades) != 4 || trades[1][2] != o1.ID || trades[2][2] != o2.ID || trades[1][1] != "2026-03-14T00:00:00+08:00" {
			t.Fatalf("trades statement:\n%v", trades)
		}
		total := trades[3]
		if total[0] != "total" || total[2] != "2" || total[7] != "CNY" || total[8] != "13000" || total[9] != "78" || total[10] != "12922" || total[11] != "1000" {
			t.Fatalf("trades total = %v", total)
		}
		if trades[1][12] != s.ID {
			t.Fatalf("a settled trade's settlement_id = %q, want %s", trades[1][12], s.ID)
		}
		refunds := rows("refunds")
		if len(refunds) != 3 || refunds[1][2] != r.ID || refunds[2][7] != "1000" || refunds[2][8] != "0" || refunds[2][9] != "-1000" {
			t.Fatalf("refunds statement:\n%v", refunds)
		}
		lines := rows("settlements")
		last := lines[len(lines)-1]
		if len(lines) != 5 || last[0] != "total" || last[2] != "3" || last[4] != s.ID || last[10] != strconv.FormatInt(s.Net, 10) {
			t.Fatalf("settlements statement (want 3 lines and a total equal to the net %d):\n%v", s.Net, lines)
		}
		check(t, s.Net, int64(13000-78-1000), "net: the day's trades less fees less the refund")
		none, err := e.svc.Statement(ctx, sc, "2026-03-20", "trades")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := none.Write(ctx, &buf); err != nil || buf.String() != "type,time,order_id,out_trade_no,app_id,method,channel,currency,amount,fee,net,amount_refunded,settlement_id,presentment_currency,presentment_amount,fx_quote,fx_rate\ntotal,,0,,,,,CNY,0,0,0,0,,,,,\n" {
			t.Fatalf("statement of a day without trades: %v\n%s", err, buf.String())
		}
		_, err = e.svc.Statement(ctx, sc, "2026-3-14", "trades")
		wantCode(t, err, "date_invalid")
		_, err = e.svc.Statement(ctx, sc, "2026-03-14", "orders")
		wantCode(t, err, "type_invalid")
	})
}
