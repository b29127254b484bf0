// Package storetest is the conformance suite of store.Store: every driver
// runs the same tests, against a real database, from its own _test file:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Harness { … })
//	}
//
// Each test runs in parallel on a database of its own. A new query gets its
// test here, not in one driver.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Harness is one fresh, migrated database for one test.
type Harness struct {
	Store store.Store
	// Exec runs raw SQL, written with ? placeholders, on the database. The
	// suite uses it only to damage the ledger on purpose and check that
	// LedgerVerify reports it.
	Exec func(ctx context.Context, query string, args ...any) error
	// Hold runs query (no placeholders) in a transaction on a connection of
	// its own and keeps that transaction, and the row locks it took, until
	// release is called. The suite uses it to check that a claim skips rows
	// another node has locked. Nil when the database runs one write
	// transaction at a time (SQLite); tests that need it are then skipped.
	Hold func(ctx context.Context, query string) (release func(), err error)
}

// test is one conformance test.
type test struct {
	name string
	run  func(t *testing.T, b *bundle)
}

// Run runs the whole suite; newHarness is called once per test, in the
// test, and must return a database no other test uses.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	var tests []test
	tests = append(tests, settingTests...)
	tests = append(tests, merchantTests...)
	tests = append(tests, keyTests...)
	tests = append(tests, orderTests...)
	tests = append(tests, refundTests...)
	tests = append(tests, ledgerTests...)
	tests = append(tests, notificationTests...)
	tests = append(tests, channelTests...)
	tests = append(tests, txTests...)
	tests = append(tests, scopeTests...)
	tests = append(tests, leaseTests...)
	tests = append(tests, migrationTests...)
	tests = append(tests, billingTests...)
	tests = append(tests, settlementTests...)
	tests = append(tests, riskTests...)
	tests = append(tests, accessTests...)
	tests = append(tests, profitSharingTests...)
	tests = append(tests, fxOrderTests...)
	tests = append(tests, payerAmountTests...)
	tests = append(tests, sealedTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, setup(t, newHarness(t)))
		})
	}
}

// t0 is the suite's "now": microsecond precision, as the store keeps time.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// bundle is what a test works with: the store, a context, and a merchant
// with an app in test mode.
type bundle struct {
	t        *testing.T
	s        store.Store
	exec     func(ctx context.Context, query string, args ...any) error
	hold     func(ctx context.Context, query string) (release func(), err error)
	ctx      context.Context
	merchant *store.Merchant
	app      *store.App

	mu  sync.Mutex
	seq int
}

func setup(t *testing.T, h Harness) *bundle {
	b := &bundle{t: t, s: h.Store, exec: h.Exec, hold: h.Hold, ctx: context.Background()}
	b.merchant = b.newMerchant()
	b.app = b.newApp(b.merchant, false)
	return b
}

// scope is the bundle's app's scope.
func (b *bundle) scope() store.Scope {
	return store.Scope{MerchantID: b.merchant.ID, AppID: b.app.ID, Livemode: b.app.Livemode}
}

// next returns a number unique within the test, for out_trade_no and the like.
func (b *bundle) next() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return b.seq
}

func (b *bundle) newMerchant() *store.Merchant {
	b.t.Helper()
	m := &store.Merchant{
		ID: id.New(id.Merchant, t0), Name: fmt.Sprintf("Merchant %d", b.next()), Timezone: "Asia/Shanghai",
		SettlementCurrency: "CNY", FeeRateBps: 60, CreatedAt: t0,
	}
	b.must(b.s.MerchantCreate(b.ctx, m), "create merchant")
	return m
}

func (b *bundle) newApp(m *store.Merchant, live bool) *store.App {
	b.t.Helper()
	a := &store.App{
		ID: id.New(id.App, t0), MerchantID: m.ID, Name: fmt.Sprintf("App %d", b.next()), Livemode: live,
		RequireSignature: true, WebhookSecretSealed: "sealed:whsec", CreatedAt: t0,
	}
	b.must(b.s.AppCreate(b.ctx, a, nil), "create app")
	return a
}

