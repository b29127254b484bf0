package profitsharing_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/transfer"
)

// Refunds that take receivers' shares back by themselves (reverse.go).

func refund(no string, orderID string, amount int64) payment.CreateRefundParams {
	return payment.CreateRefundParams{OrderID: orderID, OutRefundNo: no, Amount: amount}
}

// TestRefundReturnsSharesProportionally: a refund of 6000 of an order of
// 10000 that shared 3333, 1667 and 1 (4999 held) takes the 1001 it lacks
// back as 667, 334 and 0 (1001 × 3333/5001 = 667.1, × 1667/5001 = 333.7,
// × 1/5001 = 0.2), with a return, its entry and its event each; a second
// refund takes the rest back, never more than a receiver got.
func TestRefundReturnsSharesProportionally(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		var partners []*store.Merchant
		var rcvs []*store.ProfitSharingReceiver
		for _, name := range []string{"Seller", "Courier", "Agent"} {
			p, _, _ := e.Merchant(t, name, 0)
			partners = append(partners, p)
			rcvs = append(rcvs, e.receiver(sc, profitsharing.TypeMerchant, p.ID))
		}
		o := e.paidOrder(sc, "o1", 10000, true)
		psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{
			share(rcvs[0].ID, 3333), share(rcvs[1].ID, 1667), share(rcvs[2].ID, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := e.Payments.CreateRefund(ctx, sc, refund("r1", o.ID, 6000))
		if err != nil {
			t.Fatal(err)
		}
		check(t, r.Status, store.RefundSucceeded, "refund")
		for i, want := range []int64{3333 - 667, 1667 - 334, 1} {
			check(t, e.balance(ledger.MerchantAvailable(partners[i].ID, false)), want, partners[i].Name+"'s available")
		}
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held")
		rets, err := e.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, len(rets), 2, "returns")
		got := map[string]int64{}
		for _, ret := range rets {
			got[ret.ReceiverID] = ret.Amount
			check(t, ret.ProfitSharingID, psh.ID, "return's sharing")
			check(t, fmt.Sprint(e.eventTypes(m, ret.ID)), "[profit_sharing.returned]", "return's events")
			ev := lastEvent(t, e, m, ret.ID)
			if !strings.Contains(string(ev.Data), `"refund":"`+r.ID+`"`) {
				t.Fatalf("return event names no refund: %s", ev.Data)
			}
		}
		check(t, got[rcvs[0].ID], int64(667), "seller's return")
		check(t, got[rcvs[1].ID], int64(334), "courier's return")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Shared, int64(5001-1001), "shared after the refund")
		check(t, st.Held-st.Reserved, int64(0), "available after the refund")

		// The rest of the order: 4000 back, 2666 + 1333 + 1 by the
		// weights, capped by what each has left (2666, 1333, 1).
		r2, _, err := e.Payments.CreateRefund(ctx, sc, refund("r2", o.ID, 4000))
		if err != nil || r2.Status != store.RefundSucceeded {
			t.Fatalf("second refund: %v %+v", err, r2)
		}
		for i := range partners {
			check(t, e.balance(ledger.MerchantAvailable(partners[i].ID, false)), 0, partners[i].Name+"'s available after all")
		}
		if st, err = e.svc.OrderState(ctx, sc, o.ID); err != nil {
			t.Fatal(err)
		}
		check(t, st.Shared, int64(0), "shared after all")
		_, _, err = e.Payments.CreateRefund(ctx, sc, refund("r3", o.ID, 1))
		wantCode(t, err, "refund_exceeds_amount")
	})
}

func lastEvent(t *testing.T, e *env, m *store.Merchant, objectID string) *store.Event {
	t.Helper()
	evs, _, err := e.Store.EventList(ctx, store.EventFilter{MerchantID: m.ID, Livemode: false, ObjectID: objectID})
	if err != nil || len(evs) == 0 {
		t.Fatalf("events of %s: %v %d", objectID, err, len(evs))
	}
	return evs[0]
}

