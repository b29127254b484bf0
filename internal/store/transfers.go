package store

import (
	"context"
	"time"
)

// Transfer statuses.
const (
	// TransferProcessing: the money left the merchant's available balance
	// and the channel has not said yet whether the payee got it.
	TransferProcessing = "processing"
	// TransferSucceeded: the channel paid the payee.
	TransferSucceeded = "succeeded"
	// TransferFailed: the channel refused for good; the money is back in
	// the merchant's available balance.
	TransferFailed = "failed"
)

// Transfer is a payout (转账 / 付款) from a merchant's available balance to
// a payee's account at a channel.
type Transfer struct {
	ID                 string // trf_…
	MerchantID         string
	AppID              string
	Livemode           bool
	OutTransferNo      string
	Amount             int64
	Currency           string
	Status             string
	DestinationMethod  string // sandbox, wechatpay, alipay
	DestinationAccount string // an openid, an Alipay login id or user id
	DestinationName    string // the payee's real name, checked by the channel when given
	Description        string
	Channel            string // the provider that pays it
	ChannelAccountID   string
	ChannelTransferNo  string
	FailureCode        string
	FailureMessage     string
	RequestHash        string
	// QueryAttempts counts the worker's tries that learnt nothing;
	// NextQueryAt is when it may try again.
	QueryAttempts int
	NextQueryAt   time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
	// A transfer in another currency than the balance it is paid from
	// names its FX quote (fxq_…): SourceAmount of SourceCurrency left the
	// available balance for Amount of Currency. Without a quote they are
	// Amount and Currency.
	FXQuoteID      string
	SourceAmount   int64
	SourceCurrency string
}

// TransferTransition is a compare-and-set change of a processing
// transfer: To processing records a try that learnt nothing (QueryAttempts
// and NextQueryAt), To succeeded or failed finishes it.
type TransferTransition struct {
	TransferID        string
	To                string
	At                time.Time
	ChannelTransferNo string // kept when empty
	FailureCode       string
	FailureMessage    string
	QueryAttempts     int
	NextQueryAt       time.Time
}

// TransferFilter scopes a transfer list to a merchant and mode.
type TransferFilter struct {
	MerchantID string
	Livemode   bool
	Status     string // optional
	ListParams
}

// TransferTx are the transfer queries of a transaction.
type TransferTx interface {
	// TransferCreate inserts t; ErrConflict when (AppID, OutTransferNo) exists.
	TransferCreate(ctx context.Context, t *Transfer) error
	TransferGet(ctx context.Context, id string) (*Transfer, error)
	// TransferTransition changes a processing transfer; ErrStale when it
	// is not processing, ErrNotFound when there is no such transfer.
	TransferTransition(ctx context.Context, t TransferTransition) (*Transfer, error)
	// BalanceForDebit returns an account's balance in currency and whether
	// the account ever held that currency, after taking a lock that every
	// other BalanceForDebit of the same account and currency waits for
	// until this transaction ends: a check of the balance and the debit
	// that follows it in the transaction cannot interleave with another
	// debit's (PostgreSQL: an advisory transaction lock; SQLite's write
	// transactions never run at the same time).
	BalanceForDebit(ctx context.Context, account, currency string) (amount int64, held bool, err error)
}

// TransferStore are the transfer queries outside a transaction.
type TransferStore interface {
	TransferGet(ctx context.Context, id string) (*Transfer, error)
	// TransferGetInScope returns the transfer if it is the scope's
	// merchant's in the scope's mode, ErrNotFound otherwise.
	TransferGetInScope(ctx context.Context, sc Scope, id string) (*Transfer, error)
	TransferGetByOutTransferNo(ctx context.Context, appID, outTransferNo string) (*Transfer, error)
	TransferList(ctx context.Context, f TransferFilter) ([]*Transfer, bool, error)
	// TransfersDue lists up to limit processing transfers whose
	// NextQueryAt is at or before now, oldest first.
	TransfersDue(ctx context.Context, now time.Time, limit int) ([]*Transfer, error)
}
