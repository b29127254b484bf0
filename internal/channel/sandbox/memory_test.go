package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/clock"
)

// TestMemoryBounded: however many trades and refunds go through it, the
// sandbox remembers at most MaxTrades and MaxRefunds; a forgotten trade is
// still answered from its number (paid, or waiting for the payer), can be
// refunded, and a forgotten refund is ErrTradeNotFound, as after a restart.
func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	sb := sandbox.New(clock.Real{})
	sb.MaxTrades, sb.MaxRefunds = 10, 5
	var paid, waiting []string
	for i := range 40 {
		r := channel.PayRequest{OrderID: fmt.Sprintf("ord_%d", i), Method: "sandbox", Amount: 100, Currency: "CNY"}
		if i%2 == 0 {
			r.Method, r.Card = "card", &channel.Card{Number: sandbox.CardSuccess, ExpMonth: 12, ExpYear: 2040, CVC: "123"}
		}
		resp, err := sb.Pay(ctx, r)
		if err != nil {
			t.Fatalf("pay %d: %v", i, err)
		}
		if i%2 == 0 {
			paid = append(paid, resp.ChannelTradeNo)
			if _, err := sb.Refund(ctx, channel.RefundRequest{RefundID: fmt.Sprintf("ref_%d", i), ChannelTradeNo: resp.ChannelTradeNo, Amount: 40, Total: 100}); err != nil {
				t.Fatalf("refund %d: %v", i, err)
			}
		} else {
			waiting = append(waiting, resp.ChannelTradeNo)
		}
		if trades, refunds := sb.Remembered(); trades > 10 || refunds > 5 {
			t.Fatalf("after %d trades the sandbox remembers %d trades and %d refunds, bounds 10 and 5", i+1, trades, refunds)
		}
	}
	// The first trades are forgotten; their numbers still answer.
	q, err := sb.Query(ctx, channel.QueryRequest{ChannelTradeNo: paid[0]})
	if err != nil || q.Status != channel.TradeSuccess {
		t.Fatalf("query of a forgotten paid trade: %+v %v", q, err)
	}
	q, err = sb.Query(ctx, channel.QueryRequest{ChannelTradeNo: waiting[0]})
	if err != nil || q.Status != channel.TradeNotPay {
		t.Fatalf("query of a forgotten waiting trade: %+v %v", q, err)
	}
	if _, err := sb.RefundQuery(ctx, channel.RefundQueryRequest{RefundID: "ref_0", ChannelTradeNo: paid[0]}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a forgotten refund: %v, want ErrTradeNotFound", err)
	}
	if _, err := sb.Refund(ctx, channel.RefundRequest{RefundID: "ref_0b", ChannelTradeNo: paid[0], Amount: 60, Total: 100}); err != nil {
		t.Fatalf("refund of a forgotten trade: %v", err)
	}
	// A recent trade is remembered whole: its refunds are checked against it.
	last := paid[len(paid)-1]
	if _, err := sb.Refund(ctx, channel.RefundRequest{RefundID: "ref_over", ChannelTradeNo: last, Amount: 61, Total: 100}); !errors.Is(err, channel.ErrInvalidRequest) {
		t.Fatalf("refund beyond what is left of a remembered trade: %v, want ErrInvalidRequest", err)
	}
	// The payer still acts on a forgotten waiting trade, and it is remembered again.
	if err := sb.PayerActs(waiting[0], true); err != nil {
		t.Fatalf("payer acts on a forgotten trade: %v", err)
	}
	if q, _ := sb.Query(ctx, channel.QueryRequest{ChannelTradeNo: waiting[0]}); q == nil || q.Status != channel.TradeSuccess {
		t.Fatalf("after the payer paid: %+v", q)
	}
	if trades, _ := sb.Remembered(); trades > 10 {
		t.Fatalf("remembers %d trades", trades)
	}
}
