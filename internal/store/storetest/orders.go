package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

var orderTests = []test{
	{"Order/RoundTrip", testOrderRoundTrip},
	{"Order/Conflict", testOrderConflict},
	{"Order/CreateRace", testOrderCreateRace},
	{"Order/CreateConcurrent", testOrderCreateConcurrent},
	{"Order/Transition", testOrderTransition},
	{"Order/TransitionRace", testOrderTransitionRace},
	{"Order/EffectsErrorRollsBack", testOrderEffectsErrorRollsBack},
	{"Order/UnbalancedEntryRefused", testOrderUnbalancedEntryRefused},
	{"Order/ExpiredAndProcessing", testOrdersExpiredAndProcessing},
	{"Order/RoutedTransition", testOrderRoutedTransition},
	{"Order/SyncLater", testOrderSyncLater},
	{"Order/List", testOrderList},
	{"Event/GetList", testEventGetList},
}

func testOrderRoundTrip(t *testing.T, b *bundle) {
	full := b.order(t0, func(o *store.Order) {
		o.Description, o.Method, o.Channel, o.ChannelTradeNo = "2 cups", "wechat_native", "wechatpay", "42000001"
		o.NextAction = json.RawMessage(`{"type":"qr_code","qr_code":{"url":"weixin://wxpay/bizpayurl?pr=abc"}}`)
		o.FailureCode, o.FailureMessage = "card_declined", "declined"
		o.Risk = json.RawMessage(`{"score":12,"rules":["velocity"]}`)
		o.Metadata = map[string]string{"cart": "c-1", "中文": "值"}
		o.Payer = store.Payer{ID: "u1", IP: "203.0.113.9", Country: "CN"}
		o.NotifyURL, o.ReturnURL = "https://shop.example/notify", "https://shop.example/done"
		o.PaidAt, o.ClosedAt = ptr(t0.Add(time.Minute)), ptr(t0.Add(2*time.Minute))
		o.ChannelAccountID = "cha_01hwrp0000000000000000000a"
		o.Route = json.RawMessage(`{"strategy":"priority","candidates":[{"channel_account":"cha_01hwrp0000000000000000000a"}]}`)
		o.SyncAttempts, o.NextSyncAt = 3, ptr(t0.Add(5*time.Minute))
	})
	b.must(b.s.OrderCreate(b.ctx, full), "create order with every field set")
	got, err := b.s.OrderGet(b.ctx, full.ID)
	b.must(err, "get order")
	equal(t, got, full, "order with every field, read back")

	bare := b.order(t0, func(o *store.Order) { o.Metadata = nil })
	b.must(b.s.OrderCreate(b.ctx, bare), "create order with optional fields unset")
	got, err = b.s.OrderGetByOutTradeNo(b.ctx, b.app.ID, bare.OutTradeNo)
	b.must(err, "get order by out_trade_no")
	if got.NextAction != nil || got.Risk != nil || got.PaidAt != nil || got.ClosedAt != nil || got.Route != nil || got.NextSyncAt != nil {
		t.Fatalf("order with optional fields unset: want NextAction, Risk, PaidAt, ClosedAt, Route, NextSyncAt nil, got %s, %s, %v, %v, %s, %v",
			got.NextAction, got.Risk, got.PaidAt, got.ClosedAt, got.Route, got.NextSyncAt)
	}
	if got.Metadata == nil || len(got.Metadata) != 0 {
		t.Fatalf("order created with nil metadata: want an empty map, got %#v", got.Metadata)
	}
	bare.Metadata = map[string]string{}
	equal(t, got, bare, "order with optional fields unset, read back")

	_, err = b.s.OrderGet(b.ctx, id.New(id.Order, t0))
	wantErr(t, err, store.ErrNotFound, "get an order that does not exist")
	_, err = b.s.OrderGetByOutTradeNo(b.ctx, b.app.ID, "nope")
	wantErr(t, err, store.ErrNotFound, "get an order by an out_trade_no never used")
	_, err = b.s.OrderGetByOutTradeNo(b.ctx, id.New(id.App, t0), full.OutTradeNo)
	wantErr(t, err, store.ErrNotFound, "get an order by out_trade_no of another app")
}

