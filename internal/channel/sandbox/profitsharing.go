package sandbox

import (
	"context"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
)

// Test receivers of profit sharing (channel.ProfitSharing). A sharing
// with any other account is paid at once.
const (
	// ReceiverInvalid: the sharing fails for good (receiver_invalid).
	ReceiverInvalid = "sandbox_receiver_invalid"
	// ReceiverTimeout: the sharing goes through, but the answer is lost
	// (outcome unknown) until a query or a repeat asks.
	ReceiverTimeout = "sandbox_receiver_timeout"
	// ReceiverSlow: the channel answers processing; a query then says paid.
	ReceiverSlow = "sandbox_receiver_slow"
)

// ShareProfit pays test receivers, once per sharing id: a repeat returns
// the state of the first. Like transfers, sharings live in memory; after
// a restart the gateway's repeat gets the same answer again (the
// receivers decide it).
func (s *Sandbox) ShareProfit(ctx context.Context, r channel.ProfitSharingRequest) (*channel.ProfitSharingResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sharings == nil {
		s.sharings = map[string]*sbxSharing{}
	}
	if t, ok := s.sharings[r.SharingID]; ok {
		out := t.resp
		return &out, nil
	}
	t := &sbxSharing{resp: channel.ProfitSharingResponse{ChannelSharingNo: "sbxp_" + id.New("", s.clock.Now()), Status: channel.ProfitSharingSuccess}}
	s.sharings[r.SharingID] = t
	for _, rc := range r.Receivers {
		switch rc.Account {
		case ReceiverInvalid:
			t.resp.Status, t.resp.FailureCode, t.resp.FailureMessage = channel.ProfitSharingFailed, "receiver_invalid", "The receiver's account does not exist."
			out := t.resp
			return &out, nil
		case ReceiverTimeout:
			return nil, channel.Unknown(context.DeadlineExceeded)
		case ReceiverSlow:
			t.resp.Status, t.pending = channel.ProfitSharingProcessing, true
		}
	}
	out := t.resp
	return &out, nil
}

// QueryProfitSharing returns a sharing's state; a slow one is paid once asked.
func (s *Sandbox) QueryProfitSharing(ctx context.Context, r channel.ProfitSharingQueryRequest) (*channel.ProfitSharingResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.sharings[r.SharingID]
	if !ok {
		return nil, channel.ErrTradeNotFound
	}
	if t.pending {
		t.resp.Status, t.pending = channel.ProfitSharingSuccess, false
	}
	out := t.resp
	return &out, nil
}

// sbxSharing is a sharing the sandbox took.
type sbxSharing struct {
	resp    channel.ProfitSharingResponse
	pending bool // ReceiverSlow: processing until queried
}

// Test receivers of returns; any other receiver's return succeeds at once.
const (
	// ReturnInvalid: returns fail for good (receiver_invalid).
	ReturnInvalid = "sandbox_return_invalid"
	// ReturnTimeout: the return goes through but the answer is lost
	// (outcome unknown) until a query or a repeat asks.
	ReturnTimeout = "sandbox_return_timeout"
)

// ReturnProfitSharing takes a test receiver's share back
// (channel.ProfitSharingReturner), once per return id: a repeat answers
// the first. The sandbox returns from every receiver type.
func (s *Sandbox) ReturnProfitSharing(ctx context.Context, r channel.ProfitSharingReturnRequest) (*channel.ProfitSharingReturnResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.returns == nil {
		s.returns = map[string]channel.ProfitSharingReturnResponse{}
	}
	if out, ok := s.returns[r.ReturnID]; ok {
		return &out, nil
	}
	out := channel.ProfitSharingReturnResponse{ChannelReturnNo: "sbxr_" + id.New("", s.clock.Now()), Status: channel.ProfitSharingSuccess}
	if r.Receiver.Account == ReturnInvalid {
		out.Status, out.FailureCode, out.FailureMessage = channel.ProfitSharingFailed, "receiver_invalid", "The receiver's account cannot return its share."
	}
	s.returns[r.ReturnID] = out
	if r.Receiver.Account == ReturnTimeout {
		return nil, channel.Unknown(context.DeadlineExceeded)
	}
	return &out, nil
}

// QueryProfitSharingReturn returns a return's state.
func (s *Sandbox) QueryProfitSharingReturn(ctx context.Context, r channel.ProfitSharingReturnRequest) (*channel.ProfitSharingReturnResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, ok := s.returns[r.ReturnID]
	if !ok {
		return nil, channel.ErrTradeNotFound
	}
	return &out, nil
}

var _ channel.ProfitSharingReturner = (*Sandbox)(nil)
