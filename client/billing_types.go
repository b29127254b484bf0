package client

import "time"

// Recurring payments: customers, saved payment methods, agreements,
// products, prices, subscriptions, invoices and test clocks.

// Customer is a merchant's payer.
type Customer struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"` // "customer"
	Name        string            `json:"name"`
	Email       string            `json:"email"`
	Description string            `json:"description"`
	TestClock   *string           `json:"test_clock"` // clk_…, or null on real time
	Metadata    map[string]string `json:"metadata"`
	Livemode    bool              `json:"livemode"`
	CreatedAt   time.Time         `json:"created_at"`
}

// CreateCustomerParams are the parameters of POST /v1/customers.
type CreateCustomerParams struct {
	Name        string            `json:"name,omitempty"`
	Email       string            `json:"email,omitempty"`
	Description string            `json:"description,omitempty"`
	TestClock   string            `json:"test_clock,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// PaymentMethod is a saved card: what may be shown of it, never its number.
type PaymentMethod struct {
	ID         string     `json:"id"`
	Object     string     `json:"object"` // "payment_method"
	Customer   string     `json:"customer"`
	Type       string     `json:"type"` // card
	Card       *SavedCard `json:"card"`
	Status     string     `json:"status"` // active, detached
	Livemode   bool       `json:"livemode"`
	CreatedAt  time.Time  `json:"created_at"`
	DetachedAt *time.Time `json:"detached_at"`
}

// SavedCard describes a saved card.
type SavedCard struct {
	Brand       string `json:"brand"`
	Last4       string `json:"last4"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	Fingerprint string `json:"fingerprint"` // the same card saved twice has the same fingerprint
}

// Agreement is a payer's signed consent to be charged without being there
// (免密支付 / 委托代扣 / 周期扣款).
type Agreement struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"` // "agreement"
	AppID              string            `json:"app_id"`
	Customer           *string           `json:"customer"`
	Method             string            `json:"method"`
	Channel            string            `json:"channel"`
	ChannelAccount     string            `json:"channel_account"`
	ChannelAgreementNo string            `json:"channel_agreement_no"`
	Status             string            `json:"status"` // pending, active, terminated
	Plan               AgreementPlan     `json:"plan"`
	Payer              *Payer            `json:"payer,omitempty"`
	NextAction         *NextAction       `json:"next_action"`
	TerminatedBy       *string           `json:"terminated_by"` // payer, merchant, channel
	FailureCode        *string           `json:"failure_code"`
	ReturnURL          string            `json:"return_url,omitempty"`
	NotifyURL          string            `json:"notify_url,omitempty"`
	Metadata           map[string]string `json:"metadata"`
	Livemode           bool              `json:"livemode"`
	CreatedAt          time.Time         `json:"created_at"`
	ActivatedAt        *time.Time        `json:"activated_at"`
	TerminatedAt       *time.Time        `json:"terminated_at"`
}

// AgreementPlan is what the payer agrees to.
type AgreementPlan struct {
	Description        string `json:"description"`
	MaxAmountPerCharge int64  `json:"max_amount_per_charge"`
	Currency           string `json:"currency"`
	Period             string `json:"period"` // day, week, month, year
}

// CreateAgreementParams are the parameters of POST /v1/agreements.
type CreateAgreementParams struct {
	Method    string            `json:"method"`
	Customer  string            `json:"customer,omitempty"`
	Payer     *Payer            `json:"payer,omitempty"`
	Plan      AgreementPlan     `json:"plan"`
	ReturnURL string            `json:"return_url,omitempty"`
	NotifyURL string            `json:"notify_url,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Product is something sold by subscription.
type Product struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"` // "product"
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Active      bool              `json:"active"`
	Metadata    map[string]string `json:"metadata"`
	Livemode    bool              `json:"livemode"`
	CreatedAt   time.Time         `json:"created_at"`
}

// CreateProductParams are the parameters of POST /v1/products.
type CreateProductParams struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Price is what a product costs each interval.
type Price struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"` // "price"
	Product       string            `json:"product"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Interval      string            `json:"interval"` // day, week, month, year
	IntervalCount int               `json:"interval_count"`
	TrialDays     int               `json:"trial_days"`
	Active        bool              `json:"active"`
	Metadata      map[string]string `json:"metadata"`
	Livemode      bool              `json:"livemode"`
	CreatedAt     time.Time         `json:"created_at"`
}

// CreatePriceParams are the parameters of POST /v1/prices.
type CreatePriceParams struct {
	Product       string            `json:"product"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Interval      string            `json:"interval"`
	IntervalCount int               `json:"interval_count,omitempty"`
	TrialDays     int               `json:"trial_days,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// InvoiceLine is one line of an invoice, or a proration waiting for the
// next one.
type InvoiceLine struct {
	Description string    `json:"description"`
	Amount      int64     `json:"amount"` // negative for a credit
	Quantity    int64     `json:"quantity"`
	Price       *string   `json:"price"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Proration   bool      `json:"proration"`
}

