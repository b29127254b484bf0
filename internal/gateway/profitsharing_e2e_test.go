package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// TestProfitSharingOverTheAPI on both stores: the demo merchant takes an
// order with profit_sharing, registers a merchant and a sandbox account
// holder as receivers, shares with both, is refused a refund the held
// money no longer covers until the merchant receiver returns part of its
// share, then refunds and finishes; a lost answer is resolved by the
// worker; bad input gets its 4xx; every response is signed and checked by
// the client, and the ledger verifies.
func TestProfitSharingOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := orderParams("psh-1", 10000)
		p.ProfitSharing = true
		o := payNew(t, e.demo, p) // fee 60: 9940 held
		if !o.ProfitSharing {
			t.Fatalf("order: %+v", o)
		}
		partner := e.newMerchant("test", false)
		seller, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "merchant", Account: partner.id, Description: "Seller"})
		if err != nil || seller.Type != "merchant" {
			t.Fatalf("receiver: %v %+v", err, seller)
		}
		buyer, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "sandbox", Account: "buyer-1"})
		if err != nil {
			t.Fatal(err)
		}
		lost, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "sandbox", Account: sandbox.ReceiverTimeout})
		if err != nil {
			t.Fatal(err)
		}
		rcvs, err := e.demo.ListProfitSharingReceivers(ctx, client.ListParams{})
		if err != nil || len(rcvs.Data) != 3 {
			t.Fatalf("receivers: %v %+v", err, rcvs)
		}

		sp := client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "P1", Receivers: []client.ProfitSharingShare{
			{Receiver: seller.ID, Amount: 3000, Description: "commission"}, {Receiver: buyer.ID, Amount: 1000, Description: "cashback"}}}
		psh, err := e.demo.CreateProfitSharing(ctx, sp)
		if err != nil || psh.Status != "succeeded" || psh.Amount != 4000 || len(psh.Receivers) != 2 {
			t.Fatalf("sharing: %v %+v", err, psh)
		}
		if again, err := e.demo.CreateProfitSharing(ctx, sp); err != nil || again.ID != psh.ID {
			t.Fatalf("repeat: %v %+v", err, again)
		}
		st, err := e.demo.GetProfitSharingOrder(ctx, o.ID)
		if err != nil || st.Net != 9940 || st.Available != 5940 || st.Shared != 4000 || st.Finished {
			t.Fatalf("state: %v %+v", err, st)
		}
		if bal, err := e.demo.GetBalance(ctx); err != nil || len(bal.ProfitSharing) != 1 || bal.ProfitSharing[0].Amount != 5940 || len(bal.Pending) != 0 {
			t.Fatalf("balance with held money: %v %+v", err, bal)
		}

		keep := false
		_, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "R1", Amount: 6000, ReverseShares: &keep})
		apiErr(t, err, 409, "profit_sharing_return_required")
		ret, err := e.demo.CreateProfitSharingReturn(ctx, client.CreateProfitSharingReturnParams{ProfitSharing: psh.ID, OutReturnNo: "RT1", Receiver: seller.ID, Amount: 1000})
		if err != nil || ret.Amount != 1000 {
			t.Fatalf("return: %v %+v", err, ret)
		}
		_, err = e.demo.CreateProfitSharingReturn(ctx, client.CreateProfitSharingReturnParams{ProfitSharing: psh.ID, OutReturnNo: "RT2", Receiver: buyer.ID, Amount: 1})
		apiErr(t, err, 400, "return_not_supported")
		if r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "R1", Amount: 6000}); err != nil || r.Status != "succeeded" {
			t.Fatalf("refund after the return: %v %+v", err, r)
		}

		// A lost answer, with a finish that waits for it.
		pending, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "P2", Finish: true,
			Receivers: []client.ProfitSharingShare{{Receiver: lost.ID, Amount: 500}}})
		if err != nil || pending.Status != "processing" {
			t.Fatalf("lost answer: %v %+v", err, pending)
		}
		_, err = e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "P3", Receivers: []client.ProfitSharingShare{{Receiver: seller.ID, Amount: 1}}})
		apiErr(t, err, 409, "profit_sharing_finished")
		if _, err := e.g.ProfitSharing.ResolveDue(ctx, e.clock.Now().Add(5*time.Minute), 100); err != nil {
			t.Fatal(err)
		}
		if got, err := e.demo.GetProfitSharing(ctx, pending.ID); err != nil || got.Status != "succeeded" {
			t.Fatalf("resolved: %v %+v", err, got)
		}
		st, err = e.demo.GetProfitSharingOrder(ctx, o.ID)
		if err != nil || !st.Finished || st.Available != 0 || st.Released != 440 || st.Shared != 3500 {
			t.Fatalf("state after finish: %v %+v", err, st)
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil || len(bal.Available) != 1 || bal.Available[0].Amount != 440 {
			t.Fatalf("merchant's balance: %v %+v", err, bal)
		}
		pbal, err := partner.c.GetBalance(ctx)
		if err != nil || len(pbal.Available) != 1 || pbal.Available[0].Amount != 2000 {
			t.Fatalf("seller's balance: %v %+v", err, pbal)
		}
		list, err := e.demo.ListProfitSharings(ctx, o.ID, client.ListParams{})
		if err != nil || len(list.Data) != 2 {
			t.Fatalf("list: %v %+v", err, list)
		}
		evs, err := e.demo.ListEvents(ctx, client.ListParams{Extra: map[string]string{"type": "profit_sharing.finished"}})
		if err != nil || len(evs.Data) != 1 {
			t.Fatalf("profit_sharing.finished events: %v %+v", err, evs)
		}

		// Bad input.
		plain := paidOrder(t, e.demo, "psh-plain", 1000)
		_, err = e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: plain.ID, OutOrderNo: "B1", Receivers: []client.ProfitSharingShare{{Receiver: seller.ID, Amount: 1}}})
		apiErr(t, err, 400, "order_not_profit_sharing")
		p.OutTradeNo = "psh-2"
		big := payNew(t, e.demo, p)
		_, err = e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: big.ID, OutOrderNo: "B2", Receivers: []client.ProfitSharingShare{{Receiver: seller.ID, Amount: 9941}}})
		apiErr(t, err, 409, "profit_sharing_exceeds_available")
		_, err = e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: big.ID, OutOrderNo: "B3", Receivers: []client.ProfitSharingShare{{Receiver: "rcv_01hwv2k7p4d9s6m1c8x3z5q2nf", Amount: 1}}})
		apiErr(t, err, 400, "receiver_not_found")
		p.OutTradeNo = "psh-3"
		unpaid, err := e.demo.CreateOrder(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: unpaid.ID, OutOrderNo: "B4", Receivers: []client.ProfitSharingShare{{Receiver: seller.ID, Amount: 1}}})
		apiErr(t, err, 409, "order_not_paid")
		_, err = partner.c.GetProfitSharing(ctx, psh.ID)
		apiErr(t, err, 404, "profit_sharing_not_found")
		e.verifyLedger()
	})
}

