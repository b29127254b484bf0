package store

import (
	"context"
	"time"
)

// FXRate is an exchange rate: one unit of Base buys Rate units of Quote
// (a decimal string: no float ever holds a rate), as of AsOf, from Source
// (the operator's import, a provider).
type FXRate struct {
	ID        string // fxr_…
	Base      string
	Quote     string
	Rate      string
	Source    string
	AsOf      time.Time
	CreatedAt time.Time
}

// FXQuote is a conversion locked for a merchant until ExpiresAt: Amount of
// From converts into ToAmount of To at Rate less MarkupBps; MarkupAmount
// (in To) is the platform's. UsedBy is what it paid for, "" while unused.
type FXQuote struct {
	ID           string // fxq_…
	MerchantID   string
	Livemode     bool
	From         string
	To           string
	Amount       int64
	ToAmount     int64
	Rate         string
	MarkupBps    int
	MarkupAmount int64
	RateID       string
	RateSource   string
	RateAsOf     time.Time
	UsedBy       string
	ExpiresAt    time.Time
	CreatedAt    time.Time
}

// FXRateFilter narrows a rate list to a pair.
type FXRateFilter struct {
	Base  string // optional
	Quote string // optional
	ListParams
}

// FXTx are the FX queries of a transaction.
type FXTx interface {
	FXQuoteGet(ctx context.Context, id string) (*FXQuote, error)
	// FXQuoteUse marks an unused quote used by by: ErrStale when it is
	// used already, ErrNotFound when there is no such quote.
	FXQuoteUse(ctx context.Context, id, by string) error
}

// FXStore are the FX queries outside a transaction.
type FXStore interface {
	// FXRatesAdd inserts rates, skipping any of the same pair, as_of and
	// source already there; it returns how many it inserted.
	FXRatesAdd(ctx context.Context, rates []*FXRate) (int, error)
	// FXRateAt returns the latest rate of base in quote as of at or before
	// at, ErrNotFound when there is none.
	FXRateAt(ctx context.Context, base, quote string, at time.Time) (*FXRate, error)
	// FXRateList lists rates, newest first.
	FXRateList(ctx context.Context, f FXRateFilter) ([]*FXRate, bool, error)
	FXQuoteCreate(ctx context.Context, q *FXQuote) error
	// FXQuoteGetInScope returns the quote if it is the scope's merchant's
	// in the scope's mode, ErrNotFound otherwise.
	FXQuoteGetInScope(ctx context.Context, sc Scope, id string) (*FXQuote, error)
}
