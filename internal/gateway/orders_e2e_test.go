package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
)

func TestOrderLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{
			OutTradeNo: "life-1", Amount: 1000, Currency: "CNY", Subject: "Coffee", Method: "sandbox",
			Metadata: map[string]string{"cart": "42"}, Payer: &client.Payer{IP: "203.0.113.9"},
		})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if o.Status != "pending" || o.Livemode || o.NextAction == nil || o.NextAction.Type != "qr_code" || o.NextAction.CashierURL == "" {
			t.Fatalf("new sandbox order = %+v, want pending test-mode order with a qr_code next action", o)
		}
		if o.Metadata["cart"] != "42" || o.Risk == nil || o.Risk.Decision != "allow" {
			t.Fatalf("metadata/risk not rendered: %+v %+v", o.Metadata, o.Risk)
		}
		got, err := e.demo.GetOrderByOutTradeNo(ctx, "life-1")
		if err != nil || got.ID != o.ID {
			t.Fatalf("by out_trade_no = %+v, %v; want %s", got, err, o.ID)
		}
		paid, err := e.demo.TestPayOrder(ctx, o.ID, "succeeded")
		if err != nil {
			t.Fatalf("test pay: %v", err)
		}
		if paid.Status != "succeeded" || paid.PaidAt == nil || paid.ChannelTradeNo == "" || paid.NextAction != nil {
			t.Fatalf("paid order = %+v", paid)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil {
			t.Fatalf("balance: %v", err)
		}
		// The demo merchant pays 60 bps: 1000 - 6 = 994.
		if len(bal.Pending) != 1 || bal.Pending[0] != (client.Amount{Currency: "CNY", Amount: 994}) {
			t.Fatalf("pending balance = %+v, want 994 CNY", bal.Pending)
		}
		_, err = e.demo.CloseOrder(ctx, o.ID)
		apiErr(t, err, 409, "order_already_paid")
		_, err = e.demo.TestPayOrder(ctx, o.ID, "succeeded")
		apiErr(t, err, 409, "order_already_paid")

		var events client.List[client.Event]
		if _, err := e.demo.Do(ctx, "GET", "/v1/events?object_id="+o.ID, nil, &events); err != nil {
			t.Fatalf("events: %v", err)
		}
		if len(events.Data) != 1 || events.Data[0].Type != "order.succeeded" {
			t.Fatalf("events of the order = %+v, want one order.succeeded", events.Data)
		}
		var data struct {
			Object client.Order `json:"object"`
		}
		if err := json.Unmarshal(events.Data[0].Data, &data); err != nil || data.Object.Status != "succeeded" || data.Object.ID != o.ID {
			t.Fatalf("event data = %s (%v), want the succeeded order", events.Data[0].Data, err)
		}
		e.verifyLedger()
	})
}

func TestCloseAndFail(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o, err := e.demo.CreateOrder(ctx, orderParams("close-1", 500))
		if err != nil {
			t.Fatal(err)
		}
		closed, err := e.demo.CloseOrder(ctx, o.ID)
		if err != nil || closed.Status != "closed" || closed.ClosedAt == nil {
			t.Fatalf("close = %+v, %v", closed, err)
		}
		again, err := e.demo.CloseOrder(ctx, o.ID)
		if err != nil || again.Status != "closed" {
			t.Fatalf("second close = %+v, %v; want the closed order", again, err)
		}
		_, err = e.demo.TestPayOrder(ctx, o.ID, "succeeded")
		apiErr(t, err, 409, "order_closed")

		f, _ := e.demo.CreateOrder(ctx, orderParams("fail-1", 500))
		failed, err := e.demo.TestPayOrder(ctx, f.ID, "failed")
		if err != nil || failed.Status != "failed" || failed.FailureCode == "" {
			t.Fatalf("failed payment = %+v, %v", failed, err)
		}
		_, err = e.demo.CloseOrder(ctx, f.ID)
		apiErr(t, err, 409, "order_failed")
		e.verifyLedger()
	})
}

func TestTestCards(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		card := func(n, no string) (*client.Order, error) {
			return e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: n, Amount: 2000, Currency: "USD", Subject: "Shoes", Method: "card",
				Card: &client.Card{Number: no, ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"}})
		}
		ok, err := card("card-ok", sandbox.CardSuccess)
		if err != nil || ok.Status != "succeeded" {
			t.Fatalf("success card = %+v, %v", ok, err)
		}
		for _, c := range []struct{ no, code string }{{sandbox.CardDeclined, "card_declined"}, {sandbox.CardInsufficientFunds, "insufficient_funds"}} {
			o, err := card("card-"+c.code, c.no)
			if err != nil || o.Status != "failed" || o.FailureCode != c.code {
				t.Fatalf("card %s = %+v, %v; want failed %s", c.no, o, err, c.code)
			}
		}
		slow, err := card("card-timeout", sandbox.CardTimeout)
		if err != nil || slow.Status != "processing" {
			t.Fatalf("timeout card = %+v, %v; want processing", slow, err)
		}
		// The worker asks the channel once the order has been processing a while.
		e.clock.Advance(10 * time.Second)
		e.g.Worker.RunOnce(ctx)
		got, _ := e.demo.GetOrder(ctx, slow.ID)
		if got.Status != "succeeded" {
			t.Fatalf("after the worker's query the timeout-card order is %s, want succeeded", got.Status)
		}
		_, err = card("card-bad", "4242424242424241")
		apiErr(t, err, 400, "card_invalid")
		e.verifyLedger()
	})
}

