package store

import (
	"context"
	"encoding/json"
	"time"
)

// Recurring payments (internal/billing): customers, saved payment methods,
// agreements, products, prices, subscriptions, invoices and test clocks.
//
// Objects that change carry a Version: an update stores the whole object
// only if its row still has the Version it was read with (compare-and-set),
// bumps it, and reports ErrStale otherwise, so two nodes racing to renew a
// subscription or settle an invoice cannot both win.

// AgreementStatus is an agreement's place in pending → active → terminated.
type AgreementStatus string

// Agreement statuses.
const (
	AgreementPending    AgreementStatus = "pending"
	AgreementActive     AgreementStatus = "active"
	AgreementTerminated AgreementStatus = "terminated"
)

// SubscriptionStatus is a subscription's status.
type SubscriptionStatus string

// Subscription statuses.
const (
	SubscriptionTrialing SubscriptionStatus = "trialing"
	SubscriptionActive   SubscriptionStatus = "active"
	SubscriptionPastDue  SubscriptionStatus = "past_due"
	SubscriptionCanceled SubscriptionStatus = "canceled"
	SubscriptionUnpaid   SubscriptionStatus = "unpaid"
)

// InvoiceStatus is an invoice's place in draft → open → paid | uncollectible | void.
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceDraft         InvoiceStatus = "draft"
	InvoiceOpen          InvoiceStatus = "open"
	InvoicePaid          InvoiceStatus = "paid"
	InvoiceUncollectible InvoiceStatus = "uncollectible"
	InvoiceVoid          InvoiceStatus = "void"
)

// TestClock is a test-mode clock a merchant moves by hand; customers
// attached to it live on its time.
type TestClock struct {
	ID         string // clk_…
	MerchantID string
	Livemode   bool // always false
	Name       string
	FrozenTime time.Time
	Status     string // ready or advancing
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int
}

// Customer is a merchant's payer, to whom payment methods, agreements and
// subscriptions belong.
type Customer struct {
	ID          string // cus_…
	MerchantID  string
	Livemode    bool
	Name        string
	Email       string
	Description string
	Metadata    map[string]string
	TestClockID string // "" on real time
	CreatedAt   time.Time
}

// PaymentMethod is a saved card: the channel's token and what may be shown.
type PaymentMethod struct {
	ID               string // pm_…
	MerchantID       string
	Livemode         bool
	CustomerID       string
	Type             string // card
	ChannelAccountID string // the account whose channel issued Token
	Token            string // the channel's token for the card; never the number
	Brand            string
	Last4            string
	ExpMonth         int
	ExpYear          int
	Fingerprint      string // keyed HMAC of the card number
	Status           string // active or detached
	CreatedAt        time.Time
	DetachedAt       *time.Time
}

// Agreement is a payer's signed consent that the merchant may charge them
// without them present, within a plan (免密支付 / 委托代扣 / 周期扣款).
type Agreement struct {
	ID                 string // agr_…
	MerchantID         string
	AppID              string
	Livemode           bool
	CustomerID         string
	Method             string // wechat.papay, alipay.withholding, card.agreement
	Channel            string
	ChannelAccountID   string
	ChannelAgreementNo string // the channel's contract_id / agreement_no; "" until signed
	Status             AgreementStatus
	Description        string
	MaxAmountPerCharge int64
	Currency           string
	Period             string // day, week, month, year
	Payer              Payer
	ChannelPayerID     string // the payer's id at the channel, learnt when signed
	ReturnURL          string
	NotifyURL          string
	NextAction         json.RawMessage
	TerminatedBy       string // payer, merchant, channel
	FailureCode        string // why signing failed (refused by the payer)
	Metadata           map[string]string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	ActivatedAt        *time.Time
	TerminatedAt       *time.Time
	Version            int
}

// Product is something a merchant sells by subscription.
type Product struct {
	ID          string // prod_…
	MerchantID  string
	Livemode    bool
	Name        string
	Description string
	Active      bool
	Metadata    map[string]string
	CreatedAt   time.Time
}

// Price is what a product costs per interval.
type Price struct {
	ID            string // price_…
	MerchantID    string
	Livemode      bool
	ProductID     string
	Amount        int64
	Currency      string
	Interval      string // day, week, month, year
	IntervalCount int
	TrialDays     int
	Active        bool
	Metadata      map[string]string
	CreatedAt     time.Time
}

