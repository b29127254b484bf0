package alipay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/alipay"
	"github.com/paygate/paygate/internal/id"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
)

// TestProfitSharing settles a paid trade to receivers through the
// simulator: bound, then settled (processing until queried, then paid, or
// failed for an abnormal account); a repeat makes no second settlement; a
// settlement Alipay never took queries as not found; more than the trade
// is a decline.
func TestProfitSharing(t *testing.T) {
	st := newSetup(t)
	ctx := context.Background()
	ps, err := channel.ProfitSharingOf(st.conn)
	if err != nil {
		t.Fatal(err)
	}
	o := newOrderID()
	if _, err := st.pay(t, alipay.MethodQR, o, 10000, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.sim.Scan(o); err != nil {
		t.Fatal(err)
	}
	if err := st.sim.PayerPays(o); err != nil {
		t.Fatal(err)
	}
	q := st.wantStatus(t, o, channel.TradeSuccess)
	req := func(typ, account string, amount int64) channel.ProfitSharingRequest {
		return channel.ProfitSharingRequest{SharingID: id.New(id.ProfitSharing, time.Now()), OrderID: o, ChannelTradeNo: q.ChannelTradeNo, Currency: "CNY", Livemode: true,
			Receivers: []channel.ProfitSharingReceiver{{Type: typ, Account: account, Amount: amount, Description: "commission"}}}
	}
	query := func(r channel.ProfitSharingRequest) (*channel.ProfitSharingResponse, error) {
		return ps.QueryProfitSharing(ctx, channel.ProfitSharingQueryRequest{SharingID: r.SharingID, OrderID: o, ChannelTradeNo: q.ChannelTradeNo, Livemode: true})
	}

	ok := req("alipay_user_id", "2088000000000001", 3000)
	resp, err := ps.ShareProfit(ctx, ok)
	if err != nil || resp.Status != channel.ProfitSharingProcessing || resp.ChannelSharingNo == "" {
		t.Fatalf("share: %v %+v", err, resp)
	}
	if again, err := ps.ShareProfit(ctx, ok); err != nil || again.ChannelSharingNo != resp.ChannelSharingNo {
		t.Fatalf("repeat: %v %+v", err, again)
	}
	query(ok)
	if got, err := query(ok); err != nil || got.Status != channel.ProfitSharingSuccess {
		t.Fatalf("after the query: %v %+v", err, got)
	}
	bad := req("alipay_user_id", simalipay.RoyaltyAbnormal, 1000)
	if _, err := ps.ShareProfit(ctx, bad); err != nil {
		t.Fatal(err)
	}
	query(bad)
	if got, err := query(bad); err != nil || got.Status != channel.ProfitSharingFailed {
		t.Fatalf("abnormal account: %v %+v", err, got)
	}
	if _, err := query(req("alipay_login", "seller@example.com", 100)); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a settlement never made: %v", err)
	}
	var d *channel.DeclineError
	if _, err := ps.ShareProfit(ctx, req("alipay_login", "seller@example.com", 7001)); !errors.As(err, &d) {
		t.Fatalf("more than the trade has: %v", err)
	}
	if got := st.sim.Royalties(); len(got) != 1 || got["2088000000000001"] != 3000 {
		t.Fatalf("the simulator's royalties: %v", got)
	}

	// A refund takes a royalty back inside itself
	// (refund_royalty_parameters): more than the receiver's royalty is
	// refused and nothing moves; within it, refunded and taken back.
	refund := func(amount int64, back ...channel.ShareReturn) (*channel.RefundResponse, error) {
		return st.conn.Refund(ctx, channel.RefundRequest{RefundID: id.New(id.Refund, time.Now()), OrderID: o, ChannelTradeNo: q.ChannelTradeNo,
			Amount: amount, Total: 10000, Currency: "CNY", Livemode: true, ReturnShares: back})
	}
	back := func(account string, amount int64) channel.ShareReturn {
		return channel.ShareReturn{Receiver: channel.ProfitSharingReceiver{Type: "alipay_user_id", Account: account}, Amount: amount}
	}
	var apiErr *alipay.APIError
	if _, err := refund(2000, back("2088000000000001", 3001)); !errors.As(err, &apiErr) || apiErr.SubCode != "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR" || !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("over-return: %v", err)
	}
	if _, err := refund(500, back(simalipay.RoyaltyAbnormal, 100)); !errors.As(err, &apiErr) || apiErr.SubCode != "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR" {
		t.Fatalf("return of a failed royalty: %v", err)
	}
	if got := st.sim.Royalties(); got["2088000000000001"] != 3000 {
		t.Fatalf("after the refused refunds: %v", got)
	}
	if resp, err := refund(2000, back("2088000000000001", 1200)); err != nil || resp.Status != channel.RefundSuccess {
		t.Fatalf("refund with a royalty back: %v %+v", err, resp)
	}
	if got := st.sim.Royalties(); got["2088000000000001"] != 1800 {
		t.Fatalf("after the refund: %v", got)
	}
	if _, err := refund(100, channel.ShareReturn{Receiver: channel.ProfitSharingReceiver{Type: "wechatpay_openid", Account: "o1"}, Amount: 1}); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("a receiver that is no Alipay account: %v", err)
	}
	if _, ok := channel.Unwrap(st.conn).(channel.RefundShareReturner); !ok {
		t.Fatal("the connector is no RefundShareReturner")
	}
}
