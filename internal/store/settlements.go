package store

import (
	"context"
	"time"
)

// Settlement statuses.
const (
	// SettlementPending: settled into the merchant's available balance,
	// awaiting payout.
	SettlementPending = "pending"
	// SettlementInTransit: the payout started (available → payout), not yet
	// confirmed by the bank.
	SettlementInTransit = "in_transit"
	// SettlementPaid: the bank confirmed the payout.
	SettlementPaid = "paid"
	// SettlementCarriedForward: the batch nets zero or less, so nothing is
	// paid; a negative net becomes a line of the merchant's next batch.
	SettlementCarriedForward = "carried_forward"
)

// Settlement line kinds.
const (
	LinePayment        = "payment"         // a succeeded, reconciled payment (RefID ord_…)
	LineRefund         = "refund"          // a succeeded, reconciled refund (RefID rfd_…)
	LineCarryForward   = "carry_forward"   // the negative net of an earlier batch (RefID its stl_…)
	LineReserveHold    = "reserve_hold"    // the rolling reserve this batch holds (RefID the batch itself)
	LineReserveRelease = "reserve_release" // an earlier batch's reserve released (RefID that stl_…)
)

// Settlement is one batch: a merchant's reconciled transactions in one mode
// and currency up to the end of one of its days (Day, in Timezone), settled
// on SettleDate. Net = Gross − Refunds − Fees + Adjustments − ReserveHeld +
// ReserveReleased, and equals the sum of its lines' Net.
type Settlement struct {
	ID         string // stl_…
	MerchantID string
	Livemode   bool
	Currency   string
	Day        string // YYYY-MM-DD, the merchant's day the batch closes
	SettleDate string // YYYY-MM-DD, Day + the merchant's settle_days
	Timezone   string
	Cutoff     time.Time // the end of Day in Timezone
	Status     string

	Gross           int64 // payments
	Refunds         int64 // refunds, as a positive amount
	Fees            int64 // the platform's fees, less fees returned with refunds
	Adjustments     int64 // negative nets carried forward from earlier batches
	ReserveHeld     int64
	ReserveReleased int64
	Net             int64
	ChannelFees     int64 // what the channels kept (the operator's view)
	PaymentCount    int
	RefundCount     int
	// Waiting is what did not settle because it is not reconciled yet.
	Waiting SettlementWaiting

	ReserveReleaseDate string // YYYY-MM-DD when ReserveHeld is released; "" when nothing is held
	ReserveReleasedBy  string // the batch that released it, "" until then
	CarriedTo          string // the batch that took a negative Net, "" until then
	BankReference      string
	PayoutStartedAt    *time.Time
	PaidAt             *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// FX is the conversion of a batch in another currency than the
	// merchant's settlement currency, nil when it was not converted: its
	// Net reached the available balance as FX.Net of FX.Currency, and its
	// payout is in that currency.
	FX *SettlementFX
}

// SettlementFX is a batch's conversion at the day's rate: Net of Currency
// at the mid Rate (the rate RateID) less the platform's Markup.
type SettlementFX struct {
	Currency string
	Net      int64
	Rate     string
	RateID   string
	Markup   int64
}

// PayoutIn is what a batch pays out: its FX net when it was converted,
// its Net in its currency otherwise.
func (s *Settlement) PayoutIn() (int64, string) {
	if s.FX != nil {
		return s.FX.Net, s.FX.Currency
	}
	return s.Net, s.Currency
}

// Tally is a count and a sum of amounts.
type Tally struct {
	Count  int
	Amount int64
}

// SettlementWaiting is what waits for a later batch: succeeded payments and
// refunds of the batch's window that are not reconciled yet. Refunds'
// Amount is positive.
type SettlementWaiting struct {
	Payments Tally
	Refunds  Tally
	// Since is when the oldest of them happened (zero when none waits);
	// Recent counts those that happened on the batch's own day.
	Since  time.Time
	Recent int
}

// SettlementLine is one line of a batch. Amount, Fee and Net are signed as
// they move the merchant's money: a refund's Amount is negative and its Fee
// is the fee returned, negated; Net = Amount − Fee.
type SettlementLine struct {
	Kind         string
	RefID        string
	SettlementID string
	Currency     string
	Amount       int64
	Fee          int64
	Net          int64
	ChannelFee   int64
	OccurredAt   time.Time
	// OutNo is the merchant's out_trade_no or out_refund_no, filled where a
	// read says so (statements).
	OutNo string
}