// TestProfitSharingRefundReversesSharesOverTheAPI: a refund larger than
// the held money takes the merchant receivers' shares back by itself
// (reverse_shares, on by default): 201, the seller's balance less its
// part, a profit_sharing.returned event naming the refund.
func TestProfitSharingRefundReversesSharesOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := orderParams("psh-rev", 10000)
		p.ProfitSharing = true
		o := payNew(t, e.demo, p) // fee 60: 9940 held
		a, b := e.newMerchant("test", false), e.newMerchant("test", false)
		ra, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "merchant", Account: a.id})
		if err != nil {
			t.Fatal(err)
		}
		rb, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "merchant", Account: b.id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "P1", Receivers: []client.ProfitSharingShare{
			{Receiver: ra.ID, Amount: 6000}, {Receiver: rb.ID, Amount: 2000}}}); err != nil {
			t.Fatal(err)
		}
		// 1940 held: a refund of 5940 (cost 5940 under the keep policy)
		// takes 4000 back, 3000 from a and 1000 from b.
		r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "R1", Amount: 5940})
		if err != nil || r.Status != "succeeded" {
			t.Fatalf("refund: %v %+v", err, r)
		}
		for _, c := range []struct {
			m    merchant
			want int64
		}{{a, 3000}, {b, 1000}} {
			bal, err := c.m.c.GetBalance(ctx)
			if err != nil || len(bal.Available) != 1 || bal.Available[0].Amount != c.want {
				t.Fatalf("receiver's balance: %v %+v, want %d", err, bal, c.want)
			}
		}
		st, err := e.demo.GetProfitSharingOrder(ctx, o.ID)
		if err != nil || st.Shared != 4000 || st.Available != 0 {
			t.Fatalf("state: %v %+v", err, st)
		}
		evs, err := e.demo.ListEvents(ctx, client.ListParams{Extra: map[string]string{"type": "profit_sharing.returned"}})
		if err != nil || len(evs.Data) != 2 {
			t.Fatalf("profit_sharing.returned events: %v %+v", err, evs)
		}
		for _, ev := range evs.Data {
			if !strings.Contains(string(ev.Data), `"refund":"`+r.ID+`"`) {
				t.Fatalf("event %s names no refund: %s", ev.ID, ev.Data)
			}
		}

		// Named returns instead of the split: all 2000 from b.
		p.OutTradeNo = "psh-rev-2"
		o2 := payNew(t, e.demo, p)
		psh2, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o2.ID, OutOrderNo: "P2", Receivers: []client.ProfitSharingShare{
			{Receiver: ra.ID, Amount: 6000}, {Receiver: rb.ID, Amount: 2000}}})
		if err != nil {
			t.Fatal(err)
		}
		named := client.CreateRefundParams{OrderID: o2.ID, OutRefundNo: "R2", Amount: 3940,
			ProfitSharingReturns: []client.RefundProfitSharingReturn{{ProfitSharing: psh2.ID, Receiver: rb.ID, Amount: 2001}}}
		_, err = e.demo.CreateRefund(ctx, named)
		apiErr(t, err, 409, "return_exceeds_share")
		named.ProfitSharingReturns[0].Amount = 2000
		if r2, err := e.demo.CreateRefund(ctx, named); err != nil || r2.Status != "succeeded" {
			t.Fatalf("refund with named returns: %v %+v", err, r2)
		}
		if bal, err := b.c.GetBalance(ctx); err != nil || len(bal.Available) != 1 || bal.Available[0].Amount != 1000 {
			t.Fatalf("b's balance after both refunds: %v %+v", err, bal)
		}
		e.verifyLedger()
	})
}

