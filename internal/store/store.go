// Package store is Paygate's data layer: the records it keeps, the Store
// interface every driver implements, and the errors drivers translate into.
//
// Two drivers implement Store, internal/store/sqlite and internal/store/postgres,
// over one shared SQL implementation (internal/store/sqlstore); storetest is
// the conformance suite both pass.
//
// Every method that changes state opens one transaction: an order's status
// change, its ledger entries and its events commit together or not at all.
// Status changes are compare-and-set (UPDATE … WHERE status IN (…)), so two
// racing writers cannot both win.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/paygate/paygate/internal/ledger"
)

// Errors drivers return; compare with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: unique key conflict")
	ErrStale    = errors.New("store: status changed concurrently") // CAS lost: the row is not in a From status
	// ErrFXQuoteTaken: an order insert found its FX quote used or expired
	// (it comes wrapped with ErrStale).
	ErrFXQuoteTaken  = errors.New("store: fx quote used or expired")
	ErrRefundExceeds = errors.New("store: refund exceeds the refundable amount")
)

// OrderStatus is an order's place in the status machine of the API reference (docs/api.md).
type OrderStatus string

// Order statuses.
const (
	OrderPending    OrderStatus = "pending"
	OrderProcessing OrderStatus = "processing"
	OrderSucceeded  OrderStatus = "succeeded"
	OrderFailed     OrderStatus = "failed"
	OrderClosed     OrderStatus = "closed"
	// OrderRequiresReview: a risk rule sent the order to review; no channel
	// has been asked. The operator approves it (it goes on as pending) or
	// rejects it (closed); at its expiry it closes.
	OrderRequiresReview OrderStatus = "requires_review"
)

// RefundStatus is a refund's status.
type RefundStatus string

// Refund statuses.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Merchant is a business that takes payments through the platform.
type Merchant struct {
	ID                 string
	Name               string
	Timezone           string // IANA name
	SettlementCurrency string
	FeeRateBps         int // platform fee in basis points of each payment
	CreatedAt          time.Time
}

// App is one integration of a merchant in one mode (test or live).
type App struct {
	ID                  string
	MerchantID          string
	Name                string
	Livemode            bool
	RequireSignature    bool
	WebhookSecretSealed string // whsec_… sealed with the master key
	CreatedAt           time.Time
}

// Key kinds and algorithms.
const (
	KeySecret  = "secret"  // Bearer sk_test_/sk_live_ key; only its SHA-256 is kept
	KeySigning = "signing" // request-signing key

	AlgHMAC    = "HMAC-SHA256"
	AlgRSA     = "RSA-SHA256"
	AlgEd25519 = "ED25519"
)

// Key is an app's credential.
type Key struct {
	ID           string
	AppID        string
	MerchantID   string
	Livemode     bool
	Kind         string // KeySecret or KeySigning
	Alg          string // for signing keys: AlgHMAC, AlgRSA or AlgEd25519
	SecretHash   string // KeySecret: hex SHA-256 of the key; unique
	SecretSealed string // AlgHMAC: the secret sealed with the master key
	PublicKey    string // AlgRSA, AlgEd25519: PEM SubjectPublicKeyInfo
	ExpiresAt    *time.Time
	RevokedAt    *time.Time
	CreatedAt    time.Time
}

// Scope is whose objects a merchant-facing query may see or change: the
// merchant's, in one mode (orders, refunds and events are the merchant's,
// whichever of its apps made them); AppID narrows to one app where an
// object belongs to one (webhook endpoints, the natural keys out_trade_no
// and out_refund_no). Queries that take a Scope filter by it in SQL, so an
// object of another tenant is ErrNotFound, never loaded and then refused.
type Scope struct {
	MerchantID string
	AppID      string
	Livemode   bool
}