func testOrderConflict(t *testing.T, b *bundle) {
	o := b.newOrder(t0)
	dup := b.order(t0, func(x *store.Order) { x.OutTradeNo = o.OutTradeNo })
	wantErr(t, b.s.OrderCreate(b.ctx, dup), store.ErrConflict, "create an order whose out_trade_no the app used")
	sameID := b.order(t0, func(x *store.Order) { x.ID = o.ID })
	wantErr(t, b.s.OrderCreate(b.ctx, sameID), store.ErrConflict, "create an order whose id exists")

	other := b.newApp(b.merchant, false)
	elsewhere := b.order(t0, func(x *store.Order) { x.AppID, x.OutTradeNo = other.ID, o.OutTradeNo })
	b.must(b.s.OrderCreate(b.ctx, elsewhere), "create an order with the same out_trade_no in another app")

	orphan := b.order(t0, func(x *store.Order) { x.AppID = id.New(id.App, t0) })
	if err := b.s.OrderCreate(b.ctx, orphan); err == nil {
		t.Fatalf("create an order of an app that does not exist: want an error (foreign key), got nil")
	}
}

func testOrderCreateRace(t *testing.T, b *bundle) {
	errs := race(20, func(int) error {
		return b.s.OrderCreate(b.ctx, b.order(t0, func(o *store.Order) { o.OutTradeNo = "RACE-1" }))
	})
	ok, conflicts := countErrs(t, errs, store.ErrConflict, "racing OrderCreate")
	if ok != 1 || conflicts != 19 {
		t.Fatalf("20 racing creates of one out_trade_no: want 1 success and 19 ErrConflict, got %d and %d", ok, conflicts)
	}
	list, _, err := b.s.OrderList(b.ctx, store.OrderFilter{MerchantID: b.merchant.ID, Livemode: false})
	b.must(err, "list orders")
	equal(t, len(list), 1, "orders stored after the race")
}

// testOrderCreateConcurrent creates many orders at once (which PostgreSQL's
// store writes in multi-row statements): each keeps its own fields and its
// own result. Among them are pairs that share an out_trade_no (one of each
// wins) and orders of an app that does not exist (refused, alone).
func testOrderCreateConcurrent(t *testing.T, b *bundle) {
	const distinct, dups, bad = 40, 8, 4
	orders := make([]*store.Order, 0, distinct+dups+bad)
	for i := range distinct {
		orders = append(orders, b.order(t0, func(o *store.Order) {
			o.OutTradeNo = fmt.Sprintf("MANY-%02d", i)
			o.Amount, o.Subject = int64(100+i), fmt.Sprintf("subject %d", i)
			o.Payer = store.Payer{ID: fmt.Sprintf("u%d", i), IP: "203.0.113.9"}
			o.NotifyURL = fmt.Sprintf("https://shop.example/notify/%d", i)
			o.ExpiresAt = t0.Add(time.Duration(i) * time.Minute)
		}))
	}
	for i := range dups {
		orders = append(orders, b.order(t0, func(o *store.Order) { o.OutTradeNo, o.Amount = fmt.Sprintf("MANY-%02d", i), 9999 }))
	}
	for range bad {
		orders = append(orders, b.order(t0, func(o *store.Order) { o.AppID = "app_does_not_exist" }))
	}
	errs := race(len(orders), func(i int) error { return b.s.OrderCreate(b.ctx, orders[i]) })

	for i, o := range orders[distinct+dups:] {
		if errs[distinct+dups+i] == nil {
			t.Errorf("order %s of an app that does not exist was created", o.ID)
		}
	}
	for i := range distinct {
		pair := [2]int{i, -1}
		if i < dups {
			pair[1] = distinct + i
		}
		won := 0
		for _, k := range pair {
			if k < 0 {
				continue
			}
			switch err := errs[k]; {
			case err == nil:
				won++
				got, gerr := b.s.OrderGet(b.ctx, orders[k].ID)
				b.must(gerr, "read back order "+orders[k].OutTradeNo)
				equal(t, got, orders[k], "order "+orders[k].OutTradeNo+" read back after concurrent creates")
			case errors.Is(err, store.ErrConflict):
			default:
				t.Errorf("create %s: want nil or ErrConflict, got %v", orders[k].OutTradeNo, err)
			}
		}
		if won != 1 {
			t.Errorf("out_trade_no %s: %d creates succeeded, want exactly 1", orders[i].OutTradeNo, won)
		}
	}
}

