// Package channel is the seam between Paygate and the payment channels
// (the sandbox, WeChat Pay, Alipay, UnionPay…). Each provider has a Connector
// that takes request structs and returns response structs; Registry finds the
// connector for a method. Errors are wrapped sentinels sorted once, by
// Retryable, into "ask again later" and "final".
package channel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors a connector wraps. Compare with errors.Is.
var (
	// ErrUnknownOutcome: the channel may or may not have acted (timeout, USERPAYING,
	// SYSTEMERROR). The order stays processing and is resolved by Query.
	ErrUnknownOutcome = errors.New("channel: outcome unknown")
	// ErrUnavailable: the channel refused before acting (5xx, connection refused);
	// nothing happened there, so another channel or a later try is safe.
	ErrUnavailable = errors.New("channel: unavailable")
	// ErrDeclined: the channel refused the payment for good (card declined, no funds).
	ErrDeclined = errors.New("channel: declined")
	// ErrInvalidRequest: the channel rejected our request as malformed; final.
	ErrInvalidRequest = errors.New("channel: invalid request")
	// ErrTradeNotFound: the channel has no such trade.
	ErrTradeNotFound = errors.New("channel: trade not found")
	// ErrNotSupported: the connector cannot do this (method, currency, operation).
	ErrNotSupported = errors.New("channel: not supported")
	// ErrAlreadyPaid: a close or cancel found the trade paid.
	ErrAlreadyPaid = errors.New("channel: trade already paid")
)

// Retryable reports whether err means "nothing final happened; try again later".
func Retryable(err error) bool {
	return errors.Is(err, ErrUnknownOutcome) || errors.Is(err, ErrUnavailable)
}

// DeclineError is a final refusal with the channel's own code (card_declined,
// insufficient_funds…). It wraps ErrDeclined.
type DeclineError struct {
	Code    string
	Message string
}

func (e *DeclineError) Error() string {
	return fmt.Sprintf("channel: declined: %s: %s", e.Code, e.Message)
}
func (e *DeclineError) Unwrap() error { return ErrDeclined }

// TradeStatus is a trade's state at the channel.
type TradeStatus string

// Trade statuses, the common subset of WeChat's and Alipay's.
const (
	TradeNotPay     TradeStatus = "NOTPAY"     // created, payer has not paid
	TradeUserPaying TradeStatus = "USERPAYING" // payer is confirming
	TradeSuccess    TradeStatus = "SUCCESS"
	TradePayError   TradeStatus = "PAYERROR" // failed for good
	TradeClosed     TradeStatus = "CLOSED"
)

// Card is card data for card methods; it is passed to the channel and never stored.
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// PayRequest asks the channel to create a trade (or charge at once, for card and micropay).
type PayRequest struct {
	OrderID    string
	OutTradeNo string
	Method     string
	Amount     int64
	Currency   string
	Subject    string
	AuthCode   string
	Card       *Card
	PayerID    string
	PayerIP    string
	ExpiresAt  time.Time
	NotifyURL  string
	Livemode   bool
}

// NextAction is what the payer must do; it is rendered as the order's next_action.
type NextAction struct {
	Type   string            `json:"type"`
	QRCode string            `json:"qr_code,omitempty"`
	URL    string            `json:"url,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// PayResponse is the channel's answer to a PayRequest.
type PayResponse struct {
	ChannelTradeNo string
	Status         TradeStatus // NOTPAY (payer must act), USERPAYING, SUCCESS
	NextAction     *NextAction
}

// QueryRequest asks the channel for a trade's state.
type QueryRequest struct {
	OrderID        string
	ChannelTradeNo string
	Livemode       bool
}

// QueryResponse is a trade's state at the channel.
type QueryResponse struct {
	ChannelTradeNo string
	Status         TradeStatus
	Amount         int64
	FailureCode    string
	FailureMessage string
	PaidAt         time.Time
}

// CloseRequest asks the channel to close an unpaid trade.
type CloseRequest struct {
	OrderID        string
	ChannelTradeNo string
	Livemode       bool
}

// RefundRequest asks the channel to refund part of a trade.
type RefundRequest struct {
	RefundID       string
	OrderID        string
	ChannelTradeNo string
	Amount         int64
	Total          int64
	Currency       string
	Reason         string
	Livemode       bool
}

// RefundStatus is a refund's state at the channel.
type RefundStatus string

// Refund statuses.
const (
	RefundProcessing RefundStatus = "PROCESSING"
	RefundSuccess    RefundStatus = "SUCCESS"
	RefundAbnormal   RefundStatus = "ABNORMAL" // failed for good
)

// RefundResponse is the channel's answer to a refund or refund query.
type RefundResponse struct {
	ChannelRefundNo string
	Status          RefundStatus
	FailureCode     string
}

// Capabilities says what a connector can do.
type Capabilities struct {
	Methods    []string
	Currencies []string // empty: any
	Refund     bool
	Close      bool
	Query      bool
}

// Supports reports whether the capabilities cover method in currency.
func (c Capabilities) Supports(method, currency string) bool {
	return slices.Contains(c.Methods, method) && (len(c.Currencies) == 0 || slices.Contains(c.Currencies, currency))
}

// Connector talks to one channel.
type Connector interface {
	Name() string
	Capabilities() Capabilities
	Pay(ctx context.Context, r PayRequest) (*PayResponse, error)
	Query(ctx context.Context, r QueryRequest) (*QueryResponse, error)
	Close(ctx context.Context, r CloseRequest) error
	Refund(ctx context.Context, r RefundRequest) (*RefundResponse, error)
	RefundQuery(ctx context.Context, refundID string, livemode bool) (*RefundResponse, error)
}

// Registry holds the connectors a gateway can route to.
type Registry struct {
	byName map[string]Connector
	order  []Connector
}

// NewRegistry returns a registry of the given connectors, in preference order.
func NewRegistry(cs ...Connector) *Registry {
	r := &Registry{byName: map[string]Connector{}}
	for _, c := range cs {
		r.byName[c.Name()] = c
		r.order = append(r.order, c)
	}
	return r
}

// Get returns the connector named name.
func (r *Registry) Get(name string) (Connector, bool) {
	c, ok := r.byName[name]
	return c, ok
}

// serves reports whether c may serve the mode: test-mode orders only ever
// go to the sandbox, and live orders never do.
func serves(c Connector, livemode bool) bool { return livemode != (c.Name() == "sandbox") }

// ForMethod returns the first connector that supports method in currency.
// The routing issue replaces this with per-merchant rules.
func (r *Registry) ForMethod(method, currency string, livemode bool) (Connector, bool) {
	for _, c := range r.order {
		if !serves(c, livemode) {
			continue
		}
		if c.Capabilities().Supports(method, currency) {
			return c, true
		}
	}
	return nil, false
}

// Methods lists every method some connector supports, in registry order.
func (r *Registry) Methods(livemode bool) []string {
	var ms []string
	for _, c := range r.order {
		if !serves(c, livemode) {
			continue
		}
		for _, m := range c.Capabilities().Methods {
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
	}
	return ms
}
