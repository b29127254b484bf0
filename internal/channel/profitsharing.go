package channel

import (
	"context"
	"fmt"
)

// ProfitSharing is the optional capability of a connector whose channel
// splits a paid trade's money among account holders at the channel (分账):
// WeChat Pay v3's /v3/profitsharing/orders, Alipay's
// alipay.trade.order.settle, the sandbox's stand-in. ProfitSharingOf says
// ErrNotSupported for a connector without it.
//
// A sharing is made once per SharingID at the channel (WeChat Pay's
// out_order_no, Alipay's out_request_no): sending it again returns the
// state of the first, which lets the gateway resolve a lost answer by
// asking again.
type ProfitSharing interface {
	// ShareProfit asks the channel to pay the receivers out of the trade.
	// An error that is ErrUnknownOutcome means the channel may or may not
	// have taken it; a final refusal is a *DeclineError.
	ShareProfit(ctx context.Context, r ProfitSharingRequest) (*ProfitSharingResponse, error)
	// QueryProfitSharing asks for a sharing's state; ErrTradeNotFound
	// when the channel never took it.
	QueryProfitSharing(ctx context.Context, r ProfitSharingQueryRequest) (*ProfitSharingResponse, error)
}

// ProfitSharingOf returns c's profit sharing capability, or an error that
// is ErrNotSupported when its channel has none.
func ProfitSharingOf(c Connector) (ProfitSharing, error) {
	p, ok := c.(ProfitSharing)
	if !ok {
		p, ok = Unwrap(c).(ProfitSharing)
	}
	if !ok {
		return nil, fmt.Errorf("%s: profit sharing: %w", c.Name(), ErrNotSupported)
	}
	return p, nil
}

// ProfitSharingReceiver is one account holder's share.
type ProfitSharingReceiver struct {
	// Type is the receiver's kind at the channel: wechatpay_openid,
	// wechatpay_merchant, alipay_user_id, alipay_login or sandbox.
	Type        string
	Account     string
	Name        string
	Amount      int64
	Description string
}

// ProfitSharingRequest asks a channel to share a trade's money.
type ProfitSharingRequest struct {
	SharingID      string // psh_…, the channel's idempotency key
	OrderID        string
	ChannelTradeNo string
	Currency       string
	Receivers      []ProfitSharingReceiver
	Livemode       bool
}

// ProfitSharingQueryRequest asks for a sharing's state.
type ProfitSharingQueryRequest struct {
	SharingID        string
	OrderID          string
	ChannelTradeNo   string
	ChannelSharingNo string // "" when the create's answer was lost
	Livemode         bool
}

// ProfitSharingStatus is a sharing's state at the channel.
type ProfitSharingStatus string

// Sharing states.
const (
	ProfitSharingProcessing ProfitSharingStatus = "PROCESSING"
	ProfitSharingSuccess    ProfitSharingStatus = "SUCCESS"
	ProfitSharingFailed     ProfitSharingStatus = "FAILED" // refused for good; FailureCode says why
)

// ProfitSharingResponse is a sharing's state at the channel.
type ProfitSharingResponse struct {
	ChannelSharingNo string
	Status           ProfitSharingStatus
	FailureCode      string
	FailureMessage   string
}

// ProfitSharingFinisher is the optional capability of a channel that
// holds a trade's money for sharing and must be told when the merchant
// is done sharing, to release the rest (WeChat Pay's
// /v3/profitsharing/orders/unfreeze). A channel without it releases by
// itself or holds nothing.
type ProfitSharingFinisher interface {
	// FinishProfitSharing releases what is left of the trade; telling it
	// again under the same FinishID is harmless.
	FinishProfitSharing(ctx context.Context, r ProfitSharingFinishRequest) error
}

// ProfitSharingFinishRequest tells a channel a trade's sharing is done.
type ProfitSharingFinishRequest struct {
	FinishID       string // the channel's idempotency key
	OrderID        string
	ChannelTradeNo string
	Description    string
	Livemode       bool
}

// ProfitSharingReturner is the optional capability of a channel that takes
// a share paid to an account holder at the channel back (分账回退): WeChat
// Pay v3's /v3/profitsharing/return-orders (MERCHANT_ID receivers only:
// WeChat returns no share paid to a person), the sandbox's stand-in.
// A return is made once per ReturnID (WeChat Pay's out_return_no): asking
// again answers the first, which resolves a lost answer.
//
// Alipay has no such call: a royalty comes back inside the refund itself
// (alipay.trade.refund's refund_royalty_parameters), so its connector
// implements RefundShareReturner instead.
type ProfitSharingReturner interface {
	// ReturnProfitSharing asks the channel to take Amount of a receiver's
	// share of the sharing SharingID back into the trade. An error that is
	// ErrUnknownOutcome means it may or may not have; ErrNotSupported that
	// the channel cannot return this receiver's share.
	ReturnProfitSharing(ctx context.Context, r ProfitSharingReturnRequest) (*ProfitSharingReturnResponse, error)
	// QueryProfitSharingReturn asks for a return's state; ErrTradeNotFound
	// when the channel never took it.
	QueryProfitSharingReturn(ctx context.Context, r ProfitSharingReturnRequest) (*ProfitSharingReturnResponse, error)
}

// ProfitSharingReturnRequest asks a channel for a share back.
type ProfitSharingReturnRequest struct {
	ReturnID    string // psr_…, the channel's idempotency key
	SharingID   string // the sharing whose share comes back (its id at the channel's out_order_no)
	Receiver    ProfitSharingReceiver
	Amount      int64
	Currency    string
	Description string
	Livemode    bool
}

// ProfitSharingReturnResponse is a return's state at the channel: one of
// ProfitSharingProcessing, ProfitSharingSuccess, ProfitSharingFailed.
type ProfitSharingReturnResponse struct {
	ChannelReturnNo string
	Status          ProfitSharingStatus
	FailureCode     string
	FailureMessage  string
}

// RefundShareReturner is the optional capability of a channel that takes
// shares back only inside a refund (Alipay: alipay.trade.refund's
// refund_royalty_parameters refunds the buyer and takes the listed
// royalties back from their receivers in one operation). The gateway then
// sends a refund's returns in RefundRequest.ReturnShares, and the refund's
// outcome is theirs: refunded, the shares are back; refused, nothing
// moved.
type RefundShareReturner interface {
	// ReturnsSharesInRefund is true when RefundRequest.ReturnShares of a
	// receiver of type typ are sent with the refund.
	ReturnsSharesInRefund(typ string) bool
}

// ShareReturn is one receiver's share a refund takes back: Amount of what
// Receiver (Type and Account) got.
type ShareReturn struct {
	Receiver ProfitSharingReceiver
	Amount   int64
}
