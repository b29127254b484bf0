package store

import (
	"context"
	"time"
)

// Profit sharing statuses.
const (
	// ProfitSharingProcessing: the sharing's total left the order's held
	// money and a channel has not said yet whether its receivers got it.
	ProfitSharingProcessing = "processing"
	// ProfitSharingSucceeded: every receiver got its share.
	ProfitSharingSucceeded = "succeeded"
	// ProfitSharingFailed: the channel refused; the total is held again.
	ProfitSharingFailed = "failed"
)

// ProfitSharingReceiver is someone a merchant may share an order's money
// with: another merchant of the platform (Type "merchant", Account its
// mch_ id) or an account holder at a channel.
type ProfitSharingReceiver struct {
	ID          string // rcv_…
	MerchantID  string
	Livemode    bool
	Type        string
	Account     string
	Name        string
	Description string
	CreatedAt   time.Time
}

// ProfitSharingShare is one receiver's part of a sharing.
type ProfitSharingShare struct {
	Receiver    string `json:"receiver"` // rcv_…
	Type        string `json:"type"`
	Account     string `json:"account"`
	Name        string `json:"name,omitempty"`
	Amount      int64  `json:"amount"`
	Description string `json:"description"`
}

// ProfitSharing is a split of a paid order's money among receivers
// (分账, psh_…). One with no receivers only finishes its order.
type ProfitSharing struct {
	ID               string
	MerchantID       string
	AppID            string
	Livemode         bool
	OrderID          string
	OutOrderNo       string
	Amount           int64 // the sum of the shares
	Currency         string
	Receivers        []ProfitSharingShare
	Finish           bool
	Status           string
	Channel          string // the order's channel when a receiver is a channel's account holder, "" otherwise
	ChannelAccountID string
	ChannelSharingNo string
	FailureCode      string
	FailureMessage   string
	RequestHash      string
	QueryAttempts    int
	NextQueryAt      time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	FinishedAt       *time.Time
}

