package client

import (
	"encoding/json"
	"time"
)

// Order is a payment order as the API renders it.
type Order struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	AppID          string            `json:"app_id"`
	OutTradeNo     string            `json:"out_trade_no"`
	Amount         int64             `json:"amount"`
	Currency       string            `json:"currency"`
	Subject        string            `json:"subject"`
	Description    string            `json:"description"`
	Method         string            `json:"method"`
	Status         string            `json:"status"`
	Channel        string            `json:"channel"`
	ChannelAccount string            `json:"channel_account"`
	ChannelTradeNo string            `json:"channel_trade_no"`
	AmountRefunded int64             `json:"amount_refunded"`
	NextAction     *NextAction       `json:"next_action"`
	FailureCode    string            `json:"failure_code"`
	FailureMessage string            `json:"failure_message"`
	Risk           *Risk             `json:"risk"`
	Metadata       map[string]string `json:"metadata"`
	Payer          *Payer            `json:"payer,omitempty"`
	NotifyURL      string            `json:"notify_url,omitempty"`
	ReturnURL      string            `json:"return_url,omitempty"`
	Customer       *string           `json:"customer"`
	ProfitSharing  bool              `json:"profit_sharing"`
	Livemode       bool              `json:"livemode"`
	CreatedAt      time.Time         `json:"created_at"`
	ExpiresAt      time.Time         `json:"expires_at"`
	PaidAt         *time.Time        `json:"paid_at"`
	ClosedAt       *time.Time        `json:"closed_at"`
	// FXQuote is the FX quote (fxq_…) the order is paid at, nil when none;
	// the merchant is then credited SettlementAmount of
	// SettlementCurrency (the quote's to_amount and to).
	FXQuote            *string `json:"fx_quote"`
	SettlementAmount   int64   `json:"settlement_amount,omitempty"`
	SettlementCurrency string  `json:"settlement_currency,omitempty"`
	// Installments is the instalment plan the order asked for, nil when none.
	Installments *Installments `json:"installments"`
	// PayerAmount is what the payer paid when the channel converted the
	// order's currency (a cross-border trade), at the channel's rate;
	// absent when the channel did not convert or has not said.
	PayerAmount *PayerAmount `json:"payer_amount,omitempty"`
}

// PayerAmount is what the payer paid (or got back, on a refund) in the
// channel's currency: Amount in minor units of Currency, and for an order
// the channel's ExchangeRate, a decimal string of Currency units per unit
// of the order's currency ("7.1234").
type PayerAmount struct {
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	ExchangeRate string `json:"exchange_rate,omitempty"`
}

// Installments is an order's instalment plan (分期): Count instalments
// of InstallmentAmount (the last one takes the remainder), the fee
// (FeeRateBps of the amount) paid by FeePayer: "payer" (on top of the
// amount, to the lender) or "merchant" (out of the merchant's net).
type Installments struct {
	Count      int    `json:"count"`
	FeePayer   string `json:"fee_payer"`
	FeeRateBps int    `json:"fee_rate_bps"`
	Fee        int64  `json:"fee"`
}

// NextAction tells the merchant what the payer must do next.
type NextAction struct {
	Type       string            `json:"type"` // qr_code, redirect, sdk_params
	QRCode     string            `json:"qr_code,omitempty"`
	CashierURL string            `json:"cashier_url,omitempty"`
	URL        string            `json:"url,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
}

// Risk is the risk decision taken when the order was created: allow,
// review (the order waits in requires_review for the operator) or block
// (no order: the create answered 402 risk_error), a score from 0 to 100,
// and every rule that fired (those in observe mode included).
type Risk struct {
	Decision string          `json:"decision"`
	Score    int             `json:"score"`
	Rules    []RiskRuleFired `json:"rules"`
}

// RiskRuleFired is a risk rule that was true for an order.
type RiskRuleFired struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"` // block, review, allow
	Mode   string `json:"mode"`   // enforce, observe
}