// InvoiceLine is one line of an invoice (or one pending proration of a
// subscription, waiting for its next invoice).
type InvoiceLine struct {
	Description string    `json:"description"`
	Amount      int64     `json:"amount"` // minor units; negative for a credit
	Quantity    int64     `json:"quantity"`
	PriceID     string    `json:"price_id,omitempty"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Proration   bool      `json:"proration"`
}

// Subscription charges a customer for a price every period, through an
// agreement or a saved payment method.
type Subscription struct {
	ID                 string // sub_…
	MerchantID         string
	AppID              string
	Livemode           bool
	CustomerID         string
	PriceID            string
	Quantity           int64
	Status             SubscriptionStatus
	AgreementID        string // one of AgreementID and PaymentMethodID
	PaymentMethodID    string
	TestClockID        string
	BillingCycleAnchor time.Time // periods end at the anchor plus whole intervals
	PeriodIndex        int       // the current period is the anchor's PeriodIndex-th
	CurrentPeriodStart time.Time
	CurrentPeriodEnd   time.Time
	TrialEnd           *time.Time
	// RenewsAt is when the worker next has work: the trial's or the
	// period's end; nil when nothing is due.
	RenewsAt          *time.Time
	CancelAtPeriodEnd bool
	CanceledAt        *time.Time
	EndedAt           *time.Time
	AfterDunning      string // cancel or unpaid
	PendingItems      []InvoiceLine
	NotifyURL         string
	Metadata          map[string]string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int
}

// Invoice is what a subscription owes for a period (or for a change), and
// the attempts to collect it.
type Invoice struct {
	ID             string // inv_…
	MerchantID     string
	AppID          string
	Livemode       bool
	SubscriptionID string
	CustomerID     string
	Status         InvoiceStatus
	Currency       string
	AmountDue      int64
	AmountPaid     int64
	Lines          []InvoiceLine
	BillingReason  string // subscription_create, subscription_cycle, subscription_update
	PeriodStart    time.Time
	PeriodEnd      time.Time
	TestClockID    string
	AttemptCount   int
	// NextAttemptAt is when the worker next looks at the invoice (a charge
	// to make, or one in flight to check); nil when it is settled.
	NextAttemptAt   *time.Time
	OrderID         string // the order of the latest attempt
	LastFailureCode string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	FinalizedAt     *time.Time
	PaidAt          *time.Time
	Version         int
}

// SubscriptionFilter narrows a subscription list.
type SubscriptionFilter struct {
	CustomerID string
	Status     SubscriptionStatus
	ListParams
}

// InvoiceFilter narrows an invoice list.
type InvoiceFilter struct {
	SubscriptionID string
	CustomerID     string
	Status         InvoiceStatus
	ListParams
}

// BillingStore keeps recurring payments. Merchant-facing reads filter by
// Scope in SQL (merchant and mode); lists are newest first.
type BillingStore interface {
	TestClockCreate(ctx context.Context, c *TestClock) error
	TestClockGet(ctx context.Context, id string) (*TestClock, error)
	TestClockGetInScope(ctx context.Context, sc Scope, id string) (*TestClock, error)
	TestClockList(ctx context.Context, sc Scope, p ListParams) ([]*TestClock, bool, error)
	// TestClocksAdvancing lists clocks left advancing (an advance that did
	// not finish), for the worker to finish.
	TestClocksAdvancing(ctx context.Context, limit int) ([]*TestClock, error)

	CustomerCreate(ctx context.Context, c *Customer) error
	CustomerGet(ctx context.Context, id string) (*Customer, error)
	CustomerGetInScope(ctx context.Context, sc Scope, id string) (*Customer, error)
	CustomerList(ctx context.Context, sc Scope, p ListParams) ([]*Customer, bool, error)

	PaymentMethodCreate(ctx context.Context, pm *PaymentMethod) error
	PaymentMethodGet(ctx context.Context, id string) (*PaymentMethod, error)
	PaymentMethodGetInScope(ctx context.Context, sc Scope, id string) (*PaymentMethod, error)
	// PaymentMethodList lists the scope's payment methods, of one customer
	// when customerID is not "", detached ones included.
	PaymentMethodList(ctx context.Context, sc Scope, customerID string, p ListParams) ([]*PaymentMethod, bool, error)
	// PaymentMethodDetach marks the scope's payment method detached (once;
	// detaching again returns it as it is); ErrNotFound otherwise.
	PaymentMethodDetach(ctx context.Context, sc Scope, id string, at time.Time) (*PaymentMethod, error)

	AgreementCreate(ctx context.Context, a *Agreement) error
	AgreementGet(ctx context.Context, id string) (*Agreement, error)
	AgreementGetInScope(ctx context.Context, sc Scope, id string) (*Agreement, error)
	AgreementList(ctx context.Context, sc Scope, p ListParams) ([]*Agreement, bool, error)
	// AgreementsPending lists up to limit pending agreements last updated
	// in [updatedAfter, updatedBefore), oldest first (for the worker to ask
	// their channel).
	AgreementsPending(ctx context.Context, updatedAfter, updatedBefore time.Time, limit int) ([]*Agreement, error)

	ProductCreate(ctx context.Context, p *Product) error
	ProductGetInScope(ctx context.Context, sc Scope, id string) (*Product, error)
	ProductList(ctx context.Context, sc Scope, p ListParams) ([]*Product, bool, error)

	PriceCreate(ctx context.Context, p *Price) error
	PriceGet(ctx context.Context, id string) (*Price, error)
	PriceGetInScope(ctx context.Context, sc Scope, id string) (*Price, error)
	// PriceList lists the scope's prices, of one product when productID is not "".
	PriceList(ctx context.Context, sc Scope, productID string, p ListParams) ([]*Price, bool, error)

	SubscriptionGet(ctx context.Context, id string) (*Subscription, error)
	SubscriptionGetInScope(ctx context.Context, sc Scope, id string) (*Subscription, error)
	SubscriptionList(ctx context.Context, sc Scope, f SubscriptionFilter) ([]*Subscription, bool, error)
	// SubscriptionsDue lists up to limit subscriptions on clockID ("" for
	// real time) whose RenewsAt is at or before now, soonest first.
	SubscriptionsDue(ctx context.Context, clockID string, now time.Time, limit int) ([]*Subscription, error)

	InvoiceGet(ctx context.Context, id string) (*Invoice, error)
	InvoiceGetInScope(ctx context.Context, sc Scope, id string) (*Invoice, error)
	InvoiceList(ctx context.Context, sc Scope, f InvoiceFilter) ([]*Invoice, bool, error)
	// InvoiceByOrder returns the invoice whose latest attempt is orderID.
	InvoiceByOrder(ctx context.Context, orderID string) (*Invoice, error)
	// InvoicesDue lists up to limit draft or open invoices on clockID whose
	// NextAttemptAt is at or before now, soonest first.
	InvoicesDue(ctx context.Context, clockID string, now time.Time, limit int) ([]*Invoice, error)
	// InvoiceClaim leases the invoice to holder until until when no other
	// holder's lease runs at now, and reports whether holder has it; two
	// nodes racing for it never both get it. InvoiceRelease gives it up
	// (ErrStale when holder no longer holds it). Claims leave Version alone.
	InvoiceClaim(ctx context.Context, id, holder string, now, until time.Time) (bool, error)
	// InvoicesAwaitingSettledOrders lists up to limit open invoices waiting
	// for their attempt's order (NextAttemptAt nil) whose order has
	// succeeded, failed or closed: what billing missed when a crash came
	// between the order's change and the invoice's.
	InvoicesAwaitingSettledOrders(ctx context.Context, limit int) ([]*Invoice, error)
	InvoiceRelease(ctx context.Context, id, holder string) error
}

// BillingTx are the recurring payments' writes inside Store.InTx. Updates
// are compare-and-set on Version: they store every mutable field when the
// row still has the object's Version, increment it, and return ErrStale
// (or ErrNotFound) otherwise.
type BillingTx interface {
	TestClockGet(ctx context.Context, id string) (*TestClock, error)
	TestClockUpdate(ctx context.Context, c *TestClock) error
	AgreementGet(ctx context.Context, id string) (*Agreement, error)
	AgreementUpdate(ctx context.Context, a *Agreement) error
	SubscriptionCreate(ctx context.Context, s *Subscription) error
	SubscriptionGet(ctx context.Context, id string) (*Subscription, error)
	SubscriptionUpdate(ctx context.Context, s *Subscription) error
	InvoiceCreate(ctx context.Context, inv *Invoice) error
	InvoiceGet(ctx context.Context, id string) (*Invoice, error)
	InvoiceUpdate(ctx context.Context, inv *Invoice) error
}