// TestProfitSharingAtWeChatPay on both stores, through the WeChat Pay
// simulator: an order paid at WeChat with profit_sharing is shared with a
// WeChat user (added as a receiver at WeChat, shared with
// /v3/profitsharing/orders, processing until the worker's query says
// SUCCESS) and with an abnormal account (CLOSED: the share is held again);
// WeChat paid exactly the one share, and the ledger verifies.
func TestProfitSharingAtWeChatPay(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.channelAccount("wechatpay", "wechat.native")
		wx := s.sim.(*simwx.Sim)
		o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "wx-psh", Amount: 10000, Currency: "CNY", Subject: "Tea", Method: "wechat.native", ProfitSharing: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := wx.PayerPays(o.ID); err != nil {
			t.Fatal(err)
		}
		o = waitOrder(t, e.demo, o.ID, "succeeded")
		user, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "wechatpay_openid", Account: "o-seller-1"})
		if err != nil {
			t.Fatal(err)
		}
		abnormal, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "wechatpay_openid", Account: simwx.ReceiverAbnormal})
		if err != nil {
			t.Fatal(err)
		}
		sandboxHolder, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "sandbox", Account: "buyer-1"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "W0", Receivers: []client.ProfitSharingShare{{Receiver: sandboxHolder.ID, Amount: 1}}})
		apiErr(t, err, 400, "receiver_channel_mismatch")

		paid, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "W1", Receivers: []client.ProfitSharingShare{{Receiver: user.ID, Amount: 3000, Description: "commission"}}})
		if err != nil || paid.Status != "processing" || paid.ChannelSharingNo == "" {
			t.Fatalf("sharing: %v %+v", err, paid)
		}
		closed, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "W2", Receivers: []client.ProfitSharingShare{{Receiver: abnormal.ID, Amount: 1000}}})
		if err != nil || closed.Status != "processing" {
			t.Fatalf("sharing with an abnormal account: %v %+v", err, closed)
		}
		for i := range 2 { // the first query finds them processing
			if _, err := e.g.ProfitSharing.ResolveDue(ctx, e.clock.Now().Add(time.Duration(i+1)*time.Hour), 100); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := e.demo.GetProfitSharing(ctx, paid.ID); err != nil || got.Status != "succeeded" {
			t.Fatalf("paid sharing: %v %+v", err, got)
		}
		if got, err := e.demo.GetProfitSharing(ctx, closed.ID); err != nil || got.Status != "failed" || got.FailureCode != "receiver_invalid" {
			t.Fatalf("closed sharing: %v %+v", err, got)
		}
		st, err := e.demo.GetProfitSharingOrder(ctx, o.ID)
		if err != nil || st.Shared != 3000 || st.Available != st.Net-3000 {
			t.Fatalf("state: %v %+v", err, st)
		}
		if got := wx.Shared(); len(got) != 1 || got["o-seller-1"] != 3000 {
			t.Fatalf("WeChat's shares: %v", got)
		}
		// The finish unfreezes the rest at WeChat.
		if _, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: "W3", Finish: true}); err != nil {
			t.Fatal(err)
		}
		if got := wx.Unfrozen(); len(got) != 1 || got[0] != o.ChannelTradeNo {
			t.Fatalf("WeChat unfroze %v, want %s", got, o.ChannelTradeNo)
		}
		if ids, err := e.g.Store.ProfitSharingOrdersToUnfreeze(ctx, 10); err != nil || len(ids) != 0 {
			t.Fatalf("orders left to unfreeze: %v %v", err, ids)
		}
		e.verifyLedger()
	})
}

