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
}
