package wechatpay_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// TestTransfers pays openids through the simulator's transfer batches:
// accepted as processing, then paid (or refused for an unknown openid)
// when queried; a repeat makes no second batch; a batch WeChat never got
// queries as not found; what the connector cannot send is refused before
// any call.
func TestTransfers(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	tr, err := channel.TransfersOf(s.conn)
	if err != nil {
		t.Fatal(err)
	}
	req := func(openid string, amount int64) channel.TransferRequest {
		return channel.TransferRequest{TransferID: id.New(id.Transfer, time.Now()), Amount: amount, Currency: "CNY", Account: openid, Description: "Seller payout for March, with a long remark", Livemode: true}
	}
	query := func(r channel.TransferRequest) (*channel.TransferResponse, error) {
		return tr.QueryTransfer(ctx, channel.TransferQueryRequest{TransferID: r.TransferID, Livemode: true})
	}

	ok := req("o-payee-1", 12345)
	resp, err := tr.Transfer(ctx, ok)
	if err != nil || resp.Status != channel.TransferProcessing || resp.ChannelTransferNo == "" {
		t.Fatalf("transfer: %v %+v", err, resp)
	}
	if again, err := tr.Transfer(ctx, ok); err != nil || again.ChannelTransferNo != resp.ChannelTransferNo {
		t.Fatalf("repeat: %v %+v", err, again)
	}
	if q, err := query(ok); err != nil || q.Status != channel.TransferProcessing {
		t.Fatalf("first query: %v %+v", err, q)
	}
	if q, err := query(ok); err != nil || q.Status != channel.TransferSuccess {
		t.Fatalf("second query: %v %+v", err, q)
	}

	missing := req(simwx.PayeeMissing, 100)
	if _, err := tr.Transfer(ctx, missing); err != nil {
		t.Fatal(err)
	}
	query(missing)
	if q, err := query(missing); err != nil || q.Status != channel.TransferFailed || q.FailureCode != "payee_account_invalid" {
		t.Fatalf("unknown openid: %v %+v", err, q)
	}
	if _, err := query(req("o-payee-2", 100)); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a transfer never made: %v", err)
	}

	usd := req("o-payee-1", 100)
	usd.Currency = "USD"
	if _, err := tr.Transfer(ctx, usd); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("USD: %v", err)
	}
	if _, err := tr.Transfer(ctx, req("o-payee-1", 2000_00)); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("2,000 yuan without the payee's name: %v", err)
	}
	got := s.sim.Transfers()
	if len(got) != 2 || got[strings.ReplaceAll(ok.TransferID, "_", "")] != 12345 {
		t.Fatalf("the simulator's batches: %v", got)
	}
}