// Payer describes who pays, as the merchant tells it.
type Payer struct {
	ID        string `json:"id,omitempty"`
	IP        string `json:"ip,omitempty"`
	Country   string `json:"country,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Order is a payment order.
type Order struct {
	ID          string
	MerchantID  string
	AppID       string
	Livemode    bool
	OutTradeNo  string
	Amount      int64
	Currency    string
	Subject     string
	Description string
	Method      string // "" until chosen
	Status      OrderStatus
	Channel     string // provider that serves the order, "" until routed
	// ChannelAccountID is the channel account that serves the order; "" for
	// the built-in sandbox.
	ChannelAccountID string
	// Route is the routing decision that picked the channel account (a JSON
	// object: strategy, candidates considered, why each was skipped).
	Route          json.RawMessage
	ChannelTradeNo string
	AmountRefunded int64 // sum of refunds that are not failed
	NextAction     json.RawMessage
	FailureCode    string
	FailureMessage string
	Risk           json.RawMessage
	Metadata       map[string]string
	Payer          Payer
	NotifyURL      string
	ReturnURL      string
	// RequestHash fingerprints the create parameters, so a repeat with the same
	// out_trade_no can be told apart from a conflicting one.
	RequestHash string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ExpiresAt   time.Time
	PaidAt      *time.Time
	ClosedAt    *time.Time
	// SyncAttempts counts syncs of a processing order that learnt nothing;
	// NextSyncAt is when the worker may ask the channel again (nil: at once).
	SyncAttempts int
	NextSyncAt   *time.Time
	// CustomerID is the customer (cus_…) the order is for, "" when none:
	// the cashier offers that customer's saved cards, and to save one.
	CustomerID string
	// ProfitSharing keeps the order's money held for profit sharing
	// (分账) once paid, instead of settling it (internal/profitsharing).
	ProfitSharing bool
	// FXQuoteID is the FX quote (fxq_…) the order is paid at, "" when none:
	// the payer pays Amount of Currency and the merchant is credited
	// SettleAmount of SettleCurrency (the quote's to_amount and to). Without
	// a quote SettleCurrency is "" and SettleAmount 0 (the order's own).
	FXQuoteID      string
	SettleCurrency string
	SettleAmount   int64
	// Installments is the instalment plan the order asked for, nil when none.
	Installments *Installments
	// PayerAmount of PayerCurrency is what the payer paid when the channel
	// converted Amount of Currency (a cross-border trade), at the channel's
	// ExchangeRate (a decimal: units of PayerCurrency per unit of
	// Currency). Stored with the order's move to succeeded; 0 and "" when
	// the channel did not convert or did not say.
	PayerAmount   int64
	PayerCurrency string
	ExchangeRate  string
}

// Who pays an instalment plan's fee.
const (
	FeePayerPayer    = "payer"
	FeePayerMerchant = "merchant"
)

// Installments is an order's instalment plan (分期): Count instalments,
// the fee (FeeRateBps of the amount) paid by FeePayer, "payer" or
// "merchant".
type Installments struct {
	Count      int    `json:"count"`
	FeePayer   string `json:"fee_payer"`
	FeeRateBps int    `json:"fee_rate_bps"`
	Fee        int64  `json:"fee"`
}

// SettledIn is what the order credits the merchant: SettleAmount of
// SettleCurrency when it was paid at a quote, Amount of Currency otherwise.
func (o *Order) SettledIn() (int64, string) {
	if o.SettleCurrency != "" {
		return o.SettleAmount, o.SettleCurrency
	}
	return o.Amount, o.Currency
}

// Refund is a refund of part or all of a succeeded order.
type Refund struct {
	ID              string
	OrderID         string
	MerchantID      string
	AppID           string
	Livemode        bool
	OutRefundNo     string
	Amount          int64
	Currency        string
	Status          RefundStatus
	Channel         string
	ChannelRefundNo string
	FailureCode     string
	FailureMessage  string
	Reason          string
	NotifyURL       string
	Metadata        map[string]string
	RequestHash     string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	SucceededAt     *time.Time
	// SettleAmount of SettleCurrency is what a refund of an order paid at
	// an FX quote takes back from the merchant (its share of the order's
	// SettleAmount); "" and 0 for other refunds.
	SettleCurrency string
	SettleAmount   int64
	// PayerAmount of PayerCurrency is what went back to the payer when the
	// channel converted the refund (a cross-border trade); 0 and "" otherwise.
	PayerAmount   int64
	PayerCurrency string
}

// Event is a notification-worthy change, written in the transaction of the change.
type Event struct {
	ID         string
	Type       string // order.succeeded, refund.failed, …
	MerchantID string
	AppID      string
	Livemode   bool
	ObjectType string // "order", "refund"
	ObjectID   string
	Data       json.RawMessage // the object as the API renders it, after the change
	NotifyURL  string          // the object's own notify_url, if any
	CreatedAt  time.Time
	// TraceParent is the W3C traceparent of the request that wrote the
	// event, "" when tracing was off; its deliveries continue that trace.
	// The store fills it from the writer's context.
	TraceParent string
}

// WebhookEndpoint is an app's URL subscribed to event types.
type WebhookEndpoint struct {
	ID            string // whe_…
	MerchantID    string
	AppID         string
	Livemode      bool
	URL           string
	Description   string
	EnabledEvents []string // event types, or ["*"] for all
	Disabled      bool
	SecretSealed  string // whsec_… sealed with the master key
	// PreviousSecretSealed is the secret before the last rotation; deliveries
	// are signed with both until PreviousSecretExpiresAt.
	PreviousSecretSealed    string
	PreviousSecretExpiresAt *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// Subscribed reports whether e wants events of type typ.
func (e *WebhookEndpoint) Subscribed(typ string) bool {
	for _, t := range e.EnabledEvents {
		if t == "*" || t == typ {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one event owed to one target: the object's own notify_url
// (EndpointID "") or one webhook endpoint. Deliveries are created in the
// transaction that writes their event, so no committed event goes unannounced.
type Delivery struct {
	ID            string // dlv_…
	EventID       string
	MerchantID    string
	AppID         string
	Livemode      bool
	EndpointID    string // "" for the object's notify_url
	URL           string
	Status        string // DeliveryPending, DeliverySucceeded, DeliveryFailed
	Attempts      int    // attempts since created or last redelivered by hand
	NextAttemptAt time.Time
	LeaseToken    string     // set while a worker holds the delivery
	LeaseUntil    *time.Time // the lease ends then; another worker may take it after
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Event is the delivery's event, filled by DeliveriesClaim.
	Event *Event
}

// DeliveryAttempt is one HTTP attempt of a delivery.
type DeliveryAttempt struct {
	ID           string // att_…
	DeliveryID   string
	EventID      string
	EndpointID   string
	URL          string
	AttemptedAt  time.Time
	StatusCode   int // 0 when no response
	Latency      time.Duration
	Error        string // timeout, connection refused, non-2xx, refused address…
	ResponseBody string // the first bytes of the response
}

// DeliveryResult is what a worker reports after one attempt.
type DeliveryResult struct {
	DeliveryID string
	LeaseToken string // must still hold the lease, else ErrStale
	Attempt    DeliveryAttempt
	Succeeded  bool
	// NextAttemptAt is when to try again; nil with Succeeded false means the
	// schedule is spent and the delivery is failed.
	NextAttemptAt *time.Time
	At            time.Time
}

// Effects are what a status change writes beside itself in its transaction.
type Effects struct {
	Entries []ledger.Entry
	Events  []*Event
}

// OrderTransition is a compare-and-set change of an order's status.
// Fields left zero are not changed. PaidAt is set when To is succeeded,
// ClosedAt when To is closed.
type OrderTransition struct {
	OrderID string
	From    []OrderStatus // the change happens only if the status is one of these
	To      OrderStatus
	At      time.Time
	Method  string
	Channel string
	// ChannelAccountID and Route are stored when Channel is set (a method
	// picked on the cashier page routes the order then).
	ChannelAccountID string
	Route            json.RawMessage
	ChannelTradeNo   string
	NextAction       json.RawMessage
	FailureCode      string
	FailureMessage   string
	// PayerAmount, PayerCurrency and ExchangeRate are stored when
	// PayerCurrency is set (the channel converted: see Order).
	PayerAmount   int64
	PayerCurrency string
	ExchangeRate  string
	// Effects, when set, is called inside the transaction with the order as
	// it is after the change; what it returns commits with the change.
	Effects func(*Order) (Effects, error)
}

// RefundTransition is a compare-and-set change of a refund's status. When To
// is failed, the order's AmountRefunded gives back the refund's amount in the
// same transaction.
type RefundTransition struct {
	RefundID        string
	From            []RefundStatus
	To              RefundStatus
	At              time.Time
	ChannelRefundNo string
	FailureCode     string
	FailureMessage  string
	// PayerAmount and PayerCurrency are stored when PayerCurrency is set
	// (the channel converted the refund: see Refund).
	PayerAmount   int64
	PayerCurrency string
	Effects       func(*Refund, *Order) (Effects, error)
}

// ListParams are Stripe-style cursor pagination and creation-time filters.
// Lists are newest first. Limit is 1..100.
type ListParams struct {
	Limit         int
	StartingAfter string // id: return objects older than it
	EndingBefore  string // id: return objects newer than it
	CreatedGTE    *time.Time
	CreatedLT     *time.Time
}

// OrderFilter scopes an order list to a merchant and mode.
type OrderFilter struct {
	MerchantID string
	Livemode   bool
	AppID      string      // optional
	Status     OrderStatus // optional
	ListParams
}

// RefundFilter scopes a refund list to a merchant and mode.
type RefundFilter struct {
	MerchantID string
	Livemode   bool
	OrderID    string // optional
	Status     RefundStatus
	ListParams
}

// EventFilter scopes an event list to a merchant and mode.
type EventFilter struct {
	MerchantID string
	Livemode   bool
	Type       string // optional
	ObjectID   string // optional
	// DeliveryStatus filters by the event's delivery state: "pending" (some
	// delivery pending), "failed" (some delivery failed, none pending),
	// "succeeded" (every delivery succeeded). Optional.
	DeliveryStatus string
	ListParams
}

// IdempotencyRecord remembers a POST made with an Idempotency-Key.
type IdempotencyRecord struct {
	AppID       string
	Key         string
	RequestHash string // method, path and body
	Status      int    // 0 while the first request is in flight
	Body        []byte // the response body, byte for byte
	CreatedAt   time.Time
	LockedAt    time.Time // when the in-flight request took the key
}

// PlatformKey is a key the gateway signs responses and webhooks with.
type PlatformKey struct {
	ID            string
	Alg           string // AlgEd25519
	PublicKey     string // PEM SubjectPublicKeyInfo
	PrivateSealed string // PKCS#8 PEM sealed with the master key
	Status        string // "current" or "next"
	CreatedAt     time.Time
}

// VerifyReport is what LedgerVerify found. It is clean when every slice is empty.
type VerifyReport struct {
	Entries           int
	Lines             int
	UnbalancedEntries []string // "jnl_…: CNY sums to 5"
	BalanceMismatches []string // account balances that differ from the sum of their lines
	MissingEntries    []string // succeeded orders/refunds without their entry, or entries of objects that are not succeeded
	// SettlementMismatches are settlement batches whose totals differ from
	// their lines, or whose entries differ from their status and net.
	SettlementMismatches []string
}

// Clean reports whether the ledger passed every check.
func (r *VerifyReport) Clean() bool {
	return len(r.UnbalancedEntries) == 0 && len(r.BalanceMismatches) == 0 && len(r.MissingEntries) == 0 &&
		len(r.SettlementMismatches) == 0
}

// ChannelAccount is the platform's account at a provider (a WeChat Pay
// merchant id, an Alipay app, a UnionPay merchant): the credentials and
// limits a connector is built from. Secrets are sealed with the master key
// (cryptobox) and only their names are ever shown.
type ChannelAccount struct {
	ID            string // cha_…
	Provider      string // wechatpay, alipay, unionpay
	Name          string
	Livemode      bool   // serves live orders (true) or test orders
	BaseURL       string // provider root: production, its sandbox, or a simulator
	Config        map[string]string
	SealedSecrets []byte   // cryptobox-sealed JSON object of the secrets
	SecretNames   []string // the secrets' names, sorted
	Methods       []string // methods it serves
	Currencies    []string // currencies it takes; empty: the provider's
	FeeBps        int      // what the channel charges the platform, basis points
	MinAmount     int64    // 0: no minimum
	MaxAmount     int64    // 0: no maximum
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Route is a merchant's routing rule for one method in one mode: which
// channel accounts may serve it and how to choose among them.
type Route struct {
	MerchantID string
	Method     string
	Livemode   bool
	Strategy   string // priority, weighted, lowest_cost, success_rate
	Candidates []RouteCandidate
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RouteCandidate is one channel account in a route, in priority order.
type RouteCandidate struct {
	ChannelAccountID string   `json:"channel_account"`
	Weight           int      `json:"weight,omitempty"`     // weighted strategy
	FeeBps           *int     `json:"fee_bps,omitempty"`    // overrides the account's fee for lowest_cost
	MinAmount        int64    `json:"min_amount,omitempty"` // narrows the account's limits
	MaxAmount        int64    `json:"max_amount,omitempty"`
	Currencies       []string `json:"currencies,omitempty"`
}

// Lease is a named piece of work held by one node until a time (see
// Store.LeaseAcquire).
type Lease struct {
	Name       string
	Holder     string
	Until      time.Time
	AcquiredAt time.Time
	DoneAt     *time.Time // when the work last finished; nil: never
}

// Tx is one write transaction's queries: business code that changes several
// things at once (a status, its ledger entries, its events, a settlement's
// rows) composes them in one Store.InTx instead of adding a Store method per
// use case. Inside InTx nothing but the database may be called: no channel,
// no HTTP, no sleeping; with SQLite the transaction is a turn of a group
// commit that other writers wait for.
type Tx interface {
	MerchantGet(ctx context.Context, id string) (*Merchant, error)
	OrderGet(ctx context.Context, id string) (*Order, error)
	// OrderTransition is Store.OrderTransition inside the transaction.
	OrderTransition(ctx context.Context, t OrderTransition) (*Order, error)
	RefundGet(ctx context.Context, id string) (*Refund, error)
	// RefundTransition is Store.RefundTransition inside the transaction.
	RefundTransition(ctx context.Context, t RefundTransition) (*Refund, error)
	// LedgerPost writes journal entries (each validated) and moves the
	// balances of their accounts. An entry without an id or a time gets one
	// (at). ErrConflict when an object already has an entry of the kind, so
	// a repeated posting fails rather than doubles.
	LedgerPost(ctx context.Context, at time.Time, entries ...ledger.Entry) error
	// EventAdd writes events and the deliveries each is owed (see Store's
	// note on inserting events).
	EventAdd(ctx context.Context, at time.Time, events ...*Event) error

	BillingTx
	RiskTx

	SettlementTx
	ReconTx

	TransferTx
	ProfitSharingTx
	FXTx
}

// Store is everything Paygate keeps. Methods return ErrNotFound, ErrConflict,
// ErrStale or ErrRefundExceeds as documented, and wrapped driver errors otherwise.
type Store interface {
	BillingStore
	RiskStore
	AccessStore

	// Migrate brings the schema up to date; it is safe to run concurrently from many nodes.
	Migrate(ctx context.Context) error
	Close() error

	// InTx runs fn in one write transaction, committed when fn returns nil
	// and rolled back otherwise (fn's error is returned).
	InTx(ctx context.Context, fn func(Tx) error) error

	// LeaseAcquire takes the lease called name for holder until until when
	// no one holds it at now (new, released, or run out) or holder already
	// does, and reports whether holder has it; nodes racing for one lease
	// never both get it. LeaseRelease gives it up at now, recording doneAt
	// when not zero; ErrStale when holder no longer holds it.
	LeaseAcquire(ctx context.Context, name, holder string, now, until time.Time) (*Lease, bool, error)
	LeaseRelease(ctx context.Context, name, holder string, now, doneAt time.Time) error
	LeaseGet(ctx context.Context, name string) (*Lease, error)

	// Settings are small named values (operator token hash, …).
	// SettingInit stores value under name unless one is there, and returns the value that is.
	SettingInit(ctx context.Context, name, value string) (string, error)
	SettingGet(ctx context.Context, name string) (string, error)

	PlatformKeyCreate(ctx context.Context, k *PlatformKey) error
	PlatformKeyList(ctx context.Context) ([]*PlatformKey, error)

	MerchantCreate(ctx context.Context, m *Merchant) error
	MerchantGet(ctx context.Context, id string) (*Merchant, error)
	MerchantList(ctx context.Context, p ListParams) ([]*Merchant, bool, error)

	// AppCreate creates the app and its first keys in one transaction.
	AppCreate(ctx context.Context, a *App, keys []*Key) error
	AppGet(ctx context.Context, id string) (*App, error)
	AppList(ctx context.Context, merchantID string, p ListParams) ([]*App, bool, error)

	KeyCreate(ctx context.Context, k *Key) error
	KeyGet(ctx context.Context, id string) (*Key, error)
	KeyGetBySecretHash(ctx context.Context, hash string) (*Key, error)
	KeyList(ctx context.Context, appID string) ([]*Key, error)
	// KeyRevoke sets RevokedAt once; revoking a revoked key is not an error.
	KeyRevoke(ctx context.Context, id string, at time.Time) (*Key, error)

	// NonceUse records a request nonce for an app until expiresAt. It returns
	// ErrConflict when the nonce is recorded and not yet expired at now.
	NonceUse(ctx context.Context, appID, nonce string, now, expiresAt time.Time) error
	NoncePurge(ctx context.Context, before time.Time) (int64, error)

	// IdempotencyBegin records r as in flight. When the key exists it returns
	// the existing record and ErrConflict. A record in flight whose LockedAt is
	// before staleBefore is taken over (LockedAt and RequestHash updated) and
	// returned with a nil error, as if new.
	IdempotencyBegin(ctx context.Context, r *IdempotencyRecord, staleBefore time.Time) (*IdempotencyRecord, error)
	IdempotencyFinish(ctx context.Context, appID, key string, status int, body []byte) error
	// IdempotencyRelease deletes an in-flight record (the request failed in a way worth retrying).
	IdempotencyRelease(ctx context.Context, appID, key string) error
	IdempotencyPurge(ctx context.Context, before time.Time) (int64, error)

	// OrderCreate inserts o; ErrConflict when (AppID, OutTradeNo) exists.
	OrderCreate(ctx context.Context, o *Order) error
	OrderGet(ctx context.Context, id string) (*Order, error)
	// OrderGetInScope returns the order if it is the scope's merchant's in
	// the scope's mode, ErrNotFound otherwise.
	OrderGetInScope(ctx context.Context, sc Scope, id string) (*Order, error)
	OrderGetByOutTradeNo(ctx context.Context, appID, outTradeNo string) (*Order, error)
	OrderList(ctx context.Context, f OrderFilter) ([]*Order, bool, error)
	// OrderTransition applies t: ErrNotFound for no such order, ErrStale when its status is not in t.From.
	OrderTransition(ctx context.Context, t OrderTransition) (*Order, error)
	// OrdersExpired lists up to limit orders in pending, processing or requires_review whose ExpiresAt is at or before now, oldest first.
	OrdersExpired(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// OrdersProcessing lists up to limit orders in processing last updated
	// before updatedBefore whose next sync (OrderSyncLater) is due at now,
	// oldest first.
	OrdersProcessing(ctx context.Context, updatedBefore, now time.Time, limit int) ([]*Order, error)
	// OrderSyncLater records that a sync of a processing order learnt nothing:
	// the order's SyncAttempts becomes attempts and it is not listed by
	// OrdersProcessing before next. ErrNotFound for no such order.
	OrderSyncLater(ctx context.Context, orderID string, attempts int, next time.Time) error

	// RefundCreate reserves r.Amount on its order and inserts r, in one
	// transaction: ErrStale when the order is not succeeded, ErrRefundExceeds
	// when AmountRefunded+r.Amount would pass the order's amount, ErrConflict
	// when (AppID, OutRefundNo) exists.
	RefundCreate(ctx context.Context, r *Refund) error
	RefundGet(ctx context.Context, id string) (*Refund, error)
	// RefundGetInScope returns the refund if it is the scope's merchant's in
	// the scope's mode, ErrNotFound otherwise.
	RefundGetInScope(ctx context.Context, sc Scope, id string) (*Refund, error)
	RefundGetByOutRefundNo(ctx context.Context, appID, outRefundNo string) (*Refund, error)
	RefundList(ctx context.Context, f RefundFilter) ([]*Refund, bool, error)
	RefundTransition(ctx context.Context, t RefundTransition) (*Refund, error)
	// RefundsPending lists up to limit pending refunds last updated before, oldest first.
	RefundsPending(ctx context.Context, updatedBefore time.Time, limit int) ([]*Refund, error)

	EventGet(ctx context.Context, id string) (*Event, error)
	// EventGetInScope returns the event if it is the scope's merchant's in
	// the scope's mode, ErrNotFound otherwise.
	EventGetInScope(ctx context.Context, sc Scope, id string) (*Event, error)
	EventList(ctx context.Context, f EventFilter) ([]*Event, bool, error)
	// Inserting an event (through OrderTransition/RefundTransition Effects)
	// also inserts, in the same transaction, a pending Delivery to the event's
	// NotifyURL when set and one to each enabled endpoint of the event's app
	// subscribed to its type, due at the event's CreatedAt.

	WebhookEndpointCreate(ctx context.Context, e *WebhookEndpoint) error
	WebhookEndpointGet(ctx context.Context, id string) (*WebhookEndpoint, error)
	// WebhookEndpointGetInScope returns the endpoint if it is the scope's
	// app's, ErrNotFound otherwise.
	WebhookEndpointGetInScope(ctx context.Context, sc Scope, id string) (*WebhookEndpoint, error)
	WebhookEndpointList(ctx context.Context, appID string, p ListParams) ([]*WebhookEndpoint, bool, error)
	// WebhookEndpointUpdate stores every mutable field of e (URL, Description,
	// EnabledEvents, Disabled, secrets, UpdatedAt) if e is the scope's app's;
	// ErrNotFound otherwise.
	WebhookEndpointUpdate(ctx context.Context, sc Scope, e *WebhookEndpoint) error
	// WebhookEndpointDelete deletes the scope's app's endpoint; its pending
	// deliveries become failed with LastError "endpoint deleted". ErrNotFound
	// when the scope's app has no such endpoint.
	WebhookEndpointDelete(ctx context.Context, sc Scope, id string, at time.Time) error

	// DeliveriesClaim leases up to limit pending deliveries due at now whose
	// lease is free or over, oldest due first, with their events. Concurrent
	// claims (other nodes) never return the same delivery while its lease
	// holds (PostgreSQL: FOR UPDATE SKIP LOCKED).
	DeliveriesClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// DeliveryRecord stores an attempt and its outcome in one transaction and
	// frees the lease: ErrStale when r.LeaseToken no longer holds the delivery.
	DeliveryRecord(ctx context.Context, r DeliveryResult) error
	// DeliveryList returns an event's deliveries; DeliveryAttempts its attempts, oldest first.
	DeliveryList(ctx context.Context, eventID string) ([]*Delivery, error)
	DeliveryAttempts(ctx context.Context, eventID string) ([]*DeliveryAttempt, error)
	// EventRedeliver makes every delivery of the scope's event pending again,
	// due at now, with Attempts 0 (the attempt history stays). It returns
	// how many; ErrNotFound when the scope has no such event.
	EventRedeliver(ctx context.Context, sc Scope, eventID string, now time.Time) (int, error)
	// DeliveriesPending counts pending deliveries (for metrics and benchmarks).
	DeliveriesPending(ctx context.Context) (int, error)

	// ChannelAccountCreate inserts a; ErrConflict when its ID exists.
	ChannelAccountCreate(ctx context.Context, a *ChannelAccount) error
	ChannelAccountGet(ctx context.Context, id string) (*ChannelAccount, error)
	// ChannelAccountList lists accounts, newest first; provider "" means all.
	ChannelAccountList(ctx context.Context, provider string, p ListParams) ([]*ChannelAccount, bool, error)
	// ChannelAccountUpdate stores every mutable field of a (Name, BaseURL,
	// Config, SealedSecrets, SecretNames, Methods, Currencies, FeeBps,
	// MinAmount, MaxAmount, Disabled, UpdatedAt); ErrNotFound for no such account.
	ChannelAccountUpdate(ctx context.Context, a *ChannelAccount) error

	// RoutePut creates or replaces the merchant's route for (r.Method, r.Livemode).
	RoutePut(ctx context.Context, r *Route) error
	// RouteGet returns the merchant's route for method in the mode, or ErrNotFound.
	RouteGet(ctx context.Context, merchantID, method string, livemode bool) (*Route, error)
	// RouteList returns every route of the merchant, by method then mode.
	RouteList(ctx context.Context, merchantID string) ([]*Route, error)
	// RouteDelete deletes a route; ErrNotFound when there is none.
	RouteDelete(ctx context.Context, merchantID, method string, livemode bool) error

	// Balances sums the balances of every account whose name starts with prefix.
	Balances(ctx context.Context, accountPrefix string) ([]ledger.Balance, error)
	// LedgerEntries returns the entries that reference refID, oldest first.
	LedgerEntries(ctx context.Context, refID string) ([]ledger.Entry, error)
	LedgerVerify(ctx context.Context) (*VerifyReport, error)

	SettlementStore
	ReconStore

	TransferStore
	ProfitSharingStore
	FXStore

	ConsoleStore

	SealedStore
}
