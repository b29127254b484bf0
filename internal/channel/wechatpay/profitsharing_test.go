package wechatpay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/id"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// TestProfitSharing shares a trade paid with settle_info.profit_sharing
// through the simulator (one paid without it is refused): the
// receivers are added, the sharing is processing until queried, then paid
// (or closed for an abnormal account); a repeat makes no second sharing;
// a sharing WeChat never got queries as not found; more than the trade is
// refused.
func TestProfitSharing(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	ps, err := channel.ProfitSharingOf(s.conn)
	if err != nil {
		t.Fatal(err)
	}
	oid, q := s.paidForSharing(t)
	plain := s.paid(t, 500) // paid without settle_info.profit_sharing
	pq, err := s.conn.Query(ctx, channel.QueryRequest{OrderID: plain})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.ShareProfit(ctx, channel.ProfitSharingRequest{SharingID: id.New(id.ProfitSharing, time.Now()), OrderID: plain, ChannelTradeNo: pq.ChannelTradeNo, Currency: "CNY",
		Receivers: []channel.ProfitSharingReceiver{{Type: "wechatpay_openid", Account: "o-seller-1", Amount: 100}}}); err == nil || errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("sharing a trade not frozen for it: %v", err)
	}
	req := func(account string, amount int64) channel.ProfitSharingRequest {
		return channel.ProfitSharingRequest{SharingID: id.New(id.ProfitSharing, time.Now()), OrderID: oid, ChannelTradeNo: q.ChannelTradeNo, Currency: "CNY", Livemode: true,
			Receivers: []channel.ProfitSharingReceiver{{Type: "wechatpay_openid", Account: account, Amount: amount, Description: "commission"}}}
	}
	query := func(r channel.ProfitSharingRequest) (*channel.ProfitSharingResponse, error) {
		return ps.QueryProfitSharing(ctx, channel.ProfitSharingQueryRequest{SharingID: r.SharingID, OrderID: oid, ChannelTradeNo: q.ChannelTradeNo, Livemode: true})
	}

	ok := req("o-seller-1", 3000)
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

	bad := req(simwx.ReceiverAbnormal, 1000)
	if _, err := ps.ShareProfit(ctx, bad); err != nil {
		t.Fatal(err)
	}
	query(bad)
	if got, err := query(bad); err != nil || got.Status != channel.ProfitSharingFailed || got.FailureCode != "receiver_invalid" {
		t.Fatalf("abnormal receiver: %v %+v", err, got)
	}
	if _, err := query(req("o-seller-2", 100)); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a sharing never made: %v", err)
	}
	if _, err := ps.ShareProfit(ctx, req("o-seller-3", 7001)); err == nil || errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("more than the trade has: %v", err)
	}
	usd := req("o-seller-1", 100)
	usd.Currency = "USD"
	if _, err := ps.ShareProfit(ctx, usd); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("USD: %v", err)
	}
	if got := s.sim.Shared(); len(got) != 1 || got["o-seller-1"] != 3000 {
		t.Fatalf("the simulator's shares: %v", got)
	}
}

// TestProfitSharingReceiverNames: a receiver's name reaches WeChat
// encrypted with the platform key (the simulator decrypts it and checks it
// against the name it expects); a MERCHANT_ID receiver without a name is
// refused before any call; a name WeChat does not expect is refused.
func TestProfitSharingReceiverNames(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	ps, err := channel.ProfitSharingOf(s.conn)
	if err != nil {
		t.Fatal(err)
	}
	oid, q := s.paidForSharing(t)
	req := func(rc channel.ProfitSharingReceiver) channel.ProfitSharingRequest {
		rc.Amount, rc.Description = 100, "commission"
		return channel.ProfitSharingRequest{SharingID: id.New(id.ProfitSharing, time.Now()), OrderID: oid, ChannelTradeNo: q.ChannelTradeNo, Currency: "CNY",
			Receivers: []channel.ProfitSharingReceiver{rc}}
	}
	s.sim.ExpectReceiverName("1900000109", "示例商户全称有限公司")
	if _, err := ps.ShareProfit(ctx, req(channel.ProfitSharingReceiver{Type: "wechatpay_merchant", Account: "1900000109", Name: "示例商户全称有限公司"})); err != nil {
		t.Fatalf("merchant receiver with its name: %v", err)
	}
	if got := s.sim.ReceiverName("1900000109"); got != "示例商户全称有限公司" {
		t.Fatalf("the simulator decrypted %q", got)
	}
	if _, err := ps.ShareProfit(ctx, req(channel.ProfitSharingReceiver{Type: "wechatpay_merchant", Account: "1900000109", Name: "别的公司"})); err == nil || errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("a name WeChat does not expect: %v", err)
	}
	if _, err := ps.ShareProfit(ctx, req(channel.ProfitSharingReceiver{Type: "wechatpay_merchant", Account: "1900000110"})); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("merchant receiver without a name: %v", err)
	}
	if _, err := ps.ShareProfit(ctx, req(channel.ProfitSharingReceiver{Type: "wechatpay_openid", Account: "o-person-1", Name: "张三"})); err != nil {
		t.Fatalf("a person with a name: %v", err)
	}
	if got := s.sim.ReceiverName("o-person-1"); got != "张三" {
		t.Fatalf("the simulator decrypted %q", got)
	}
}