func TestExpiryClosesOrders(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := orderParams("exp-1", 100)
		p.ExpiresIn = 60
		o, _ := e.demo.CreateOrder(ctx, p)
		paidLate := orderParams("exp-2", 100)
		paidLate.ExpiresIn = 60
		o2, _ := e.demo.CreateOrder(ctx, paidLate)
		if _, err := e.demo.TestPayOrder(ctx, o2.ID, "succeeded"); err != nil {
			t.Fatal(err)
		}
		e.g.Worker.RunOnce(ctx)
		if got, _ := e.demo.GetOrder(ctx, o.ID); got.Status != "pending" {
			t.Fatalf("before expiry: %s", got.Status)
		}
		e.clock.Advance(61 * time.Second)
		e.g.Worker.RunOnce(ctx)
		if got, _ := e.demo.GetOrder(ctx, o.ID); got.Status != "closed" {
			t.Fatalf("after expiry: %s, want closed", got.Status)
		}
		if got, _ := e.demo.GetOrder(ctx, o2.ID); got.Status != "succeeded" {
			t.Fatalf("a paid order was touched by expiry: %s", got.Status)
		}
	})
}

func TestNaturalIdempotency(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		first, err := e.demo.CreateOrder(ctx, orderParams("nat-1", 100))
		if err != nil {
			t.Fatal(err)
		}
		var repeat client.Order
		res, err := e.demo.Do(ctx, "POST", "/v1/orders", orderParams("nat-1", 100), &repeat)
		if err != nil || res.StatusCode != 200 || repeat.ID != first.ID {
			t.Fatalf("repeat = %d %s, %v; want 200 with %s", res.StatusCode, repeat.ID, err, first.ID)
		}
		_, err = e.demo.CreateOrder(ctx, orderParams("nat-1", 101))
		apiErr(t, err, 409, "duplicate_out_trade_no")

		// 20 concurrent creates with one out_trade_no make one order.
		var wg sync.WaitGroup
		ids := make([]string, 20)
		errs := make([]error, 20)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, err := e.demo.CreateOrder(ctx, orderParams("nat-race", 777))
				errs[i] = err
				if err == nil {
					ids[i] = o.ID
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("concurrent create %d = %q, %v; want %q", i, ids[i], errs[i], ids[0])
			}
		}
		list, err := e.demo.ListOrders(ctx, client.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range list.Data {
			if o.OutTradeNo == "nat-race" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d orders with out_trade_no nat-race, want 1", n)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		key := client.WithIdempotencyKey("idem-1")
		r1, err := e.demo.Do(ctx, "POST", "/v1/orders", orderParams("idem-a", 100), nil, key)
		if err != nil || r1.StatusCode != 201 {
			t.Fatalf("first: %v", err)
		}
		r2, err := e.demo.Do(ctx, "POST", "/v1/orders", orderParams("idem-a", 100), nil, key)
		if err != nil || r2.StatusCode != 201 || string(r2.Body) != string(r1.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay = %d %s (%v); want the first response byte for byte", r2.StatusCode, r2.Body, err)
		}
		_, err = e.demo.Do(ctx, "POST", "/v1/orders", orderParams("idem-b", 100), nil, key)
		apiErr(t, err, 409, "idempotency_key_reused")
		// An error is remembered too: the same bad request replays the same error.
		bad := orderParams("idem-c", 0)
		_, err1 := e.demo.Do(ctx, "POST", "/v1/orders", bad, nil, client.WithIdempotencyKey("idem-2"))
		_, err2 := e.demo.Do(ctx, "POST", "/v1/orders", bad, nil, client.WithIdempotencyKey("idem-2"))
		a1, a2 := apiErr(t, err1, 400, "amount_invalid"), apiErr(t, err2, 400, "amount_invalid")
		if a1.RequestID != a2.RequestID {
			t.Fatalf("replayed error has request id %s, want the first's %s", a2.RequestID, a1.RequestID)
		}
	})
}

func TestPagination(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var ids []string
		for i := 0; i < 7; i++ {
			o, err := e.demo.CreateOrder(ctx, orderParams(fmt.Sprintf("page-%d", i), 100))
			if err != nil {
				t.Fatal(err)
			}
			ids = append([]string{o.ID}, ids...) // newest first
		}
		var seen []string
		after := ""
		for {
			page, err := e.demo.ListOrders(ctx, client.ListParams{Limit: 3, StartingAfter: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Data {
				seen = append(seen, o.ID)
			}
			if !page.HasMore {
				break
			}
			after = page.Data[len(page.Data)-1].ID
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids) {
			t.Fatalf("forward pages = %v, want %v", seen, ids)
		}
		back, err := e.demo.ListOrders(ctx, client.ListParams{Limit: 2, EndingBefore: ids[4]})
		if err != nil || len(back.Data) != 2 || back.Data[0].ID != ids[2] || back.Data[1].ID != ids[3] || !back.HasMore {
			t.Fatalf("ending_before page = %+v, %v; want %v with has_more", back, err, ids[2:4])
		}
		if _, err := e.demo.TestPayOrder(ctx, ids[0], "succeeded"); err != nil {
			t.Fatal(err)
		}
		paid, err := e.demo.ListOrders(ctx, client.ListParams{Status: "succeeded"})
		if err != nil || len(paid.Data) != 1 || paid.Data[0].ID != ids[0] {
			t.Fatalf("status filter = %+v, %v", paid, err)
		}
		_, err = e.demo.Do(ctx, "GET", "/v1/orders?limit=101", nil, nil)
		apiErr(t, err, 400, "limit_invalid")
		_, err = e.demo.Do(ctx, "GET", "/v1/orders?colour=red", nil, nil)
		apiErr(t, err, 400, "unknown_parameter")
	})
}
