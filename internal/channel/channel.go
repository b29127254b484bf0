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
	"net/http"
	"slices"
	"time"

	"github.com/paygate/paygate/internal/clock"
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
	// ErrBadSignature: a response or notification failed signature (or
	// decryption, or timestamp) verification. A response that fails it is
	// never trusted: the connector returns ErrUnknownOutcome wrapping it
	// (see UnknownOutcome) for calls that may have moved money.
	ErrBadSignature = errors.New("channel: bad signature")
)

// Unknown wraps err (a timeout, a response whose signature fails, SYSTEMERROR)
// so that it is both ErrUnknownOutcome and, with errors.Is, the original error.
func Unknown(err error) error { return fmt.Errorf("%w: %w", ErrUnknownOutcome, err) }

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
	TradeRevoked    TradeStatus = "REVOKED" // a micropay trade reversed (cancelled) by the merchant
	// TradeRefunded: paid, then refunded in part or whole (WeChat's REFUND;
	// Alipay's TRADE_CLOSED after a full refund, TRADE_FINISHED). The payment
	// itself succeeded: the gateway treats it as SUCCESS.
	TradeRefunded TradeStatus = "REFUND"
)

// Paid reports whether the trade's payment went through (SUCCESS or REFUND).
func (s TradeStatus) Paid() bool { return s == TradeSuccess || s == TradeRefunded }

// Card is card data for card methods; it is passed to the channel and never
// stored. Fingerprints of a create leave the CVC out and take the number
// only under a key derived from the master key (payment.ParamsKey).
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// PayRequest asks the channel to create a trade (or charge at once, for card and micropay).
//
// OrderID is the gateway's order id (ord_ followed by 26 lower-case
// letters and digits); it is the trade's out_trade_no at the channel. A
// connector whose channel forbids "_" (UnionPay) maps it reversibly, and
// every response and notification it returns carries the gateway's id.
type PayRequest struct {
	OrderID    string
	CreatedAt  time.Time // the order's creation time (UnionPay's txnTime)
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
	NotifyURL  string // overrides Account.NotifyURL when set
	ReturnURL  string // where a page/wap/gateway payment sends the payer back
	CashierURL string // the gateway's hosted page for the order
	Livemode   bool
	// AgreementNo is the channel's number of the signed agreement a charge
	// of a KindAgreement method is made on (WeChat's contract_id, Alipay's
	// agreement_no); AgreementID the gateway's id of it.
	AgreementNo string
	AgreementID string
	// PaymentToken is a saved card's token (SavedCard.Token) for a card
	// charge without card data.
	PaymentToken string
	// SaveCard asks the channel to keep the card of a card payment for
	// later charges; a connector that can answers PayResponse.SavedCard.
	SaveCard bool
	// ProfitSharing asks the channel to hold the trade's money for profit
	// sharing (WeChat Pay's settle_info.profit_sharing), for an order
	// created with profit_sharing.
	ProfitSharing bool
	// SettleCurrency is the currency the merchant settles in when it is
	// not Currency (a cross-border order): Alipay's settle_currency.
	SettleCurrency string
	// Installments asks the payer's lender for an instalment plan (Alipay
	// Huabei's hb_fq_num and hb_fq_seller_percent, the sandbox's card
	// instalments); nil: pay at once.
	Installments *Installments
}

// Installments is an instalment plan: Count instalments, the fee paid by
// the merchant (SellerPays) or by the payer.
type Installments struct {
	Count      int
	SellerPays bool
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
	// SavedCard is the card the channel kept when PayRequest.SaveCard asked.
	SavedCard *SavedCard
}

// QueryRequest asks the channel for a trade's state. ChannelTradeNo may be
// empty (the create's answer was lost); the connector then asks by OrderID.
type QueryRequest struct {
	OrderID        string
	CreatedAt      time.Time
	ChannelTradeNo string
	Livemode       bool
	// Method is the order's method, for channels that query some kinds of
	// trade elsewhere (WeChat Pay's deductions, through API v2).
	Method string
}