// TestRefundWithoutReverseShares: reverse_shares: false keeps the refund
// to the held money (409 profit_sharing_return_required), as before.
func TestRefundWithoutReverseShares(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, sc, _ := e.Merchant(t, "Market", 0)
		partner, _, _ := e.Merchant(t, "Seller", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		if _, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(seller.ID, 8000)}}); err != nil {
			t.Fatal(err)
		}
		no := false
		p := refund("r1", o.ID, 5000)
		p.ReverseShares = &no
		_, _, err := e.Payments.CreateRefund(ctx, sc, p)
		wantCode(t, err, "profit_sharing_return_required")
		check(t, e.balance(ledger.MerchantAvailable(partner.ID, false)), 8000, "seller's available")
		p.Amount = 2000 // the held money covers it
		if r, _, err := e.Payments.CreateRefund(ctx, sc, p); err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("refund within the held money: %v %+v", err, r)
		}
	})
}

// TestRefundWithNamedReturns: profit_sharing_returns names the shares a
// refund takes back instead of the proportional split; too little, too
// much of a share, or a share that does not exist are refused, nothing
// changed; what they bring beyond the need stays held.
func TestRefundWithNamedReturns(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, sc, _ := e.Merchant(t, "Market", 0)
		a, _, _ := e.Merchant(t, "Seller", 0)
		b, _, _ := e.Merchant(t, "Courier", 0)
		ra := e.receiver(sc, profitsharing.TypeMerchant, a.ID)
		rb := e.receiver(sc, profitsharing.TypeMerchant, b.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{
			share(ra.ID, 6000), share(rb.ID, 2000)}})
		if err != nil {
			t.Fatal(err)
		}
		named := func(no string, amount int64, rs ...profitsharing.RefundReturn) error {
			p := refund(no, o.ID, amount)
			p.ProfitSharingReturns = rs
			_, _, err := e.Payments.CreateRefund(ctx, sc, p)
			return err
		}
		// 2000 held: a refund of 5000 needs 3000 back.
		wantCode(t, named("r1", 5000, profitsharing.RefundReturn{ProfitSharing: psh.ID, Receiver: rb.ID, Amount: 2000}), "profit_sharing_return_required")
		wantCode(t, named("r1", 5000, profitsharing.RefundReturn{ProfitSharing: psh.ID, Receiver: rb.ID, Amount: 3000}), "return_exceeds_share")
		wantCode(t, named("r1", 5000, profitsharing.RefundReturn{ProfitSharing: psh.ID, Receiver: "rcv_01hwv2k7p4d9s6m1c8x3z5q2nf", Amount: 3000}), "profit_sharing_returns_invalid")
		check(t, e.balance(ledger.MerchantAvailable(b.ID, false)), 2000, "courier's available after the refusals")
		// The courier's whole share and 1000 of the seller's: 3000 for the 2500
		// needed; the 500 more stays held.
		if err := named("r1", 4500, profitsharing.RefundReturn{ProfitSharing: psh.ID, Receiver: rb.ID, Amount: 2000},
			profitsharing.RefundReturn{ProfitSharing: psh.ID, Receiver: ra.ID, Amount: 1000}); err != nil {
			t.Fatal(err)
		}
		check(t, e.balance(ledger.MerchantAvailable(a.ID, false)), 5000, "seller's available")
		check(t, e.balance(ledger.MerchantAvailable(b.ID, false)), 0, "courier's available")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Held-st.Reserved, int64(500), "available after the refund")
		check(t, st.Shared, int64(5000), "shared")
	})
}

