package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
)

func TestConcurrentRefunds(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := paidOrder(t, e.demo, "rf-1", 10000)
		// 30 concurrent refunds of 10% each: exactly 10 succeed.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, exceeded := 0, 0
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("rf-1-%d", i), Amount: 1000})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && r.Status == "succeeded":
					ok++
				case err != nil:
					if ae, isAPI := err.(*client.Error); isAPI && ae.Code == "refund_exceeds_amount" {
						exceeded++
						return
					}
					t.Errorf("refund %d: %v", i, err)
				default:
					t.Errorf("refund %d status %s", i, r.Status)
				}
			}()
		}
		wg.Wait()
		if ok != 10 || exceeded != 20 {
			t.Fatalf("%d refunds succeeded and %d exceeded; want 10 and 20", ok, exceeded)
		}
		got, _ := e.demo.GetOrder(ctx, o.ID)
		if got.AmountRefunded != 10000 {
			t.Fatalf("amount_refunded = %d, want 10000", got.AmountRefunded)
		}
		list, err := e.demo.ListRefunds(ctx, client.ListParams{Limit: 100, Extra: map[string]string{"order_id": o.ID}})
		if err != nil || len(list.Data) != 10 {
			t.Fatalf("refund list has %d, %v; want 10", len(list.Data), err)
		}
		bal, _ := e.demo.GetBalance(ctx)
		// 10000 paid, fee 60 kept by the platform, 10000 refunded: the merchant is 60 short.
		if len(bal.Pending) != 1 || bal.Pending[0].Amount != -60 {
			t.Fatalf("pending balance = %+v, want -60 CNY", bal.Pending)
		}
		e.verifyLedger()
	})
}

func TestRefundRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := paidOrder(t, e.demo, "rr-1", 5000)
		p := client.CreateRefundParams{OutTradeNo: "rr-1", OutRefundNo: "rr-1-a", Amount: 2000, Reason: "size"}
		r, err := e.demo.CreateRefund(ctx, p)
		if err != nil || r.Status != "succeeded" || r.OrderID != o.ID || r.Currency != "CNY" || r.SucceededAt == nil {
			t.Fatalf("refund = %+v, %v", r, err)
		}
		var again client.Refund
		res, err := e.demo.Do(ctx, "POST", "/v1/refunds", p, &again)
		if err != nil || res.StatusCode != 200 || again.ID != r.ID {
			t.Fatalf("repeat refund = %d %+v %v; want 200 and the same refund", res.StatusCode, again, err)
		}
		p.Amount = 2001
		_, err = e.demo.CreateRefund(ctx, p)
		apiErr(t, err, 409, "duplicate_out_refund_no")
		_, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "rr-1-b", Amount: 3001})
		apiErr(t, err, 409, "refund_exceeds_amount")
		if r2, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "rr-1-c", Amount: 3000}); err != nil || r2.Status != "succeeded" {
			t.Fatalf("refund of the rest = %+v, %v", r2, err)
		}
		byNo, err := e.demo.GetRefundByOutRefundNo(ctx, "rr-1-c")
		if err != nil || byNo.Amount != 3000 {
			t.Fatalf("by out_refund_no = %+v, %v", byNo, err)
		}
		unpaid, _ := e.demo.CreateOrder(ctx, orderParams("rr-2", 100))
		_, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: unpaid.ID, OutRefundNo: "rr-2-a", Amount: 100})
		apiErr(t, err, 409, "order_not_paid")
		_, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: "ord_01hzzzzzzzzzzzzzzzzzzzzzzz", OutRefundNo: "rr-x", Amount: 100})
		apiErr(t, err, 404, "order_not_found")

		// A refund the channel refuses fails and gives its amount back.
		card, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "rr-3", Amount: 900, Currency: "CNY", Subject: "x", Method: "card",
			Card: &client.Card{Number: sandbox.CardRefundFails, ExpMonth: 1, ExpYear: time.Now().Year() + 1}})
		if err != nil || card.Status != "succeeded" {
			t.Fatalf("refund-fails card payment = %+v, %v", card, err)
		}
		failed, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: card.ID, OutRefundNo: "rr-3-a", Amount: 900})
		if err != nil || failed.Status != "failed" {
			t.Fatalf("refund on the refund-fails card = %+v, %v; want failed", failed, err)
		}
		if got, _ := e.demo.GetOrder(ctx, card.ID); got.AmountRefunded != 0 {
			t.Fatalf("a failed refund still holds %d of the order", got.AmountRefunded)
		}
		e.verifyLedger()
	})
}

func TestReverse(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		unpaid, _ := e.demo.CreateOrder(ctx, orderParams("rv-1", 300))
		r, err := e.demo.ReverseOrder(ctx, unpaid.ID)
		if err != nil || r.Status != "closed" {
			t.Fatalf("reverse unpaid = %+v, %v; want closed", r, err)
		}
		mp, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "rv-2", Amount: 300, Currency: "CNY", Subject: "x", Method: "wechat.micropay", AuthCode: "134567890123456789"})
		if err != nil || mp.Status != "succeeded" {
			t.Fatalf("micropay = %+v, %v", mp, err)
		}
		r, err = e.demo.ReverseOrder(ctx, mp.ID)
		if err != nil || r.Status != "succeeded" || r.AmountRefunded != 300 {
			t.Fatalf("reverse paid = %+v, %v; want fully refunded", r, err)
		}
		e.verifyLedger()
	})
}

func TestIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.newMerchant("test", false)
		b := e.newMerchant("test", false)
		live := e.newMerchant("live", false)
		oa := paidOrder(t, a.c, "iso-1", 1000)
		_, err := b.c.GetOrder(ctx, oa.ID)
		apiErr(t, err, 404, "order_not_found")
		_, err = b.c.GetOrderByOutTradeNo(ctx, "iso-1")
		apiErr(t, err, 404, "order_not_found")
		_, err = b.c.CreateRefund(ctx, client.CreateRefundParams{OrderID: oa.ID, OutRefundNo: "steal", Amount: 1})
		apiErr(t, err, 404, "order_not_found")
		_, err = b.c.CloseOrder(ctx, oa.ID)
		apiErr(t, err, 404, "order_not_found")
		if l, _ := b.c.ListOrders(ctx, client.ListParams{}); len(l.Data) != 0 {
			t.Fatalf("merchant B lists %d of A's orders", len(l.Data))
		}
		// Live mode: the same out_trade_no is a different order; test objects are invisible.
		_, err = live.c.GetOrder(ctx, oa.ID)
		apiErr(t, err, 404, "order_not_found")
		lo, err := live.c.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "iso-1", Amount: 1000, Currency: "CNY", Subject: "x"})
		if err != nil || !lo.Livemode || lo.ID == oa.ID {
			t.Fatalf("live order = %+v, %v", lo, err)
		}
		_, err = live.c.TestPayOrder(ctx, lo.ID, "succeeded")
		apiErr(t, err, 403, "test_mode_only")
		_, err = live.c.CreateOrder(ctx, orderParams("iso-2", 1000))
		apiErr(t, err, 400, "method_unsupported") // no live channel takes the sandbox
		bal, _ := b.c.GetBalance(ctx)
		if len(bal.Pending) != 0 {
			t.Fatalf("merchant B sees balance %+v", bal.Pending)
		}
	})
}