// ProfitSharingOrder is the sharing state of an order paid with profit
// sharing: Net was paid into the merchant's profit_sharing account; Held
// of it is still there, Reserved of which pending refunds will take;
// Shared went to receivers (less what they returned) and Released to the
// merchant's available account. Held − Reserved is what may still be
// shared or refunded.
type ProfitSharingOrder struct {
	OrderID         string
	MerchantID      string
	Livemode        bool
	Currency        string
	Net             int64
	Held            int64
	Reserved        int64
	Shared          int64
	Released        int64
	FinishRequested bool // a finish waits for a processing sharing
	// UnfreezePending: the order was released and its channel has not
	// been told yet (channel.ProfitSharingFinisher).
	UnfreezePending bool
	FinishedAt      *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ProfitSharingReturn is a receiver merchant's return of (part of) its
// share (分账回退, psr_…).
type ProfitSharingReturn struct {
	ID              string
	MerchantID      string
	AppID           string
	Livemode        bool
	ProfitSharingID string
	OrderID         string
	OutReturnNo     string
	ReceiverID      string
	Amount          int64
	Currency        string
	Description     string
	RequestHash     string
	CreatedAt       time.Time
	// RefundID is the refund that took the return in its own transaction
	// (re_…), "" for a return asked for by itself.
	RefundID string
	// Status is ProfitSharingSucceeded for a merchant receiver's return;
	// a channel account holder's is ProfitSharingProcessing until the
	// channel (ChannelAccountID) answers, then succeeded or failed.
	Status           string
	ChannelAccountID string
	ChannelReturnNo  string
	FailureCode      string
	FailureMessage   string
}

// ProfitSharingTransition is a compare-and-set change of a processing
// sharing, as TransferTransition is of a transfer.
type ProfitSharingTransition struct {
	ID               string
	To               string
	At               time.Time
	ChannelSharingNo string // kept when empty
	FailureCode      string
	FailureMessage   string
	QueryAttempts    int
	NextQueryAt      time.Time
}

// ProfitSharingTx are the profit sharing queries of a transaction.
type ProfitSharingTx interface {
	// ProfitSharingOrderLock takes the order's sharing lock (every change
	// of its held money takes it first, until the transaction ends) and
	// returns its state, made from its payment entry the first time.
	// ErrNotFound when the order has no payment into a profit_sharing
	// account.
	ProfitSharingOrderLock(ctx context.Context, orderID string) (*ProfitSharingOrder, error)
	// ProfitSharingOrderPut writes the order's state back.
	ProfitSharingOrderPut(ctx context.Context, o *ProfitSharingOrder) error
	ProfitSharingCreate(ctx context.Context, p *ProfitSharing) error
	ProfitSharingGet(ctx context.Context, id string) (*ProfitSharing, error)
	// ProfitSharingTransition changes a processing sharing; ErrStale when
	// it is not processing.
	ProfitSharingTransition(ctx context.Context, t ProfitSharingTransition) (*ProfitSharing, error)
	// ProfitSharingProcessing says whether the order has a processing sharing.
	ProfitSharingProcessing(ctx context.Context, orderID string) (bool, error)
	ProfitSharingReturnCreate(ctx context.Context, r *ProfitSharingReturn) error
	// ProfitSharingsSucceeded lists an order's succeeded sharings, oldest
	// first (what a refund may take back).
	ProfitSharingsSucceeded(ctx context.Context, orderID string) ([]*ProfitSharing, error)
	// ProfitSharingReturnTransition ends a processing return (to
	// succeeded or failed); ErrStale when it is not processing.
	ProfitSharingReturnTransition(ctx context.Context, id, to, channelReturnNo, failureCode, failureMessage string) (*ProfitSharingReturn, error)
	// ProfitSharingRefundHoldAdd adds to what a pending refund reserved.
	ProfitSharingRefundHoldAdd(ctx context.Context, refundID string, amount int64) error
	// ProfitSharingReturned sums the returns of one receiver's share that
	// did not fail.
	ProfitSharingReturned(ctx context.Context, sharingID, receiverID string) (int64, error)
	// ProfitSharingRefundHold records what a pending refund reserved of
	// its order; ProfitSharingRefundRelease marks it done and returns it
	// (ErrNotFound when the refund reserved nothing, ErrStale when done).
	ProfitSharingRefundHold(ctx context.Context, refundID, orderID string, amount int64) error
	ProfitSharingRefundRelease(ctx context.Context, refundID string) (int64, error)
	// RefundCreateInTx is Store.RefundCreate inside the transaction.
	RefundCreateInTx(ctx context.Context, r *Refund) error
}

// ProfitSharingStore are the profit sharing queries outside a transaction.
type ProfitSharingStore interface {
	ProfitSharingReceiverCreate(ctx context.Context, r *ProfitSharingReceiver) error
	ProfitSharingReceiverGet(ctx context.Context, merchantID string, livemode bool, id string) (*ProfitSharingReceiver, error)
	ProfitSharingReceiverFind(ctx context.Context, merchantID string, livemode bool, typ, account string) (*ProfitSharingReceiver, error)
	ProfitSharingReceiverList(ctx context.Context, merchantID string, livemode bool, p ListParams) ([]*ProfitSharingReceiver, bool, error)
	ProfitSharingGet(ctx context.Context, id string) (*ProfitSharing, error)
	ProfitSharingGetInScope(ctx context.Context, sc Scope, id string) (*ProfitSharing, error)
	ProfitSharingGetByOutOrderNo(ctx context.Context, appID, outOrderNo string) (*ProfitSharing, error)
	// ProfitSharingList lists an order's sharings, newest first.
	ProfitSharingList(ctx context.Context, sc Scope, orderID string, p ListParams) ([]*ProfitSharing, bool, error)
	ProfitSharingsDue(ctx context.Context, now time.Time, limit int) ([]*ProfitSharing, error)
	ProfitSharingOrderGet(ctx context.Context, orderID string) (*ProfitSharingOrder, error)
	// ProfitSharingOrdersToRelease lists up to limit orders paid with
	// profit sharing at or before paidBefore and not finished.
	ProfitSharingOrdersToRelease(ctx context.Context, paidBefore time.Time, limit int) ([]string, error)
	ProfitSharingReturnGetByOutReturnNo(ctx context.Context, appID, outReturnNo string) (*ProfitSharingReturn, error)
	// ProfitSharingReturnsOfRefund lists the returns a refund took.
	ProfitSharingReturnsOfRefund(ctx context.Context, refundID string) ([]*ProfitSharingReturn, error)
	// ProfitSharingOrdersToUnfreeze lists up to limit released orders
	// whose channel has not been told.
	ProfitSharingOrdersToUnfreeze(ctx context.Context, limit int) ([]string, error)
}