// Subscription charges a customer for a price every period.
type Subscription struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"` // "subscription"
	AppID              string            `json:"app_id"`
	Customer           string            `json:"customer"`
	Price              string            `json:"price"`
	Quantity           int64             `json:"quantity"`
	Status             string            `json:"status"` // trialing, active, past_due, canceled, unpaid
	Agreement          *string           `json:"agreement"`
	PaymentMethod      *string           `json:"payment_method"`
	TestClock          *string           `json:"test_clock"`
	BillingCycleAnchor time.Time         `json:"billing_cycle_anchor"`
	CurrentPeriodStart time.Time         `json:"current_period_start"`
	CurrentPeriodEnd   time.Time         `json:"current_period_end"`
	TrialEnd           *time.Time        `json:"trial_end"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CanceledAt         *time.Time        `json:"canceled_at"`
	EndedAt            *time.Time        `json:"ended_at"`
	AfterDunning       string            `json:"after_dunning"` // cancel or unpaid
	PendingItems       []InvoiceLine     `json:"pending_items"`
	NotifyURL          string            `json:"notify_url,omitempty"`
	Metadata           map[string]string `json:"metadata"`
	Livemode           bool              `json:"livemode"`
	CreatedAt          time.Time         `json:"created_at"`
}

// CreateSubscriptionParams are the parameters of POST /v1/subscriptions.
// Give Agreement or PaymentMethod.
type CreateSubscriptionParams struct {
	Customer      string            `json:"customer"`
	Price         string            `json:"price"`
	Quantity      int64             `json:"quantity,omitempty"`
	Agreement     string            `json:"agreement,omitempty"`
	PaymentMethod string            `json:"payment_method,omitempty"`
	AfterDunning  string            `json:"after_dunning,omitempty"`
	NotifyURL     string            `json:"notify_url,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// UpdateSubscriptionParams are the parameters of POST /v1/subscriptions/{id}.
// ProrationBehavior is create_prorations (on the next invoice, the
// default), always_invoice (invoiced and charged at once) or none.
type UpdateSubscriptionParams struct {
	Price             string            `json:"price,omitempty"`
	Quantity          int64             `json:"quantity,omitempty"`
	ProrationBehavior string            `json:"proration_behavior,omitempty"`
	CancelAtPeriodEnd *bool             `json:"cancel_at_period_end,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
}

// CancelSubscriptionParams are the parameters of POST /v1/subscriptions/{id}/cancel.
type CancelSubscriptionParams struct {
	AtPeriodEnd bool `json:"at_period_end"`
}

// Invoice is what a subscription owes for a period or a change.
type Invoice struct {
	ID              string        `json:"id"`
	Object          string        `json:"object"` // "invoice"
	AppID           string        `json:"app_id"`
	Subscription    string        `json:"subscription"`
	Customer        string        `json:"customer"`
	Status          string        `json:"status"` // draft, open, paid, uncollectible, void
	Currency        string        `json:"currency"`
	AmountDue       int64         `json:"amount_due"`
	AmountPaid      int64         `json:"amount_paid"`
	Lines           []InvoiceLine `json:"lines"`
	BillingReason   string        `json:"billing_reason"`
	PeriodStart     time.Time     `json:"period_start"`
	PeriodEnd       time.Time     `json:"period_end"`
	AttemptCount    int           `json:"attempt_count"`
	NextAttemptAt   *time.Time    `json:"next_attempt_at"`
	Order           *string       `json:"order"`
	LastFailureCode *string       `json:"last_failure_code"`
	Livemode        bool          `json:"livemode"`
	CreatedAt       time.Time     `json:"created_at"`
	FinalizedAt     *time.Time    `json:"finalized_at"`
	PaidAt          *time.Time    `json:"paid_at"`
}

// TestClock is a test-mode clock moved by hand.
type TestClock struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"` // "test_clock"
	Name       string    `json:"name"`
	FrozenTime time.Time `json:"frozen_time"`
	Status     string    `json:"status"` // ready, advancing
	Livemode   bool      `json:"livemode"`
	CreatedAt  time.Time `json:"created_at"`
}

// CreateTestClockParams are the parameters of POST /v1/test/clocks.
type CreateTestClockParams struct {
	Name       string     `json:"name,omitempty"`
	FrozenTime *time.Time `json:"frozen_time,omitempty"`
}