func testOrderTransition(t *testing.T, b *bundle) {
	o := b.newOrder(t0, func(o *store.Order) { o.Channel = "sandbox" })
	at := t0.Add(time.Minute)
	got, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: at,
		Method: "alipay_qr", ChannelTradeNo: "2026031400001", NextAction: json.RawMessage(`{"type":"redirect"}`),
	})
	b.must(err, "move order to processing")
	want := *o
	want.Status, want.UpdatedAt, want.Method, want.ChannelTradeNo = store.OrderProcessing, at, "alipay_qr", "2026031400001"
	want.NextAction = json.RawMessage(`{"type":"redirect"}`)
	equal(t, got, &want, "order after the transition (Channel kept, being left empty)")
	stored, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, stored, &want, "order read back after the transition")

	_, err = b.s.OrderTransition(b.ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderClosed, At: at})
	wantErr(t, err, store.ErrStale, "close a processing order as if pending")
	_, err = b.s.OrderTransition(b.ctx, store.OrderTransition{OrderID: id.New(id.Order, t0), From: []store.OrderStatus{store.OrderPending}, To: store.OrderClosed, At: at})
	wantErr(t, err, store.ErrNotFound, "move an order that does not exist")

	paidAt := t0.Add(2 * time.Minute)
	got = b.pay(o, paidAt)
	equal(t, got.PaidAt, &paidAt, "PaidAt of a succeeded order")
	equal(t, got.ClosedAt, (*time.Time)(nil), "ClosedAt of a succeeded order")

	c := b.newOrder(t0)
	got, err = b.s.OrderTransition(b.ctx, store.OrderTransition{OrderID: c.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderClosed, At: at})
	b.must(err, "close order")
	equal(t, got.ClosedAt, &at, "ClosedAt of a closed order")
	equal(t, got.PaidAt, (*time.Time)(nil), "PaidAt of a closed order")

	f := b.newOrder(t0)
	got, err = b.s.OrderTransition(b.ctx, store.OrderTransition{OrderID: f.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderFailed, At: at,
		FailureCode: "insufficient_funds", FailureMessage: "not enough money"})
	b.must(err, "fail order")
	equal(t, [3]string{string(got.Status), got.FailureCode, got.FailureMessage}, [3]string{"failed", "insufficient_funds", "not enough money"}, "status and failure of a failed order")
}

func testOrderTransitionRace(t *testing.T, b *bundle) {
	o := b.newOrder(t0)
	errs := race(10, func(i int) error {
		at := t0.Add(time.Duration(i+1) * time.Second)
		_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
			OrderID: o.ID, From: []store.OrderStatus{store.OrderPending, store.OrderProcessing}, To: store.OrderSucceeded,
			At: at, Channel: "sandbox", Effects: paymentEffects(at),
		})
		return err
	})
	ok, stale := countErrs(t, errs, store.ErrStale, "racing OrderTransition")
	if ok != 1 || stale != 9 {
		t.Fatalf("10 racing pending→succeeded: want 1 success and 9 ErrStale, got %d and %d", ok, stale)
	}
	entries, err := b.s.LedgerEntries(b.ctx, o.ID)
	b.must(err, "ledger entries of the order")
	equal(t, len(entries), 1, "payment entries of the raced order")
	evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ObjectID: o.ID})
	b.must(err, "events of the order")
	equal(t, len(evs), 1, "events of the raced order")
	rep, err := b.s.LedgerVerify(b.ctx)
	b.must(err, "verify ledger")
	if !rep.Clean() {
		t.Fatalf("ledger after the race: want clean, got %+v", rep)
	}
}

func testOrderEffectsErrorRollsBack(t *testing.T, b *bundle) {
	o := b.newOrder(t0)
	boom := errors.New("risk engine down")
	var seen *store.Order
	_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: t0.Add(time.Minute), Channel: "sandbox",
		Effects: func(x *store.Order) (store.Effects, error) {
			seen = x
			eff, _ := paymentEffects(t0)(x)
			eff.Entries = nil
			return eff, boom
		},
	})
	wantErr(t, err, boom, "transition whose Effects fails")
	if seen == nil || seen.Status != store.OrderSucceeded || seen.Channel != "sandbox" {
		t.Fatalf("order given to Effects: want it as after the change (succeeded, channel sandbox), got %+v", seen)
	}
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, got, o, "order after the failed transition (unchanged)")
	evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID})
	b.must(err, "list events")
	equal(t, len(evs), 0, "events after the failed transition")
}

