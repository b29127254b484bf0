package channel

import (
	"context"
	"fmt"
	"time"
)

// Transfers is the optional capability of a connector whose channel pays
// money from the platform's account to a person's: WeChat Pay's merchant
// transfer (商家转账), Alipay's alipay.fund.trans.uni.transfer (单笔转账),
// the sandbox's stand-in. TransfersOf says ErrNotSupported for a connector
// without it.
//
// A transfer is made once per TransferID at the channel (WeChat Pay's
// out_bill_no, Alipay's out_biz_no): sending the same request again
// returns the state of the first, never a second payment. That is what
// lets the gateway resolve a transfer whose answer was lost by asking
// again.
type Transfers interface {
	// Transfer asks the channel to pay. A TransferResponse may say
	// processing (the channel took it and has not finished); an error that
	// is ErrUnknownOutcome means the channel may or may not have taken it.
	// A final refusal is a *DeclineError.
	Transfer(ctx context.Context, r TransferRequest) (*TransferResponse, error)
	// QueryTransfer asks for a transfer's state; ErrTradeNotFound when the
	// channel never took it.
	QueryTransfer(ctx context.Context, r TransferQueryRequest) (*TransferResponse, error)
}

// TransfersOf returns c's transfers capability, or an error that is
// ErrNotSupported when its channel has none. A wrapper that does not pass
// the capability on (the metrics wrapper) is looked through (Unwrap): its
// transfer calls are then not counted.
func TransfersOf(c Connector) (Transfers, error) {
	t, ok := c.(Transfers)
	if !ok {
		t, ok = Unwrap(c).(Transfers)
	}
	if !ok {
		return nil, fmt.Errorf("%s: transfers: %w", c.Name(), ErrNotSupported)
	}
	return t, nil
}

// TransferRequest asks a channel to pay a payee.
type TransferRequest struct {
	TransferID string // trf_…, the channel's idempotency key
	CreatedAt  time.Time
	Amount     int64
	Currency   string
	// Account is the payee at the channel: an openid (WeChat Pay), an
	// Alipay login id (email or phone) or user id (2088…).
	Account string
	// Name is the payee's real name; the channel refuses the transfer when
	// it does not match (WeChat Pay requires it from 2,000 CNY up).
	Name        string
	Description string
	Livemode    bool
}

// TransferQueryRequest asks for a transfer's state.
type TransferQueryRequest struct {
	TransferID        string
	CreatedAt         time.Time
	ChannelTransferNo string // "" when the create's answer was lost
	Livemode          bool
}

// TransferStatus is a transfer's state at the channel.
type TransferStatus string

// Transfer states.
const (
	TransferProcessing TransferStatus = "PROCESSING"
	TransferSuccess    TransferStatus = "SUCCESS"
	TransferFailed     TransferStatus = "FAILED" // refused for good; FailureCode says why
)

// TransferResponse is a transfer's state at the channel.
type TransferResponse struct {
	ChannelTransferNo string
	Status            TransferStatus
	FailureCode       string
	FailureMessage    string
}