// Payer describes who pays. DeviceID and UserAgent feed risk rules.
type Payer struct {
	ID        string `json:"id,omitempty"`
	IP        string `json:"ip,omitempty"`
	Country   string `json:"country,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Card is test card data for the sandbox `card` method (an extension of the API reference (docs/api.md)).
type Card struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"exp_month,omitempty"`
	ExpYear  int    `json:"exp_year,omitempty"`
	CVC      string `json:"cvc,omitempty"`
}

// CreateOrderParams are the parameters of POST /v1/orders.
type CreateOrderParams struct {
	OutTradeNo  string            `json:"out_trade_no"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Subject     string            `json:"subject"`
	Description string            `json:"description,omitempty"`
	Method      string            `json:"method,omitempty"`
	AuthCode    string            `json:"auth_code,omitempty"`
	Card        *Card             `json:"card,omitempty"`
	Payer       *Payer            `json:"payer,omitempty"`
	NotifyURL   string            `json:"notify_url,omitempty"`
	ReturnURL   string            `json:"return_url,omitempty"`
	ExpiresIn   int               `json:"expires_in,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// Customer (cus_…) is whom the order is for: the cashier offers their
	// saved cards and to save the card they pay with.
	Customer string `json:"customer,omitempty"`
	// AgreementID charges the order on a signed agreement, PaymentMethod
	// on a saved card, without the payer.
	AgreementID   string `json:"agreement_id,omitempty"`
	PaymentMethod string `json:"payment_method,omitempty"`
	// SavePaymentMethod keeps the card of a card order for Customer.
	SavePaymentMethod bool `json:"save_payment_method,omitempty"`
	// ProfitSharing holds the order's money once paid until it is shared
	// with receivers or released (POST /v1/profit-sharing).
	ProfitSharing bool `json:"profit_sharing,omitempty"`
	// FXQuote (fxq_…) pays the order at the quote's locked rate: Amount
	// and Currency must be the quote's amount and from.
	FXQuote string `json:"fx_quote,omitempty"`
	// Installments asks to pay in instalments (Alipay Huabei, sandbox cards).
	Installments *InstallmentsParams `json:"installments,omitempty"`
}

// InstallmentsParams ask for an instalment plan: Count instalments, the
// fee paid by FeePayer ("payer" or "merchant").
type InstallmentsParams struct {
	Count    int    `json:"count"`
	FeePayer string `json:"fee_payer"`
}

// Refund is a refund as the API renders it.
type Refund struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	OrderID         string            `json:"order_id"`
	OutRefundNo     string            `json:"out_refund_no"`
	Amount          int64             `json:"amount"`
	Currency        string            `json:"currency"`
	Status          string            `json:"status"`
	ChannelRefundNo string            `json:"channel_refund_no"`
	FailureCode     string            `json:"failure_code"`
	FailureMessage  string            `json:"failure_message"`
	Reason          string            `json:"reason"`
	Metadata        map[string]string `json:"metadata"`
	Livemode        bool              `json:"livemode"`
	CreatedAt       time.Time         `json:"created_at"`
	SucceededAt     *time.Time        `json:"succeeded_at"`
	// PayerAmount is what went back to the payer when the channel
	// converted the refund (a cross-border trade); absent otherwise.
	PayerAmount *PayerAmount `json:"payer_amount,omitempty"`
}