// TestRefundRefusedWhenReceiverSpent: a receiver that paid its share out
// (a transfer of 5000 of its 6000) cannot give the 4500 asked back: the whole refund is refused with a
// 409 naming it, and nothing changed — no refund, no return, balances.
func TestRefundRefusedWhenReceiverSpent(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		sellerM, sellerSc, _ := e.Merchant(t, "Seller", 0)
		courierM, _, _ := e.Merchant(t, "Courier", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, sellerM.ID)
		courier := e.receiver(sc, profitsharing.TypeMerchant, courierM.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		if _, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{
			share(seller.ID, 6000), share(courier.ID, 2000)}}); err != nil {
			t.Fatal(err)
		}
		ts := &transfer.Service{Store: e.Store, Clock: e.Clock, Channels: e.Channels}
		tr, _, err := ts.Create(ctx, sellerSc, transfer.CreateParams{OutTransferNo: "T1", Amount: 5000, Currency: "CNY",
			Destination: client.TransferDestination{Method: "sandbox", Account: "seller-bank"}, Description: "payout"})
		if err != nil {
			t.Fatalf("seller's transfer: %v", err)
		}
		check(t, e.balance(ledger.MerchantAvailable(sellerM.ID, false)), 1000, "seller's available after its transfer "+tr.Status)
		// 8000 refunded, 2000 held: 6000 back, 4500 of it from the seller.
		_, _, err = e.Payments.CreateRefund(ctx, sc, refund("r1", o.ID, 8000))
		wantCode(t, err, "receiver_balance_insufficient")
		if !strings.Contains(err.Error(), seller.ID) {
			t.Fatalf("the error does not name the receiver: %v", err)
		}
		check(t, e.balance(ledger.MerchantAvailable(sellerM.ID, false)), 1000, "seller's available")
		check(t, e.balance(ledger.MerchantAvailable(courierM.ID, false)), 2000, "courier's available")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 2000, "held")
		if _, err := e.Payments.GetRefundByOutRefundNo(ctx, sc, "r1"); errs.Code(err) != "refund_not_found" {
			t.Fatalf("the refused refund exists: %v", err)
		}
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Held, int64(2000), "held")
		check(t, st.Reserved, int64(0), "reserved")
		check(t, st.Shared, int64(8000), "shared")
		// A refund within what the seller has left passes: 1000 back,
		// 750 from the seller, 250 from the courier.
		if r, _, err := e.Payments.CreateRefund(ctx, sc, refund("r2", o.ID, 3000)); err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("smaller refund: %v %+v", err, r)
		}
		check(t, e.balance(ledger.MerchantAvailable(sellerM.ID, false)), 250, "seller's available after the smaller refund")
		check(t, e.balance(ledger.MerchantAvailable(courierM.ID, false)), 1750, "courier's available after the smaller refund")
	})
}

// TestRefundTakesChannelSharesBack: a share paid to an account holder at
// the channel (the sandbox) is asked back of the channel before the refund
// is sent: the return succeeds, the money is held again and the refund
// takes it; events and ledger follow.
func TestRefundTakesChannelSharesBack(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		buyer := e.receiver(sc, profitsharing.TypeSandbox, "buyer-1")
		o := e.paidOrder(sc, "o1", 10000, true)
		if _, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(buyer.ID, 8000)}}); err != nil {
			t.Fatal(err)
		}
		r, _, err := e.Payments.CreateRefund(ctx, sc, refund("r1", o.ID, 5000))
		if err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("refund: %v %+v", err, r)
		}
		rets, err := e.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
		if err != nil || len(rets) != 1 || rets[0].Status != store.ProfitSharingSucceeded || rets[0].Amount != 3000 || rets[0].ChannelReturnNo == "" {
			t.Fatalf("returns: %v %+v", err, rets)
		}
		check(t, fmt.Sprint(e.eventTypes(m, rets[0].ID)), "[profit_sharing.returned]", "return's events")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Shared, int64(5000), "shared")
		check(t, st.Held, int64(0), "held")
		check(t, st.Reserved, int64(0), "reserved")
	})
}