// QueryResponse is a trade's state at the channel.
type QueryResponse struct {
	ChannelTradeNo string
	Status         TradeStatus
	Amount         int64
	Currency       string
	FailureCode    string
	FailureMessage string
	PaidAt         time.Time
	// PayerAmount and PayerCurrency are what the payer paid when the
	// channel converted the order's currency (a cross-border trade: WeChat
	// Pay Global's payer_total and payer_currency), and ExchangeRate the
	// channel's rate as a decimal (units of PayerCurrency per unit of
	// Currency); zero and "" when the channel did not convert or has not
	// said. The gateway stores them with the order's move to succeeded
	// (Alipay: pay_amount, pay_currency and trans_pay_rate).
	PayerAmount   int64
	PayerCurrency string
	ExchangeRate  string
}

// CloseRequest asks the channel to close an unpaid trade (Close), or to
// reverse a micropay trade whatever its state (Reverse: WeChat's reverse,
// Alipay's cancel; a paid trade is refunded in full by the channel).
type CloseRequest struct {
	OrderID        string
	CreatedAt      time.Time
	ChannelTradeNo string
	Amount         int64
	Livemode       bool
}

// RefundRequest asks the channel to refund part of a trade. RefundID is the
// gateway's refund id (rfd_…), the refund's out_refund_no at the channel.
type RefundRequest struct {
	RefundID       string
	CreatedAt      time.Time // the refund's creation time
	OrderID        string
	OrderCreatedAt time.Time
	ChannelTradeNo string
	Amount         int64
	Total          int64
	Currency       string
	Reason         string
	NotifyURL      string // overrides Account.NotifyURL when set
	Livemode       bool
	// ReturnShares are receivers' shares the refund takes back in the same
	// operation, at a channel that returns shares only inside a refund
	// (RefundShareReturner: Alipay's refund_royalty_parameters). Empty for
	// every other refund.
	ReturnShares []ShareReturn
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
	// PayerAmount and PayerCurrency are what goes back to the payer when
	// the channel converts (a cross-border refund: payer_refund and
	// payer_currency); zero and "" otherwise.
	PayerAmount   int64
	PayerCurrency string
}

// Notification is what a channel's callback says, verified and decrypted.
// Kind tells which half is filled. Ids are the gateway's (OrderID, RefundID),
// mapped back from the channel's out_trade_no / out_refund_no.
type Notification struct {
	Kind    NotifyKind
	EventID string // the channel's notification id, for logs

	OrderID        string
	ChannelTradeNo string
	Status         TradeStatus // payment notifications
	Amount         int64       // the trade's total, minor units
	Currency       string
	PaidAt         time.Time
	FailureCode    string // a failed payment's decline code, when the channel gave one
	// PayerAmount, PayerCurrency and ExchangeRate: as in QueryResponse.
	PayerAmount   int64
	PayerCurrency string
	ExchangeRate  string

	RefundID        string
	ChannelRefundNo string
	RefundStatus    RefundStatus // refund notifications
	RefundAmount    int64
}

// NotifyKind says what a notification is about.
type NotifyKind string

// Notification kinds.
const (
	NotifyPayment NotifyKind = "payment"
	NotifyRefund  NotifyKind = "refund"
)

// NotifyRequest is a callback as it reached the gateway: headers and the
// exact body bytes (JSON for WeChat, a form for Alipay and UnionPay).
type NotifyRequest struct {
	Header http.Header
	Body   []byte
}

// NotifyReply is the answer a channel expects to a callback: on success it
// stops retrying (WeChat: 200/204; Alipay: the body "success"; UnionPay: 200
// "ok"), on failure it retries later.
type NotifyReply struct {
	Status      int
	ContentType string
	Body        []byte
}

// BillRequest asks for the channel's statement of one day (in the channel's
// time zone, China Standard Time for the Chinese channels).
type BillRequest struct {
	Date     time.Time // the day; only year, month and day count
	Livemode bool
}

// Bill is one day's statement: the raw file as the channel served it and
// its rows parsed.
type Bill struct {
	Format  string // e.g. "wechatpay-tradebill-csv", "alipay-trade-csv-zip", "unionpay-acp"
	Raw     []byte
	Records []BillRecord
}

