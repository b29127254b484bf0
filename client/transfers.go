package client

import (
	"context"
	"net/http"
	"time"
)

// Transfer is a payout from the merchant's available balance to a payee's
// account at a channel (转账 / 付款). Status is processing (the money left
// the available balance; the channel has not finished), succeeded, or
// failed (the money is back in the available balance; FailureCode says
// why).
type Transfer struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	OutTransferNo     string              `json:"out_transfer_no"`
	Amount            int64               `json:"amount"`
	Currency          string              `json:"currency"`
	Status            string              `json:"status"`
	Destination       TransferDestination `json:"destination"`
	Description       string              `json:"description"`
	ChannelTransferNo string              `json:"channel_transfer_no"`
	FailureCode       string              `json:"failure_code"`
	FailureMessage    string              `json:"failure_message"`
	// SourceAmount of SourceCurrency is what left the available balance:
	// Amount and Currency, unless FXQuote (fxq_…) converted it.
	FXQuote        *string `json:"fx_quote"`
	SourceAmount   int64   `json:"source_amount"`
	SourceCurrency string  `json:"source_currency"`

	Livemode   bool       `json:"livemode"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// TransferDestination is who a transfer pays: Method is wechatpay (Account
// an openid of the platform's WeChat app), alipay (Account an Alipay login
// id or 2088… user id) or, in test mode, sandbox. Name is the payee's real
// name, which the channel checks when given.
type TransferDestination struct {
	Method  string `json:"method"`
	Account string `json:"account"`
	Name    string `json:"name,omitempty"`
}

// CreateTransferParams are the parameters of POST /v1/transfers.
type CreateTransferParams struct {
	OutTransferNo string `json:"out_transfer_no"`
	Amount        int64  `json:"amount,omitempty"`
	Currency      string `json:"currency,omitempty"`
	// FXQuote pays the transfer from the balance in the quote's from
	// currency; Amount and Currency may then be left out.
	FXQuote     string              `json:"fx_quote,omitempty"`
	Destination TransferDestination `json:"destination"`
	Description string              `json:"description,omitempty"`
}

// CreateTransfer pays out of the merchant's available balance. A repeat
// with the same out_transfer_no and parameters returns the transfer made
// first.
func (c *Client) CreateTransfer(ctx context.Context, p CreateTransferParams, opts ...RequestOption) (*Transfer, error) {
	return call[Transfer](ctx, c, http.MethodPost, "/v1/transfers", p, opts)
}

// GetTransfer retrieves a transfer by id.
func (c *Client) GetTransfer(ctx context.Context, id string, opts ...RequestOption) (*Transfer, error) {
	seg, err := segment("transfer id", id)
	if err != nil {
		return nil, err
	}
	return call[Transfer](ctx, c, http.MethodGet, "/v1/transfers/"+seg, nil, opts)
}

// ListTransfers lists the merchant's transfers, newest first (p.Status filters).
func (c *Client) ListTransfers(ctx context.Context, p ListParams) (*List[Transfer], error) {
	return call[List[Transfer]](ctx, c, http.MethodGet, "/v1/transfers"+p.query(), nil, nil)
}
