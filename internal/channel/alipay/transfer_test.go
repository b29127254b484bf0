package alipay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
)

// TestTransfers pays Alipay accounts through the simulator: at once, a
// payee that does not exist (a decline), a slow transfer (DEALING, then
// paid when queried), a lost answer (unknown, then paid by query), a
// repeat (the same transfer, never a second payment), and what the
// connector refuses before calling.
func TestTransfers(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	tr, err := channel.TransfersOf(s.conn)
	if err != nil {
		t.Fatal(err)
	}
	req := func(account string, amount int64) channel.TransferRequest {
		return channel.TransferRequest{TransferID: id.New(id.Transfer, time.Now()), Amount: amount, Currency: "CNY", Account: account, Name: "张三", Description: "Payout", Livemode: true}
	}

	ok := req("buyer@example.com", 12345)
	resp, err := tr.Transfer(ctx, ok)
	if err != nil || resp.Status != channel.TransferSuccess || resp.ChannelTransferNo == "" {
		t.Fatalf("transfer: %v %+v", err, resp)
	}
	again, err := tr.Transfer(ctx, ok)
	if err != nil || again.Status != channel.TransferSuccess || again.ChannelTransferNo != resp.ChannelTransferNo {
		t.Fatalf("repeat: %v %+v", err, again)
	}
	if q, err := tr.QueryTransfer(ctx, channel.TransferQueryRequest{TransferID: ok.TransferID, Livemode: true}); err != nil || q.Status != channel.TransferSuccess {
		t.Fatalf("query: %v %+v", err, q)
	}
	if _, err := tr.Transfer(ctx, req("2088123412341234", 500)); err != nil {
		t.Fatalf("to a user id: %v", err)
	}

	_, err = tr.Transfer(ctx, req(simalipay.PayeeMissing, 1000))
	var d *channel.DeclineError
	if !errors.As(err, &d) || d.Code != "payee_account_invalid" {
		t.Fatalf("missing payee: %v", err)
	}

	slow := req("seller"+simalipay.PayeeSlowSuffix, 1000)
	if resp, err := tr.Transfer(ctx, slow); err != nil || resp.Status != channel.TransferProcessing {
		t.Fatalf("slow: %v %+v", err, resp)
	}
	if q, err := tr.QueryTransfer(ctx, channel.TransferQueryRequest{TransferID: slow.TransferID, Livemode: true}); err != nil || q.Status != channel.TransferProcessing {
		t.Fatalf("slow, first query: %v %+v", err, q)
	}
	if q, err := tr.QueryTransfer(ctx, channel.TransferQueryRequest{TransferID: slow.TransferID, Livemode: true}); err != nil || q.Status != channel.TransferSuccess {
		t.Fatalf("slow, second query: %v %+v", err, q)
	}

	lost := req(simalipay.PayeeLost, 1000)
	if _, err := tr.Transfer(ctx, lost); !errors.Is(err, channel.ErrUnknownOutcome) {
		t.Fatalf("lost answer: %v", err)
	}
	if q, err := tr.QueryTransfer(ctx, channel.TransferQueryRequest{TransferID: lost.TransferID, Livemode: true}); err != nil || q.Status != channel.TransferSuccess {
		t.Fatalf("lost answer, query: %v %+v", err, q)
	}
	if _, err := tr.QueryTransfer(ctx, channel.TransferQueryRequest{TransferID: "trf_never", Livemode: true}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a transfer never made: %v", err)
	}

	usd := req("buyer@example.com", 1000)
	usd.Currency = "USD"
	if _, err := tr.Transfer(ctx, usd); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("USD: %v", err)
	}
	if _, err := tr.Transfer(ctx, req("buyer@example.com", 9)); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("below the minimum: %v", err)
	}
	if got := s.sim.Transfers(); len(got) != 4 || got[ok.TransferID] != 12345 {
		t.Fatalf("the simulator's transfers: %v", got)
	}
}
