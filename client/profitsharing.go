package client

import (
	"context"
	"net/http"
	"time"
)

// ProfitSharingReceiver is someone a merchant may share orders' money
// with (rcv_…): Type merchant (Account another merchant's mch_ id; the
// share goes to its available balance), or an account holder at a
// channel: wechatpay_openid, wechatpay_merchant, alipay_user_id,
// alipay_login, or in test mode sandbox.
type ProfitSharingReceiver struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"`
	Type        string    `json:"type"`
	Account     string    `json:"account"`
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description"`
	Livemode    bool      `json:"livemode"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateProfitSharingReceiverParams are the parameters of POST
// /v1/profit-sharing/receivers.
type CreateProfitSharingReceiverParams struct {
	Type        string `json:"type"`
	Account     string `json:"account"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// ProfitSharingShare is one receiver's share of a profit sharing.
type ProfitSharingShare struct {
	Receiver    string `json:"receiver"`
	Type        string `json:"type,omitempty"`
	Account     string `json:"account,omitempty"`
	Amount      int64  `json:"amount"`
	Description string `json:"description,omitempty"`
}

// ProfitSharing is a split of a paid order's money among receivers
// (psh_…): processing (a channel has it), succeeded or failed (its amount
// is held for the order again; FailureCode says why). Finish released
// what was left of the order to the merchant.
type ProfitSharing struct {
	ID               string               `json:"id"`
	Object           string               `json:"object"`
	Order            string               `json:"order"`
	OutOrderNo       string               `json:"out_order_no"`
	Amount           int64                `json:"amount"`
	Currency         string               `json:"currency"`
	Receivers        []ProfitSharingShare `json:"receivers"`
	Finish           bool                 `json:"finish"`
	Status           string               `json:"status"`
	ChannelSharingNo string               `json:"channel_sharing_no"`
	FailureCode      string               `json:"failure_code"`
	FailureMessage   string               `json:"failure_message"`
	Livemode         bool                 `json:"livemode"`
	CreatedAt        time.Time            `json:"created_at"`
	FinishedAt       *time.Time           `json:"finished_at"`
}

// CreateProfitSharingParams are the parameters of POST /v1/profit-sharing.
// A request with no receivers and Finish only finishes the order.
type CreateProfitSharingParams struct {
	Order      string               `json:"order_id"`
	OutOrderNo string               `json:"out_order_no"`
	Receivers  []ProfitSharingShare `json:"receivers"`
	Finish     bool                 `json:"finish,omitempty"`
}

// ProfitSharingOrder is the profit sharing state of an order paid with
// profit_sharing: Net is what was held for it after the fee; Available of
// it may still be shared or refunded; Shared went to receivers (less
// returns), Released to the merchant's available balance.
type ProfitSharingOrder struct {
	Object     string     `json:"object"`
	Order      string     `json:"order"`
	Currency   string     `json:"currency"`
	Net        int64      `json:"net"`
	Available  int64      `json:"available"`
	Shared     int64      `json:"shared"`
	Released   int64      `json:"released"`
	Finished   bool       `json:"finished"`
	FinishedAt *time.Time `json:"finished_at"`
	Livemode   bool       `json:"livemode"`
}

// ProfitSharingReturn is a receiver merchant's return of (part of) its
// share (分账回退, psr_…); the money goes back to the order's held money,
// or to the merchant's available balance once the order is finished.
type ProfitSharingReturn struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	ProfitSharing string `json:"profit_sharing"`
	Order         string `json:"order"`
	OutReturnNo   string `json:"out_return_no"`
	Receiver      string `json:"receiver"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Description   string `json:"description"`
	Status        string `json:"status"`
	// Refund is the refund that took the share back (re_…), when one did.
	Refund string `json:"refund,omitempty"`
	// FailureCode and FailureMessage say why a channel refused a return
	// (status failed).
	FailureCode    string    `json:"failure_code,omitempty"`
	FailureMessage string    `json:"failure_message,omitempty"`
	Livemode       bool      `json:"livemode"`
	CreatedAt      time.Time `json:"created_at"`
}

// CreateProfitSharingReturnParams are the parameters of POST
// /v1/profit-sharing/returns.
type CreateProfitSharingReturnParams struct {
	ProfitSharing string `json:"profit_sharing"`
	OutReturnNo   string `json:"out_return_no"`
	Receiver      string `json:"receiver"`
	Amount        int64  `json:"amount"`
	Description   string `json:"description,omitempty"`
}

// CreateProfitSharingReceiver registers a receiver (a repeat returns it).
func (c *Client) CreateProfitSharingReceiver(ctx context.Context, p CreateProfitSharingReceiverParams, opts ...RequestOption) (*ProfitSharingReceiver, error) {
	return call[ProfitSharingReceiver](ctx, c, http.MethodPost, "/v1/profit-sharing/receivers", p, opts)
}

// ListProfitSharingReceivers lists the merchant's receivers, newest first.
func (c *Client) ListProfitSharingReceivers(ctx context.Context, p ListParams) (*List[ProfitSharingReceiver], error) {
	return call[List[ProfitSharingReceiver]](ctx, c, http.MethodGet, "/v1/profit-sharing/receivers"+p.query(), nil, nil)
}

// CreateProfitSharing shares an order's money. A repeat with the same
// out_order_no and parameters returns the sharing made first.
func (c *Client) CreateProfitSharing(ctx context.Context, p CreateProfitSharingParams, opts ...RequestOption) (*ProfitSharing, error) {
	return call[ProfitSharing](ctx, c, http.MethodPost, "/v1/profit-sharing", p, opts)
}

// GetProfitSharing retrieves a profit sharing by id.
func (c *Client) GetProfitSharing(ctx context.Context, id string, opts ...RequestOption) (*ProfitSharing, error) {
	seg, err := segment("profit sharing id", id)
	if err != nil {
		return nil, err
	}
	return call[ProfitSharing](ctx, c, http.MethodGet, "/v1/profit-sharing/"+seg, nil, opts)
}

// ListProfitSharings lists an order's profit sharings, newest first.
func (c *Client) ListProfitSharings(ctx context.Context, orderID string, p ListParams) (*List[ProfitSharing], error) {
	extra := map[string]string{"order_id": orderID}
	for k, v := range p.Extra {
		extra[k] = v
	}
	p.Extra = extra
	return call[List[ProfitSharing]](ctx, c, http.MethodGet, "/v1/profit-sharing"+p.query(), nil, nil)
}

// GetProfitSharingOrder retrieves an order's profit sharing state.
func (c *Client) GetProfitSharingOrder(ctx context.Context, orderID string, opts ...RequestOption) (*ProfitSharingOrder, error) {
	seg, err := segment("order id", orderID)
	if err != nil {
		return nil, err
	}
	return call[ProfitSharingOrder](ctx, c, http.MethodGet, "/v1/profit-sharing/orders/"+seg, nil, opts)
}

// CreateProfitSharingReturn takes (part of) a receiver merchant's share back.
func (c *Client) CreateProfitSharingReturn(ctx context.Context, p CreateProfitSharingReturnParams, opts ...RequestOption) (*ProfitSharingReturn, error) {
	return call[ProfitSharingReturn](ctx, c, http.MethodPost, "/v1/profit-sharing/returns", p, opts)
}
