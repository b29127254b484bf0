package client

import (
	"context"
	"net/http"
	"time"
)

// FXQuote is a conversion locked for a while: Amount of From converts into
// ToAmount of To at Rate (the mid rate: units of To for one unit of From)
// less MarkupBps, the platform's markup, which comes to MarkupAmount of To.
// A quote pays for one thing (a transfer's fx_quote) before ExpiresAt.
type FXQuote struct {
	ID           string    `json:"id"`
	Object       string    `json:"object"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Amount       int64     `json:"amount"`
	ToAmount     int64     `json:"to_amount"`
	Rate         string    `json:"rate"`
	MarkupBps    int       `json:"markup_bps"`
	MarkupAmount int64     `json:"markup_amount"`
	RateSource   string    `json:"rate_source"`
	RateAsOf     time.Time `json:"rate_as_of"`
	Used         bool      `json:"used"`
	Livemode     bool      `json:"livemode"`
	ExpiresAt    time.Time `json:"expires_at"`
	CreatedAt    time.Time `json:"created_at"`
}

// CreateFXQuoteParams ask for a quote: Amount of From, or ToAmount of To.
type CreateFXQuoteParams struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Amount   int64  `json:"amount,omitempty"`
	ToAmount int64  `json:"to_amount,omitempty"`
}

// FXRate is an exchange rate the operator loaded: one unit of Base buys
// Rate (a decimal string) units of Quote, as of AsOf, from Source.
type FXRate struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Base      string    `json:"base"`
	Quote     string    `json:"quote"`
	Rate      string    `json:"rate"`
	Source    string    `json:"source"`
	AsOf      time.Time `json:"as_of"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateFXQuote locks a conversion.
func (c *Client) CreateFXQuote(ctx context.Context, p CreateFXQuoteParams, opts ...RequestOption) (*FXQuote, error) {
	return call[FXQuote](ctx, c, http.MethodPost, "/v1/fx-quotes", p, opts)
}

// GetFXQuote retrieves a quote.
func (c *Client) GetFXQuote(ctx context.Context, id string, opts ...RequestOption) (*FXQuote, error) {
	seg, err := segment("fx quote id", id)
	if err != nil {
		return nil, err
	}
	return call[FXQuote](ctx, c, http.MethodGet, "/v1/fx-quotes/"+seg, nil, opts)
}

// FXRateImport is what loading rates did (operator API): how many were
// new (a rate of the same pair, time and source is kept once).
type FXRateImport struct {
	Object   string `json:"object"`
	Imported int    `json:"imported"`
}