func testOrderUnbalancedEntryRefused(t *testing.T, b *bundle) {
	o := b.newOrder(t0)
	at := t0.Add(time.Minute)
	_, err := b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderSucceeded, At: at, Channel: "sandbox",
		Effects: func(x *store.Order) (store.Effects, error) {
			eff, err := paymentEffects(at)(x)
			eff.Entries[0].Lines[0].Amount++ // one minor unit out of balance
			return eff, err
		},
	})
	wantErr(t, err, ledger.ErrUnbalanced, "transition whose Effects returns an unbalanced entry")
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, got, o, "order after the refused transition (unchanged)")
	entries, err := b.s.LedgerEntries(b.ctx, o.ID)
	b.must(err, "ledger entries")
	equal(t, len(entries), 0, "entries after the refused transition")
	bals, err := b.s.Balances(b.ctx, "")
	b.must(err, "balances")
	equal(t, len(bals), 0, "balances after the refused transition")
	evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID})
	b.must(err, "list events")
	equal(t, len(evs), 0, "events after the refused transition")
}

func testOrdersExpiredAndProcessing(t *testing.T, b *bundle) {
	exp := func(d time.Duration) func(*store.Order) { return func(o *store.Order) { o.ExpiresAt = t0.Add(d) } }
	late := b.newOrder(t0, exp(10*time.Minute))
	early := b.newOrder(t0, exp(5*time.Minute))
	b.newOrder(t0, exp(20*time.Minute)) // not expired at t0+15m
	paid := b.newOrder(t0, exp(time.Minute))
	b.pay(paid, t0) // expired, but succeeded: not listed
	proc := b.newOrder(t0, exp(8*time.Minute))
	proc, err := b.s.OrderTransition(b.ctx, store.OrderTransition{OrderID: proc.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: t0.Add(time.Minute)})
	b.must(err, "move order to processing")

	got, err := b.s.OrdersExpired(b.ctx, t0.Add(15*time.Minute), 10)
	b.must(err, "list expired orders")
	equal(t, ids(got, orderID), []string{early.ID, proc.ID, late.ID}, "expired pending and processing orders, soonest expired first")
	got, err = b.s.OrdersExpired(b.ctx, t0.Add(15*time.Minute), 2)
	b.must(err, "list expired orders with limit 2")
	equal(t, ids(got, orderID), []string{early.ID, proc.ID}, "first 2 expired orders")
	got, err = b.s.OrdersExpired(b.ctx, t0.Add(5*time.Minute), 10)
	b.must(err, "list orders expired at t0+5m")
	equal(t, ids(got, orderID), []string{early.ID}, "orders expired at exactly their ExpiresAt")

	got, err = b.s.OrdersProcessing(b.ctx, t0.Add(2*time.Minute), t0.Add(2*time.Minute), 10)
	b.must(err, "list processing orders")
	equal(t, ids(got, orderID), []string{proc.ID}, "processing orders updated before t0+2m")
	got, err = b.s.OrdersProcessing(b.ctx, t0.Add(time.Minute), t0.Add(2*time.Minute), 10)
	b.must(err, "list processing orders updated before t0+1m")
	equal(t, len(got), 0, "processing orders updated strictly before their update time")
}

func orderID(o *store.Order) string { return o.ID }

func testOrderList(t *testing.T, b *bundle) {
	other := b.newApp(b.merchant, false)
	var all, paid, ofOther, middle []string
	for i := range 9 {
		at := t0.Add(time.Duration(i) * time.Hour)
		o := b.newOrder(at, func(o *store.Order) {
			if i%3 == 2 {
				o.AppID = other.ID
			}
		})
		if i%2 == 0 {
			b.pay(o, at)
			paid = append(paid, o.ID)
		}
		if i%3 == 2 {
			ofOther = append(ofOther, o.ID)
		}
		if i >= 3 && i < 6 {
			middle = append(middle, o.ID)
		}
		all = append(all, o.ID)
	}
	// Orders that must never show: another merchant's, and this merchant's live ones.
	live := b.newApp(b.merchant, true)
	b.newOrder(t0, func(o *store.Order) { o.AppID, o.Livemode = live.ID, true })
	stranger := b.newMerchant()
	sapp := b.newApp(stranger, false)
	b.newOrder(t0, func(o *store.Order) { o.MerchantID, o.AppID = stranger.ID, sapp.ID })
	for _, s := range [][]string{all, paid, ofOther, middle} {
		slices.Reverse(s)
	}

	list := func(f store.OrderFilter) func(store.ListParams) ([]string, bool, error) {
		return func(p store.ListParams) ([]string, bool, error) {
			f.MerchantID, f.ListParams = b.merchant.ID, p
			os, more, err := b.s.OrderList(b.ctx, f)
			return ids(os, orderID), more, err
		}
	}
	checkPages(t, "orders", all, list(store.OrderFilter{}))
	checkPages(t, "succeeded orders", paid, list(store.OrderFilter{Status: store.OrderSucceeded}))

	got, more, err := list(store.OrderFilter{AppID: other.ID})(store.ListParams{})
	b.must(err, "list orders of one app")
	equal(t, got, ofOther, "orders of one app")
	equal(t, more, false, "has_more of the orders of one app")

	got, _, err = list(store.OrderFilter{})(store.ListParams{CreatedGTE: ptr(t0.Add(3 * time.Hour)), CreatedLT: ptr(t0.Add(6 * time.Hour))})
	b.must(err, "list orders created in [t0+3h, t0+6h)")
	equal(t, got, middle, "orders created in [t0+3h, t0+6h)")
	got, more, err = list(store.OrderFilter{})(store.ListParams{Limit: 2, CreatedGTE: ptr(t0.Add(3 * time.Hour)), CreatedLT: ptr(t0.Add(6 * time.Hour))})
	b.must(err, "list 2 orders created in [t0+3h, t0+6h)")
	equal(t, got, middle[:2], "first page of 2 orders created in [t0+3h, t0+6h)")
	equal(t, more, true, "has_more of the first page of 2 of 3 orders in the range")

	got, _, err = list(store.OrderFilter{Livemode: true})(store.ListParams{})
	b.must(err, "list live orders")
	equal(t, len(got), 1, "live orders of the merchant")
}

