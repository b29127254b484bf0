package sandbox

import (
	"context"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
)

// Test payees of transfers (channel.Transfers). Any other account is paid
// at once.
const (
	// PayeeInvalid: the transfer fails for good (payee_account_invalid).
	PayeeInvalid = "sandbox_payee_invalid"
	// PayeeTimeout: the transfer goes through, but the answer is lost
	// (outcome unknown) until a query or a repeat asks.
	PayeeTimeout = "sandbox_payee_timeout"
	// PayeeSlow: the channel answers processing; a query then says paid.
	PayeeSlow = "sandbox_payee_slow"
)

// sbxTransfer is a transfer the sandbox took.
type sbxTransfer struct {
	resp    channel.TransferResponse
	pending bool // PayeeSlow: processing until queried
}

// Transfer pays a test payee, once per transfer id: a repeat returns the
// state of the first. Transfers live in memory; after a restart a query
// finds none, and the gateway's repeat of the request gets the same answer
// again (the payee decides it), as a real channel's idempotency would.
func (s *Sandbox) Transfer(ctx context.Context, r channel.TransferRequest) (*channel.TransferResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transfers == nil {
		s.transfers = map[string]*sbxTransfer{}
	}
	if t, ok := s.transfers[r.TransferID]; ok {
		out := t.resp
		return &out, nil
	}
	t := &sbxTransfer{resp: channel.TransferResponse{ChannelTransferNo: "sbxt_" + id.New("", s.clock.Now()), Status: channel.TransferSuccess}}
	s.transfers[r.TransferID] = t
	switch r.Account {
	case PayeeInvalid:
		t.resp.Status, t.resp.FailureCode, t.resp.FailureMessage = channel.TransferFailed, "payee_account_invalid", "The payee's account does not exist."
	case PayeeTimeout:
		return nil, channel.Unknown(context.DeadlineExceeded)
	case PayeeSlow:
		t.resp.Status, t.pending = channel.TransferProcessing, true
	}
	out := t.resp
	return &out, nil
}

// QueryTransfer returns a transfer's state; a slow one is paid once asked.
func (s *Sandbox) QueryTransfer(ctx context.Context, r channel.TransferQueryRequest) (*channel.TransferResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transfers[r.TransferID]
	if !ok {
		return nil, channel.ErrTradeNotFound
	}
	if t.pending {
		t.resp.Status, t.pending = channel.TransferSuccess, false
	}
	out := t.resp
	return &out, nil
}

// ForgetTransfers drops every transfer, as a restart of the sandbox would
// (tests of recovery).
func (s *Sandbox) ForgetTransfers() {
	s.mu.Lock()
	s.transfers = nil
	s.mu.Unlock()
}