// TestProfitSharingReturn takes merchant receivers' shares back through
// the simulator's return-orders: a return succeeds once per id (a repeat
// and a query answer the first), never more than was paid, fails for an
// abnormal account; a share paid to a person is not returnable at WeChat
// (ErrNotSupported, before any call); a return never made queries as not
// found.
func TestProfitSharingReturn(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	ps, err := channel.ProfitSharingOf(s.conn)
	if err != nil {
		t.Fatal(err)
	}
	ret := channel.ProfitSharingReturner(nil)
	if ret, _ = s.conn.(channel.ProfitSharingReturner); ret == nil {
		ret = channel.Unwrap(s.conn).(channel.ProfitSharingReturner)
	}
	oid, q := s.paidForSharing(t)
	seller := channel.ProfitSharingReceiver{Type: "wechatpay_merchant", Account: "1900000109", Name: "示例商户", Amount: 3000, Description: "commission"}
	abnormal := channel.ProfitSharingReceiver{Type: "wechatpay_merchant", Account: simwx.ReturnAbnormal, Name: "异常商户", Amount: 1000, Description: "commission"}
	person := channel.ProfitSharingReceiver{Type: "wechatpay_openid", Account: "o-person-1", Amount: 500, Description: "cashback"}
	sharingID := id.New(id.ProfitSharing, time.Now())
	sr := channel.ProfitSharingRequest{SharingID: sharingID, OrderID: oid, ChannelTradeNo: q.ChannelTradeNo, Currency: "CNY",
		Receivers: []channel.ProfitSharingReceiver{seller, abnormal, person}}
	if _, err := ps.ShareProfit(ctx, sr); err != nil {
		t.Fatal(err)
	}
	ps.QueryProfitSharing(ctx, channel.ProfitSharingQueryRequest{SharingID: sharingID, OrderID: oid, ChannelTradeNo: q.ChannelTradeNo})
	if got, err := ps.QueryProfitSharing(ctx, channel.ProfitSharingQueryRequest{SharingID: sharingID, OrderID: oid, ChannelTradeNo: q.ChannelTradeNo}); err != nil || got.Status != channel.ProfitSharingSuccess {
		t.Fatalf("sharing: %v %+v", err, got)
	}
	req := func(rc channel.ProfitSharingReceiver, amount int64) channel.ProfitSharingReturnRequest {
		return channel.ProfitSharingReturnRequest{ReturnID: id.New(id.ProfitSharingReturn, time.Now()), SharingID: sharingID, Receiver: rc, Amount: amount, Currency: "CNY", Description: "refund"}
	}
	r1 := req(seller, 2000)
	got, err := ret.ReturnProfitSharing(ctx, r1)
	if err != nil || got.Status != channel.ProfitSharingSuccess || got.ChannelReturnNo == "" {
		t.Fatalf("return: %v %+v", err, got)
	}
	if again, err := ret.ReturnProfitSharing(ctx, r1); err != nil || again.ChannelReturnNo != got.ChannelReturnNo {
		t.Fatalf("repeat: %v %+v", err, again)
	}
	if q, err := ret.QueryProfitSharingReturn(ctx, r1); err != nil || q.Status != channel.ProfitSharingSuccess || q.ChannelReturnNo != got.ChannelReturnNo {
		t.Fatalf("query: %v %+v", err, q)
	}
	if _, err := ret.ReturnProfitSharing(ctx, req(seller, 1001)); err == nil || errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("more than is left: %v", err)
	}
	if got, err := ret.ReturnProfitSharing(ctx, req(abnormal, 1000)); err != nil || got.Status != channel.ProfitSharingFailed || got.FailureCode != "receiver_invalid" {
		t.Fatalf("abnormal account: %v %+v", err, got)
	}
	if _, err := ret.ReturnProfitSharing(ctx, req(person, 500)); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("a person's share: %v", err)
	}
	if _, err := ret.QueryProfitSharingReturn(ctx, req(seller, 1)); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a return never made: %v", err)
	}
	if got := s.sim.Returned(); len(got) != 1 || got["1900000109"] != 2000 {
		t.Fatalf("the simulator's returns: %v", got)
	}
}

// paidForSharing pays a trade of 100.00 CNY made with
// settle_info.profit_sharing and returns its order id and query answer.
func (s *setup) paidForSharing(t *testing.T) (string, *channel.QueryResponse) {
	t.Helper()
	oid := newOrderID()
	if _, err := s.conn.Pay(context.Background(), channel.PayRequest{OrderID: oid, Method: wechatpay.MethodNative, Amount: 10000, Currency: "CNY", Subject: "Tea", ProfitSharing: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.sim.PayerPays(oid); err != nil {
		t.Fatal(err)
	}
	q, err := s.conn.Query(context.Background(), channel.QueryRequest{OrderID: oid})
	if err != nil {
		t.Fatal(err)
	}
	return oid, q
}