func testEventGetList(t *testing.T, b *bundle) {
	var all, ofFirst []string
	var first *store.Order
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Minute)
		o := b.paidOrder(at, 500)
		if first == nil {
			first = o
		}
		evs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ObjectID: o.ID})
		b.must(err, "list events of an order")
		if len(evs) != 1 {
			t.Fatalf("events of order %s: want 1, got %d", o.ID, len(evs))
		}
		all = append(all, evs[0].ID)
		if o == first {
			ofFirst = append(ofFirst, evs[0].ID)
		}
	}
	r := b.refund(first, t0.Add(time.Hour), 100)
	b.must(b.s.RefundCreate(b.ctx, r), "create refund")
	_, err := b.s.RefundTransition(b.ctx, store.RefundTransition{RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: store.RefundSucceeded, At: t0.Add(time.Hour), Effects: refundEffects(t0.Add(time.Hour))})
	b.must(err, "refund succeeds")
	revs, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, Type: "refund.succeeded"})
	b.must(err, "list refund events")
	if len(revs) != 1 || revs[0].ObjectID != r.ID {
		t.Fatalf("refund.succeeded events: want one, of refund %s, got %s", r.ID, show(revs))
	}
	all = append(all, revs[0].ID)
	slices.Reverse(all)

	ev, err := b.s.EventGet(b.ctx, revs[0].ID)
	b.must(err, "get event")
	equal(t, ev, revs[0], "event read back")
	if string(ev.Data) != `{"id":"`+r.ID+`"}` || ev.Type != "refund.succeeded" || ev.ObjectType != "refund" || !ev.CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("refund event: want type refund.succeeded, object refund, data {\"id\":%q}, created at t0+1h, got %+v (data %s)", r.ID, ev, ev.Data)
	}
	_, err = b.s.EventGet(b.ctx, id.New(id.Event, t0))
	wantErr(t, err, store.ErrNotFound, "get an event that does not exist")

	checkPages(t, "events", all, func(p store.ListParams) ([]string, bool, error) {
		evs, more, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, ListParams: p})
		return ids(evs, func(e *store.Event) string { return e.ID }), more, err
	})
	got, _, err := b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, Type: "order.succeeded", ObjectID: first.ID})
	b.must(err, "list order.succeeded events of one order")
	equal(t, ids(got, func(e *store.Event) string { return e.ID }), ofFirst, "order.succeeded events of the first order")
	got, _, err = b.s.EventList(b.ctx, store.EventFilter{MerchantID: b.merchant.ID, Livemode: true})
	b.must(err, "list live events")
	equal(t, len(got), 0, "live events (all were in test mode)")
}