// BillRecord is one line of a statement.
type BillRecord struct {
	Kind            NotifyKind // payment or refund
	OrderID         string     // the gateway's order id
	ChannelTradeNo  string
	RefundID        string // refunds: the gateway's refund id
	ChannelRefundNo string
	Amount          int64 // minor units, positive for both kinds
	Fee             int64 // the channel's fee, minor units (negative when returned on a refund)
	Currency        string
	At              time.Time
}

// Capabilities says what a connector can do. An operation whose flag is false
// returns ErrNotSupported.
type Capabilities struct {
	Methods    []string
	Currencies []string // empty: any
	Refund     bool
	Close      bool
	Reverse    bool
	Query      bool
	Bill       bool
	Notify     bool // the channel posts callbacks that Notify understands
}

// Supports reports whether the capabilities cover method in currency.
func (c Capabilities) Supports(method, currency string) bool {
	return slices.Contains(c.Methods, method) && (len(c.Currencies) == 0 || slices.Contains(c.Currencies, currency))
}

// RefundQueryRequest asks for a refund's state.
type RefundQueryRequest struct {
	RefundID       string
	CreatedAt      time.Time
	OrderID        string
	OrderCreatedAt time.Time
	ChannelTradeNo string
	Amount         int64
	Livemode       bool
}

// Connector talks to one channel account. Every method is safe for
// concurrent use. Errors wrap the sentinels above; a call that may have
// moved money and whose answer is not known for sure (a timeout, a 5xx
// after sending, a response whose signature fails) returns an error that
// is ErrUnknownOutcome, never a guess.
type Connector interface {
	// Name is the provider ("sandbox", "wechatpay", "alipay", "unionpay").
	Name() string
	Capabilities() Capabilities
	Pay(ctx context.Context, r PayRequest) (*PayResponse, error)
	Query(ctx context.Context, r QueryRequest) (*QueryResponse, error)
	Close(ctx context.Context, r CloseRequest) error
	// Reverse cancels a micropay trade whatever its state; the channel
	// refunds it in full if it was paid. Query afterwards says REVOKED or CLOSED.
	Reverse(ctx context.Context, r CloseRequest) error
	Refund(ctx context.Context, r RefundRequest) (*RefundResponse, error)
	RefundQuery(ctx context.Context, r RefundQueryRequest) (*RefundResponse, error)
	// Notify verifies (and decrypts) a callback. A bad signature, a stale
	// timestamp or a body that does not decrypt is ErrBadSignature.
	Notify(ctx context.Context, r NotifyRequest) (*Notification, error)
	// NotifyReply is the answer to a callback that Notify accepted (err nil)
	// or refused.
	NotifyReply(err error) NotifyReply
	Bill(ctx context.Context, r BillRequest) (*Bill, error)
}

// Account is a channel account's settings as a connector needs them: who
// we are at the provider (Config: merchant id, app id, certificate serials,
// the provider's public key…), our keys (Secrets: private keys, API keys;
// never logged or rendered) and where the provider is (BaseURL: production,
// the provider's sandbox, or a simulator).
type Account struct {
	ID        string // the channel account id (cha_…)
	Provider  string
	Livemode  bool
	BaseURL   string
	NotifyURL string // where the provider posts this account's callbacks
	// AgreementNotifyURL is where it posts this account's agreement
	// callbacks (signings, terminations, deduction results).
	AgreementNotifyURL string
	Config             map[string]string
	Secrets            map[string]string
	Methods            []string // the methods this account may serve (a subset of the provider's)
	Currencies         []string
	HTTPClient         *http.Client `json:"-"` // nil: a client with sane timeouts
	Clock              clock.Clock  `json:"-"` // nil: the real clock
}

// Provider describes a kind of channel account and builds its connectors.
type Provider struct {
	Name    string
	Methods []string // every method the provider can serve
	// Config and Secrets name the keys an Account must carry; New checks
	// their values (parses keys) and says which is wrong.
	Config  []string
	Secrets []string
	// OptionalConfig and OptionalSecrets name keys an Account may carry.
	OptionalConfig  []string
	OptionalSecrets []string
	DefaultBaseURL  string
	New             func(Account) (Connector, error)
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
