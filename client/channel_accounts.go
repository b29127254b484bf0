package client

import "time"

// The operator API's channel accounts and routes (/admin/v1). The SDK has
// no operator client; these are the objects as the API renders them, for
// the console, the CLI and tests.

// ChannelAccount is the platform's account at a payment provider (a WeChat
// Pay merchant id, an Alipay app, a UnionPay merchant). Secrets lists only
// the names of its secrets: their values are write-only and never rendered.
type ChannelAccount struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"` // "channel_account"
	Provider string            `json:"provider"`
	Name     string            `json:"name"`
	Livemode bool              `json:"livemode"`
	BaseURL  string            `json:"base_url"`
	Config   map[string]string `json:"config"`
	Secrets  []string          `json:"secrets"` // names, sorted
	Methods  []string          `json:"methods"`
	// Currencies the account takes; empty means the provider's.
	Currencies []string `json:"currencies"`
	FeeBps     int      `json:"fee_bps"`
	MinAmount  int64    `json:"min_amount"` // 0: no minimum
	MaxAmount  int64    `json:"max_amount"` // 0: no maximum
	Disabled   bool     `json:"disabled"`
	// Health is the account's health on the node that answered, when the
	// gateway tracks it.
	Health    *ChannelHealth `json:"health,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Route is a merchant's routing rule for one payment method in one mode:
// the channel accounts that may serve it, in priority order, and how to
// choose among them.
type Route struct {
	Object     string           `json:"object"` // "route"
	MerchantID string           `json:"merchant_id"`
	Method     string           `json:"method"`
	Livemode   bool             `json:"livemode"`
	Strategy   string           `json:"strategy"` // priority, weighted, lowest_cost, success_rate
	Candidates []RouteCandidate `json:"candidates"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// RouteCandidate is one channel account of a route.
type RouteCandidate struct {
	ChannelAccount string `json:"channel_account"` // cha_…
	Weight         int    `json:"weight"`          // weighted strategy; 0 otherwise
	// FeeBps overrides the account's fee for lowest_cost; null: the account's.
	FeeBps     *int     `json:"fee_bps"`
	MinAmount  int64    `json:"min_amount"` // narrows the account's limits; 0: none
	MaxAmount  int64    `json:"max_amount"`
	Currencies []string `json:"currencies"` // narrows the account's currencies; empty: the account's
}

// DeletedRoute is the response to deleting a route.
type DeletedRoute struct {
	Object     string `json:"object"` // "route"
	MerchantID string `json:"merchant_id"`
	Method     string `json:"method"`
	Livemode   bool   `json:"livemode"`
	Deleted    bool   `json:"deleted"`
}

// OrderRouting is how an order was routed, for the operator
// (GET /admin/v1/orders/{id}/routing): the channel account that serves it,
// the routing decision that picked it, and the worker's queries of it
// while its outcome was unknown.
type OrderRouting struct {
	Object         string         `json:"object"` // "order_routing"
	Order          string         `json:"order"`
	MerchantID     string         `json:"merchant_id"`
	Livemode       bool           `json:"livemode"`
	Method         string         `json:"method"`
	Status         string         `json:"status"`
	Channel        string         `json:"channel"`
	ChannelAccount string         `json:"channel_account"`
	Decision       *RouteDecision `json:"decision"` // null for the built-in sandbox and before routing
	SyncAttempts   int            `json:"sync_attempts"`
	NextSyncAt     *time.Time     `json:"next_sync_at"`
}

// RouteDecision is a routing decision: the strategy and where the route came
// from, the candidates in the order they were to be tried, those skipped and
// why, every try with its error code, and the account that took the payment.
type RouteDecision struct {
	Strategy   string         `json:"strategy"`
	Source     string         `json:"source"` // merchant_route or default
	Candidates []string       `json:"candidates"`
	Skipped    []RouteSkip    `json:"skipped"`
	Attempts   []RouteAttempt `json:"attempts"`
	Chosen     string         `json:"chosen"`
}

// RouteSkip is a candidate routing left out, and why (disabled, mode,
// method, currency, amount_below_min, amount_above_max, circuit_open,
// success_rate_below_floor, not_found).
type RouteSkip struct {
	ChannelAccount string `json:"channel_account"`
	Reason         string `json:"reason"`
}

// RouteAttempt is one try of a candidate; Error is empty for the one that
// took the payment and a short code (unavailable, not_supported,
// circuit_open…) for those that failed over.
type RouteAttempt struct {
	ChannelAccount string `json:"channel_account"`
	Error          string `json:"error,omitempty"`
}

// ChannelBill is one day's statement of a channel account, as the channel
// served it (GET /admin/v1/channel-accounts/{id}/bill?date=YYYY-MM-DD): the
// raw file's format and size and its rows, with the gateway's order and
// refund ids, for reconciliation.
type ChannelBill struct {
	Object         string              `json:"object"` // "channel_bill"
	ChannelAccount string              `json:"channel_account"`
	Date           string              `json:"date"`
	Format         string              `json:"format"`
	RawBytes       int                 `json:"raw_bytes"`
	Records        []ChannelBillRecord `json:"records"`
}

// ChannelBillRecord is one row of a channel's statement.
type ChannelBillRecord struct {
	Kind            string    `json:"kind"` // payment or refund
	Order           string    `json:"order"`
	ChannelTradeNo  string    `json:"channel_trade_no"`
	Refund          string    `json:"refund"`
	ChannelRefundNo string    `json:"channel_refund_no"`
	Amount          int64     `json:"amount"`
	Fee             int64     `json:"fee"`
	Currency        string    `json:"currency"`
	At              time.Time `json:"at"`
}