func testOrderRoutedTransition(t *testing.T, b *bundle) {
	routeA := json.RawMessage(`{"strategy":"priority","chosen":"cha_a"}`)
	o := b.newOrder(t0, func(o *store.Order) {
		o.Method, o.Channel, o.ChannelAccountID, o.Route = "wechat.native", "wechatpay", "cha_a", routeA
	})
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get routed order")
	equal(t, [2]any{got.ChannelAccountID, string(got.Route)}, [2]any{"cha_a", string(routeA)}, "channel account and route of an order routed at creation")

	at := t0.Add(time.Minute)
	got, err = b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderPending, At: at, NextAction: json.RawMessage(`{"type":"qr_code"}`),
	})
	b.must(err, "transition without a channel")
	equal(t, [3]any{got.Channel, got.ChannelAccountID, string(got.Route)}, [3]any{"wechatpay", "cha_a", string(routeA)}, "channel, account and route after a transition that sets no channel (kept)")

	routeB := json.RawMessage(`{"strategy":"priority","chosen":"cha_b","skipped":[{"channel_account":"cha_a","reason":"circuit_open"}]}`)
	at = t0.Add(2 * time.Minute)
	got, err = b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: at,
		Method: "alipay.qr", Channel: "alipay", ChannelAccountID: "cha_b", Route: routeB,
	})
	b.must(err, "transition that routes the order to another account")
	want := *o
	want.Status, want.UpdatedAt, want.Method, want.Channel, want.ChannelAccountID, want.Route = store.OrderProcessing, at, "alipay.qr", "alipay", "cha_b", routeB
	want.NextAction = json.RawMessage(`{"type":"qr_code"}`)
	equal(t, got, &want, "order after the routing transition")
	stored, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, stored, &want, "order read back after the routing transition")

	// The built-in sandbox has no channel account and no routing decision:
	// setting the channel stores the empty account and route too.
	got, err = b.s.OrderTransition(b.ctx, store.OrderTransition{
		OrderID: o.ID, From: []store.OrderStatus{store.OrderProcessing}, To: store.OrderProcessing, At: at, Channel: "sandbox",
	})
	b.must(err, "transition to the sandbox channel")
	if got.Channel != "sandbox" || got.ChannelAccountID != "" || got.Route != nil {
		t.Fatalf("order routed to the sandbox: want channel sandbox, no account, route nil, got %q, %q, %s", got.Channel, got.ChannelAccountID, got.Route)
	}
}

func testOrderSyncLater(t *testing.T, b *bundle) {
	process := func(o *store.Order, at time.Time) *store.Order {
		got, err := b.s.OrderTransition(b.ctx, store.OrderTransition{OrderID: o.ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderProcessing, At: at})
		b.must(err, "move order to processing")
		return got
	}
	first := process(b.newOrder(t0), t0.Add(time.Minute))
	second := process(b.newOrder(t0), t0.Add(2*time.Minute))
	b.newOrder(t0) // pending: never listed
	now := t0.Add(10 * time.Minute)

	list := func(now time.Time) []string {
		t.Helper()
		got, err := b.s.OrdersProcessing(b.ctx, now, now, 10)
		b.must(err, "list processing orders")
		return ids(got, orderID)
	}
	equal(t, list(now), []string{first.ID, second.ID}, "processing orders, none backing off")

	next := t0.Add(20 * time.Minute)
	b.must(b.s.OrderSyncLater(b.ctx, first.ID, 1, next), "sync the first order later")
	got, err := b.s.OrderGet(b.ctx, first.ID)
	b.must(err, "get order")
	want := *first
	want.SyncAttempts, want.NextSyncAt = 1, &next
	equal(t, got, &want, "order after OrderSyncLater (UpdatedAt unchanged)")

	equal(t, list(now), []string{second.ID}, "processing orders before the first one's next sync")
	equal(t, list(next.Add(-time.Microsecond)), []string{second.ID}, "processing orders a microsecond before the next sync")
	equal(t, list(next), []string{first.ID, second.ID}, "processing orders at the first one's next sync")
	gotP, err := b.s.OrdersProcessing(b.ctx, t0.Add(2*time.Minute), next, 10)
	b.must(err, "list processing orders updated before t0+2m")
	equal(t, ids(gotP, orderID), []string{first.ID}, "processing orders updated before t0+2m, due at the next sync")

	later := t0.Add(time.Hour)
	b.must(b.s.OrderSyncLater(b.ctx, first.ID, 2, later), "sync the first order later again")
	got, err = b.s.OrderGet(b.ctx, first.ID)
	b.must(err, "get order")
	equal(t, [2]any{got.SyncAttempts, *got.NextSyncAt}, [2]any{2, later}, "attempts and next sync after the second OrderSyncLater")
	equal(t, list(next), []string{second.ID}, "processing orders once the first backs off further")

	wantErr(t, b.s.OrderSyncLater(b.ctx, id.New(id.Order, t0), 1, next), store.ErrNotFound, "sync later an order that does not exist")
}