// TestRefundWaitsForAnUnknownChannelReturn: a return whose answer is lost
// leaves the refund pending, not sent, with only the held money reserved;
// the payment worker asks the channel, records the return, and only then
// sends the refund.
func TestRefundWaitsForAnUnknownChannelReturn(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		lost := e.receiver(sc, profitsharing.TypeSandbox, sandbox.ReturnTimeout)
		o := e.paidOrder(sc, "o1", 10000, true)
		if _, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{share(lost.ID, 8000)}}); err != nil {
			t.Fatal(err)
		}
		r, _, err := e.Payments.CreateRefund(ctx, sc, refund("r1", o.ID, 5000))
		if err != nil || r.Status != store.RefundPending {
			t.Fatalf("refund: %v %+v", err, r)
		}
		rets, err := e.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
		if err != nil || len(rets) != 1 || rets[0].Status != store.ProfitSharingProcessing || rets[0].Amount != 3000 {
			t.Fatalf("returns: %v %+v", err, rets)
		}
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Reserved, int64(2000), "reserved while the return is unknown")
		check(t, st.Held, int64(2000), "held while the return is unknown")
		e.verify()
		e.Clock.Advance(time.Hour)
		(&payment.Worker{Service: e.Payments}).RunOnce(ctx)
		if r, err = e.Store.RefundGet(ctx, r.ID); err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("refund after the worker: %v %+v", err, r)
		}
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held")
		if st, err = e.svc.OrderState(ctx, sc, o.ID); err != nil {
			t.Fatal(err)
		}
		check(t, st.Shared, int64(5000), "shared")
		check(t, st.Reserved, int64(0), "reserved")
	})
}

// TestRefundFailsWhenChannelReturnFails: when the channel refuses to take
// a share back, the refund fails (profit_sharing_return_failed) without
// being sent, its reservation is released, and the money is where it was.
func TestRefundFailsWhenChannelReturnFails(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		partner, _, _ := e.Merchant(t, "Seller", 0)
		seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
		stuck := e.receiver(sc, profitsharing.TypeSandbox, sandbox.ReturnInvalid)
		o := e.paidOrder(sc, "o1", 10000, true)
		if _, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{
			share(stuck.ID, 6000), share(seller.ID, 2000)}}); err != nil {
			t.Fatal(err)
		}
		r, _, err := e.Payments.CreateRefund(ctx, sc, refund("r1", o.ID, 6000))
		if err != nil || r.Status != store.RefundFailed || r.FailureCode != "profit_sharing_return_failed" {
			t.Fatalf("refund: %v %+v", err, r)
		}
		rets, err := e.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
		if err != nil || len(rets) != 2 {
			t.Fatalf("returns: %v %+v", err, rets)
		}
		for _, ret := range rets {
			if ret.ReceiverID == stuck.ID && (ret.Status != store.ProfitSharingFailed || ret.Amount != 3000) {
				t.Fatalf("the channel's return: %+v", ret)
			}
		}
		// The seller's 1000 came back and stays held on the order.
		check(t, e.balance(ledger.MerchantAvailable(partner.ID, false)), 1000, "seller's available")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 3000, "held")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Held, int64(3000), "held")
		check(t, st.Reserved, int64(0), "reserved")
		check(t, st.Shared, int64(7000), "shared")
		check(t, fmt.Sprint(e.eventTypes(m, r.ID)), "[refund.failed]", "refund events")
	})
}