// TestProfitSharingReturnsAtWeChatPay on both stores, through the WeChat
// Pay simulator: a merchant receiver at WeChat (MERCHANT_ID, added with
// its name encrypted) is asked for its share back with return-orders
// before the refund is sent, and the refund then succeeds; an abnormal
// merchant's return fails and so does its refund, with the money where it
// was; a share paid to a person (PERSONAL_OPENID) cannot be returned at
// WeChat: 409 channel_return_not_supported.
func TestProfitSharingReturnsAtWeChatPay(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.channelAccount("wechatpay", "wechat.native")
		wx := s.sim.(*simwx.Sim)
		pay := func(no string) *client.Order {
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: no, Amount: 10000, Currency: "CNY", Subject: "Tea", Method: "wechat.native", ProfitSharing: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := wx.PayerPays(o.ID); err != nil {
				t.Fatal(err)
			}
			return waitOrder(t, e.demo, o.ID, "succeeded")
		}
		receiver := func(typ, account, name string) *client.ProfitSharingReceiver {
			r, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: typ, Account: account, Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		hour := 0
		share := func(o *client.Order, no string, r *client.ProfitSharingReceiver, amount int64) {
			p, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: no, Receivers: []client.ProfitSharingShare{{Receiver: r.ID, Amount: amount, Description: "commission"}}})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				hour++
				if _, err := e.g.ProfitSharing.ResolveDue(ctx, e.clock.Now().Add(time.Duration(hour)*time.Hour), 100); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := e.demo.GetProfitSharing(ctx, p.ID); err != nil || got.Status != "succeeded" {
				t.Fatalf("sharing: %v %+v", err, got)
			}
		}
		wx.ExpectReceiverName("1900000109", "示例商户有限公司")
		seller := receiver("wechatpay_merchant", "1900000109", "示例商户有限公司")
		abnormal := receiver("wechatpay_merchant", simwx.ReturnAbnormal, "异常商户")
		person := receiver("wechatpay_openid", "o-seller-1", "")
		if got := wx.ReceiverName("1900000109"); got != "" {
			t.Fatalf("added before any sharing: %q", got)
		}

		a := pay("wx-ret-a") // 9940 held after the fee
		share(a, "A1", seller, 6000)
		if got := wx.ReceiverName("1900000109"); got != "示例商户有限公司" {
			t.Fatalf("WeChat decrypted the name %q", got)
		}
		r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: a.ID, OutRefundNo: "RA", Amount: 9000})
		if err != nil {
			t.Fatal(err)
		}
		if got := wx.Returned(); got["1900000109"] != 5060 {
			t.Fatalf("WeChat's returns: %v", got)
		}
		if r.Status == "pending" {
			e.clock.Advance(time.Hour)
			r = waitRefund(t, e.demo, r.ID, "succeeded")
		}
		if r.Status != "succeeded" {
			t.Fatalf("refund: %+v", r)
		}
		if st, err := e.demo.GetProfitSharingOrder(ctx, a.ID); err != nil || st.Shared != 940 || st.Available != 0 {
			t.Fatalf("state: %v %+v", err, st)
		}

		b := pay("wx-ret-b")
		share(b, "B1", abnormal, 6000)
		rb, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: b.ID, OutRefundNo: "RB", Amount: 9000})
		if err != nil || rb.Status != "failed" || rb.FailureCode != "profit_sharing_return_failed" {
			t.Fatalf("refund whose return failed: %v %+v", err, rb)
		}
		if st, err := e.demo.GetProfitSharingOrder(ctx, b.ID); err != nil || st.Shared != 6000 || st.Available != 3940 {
			t.Fatalf("state after the failed return: %v %+v", err, st)
		}

		c := pay("wx-ret-c")
		share(c, "C1", person, 6000)
		_, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: c.ID, OutRefundNo: "RC", Amount: 9000})
		apiErr(t, err, 409, "channel_return_not_supported")
		e.verifyLedger()
	})
}