// SettlementSettings are a merchant's settlement terms and fee schedule.
type SettlementSettings struct {
	MerchantID  string
	SettleDays  int   // N of T+N
	ReserveBps  int   // the rolling reserve, basis points of a batch's positive net
	ReserveDays int   // how long a reserve is held after the batch's settle date
	FixedFee    int64 // per payment, in minor units of the merchant's settlement currency
	MethodFees  []MethodFee
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MethodFee is a merchant's fee for one payment method.
type MethodFee struct {
	Method     string `json:"method"`
	FeeRateBps int    `json:"fee_rate_bps"`
	FixedFee   int64  `json:"fixed_fee"`
}

// SettlementCursor is how far a merchant's settlement has come in one
// mode: LastDay is the last day settled, and every transaction that
// happened before ScanFrom is settled.
type SettlementCursor struct {
	MerchantID string
	Livemode   bool
	LastDay    string
	ScanFrom   time.Time
	UpdatedAt  time.Time
}

// SettlementWindow selects a merchant's succeeded payments and refunds in
// one mode that happened in [From, Until); Currency, when set, narrows it.
type SettlementWindow struct {
	MerchantID string
	Livemode   bool
	Currency   string
	From       time.Time
	Until      time.Time
	// Recent is the start of the batch's own day, for SettlementWaiting.Recent.
	Recent time.Time
	// PendingAccount is the merchant's pending account in the mode, whose
	// line in a transaction's entry is the transaction's net.
	PendingAccount string
}

// SettlementFilter selects settlements for a list. Empty fields do not filter.
type SettlementFilter struct {
	MerchantID string
	Livemode   *bool
	Status     string
	Currency   string
	Day        string
	ListParams
}

// SettlementSum is what a batch's lines of one kind sum to.
type SettlementSum struct {
	Kind       string
	Count      int
	Amount     int64
	Fee        int64
	Net        int64
	ChannelFee int64
}

// SettlementTransition is a compare-and-set change of a settlement's
// status (a payout starting or confirmed).
type SettlementTransition struct {
	SettlementID  string
	From          []string
	To            string
	At            time.Time
	BankReference string // stored when set
}

// StatementTrade is one payment of a statement: a succeeded order with the
// fee the platform took and the batch that settled it ("" while it waits).
type StatementTrade struct {
	OrderID        string
	OutTradeNo     string
	AppID          string
	Method         string
	Channel        string
	Currency       string
	Amount         int64
	Net            int64
	AmountRefunded int64
	PaidAt         time.Time
	SettlementID   string
	// Currency and Amount are what the trade credits the merchant; an
	// order paid at an FX quote was paid PresentmentAmount of
	// PresentmentCurrency (its own amount) at FXRate, the quote's mid rate;
	// the four are empty (0) for other orders.
	PresentmentCurrency string
	PresentmentAmount   int64
	FXQuote             string
	FXRate              string
}

// StatementRefund is one refund of a statement.
type StatementRefund struct {
	RefundID     string
	OutRefundNo  string
	OrderID      string
	AppID        string
	Currency     string
	Amount       int64 // positive
	Net          int64 // what it took from the merchant's pending balance (negative)
	SucceededAt  time.Time
	SettlementID string
}

// StatementQuery selects one mode of a merchant's transactions that
// happened in [From, Until).
type StatementQuery struct {
	MerchantID     string
	Livemode       bool
	From, Until    time.Time
	PendingAccount string // as SettlementWindow's
}

// SettlementStore keeps settlement batches, their lines, merchants'
// settlement settings and the runs' cursors. Writes that belong to a batch
// are Tx methods (see Tx), composed by internal/settlement in one InTx.
type SettlementStore interface {
	// SettlementSettingsGet returns a merchant's settings; ErrNotFound when
	// it has none (it has the defaults).
	SettlementSettingsGet(ctx context.Context, merchantID string) (*SettlementSettings, error)
	// SettlementSettingsPut creates or replaces a merchant's settings.
	SettlementSettingsPut(ctx context.Context, s *SettlementSettings) error

	SettlementGet(ctx context.Context, id string) (*Settlement, error)
	// SettlementGetInScope returns the settlement if it is the scope's
	// merchant's in the scope's mode, ErrNotFound otherwise.
	SettlementGetInScope(ctx context.Context, sc Scope, id string) (*Settlement, error)
	// SettlementList pages through settlements, newest first.
	SettlementList(ctx context.Context, f SettlementFilter) ([]*Settlement, bool, error)
	// SettlementLines pages through a batch's lines in time order (then
	// kind and reference): afterRef is the RefID of the last line of the
	// previous page, or "" for the first page. Limit is 1..100 (default 20).
	SettlementLines(ctx context.Context, settlementID, afterRef string, limit int) ([]*SettlementLine, bool, error)
	// SettlementLinesEach calls fn with every line of a batch in time order
	// (as SettlementLines), from a database cursor: nothing is held in
	// memory but the current line. OutNo is filled. It stops at fn's first
	// error and returns it.
	SettlementLinesEach(ctx context.Context, settlementID string, fn func(*SettlementLine) error) error

	// SettlementCurrencies lists the currencies in which a merchant has
	// something to settle in one mode: succeeded payments or refunds in
	// the window that are not settled, a negative net not yet carried
	// forward, or a reserve due for release by settleDate.
	SettlementCurrencies(ctx context.Context, w SettlementWindow, settleDate string) ([]string, error)
	// SettlementUnsettledSince returns when the oldest succeeded payment or
	// refund of the window that is not settled happened; ErrNotFound when
	// every one is settled.
	SettlementUnsettledSince(ctx context.Context, w SettlementWindow) (time.Time, error)
	SettlementCursorGet(ctx context.Context, merchantID string, livemode bool) (*SettlementCursor, error)
	// SettlementCursorPut creates or replaces the cursor.
	SettlementCursorPut(ctx context.Context, c *SettlementCursor) error

	// StatementTrades calls fn with every succeeded payment of the query's
	// window, oldest first, from a database cursor; StatementRefunds with
	// every succeeded refund. They stop at fn's first error and return it.
	StatementTrades(ctx context.Context, q StatementQuery, fn func(*StatementTrade) error) error
	StatementRefunds(ctx context.Context, q StatementQuery, fn func(*StatementRefund) error) error
}

// SettlementTx is what a settlement batch writes in one transaction
// (embedded in Tx).
type SettlementTx interface {
	// SettlementCreate inserts a batch; ErrConflict when the merchant
	// already has one for (Livemode, Currency, Day).
	SettlementCreate(ctx context.Context, s *Settlement) error
	// SettlementGet reads a settlement inside the transaction.
	SettlementGet(ctx context.Context, id string) (*Settlement, error)
	// SettlementCollect adds to the batch a line for every succeeded
	// payment and refund of the window (its Currency set) that is
	// reconciled (has a row in reconciled) and not settled yet, with the
	// fee and net of its ledger entry and the channel's fee from
	// reconciliation. It returns how many lines it added.
	SettlementCollect(ctx context.Context, settlementID string, w SettlementWindow) (int, error)
	// SettlementWaiting tallies the succeeded payments and refunds of the
	// window (its Currency set) that are not reconciled yet.
	SettlementWaiting(ctx context.Context, w SettlementWindow) (SettlementWaiting, error)
	// SettlementsOpen lists the merchant's earlier batches in one mode and
	// currency with a negative net not yet carried forward or a reserve due
	// for release by settleDate and not yet released, oldest first.
	SettlementsOpen(ctx context.Context, merchantID string, livemode bool, currency, settleDate string) ([]*Settlement, error)
	// SettlementLineAdd adds lines; ErrConflict when one of them (Kind,
	// RefID) exists.
	SettlementLineAdd(ctx context.Context, lines ...*SettlementLine) error
	// SettlementSums sums a batch's lines by kind.
	SettlementSums(ctx context.Context, settlementID string) ([]SettlementSum, error)
	// SettlementFinalize stores the totals, waiting tallies, status and
	// reserve release date of a batch created in this transaction.
	SettlementFinalize(ctx context.Context, s *Settlement) error
	// SettlementCarried records that batch to took id's negative net;
	// SettlementReserveReleased that batch by released id's reserve.
	// ErrStale when it is already recorded.
	SettlementCarried(ctx context.Context, id, to string, at time.Time) error
	SettlementReserveReleased(ctx context.Context, id, by string, at time.Time) error
	// SettlementTransition applies t and returns the settlement after:
	// ErrNotFound for no such settlement, ErrStale when its status is not
	// in t.From.
	SettlementTransition(ctx context.Context, t SettlementTransition) (*Settlement, error)
}