// CreateRefundParams are the parameters of POST /v1/refunds. Give OrderID or OutTradeNo.
type CreateRefundParams struct {
	OrderID     string            `json:"order_id,omitempty"`
	OutTradeNo  string            `json:"out_trade_no,omitempty"`
	OutRefundNo string            `json:"out_refund_no"`
	Amount      int64             `json:"amount"`
	Reason      string            `json:"reason,omitempty"`
	NotifyURL   string            `json:"notify_url,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// ReverseShares, for an order paid with profit sharing: nil or true
	// lets the refund take receivers' shares back when the order's held
	// money does not cover it; false refuses it instead (409
	// profit_sharing_return_required).
	ReverseShares *bool `json:"reverse_shares,omitempty"`
	// ProfitSharingReturns names the shares the refund takes back, and how
	// much of each, instead of the proportional split.
	ProfitSharingReturns []RefundProfitSharingReturn `json:"profit_sharing_returns,omitempty"`
}

// RefundProfitSharingReturn is one share a refund takes back.
type RefundProfitSharingReturn struct {
	ProfitSharing string `json:"profit_sharing"`
	Receiver      string `json:"receiver"`
	Amount        int64  `json:"amount"`
}

// List is a page of a list endpoint.
type List[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

// ListParams are cursor pagination and filters for list endpoints.
type ListParams struct {
	Limit         int
	StartingAfter string
	EndingBefore  string
	Status        string
	CreatedGTE    *time.Time
	CreatedLT     *time.Time
	Extra         map[string]string // other filters, e.g. order_id for refunds
}

// Amount is an amount in one currency.
type Amount struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

// Balance is the merchant's balance from the ledger: Pending (paid, not
// settled yet), Available (settled, awaiting payout), Reserved (settled,
// held back as a rolling reserve) and InTransit (a payout on its way to
// the bank), one amount per currency.
type Balance struct {
	Object    string   `json:"object"`
	Livemode  bool     `json:"livemode"`
	Pending   []Amount `json:"pending"`
	Available []Amount `json:"available"`
	Reserved  []Amount `json:"reserved"`
	InTransit []Amount `json:"in_transit"`
	// ProfitSharing is orders' money held for profit sharing, not settled
	// until shared or released.
	ProfitSharing []Amount `json:"profit_sharing"`
}

// PlatformKey is a public key the gateway signs responses with.
type PlatformKey struct {
	ID        string `json:"id"`
	Alg       string `json:"alg"`
	PublicKey string `json:"public_key"`
	Status    string `json:"status"`
}

// Event is a notification event. DeliveryStatus, Deliveries and Attempts
// are present when one event is retrieved (GetEvent, RedeliverEvent), not in
// lists.
type Event struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Type      string          `json:"type"`
	Livemode  bool            `json:"livemode"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
	// DeliveryStatus is "pending" while some delivery is, else "failed" when
	// some delivery failed, else "succeeded"; empty for an event with no target.
	DeliveryStatus string            `json:"delivery_status,omitempty"`
	Deliveries     []Delivery        `json:"deliveries,omitzero"`
	Attempts       []DeliveryAttempt `json:"attempts,omitzero"` // oldest first
}

// Merchant is a merchant as the operator API renders it.
type Merchant struct {
	ID                 string    `json:"id"`
	Object             string    `json:"object"`
	Name               string    `json:"name"`
	Timezone           string    `json:"timezone"`
	SettlementCurrency string    `json:"settlement_currency"`
	FeeRateBps         int       `json:"fee_rate_bps"`
	CreatedAt          time.Time `json:"created_at"`
}

// App is a merchant's integration in one mode.
type App struct {
	ID               string    `json:"id"`
	Object           string    `json:"object"`
	MerchantID       string    `json:"merchant_id"`
	Name             string    `json:"name"`
	Mode             string    `json:"mode"`
	Livemode         bool      `json:"livemode"`
	RequireSignature bool      `json:"require_signature"`
	CreatedAt        time.Time `json:"created_at"`
}

// Key is an app's credential. Secret is present only in the response that creates it.
type Key struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	AppID     string     `json:"app_id"`
	Kind      string     `json:"kind"`
	Alg       string     `json:"alg"`
	Secret    string     `json:"secret,omitempty"`
	PublicKey string     `json:"public_key,omitempty"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// AppCreated is the response to creating an app: the secrets appear once.
type AppCreated struct {
	App           App    `json:"app"`
	SecretKey     string `json:"secret_key"`
	SigningKey    Key    `json:"signing_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// ErrorBody is the error shape of every 4xx and 5xx response.
type ErrorBody struct {
	Error Error `json:"error"`
}

// ChannelHealth is a channel account's health as the router sees it on the
// node that answered: its circuit breaker and its recent success rate.
type ChannelHealth struct {
	Breaker     string  `json:"breaker"` // closed, open, half_open
	SuccessRate float64 `json:"success_rate"`
	Samples     int     `json:"samples"`
}