// TestProfitSharingAtAlipay on both stores, through the Alipay simulator:
// an order paid at Alipay with profit_sharing is shared with an Alipay
// user (bound with alipay.trade.royalty.relation.bind, settled with
// alipay.trade.order.settle, processing until the worker's query says
// SUCCESS) and finished; Alipay paid exactly the share. A refund that
// needs the royalty back sends it inside alipay.trade.refund
// (refund_royalty_parameters): the refund succeeds, the royalty is back
// at Alipay and on the order, with one profit_sharing.returned event. A
// refund whose royalty Alipay finds over-returned (taken back at its
// console meanwhile) is refused there: the refund and its return fail and
// nothing moves. The ledger verifies.
func TestProfitSharingAtAlipay(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.channelAccount("alipay", "alipay.qr")
		ali := s.sim.(*simalipay.Sim)
		user, err := e.demo.CreateProfitSharingReceiver(ctx, client.CreateProfitSharingReceiverParams{Type: "alipay_user_id", Account: "2088000000000001"})
		if err != nil {
			t.Fatal(err)
		}
		hour := 0
		shared := func(no string) *client.Order {
			o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: no, Amount: 10000, Currency: "CNY", Subject: "Tea", Method: "alipay.qr", ProfitSharing: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := ali.PayerPays(o.ID); err != nil {
				t.Fatal(err)
			}
			o = waitOrder(t, e.demo, o.ID, "succeeded")
			psh, err := e.demo.CreateProfitSharing(ctx, client.CreateProfitSharingParams{Order: o.ID, OutOrderNo: no + "-1", Finish: true,
				Receivers: []client.ProfitSharingShare{{Receiver: user.ID, Amount: 3000, Description: "commission"}}})
			if err != nil || psh.Status != "processing" || psh.ChannelSharingNo == "" {
				t.Fatalf("sharing: %v %+v", err, psh)
			}
			for range 2 { // the first query finds it processing
				hour++
				if _, err := e.g.ProfitSharing.ResolveDue(ctx, e.clock.Now().Add(time.Duration(hour)*time.Hour), 100); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := e.demo.GetProfitSharing(ctx, psh.ID); err != nil || got.Status != "succeeded" {
				t.Fatalf("sharing after the queries: %v %+v", err, got)
			}
			st, err := e.demo.GetProfitSharingOrder(ctx, o.ID)
			if err != nil || !st.Finished || st.Shared != 3000 || st.Released != st.Net-3000 {
				t.Fatalf("state: %v %+v", err, st)
			}
			return o
		}
		o := shared("ali-psh")
		if got := ali.Royalties(); len(got) != 1 || got["2088000000000001"] != 3000 {
			t.Fatalf("Alipay's royalties: %v", got)
		}
		// The rest was released: the refund takes its whole cost back from
		// the royalty, inside Alipay's refund.
		r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "AR1", Amount: 1000})
		if err != nil || r.Status != "succeeded" {
			t.Fatalf("refund: %v %+v", err, r)
		}
		if got := ali.Royalties(); got["2088000000000001"] != 2000 {
			t.Fatalf("Alipay's royalties after the refund: %v", got)
		}
		if st, err := e.demo.GetProfitSharingOrder(ctx, o.ID); err != nil || st.Shared != 2000 || st.Available != 0 || st.Released != st.Net-3000 {
			t.Fatalf("state after the refund: %v %+v", err, st)
		}
		if n := e.eventsOf(e.demo, "profit_sharing.returned", r.ID); n != 1 {
			t.Fatalf("%d profit_sharing.returned events of the refund", n)
		}

		// Alipay refuses a royalty that is no longer there; the refund
		// fails, and so does its return, with nothing moved.
		b := shared("ali-psh-b")
		if err := ali.TakeRoyaltyBack(b.ID, "2088000000000001", 2500); err != nil {
			t.Fatal(err)
		}
		rb, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: b.ID, OutRefundNo: "AR2", Amount: 1000})
		if err != nil || rb.Status != "failed" || rb.FailureCode != "channel_refused" {
			t.Fatalf("over-returning refund: %v %+v", err, rb)
		}
		if got := ali.Royalties(); got["2088000000000001"] != 2500 {
			t.Fatalf("Alipay's royalties after the refused refund: %v", got)
		}
		if st, err := e.demo.GetProfitSharingOrder(ctx, b.ID); err != nil || st.Shared != 3000 || st.Available != 0 || st.Released != st.Net-3000 {
			t.Fatalf("state after the refused refund: %v %+v", err, st)
		}
		if n := e.eventsOf(e.demo, "profit_sharing.returned", rb.ID); n != 0 {
			t.Fatalf("%d profit_sharing.returned events of the refused refund", n)
		}
		e.verifyLedger()
	})
}