// order returns an unsaved pending order of the bundle's app, created at,
// changed by the options.
func (b *bundle) order(at time.Time, opts ...func(*store.Order)) *store.Order {
	n := b.next()
	o := &store.Order{
		ID: id.New(id.Order, at), MerchantID: b.merchant.ID, AppID: b.app.ID, Livemode: b.app.Livemode,
		OutTradeNo: fmt.Sprintf("T%06d", n), Amount: 1000, Currency: "CNY", Subject: "Coffee",
		Status: store.OrderPending, Metadata: map[string]string{"n": fmt.Sprint(n)},
		RequestHash: "hash", CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(30 * time.Minute),
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// newOrder creates an order as order does.
func (b *bundle) newOrder(at time.Time, opts ...func(*store.Order)) *store.Order {
	b.t.Helper()
	o := b.order(at, opts...)
	b.must(b.s.OrderCreate(b.ctx, o), "create order")
	return o
}

// paymentEffects returns Effects that write the order's payment entry (fee
// 1%) and an order.succeeded event.
func paymentEffects(at time.Time) func(*store.Order) (store.Effects, error) {
	return func(o *store.Order) (store.Effects, error) {
		e := ledger.Payment(id.New(id.Entry, at), o.ID, o.MerchantID, o.Channel, o.Livemode, o.Currency, o.Amount, o.Amount/100, at)
		data, err := json.Marshal(map[string]any{"id": o.ID, "status": o.Status, "amount": o.Amount})
		if err != nil {
			return store.Effects{}, err
		}
		ev := &store.Event{
			ID: id.New(id.Event, at), Type: "order.succeeded", MerchantID: o.MerchantID, AppID: o.AppID,
			Livemode: o.Livemode, ObjectType: "order", ObjectID: o.ID, Data: data, NotifyURL: o.NotifyURL, CreatedAt: at,
		}
		return store.Effects{Entries: []ledger.Entry{e}, Events: []*store.Event{ev}}, nil
	}
}

// pay moves o to succeeded at at through channel "sandbox", with its
// payment entry and event.
func (b *bundle) pay(o *store.Order, at time.Time) *store.Order {
	b.t.Helper()
	got, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending, store.OrderProcessing}, To: store.OrderSucceeded,
		At: at, Channel: "sandbox", ChannelTradeNo: "CH-" + o.ID, Effects: paymentEffects(at),
	})
	b.must(err, "pay order "+o.ID)
	return got
}

// paidOrder creates an order of amount and pays it.
func (b *bundle) paidOrder(at time.Time, amount int64) *store.Order {
	b.t.Helper()
	o := b.newOrder(at, func(o *store.Order) { o.Amount = amount })
	return b.pay(o, at)
}

// refund returns an unsaved pending refund of amount on o.
func (b *bundle) refund(o *store.Order, at time.Time, amount int64) *store.Refund {
	return &store.Refund{
		ID: id.New(id.Refund, at), OrderID: o.ID, MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode,
		OutRefundNo: fmt.Sprintf("R%06d", b.next()), Amount: amount, Currency: o.Currency, Status: store.RefundPending,
		Channel: o.Channel, Reason: "changed mind", Metadata: map[string]string{}, RequestHash: "rhash",
		CreatedAt: at, UpdatedAt: at,
	}
}

// refundEffects returns Effects that write a succeeded refund's entry and a
// refund.succeeded event.
func refundEffects(at time.Time) func(*store.Refund, *store.Order) (store.Effects, error) {
	return func(r *store.Refund, o *store.Order) (store.Effects, error) {
		e := ledger.Refund(id.New(id.Entry, at), r.ID, r.MerchantID, o.Channel, r.Livemode, r.Currency, r.Amount, at)
		ev := &store.Event{
			ID: id.New(id.Event, at), Type: "refund.succeeded", MerchantID: r.MerchantID, AppID: r.AppID,
			Livemode: r.Livemode, ObjectType: "refund", ObjectID: r.ID, Data: json.RawMessage(`{"id":"` + r.ID + `"}`), CreatedAt: at,
		}
		return store.Effects{Entries: []ledger.Entry{e}, Events: []*store.Event{ev}}, nil
	}
}

// must fails the test when err is not nil.
func (b *bundle) must(err error, what string) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("%s: want no error, got %v", what, err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: want error %q, got %v", what, target, err)
	}
}

// equal fails the test unless got and want are deeply equal.
func equal[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, show(got), show(want))
	}
}

// show renders v for a failure message, following pointers.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return "&" + show(rv.Elem().Interface())
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Pointer {
		s := "["
		for i := range rv.Len() {
			if i > 0 {
				s += ", "
			}
			s += show(rv.Index(i).Interface())
		}
		return s + "]"
	}
	return fmt.Sprintf("%+v", v)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// race runs f n times at once, each in its own goroutine, released together,
// and returns the errors in the order of i.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// countErrs counts nil errors and errors that are target; any other error
// fails the test.
func countErrs(t *testing.T, errs []error, target error, what string) (ok, matched int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("%s: goroutine %d: want nil or %q, got %v", what, i, target, err)
		}
	}
	return ok, matched
}
