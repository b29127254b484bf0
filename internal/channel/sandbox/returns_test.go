package sandbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/clock"
)

// TestProfitSharingReturn: the sandbox returns any receiver's share once
// per id (a repeat and a query answer the first), fails ReturnInvalid's,
// knows no return it never made, and takes no live-mode return.
func TestProfitSharingReturn(t *testing.T) {
	ctx := context.Background()
	var sb channel.ProfitSharingReturner = sandbox.New(clock.Real{})
	r := channel.ProfitSharingReturnRequest{ReturnID: "psr_1", SharingID: "psh_1", Receiver: channel.ProfitSharingReceiver{Type: "sandbox", Account: "buyer-1"}, Amount: 100, Currency: "CNY"}
	got, err := sb.ReturnProfitSharing(ctx, r)
	if err != nil || got.Status != channel.ProfitSharingSuccess || got.ChannelReturnNo == "" {
		t.Fatalf("return: %v %+v", err, got)
	}
	if again, err := sb.ReturnProfitSharing(ctx, r); err != nil || *again != *got {
		t.Fatalf("repeat: %v %+v", err, again)
	}
	if q, err := sb.QueryProfitSharingReturn(ctx, r); err != nil || *q != *got {
		t.Fatalf("query: %v %+v", err, q)
	}
	bad := r
	bad.ReturnID, bad.Receiver.Account = "psr_2", sandbox.ReturnInvalid
	if got, err := sb.ReturnProfitSharing(ctx, bad); err != nil || got.Status != channel.ProfitSharingFailed || got.FailureCode != "receiver_invalid" {
		t.Fatalf("invalid receiver: %v %+v", err, got)
	}
	never := r
	never.ReturnID = "psr_3"
	if _, err := sb.QueryProfitSharingReturn(ctx, never); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a return never made: %v", err)
	}
	live := r
	live.ReturnID, live.Livemode = "psr_4", true
	if _, err := sb.ReturnProfitSharing(ctx, live); !errors.Is(err, channel.ErrNotSupported) {
		t.Fatalf("live mode: %v", err)
	}
}