// TestConcurrentRefundsNeverReturnMoreThanShared races 16 refunds of 1000
// against an order of 10000 that shared 8000 with two merchants and an
// account holder at the sandbox (returned at the channel): exactly
// ten pass (the order's amount), together they take back exactly the
// 8000 shared, and no receiver ever gives back more than it got.
func TestConcurrentRefundsNeverReturnMoreThanShared(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Market", 0)
		a, _, _ := e.Merchant(t, "Seller", 0)
		b, _, _ := e.Merchant(t, "Courier", 0)
		ra := e.receiver(sc, profitsharing.TypeMerchant, a.ID)
		rb := e.receiver(sc, profitsharing.TypeMerchant, b.ID)
		o := e.paidOrder(sc, "o1", 10000, true)
		buyer := e.receiver(sc, profitsharing.TypeSandbox, "buyer-1") // returned at the channel
		if _, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: "s1", Receivers: []profitsharing.ShareParams{
			share(ra.ID, 4001), share(rb.ID, 2999), share(buyer.ID, 1000)}}); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		results := make([]error, n)
		refunds := make([]*store.Refund, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				refunds[i], _, results[i] = e.Payments.CreateRefund(ctx, sc, refund(fmt.Sprintf("r%d", i), o.ID, 1000))
			}()
		}
		wg.Wait()
		passed := 0
		returned := map[string]int64{}
		for i, err := range results {
			var ae *errs.Error
			switch {
			case err == nil:
				if refunds[i].Status != store.RefundSucceeded {
					t.Fatalf("refund: %+v", refunds[i])
				}
				rets, err := e.Store.ProfitSharingReturnsOfRefund(ctx, refunds[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, ret := range rets {
					returned[ret.ReceiverID] += ret.Amount
				}
				passed++
			case errors.As(err, &ae) && ae.Code == "refund_exceeds_amount":
			default:
				t.Fatalf("refund: %v", err)
			}
		}
		check(t, passed, 10, "refunds that passed")
		check(t, fmt.Sprint(returned[ra.ID], returned[rb.ID], returned[buyer.ID]), "4001 2999 1000", "returned by each receiver")
		check(t, e.balance(ledger.MerchantAvailable(a.ID, false)), 0, "seller's available")
		check(t, e.balance(ledger.MerchantAvailable(b.ID, false)), 0, "courier's available")
		check(t, e.balance(ledger.MerchantSharing(m.ID, false)), 0, "held")
		st, err := e.svc.OrderState(ctx, sc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st.Shared, int64(0), "shared")
	})
}

// TestApportion: the parts sum to need, stay within their caps, follow the
// weights rounded half to even, and the remainder goes to the largest.
func TestApportion(t *testing.T) {
	for _, c := range []struct {
		need          int64
		weights, caps []int64
		want          string
	}{
		{1001, []int64{3333, 1667, 1}, []int64{3333, 1667, 1}, "[667 334 0]"},
		{1, []int64{1, 1}, []int64{1, 1}, "[1 0]"},                 // 0.5 and 0.5 round to 0; the remainder to the first largest
		{3, []int64{1, 1}, []int64{2, 2}, "[1 2]"},                 // 1.5 and 1.5 round to 2; the excess from the first largest
		{5, []int64{10, 10}, []int64{0, 10}, "[0 5]"},              // the first has nothing left
		{10, []int64{8, 2}, []int64{3, 9}, "[3 7]"},                // 8 capped at 3, the rest to the next
		{0, []int64{8, 2}, []int64{8, 2}, "[0 0]"},                 // nothing to return
		{25, []int64{10, 30, 60}, []int64{10, 30, 60}, "[2 8 15]"}, // 2.5 → 2, 7.5 → 8, 15
	} {
		parts, ok := profitsharing.Apportion(c.need, c.weights, c.caps)
		if !ok || fmt.Sprint(parts) != c.want {
			t.Errorf("Apportion(%d, %v, %v) = %v %v, want %s", c.need, c.weights, c.caps, parts, ok, c.want)
		}
	}
	if _, ok := profitsharing.Apportion(11, []int64{8, 2}, []int64{8, 2}); ok {
		t.Error("Apportion of more than the caps")
	}
	// Large amounts do not overflow.
	parts, ok := profitsharing.Apportion(1_000_000_000_000, []int64{999_999_999_999, 1_000_000_000_000}, []int64{999_999_999_999, 1_000_000_000_000})
	if !ok || parts[0]+parts[1] != 1_000_000_000_000 || parts[1] != 500_000_000_000 {
		t.Errorf("large: %v %v", parts, ok)
	}
}
