package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// call sends a request and decodes a 2xx response into a new T.
func call[T any](ctx context.Context, c *Client, method, path string, body any, opts []RequestOption) (*T, error) {
	out := new(T)
	if _, err := c.Do(ctx, method, path, body, out, opts...); err != nil {
		return nil, err
	}
	return out, nil
}

// segment escapes one path segment; an empty one is an error, since it
// would address another endpoint.
func segment(name, v string) (string, error) {
	if v == "" {
		return "", errors.New("paygate: empty " + name)
	}
	return url.PathEscape(v), nil
}

// noParams is the body of POSTs that take no parameters.
var noParams = struct{}{}

// CreateOrder creates a payment order (POST /v1/orders). Pass
// WithIdempotencyKey to make retries safe; repeating the same out_trade_no
// with the same parameters also returns the existing order.
func (c *Client) CreateOrder(ctx context.Context, p CreateOrderParams, opts ...RequestOption) (*Order, error) {
	return call[Order](ctx, c, http.MethodPost, "/v1/orders", p, opts)
}

// GetOrder retrieves an order by id.
func (c *Client) GetOrder(ctx context.Context, id string, opts ...RequestOption) (*Order, error) {
	seg, err := segment("order id", id)
	if err != nil {
		return nil, err
	}
	return call[Order](ctx, c, http.MethodGet, "/v1/orders/"+seg, nil, opts)
}

// GetOrderByOutTradeNo retrieves an order by the merchant's out_trade_no.
func (c *Client) GetOrderByOutTradeNo(ctx context.Context, outTradeNo string, opts ...RequestOption) (*Order, error) {
	seg, err := segment("out_trade_no", outTradeNo)
	if err != nil {
		return nil, err
	}
	return call[Order](ctx, c, http.MethodGet, "/v1/orders/by-out-trade-no/"+seg, nil, opts)
}

// ListOrders lists orders, newest first.
func (c *Client) ListOrders(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Order], error) {
	return call[List[Order]](ctx, c, http.MethodGet, "/v1/orders"+p.query(), nil, opts)
}

// CloseOrder closes an unpaid order (POST /v1/orders/{id}/close).
func (c *Client) CloseOrder(ctx context.Context, id string, opts ...RequestOption) (*Order, error) {
	return c.orderAction(ctx, id, "close", opts)
}

// ReverseOrder reverses a micropay order: closes it if unpaid, refunds it in
// full if paid (POST /v1/orders/{id}/reverse).
func (c *Client) ReverseOrder(ctx context.Context, id string, opts ...RequestOption) (*Order, error) {
	return c.orderAction(ctx, id, "reverse", opts)
}

// SyncOrder asks the channel for the order's status now and returns the
// updated order (POST /v1/orders/{id}/sync).
func (c *Client) SyncOrder(ctx context.Context, id string, opts ...RequestOption) (*Order, error) {
	return c.orderAction(ctx, id, "sync", opts)
}

func (c *Client) orderAction(ctx context.Context, id, action string, opts []RequestOption) (*Order, error) {
	seg, err := segment("order id", id)
	if err != nil {
		return nil, err
	}
	return call[Order](ctx, c, http.MethodPost, "/v1/orders/"+seg+"/"+action, noParams, opts)
}

// TestPayOrder acts as the payer of a test-mode order; outcome is
// "succeeded" or "failed" (POST /v1/test/orders/{id}/pay).
func (c *Client) TestPayOrder(ctx context.Context, id, outcome string, opts ...RequestOption) (*Order, error) {
	seg, err := segment("order id", id)
	if err != nil {
		return nil, err
	}
	body := struct {
		Outcome string `json:"outcome"`
	}{outcome}
	return call[Order](ctx, c, http.MethodPost, "/v1/test/orders/"+seg+"/pay", body, opts)
}

// CreateRefund refunds part or all of a succeeded order (POST /v1/refunds).
func (c *Client) CreateRefund(ctx context.Context, p CreateRefundParams, opts ...RequestOption) (*Refund, error) {
	return call[Refund](ctx, c, http.MethodPost, "/v1/refunds", p, opts)
}

// GetRefund retrieves a refund by id.
func (c *Client) GetRefund(ctx context.Context, id string, opts ...RequestOption) (*Refund, error) {
	seg, err := segment("refund id", id)
	if err != nil {
		return nil, err
	}
	return call[Refund](ctx, c, http.MethodGet, "/v1/refunds/"+seg, nil, opts)
}

// GetRefundByOutRefundNo retrieves a refund by the merchant's out_refund_no.
func (c *Client) GetRefundByOutRefundNo(ctx context.Context, outRefundNo string, opts ...RequestOption) (*Refund, error) {
	seg, err := segment("out_refund_no", outRefundNo)
	if err != nil {
		return nil, err
	}
	return call[Refund](ctx, c, http.MethodGet, "/v1/refunds/by-out-refund-no/"+seg, nil, opts)
}

// ListRefunds lists refunds, newest first; filter by order with
// ListParams{Extra: map[string]string{"order_id": id}}.
func (c *Client) ListRefunds(ctx context.Context, p ListParams, opts ...RequestOption) (*List[Refund], error) {
	return call[List[Refund]](ctx, c, http.MethodGet, "/v1/refunds"+p.query(), nil, opts)
}

// GetBalance returns the merchant's pending and available balance.
func (c *Client) GetBalance(ctx context.Context, opts ...RequestOption) (*Balance, error) {
	return call[Balance](ctx, c, http.MethodGet, "/v1/balance", nil, opts)
}

// PlatformKeys lists the public keys the gateway signs responses with.
func (c *Client) PlatformKeys(ctx context.Context, opts ...RequestOption) ([]PlatformKey, error) {
	list, err := call[List[PlatformKey]](ctx, c, http.MethodGet, "/v1/platform-keys", nil, opts)
	if err != nil {
		return nil, err
	}
	return list.Data, nil
}

// query encodes p as "?k=v&…" (keys sorted), or "" when p is empty.
// Creation-time filters are sent in RFC 3339, UTC.
func (p ListParams) query() string {
	v := url.Values{}
	for k, x := range p.Extra {
		v.Set(k, x)
	}
	if p.Limit > 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	set := func(k, x string) {
		if x != "" {
			v.Set(k, x)
		}
	}
	set("starting_after", p.StartingAfter)
	set("ending_before", p.EndingBefore)
	set("status", p.Status)
	if p.CreatedGTE != nil {
		v.Set("created_gte", p.CreatedGTE.UTC().Format(time.RFC3339Nano))
	}
	if p.CreatedLT != nil {
		v.Set("created_lt", p.CreatedLT.UTC().Format(time.RFC3339Nano))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
