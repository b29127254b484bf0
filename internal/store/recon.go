package store

import (
	"context"
	"time"
)

// Reconciliation run statuses and phases.
const (
	ReconRunning   = "running"
	ReconCompleted = "completed"
	ReconFailed    = "failed"

	PhaseMatch  = "match"  // streaming the bill, a chunk of lines per transaction
	PhaseRepair = "repair" // asking the channel about what it can prove
	PhaseSweep  = "sweep"  // finding what the gateway has and the bill does not
	PhaseDone   = "done"
)

// Discrepancy statuses.
const (
	DiscrepancyOpen     = "open"
	DiscrepancyRepaired = "repaired" // the run proved it with the channel and fixed it
	DiscrepancyResolved = "resolved" // a person resolved it
)

// ReconTally is what one class of lines adds up to: how many, the bill's
// signed amounts (refunds negative) and the channel's fees.
type ReconTally struct {
	Count  int   `json:"count"`
	Amount int64 `json:"amount"`
	Fee    int64 `json:"fee"`
}

// ReconRun is a reconciliation of one channel account's bill of one day.
type ReconRun struct {
	ID               string // rcn_…
	ChannelAccountID string
	Provider         string
	Livemode         bool
	BillDate         string // YYYY-MM-DD, the channel's day
	Status           string
	Phase            string
	Pass             int
	Source           string // download or upload
	BillFormat       string
	BillSHA256       string
	Cursor           int // bill lines of this pass applied
	Tallies          map[string]ReconTally
	Error            string
	StartedBy        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CompletedAt      *time.Time
}

// Discrepancy is a finding of reconciliation that a person must look at
// (or that the run repaired).
type Discrepancy struct {
	ID               string // dsc_…
	RunID            string
	ChannelAccountID string
	Livemode         bool
	BillDate         string
	Class            string
	RefKind          string // payment or refund
	RefID            string // ord_… or rfd_…; "" when the gateway has none
	MerchantID       string
	ChannelTradeNo   string
	ChannelRefundNo  string
	LineNo           int
	BillAmount       int64 // signed: refunds negative
	BillFee          int64
	GatewayAmount    int64 // signed: refunds negative
	Currency         string
	Detail           string
	Status           string
	Action           string
	Note             string
	ResolvedBy       string
	ResolvedAt       *time.Time
	DedupeKey        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Reconciled is a row of the reconciled table (migration 0007).
type Reconciled struct {
	RefID            string
	RefKind          string
	ChannelAccountID string
	BillDate         string
	ChannelFee       int64
	Currency         string
	How              string // matched or resolved
	RunID            string
	ReconciledAt     time.Time
}

// ReconTxn is a gateway transaction as reconciliation sees it: a payment
// or a refund, with its order's channel account and whether (and on which
// bill day) it is reconciled already.
type ReconTxn struct {
	ID               string
	Kind             string // payment or refund
	OrderID          string
	MerchantID       string
	ChannelAccountID string
	Livemode         bool
	Status           string // the order's or refund's status
	Amount           int64  // positive
	Currency         string
	ChannelTradeNo   string
	ChannelRefundNo  string
	At               *time.Time // paid_at or succeeded_at
	ReconciledDay    string     // "" when not reconciled
	ReconciledRun    string
}

// DiscrepancySum sums a run's discrepancies of one class and status.
type DiscrepancySum struct {
	Class         string
	Status        string
	Count         int
	BillAmount    int64
	BillFee       int64
	GatewayAmount int64
}

// ReconRunFilter filters the list of runs.
type ReconRunFilter struct {
	ChannelAccountID string
	BillDate         string
	Status           string
	ListParams
}

// DiscrepancyFilter filters the list of discrepancies.
type DiscrepancyFilter struct {
	RunID            string
	ChannelAccountID string
	BillDate         string
	Class            string
	Status           string
	MerchantID       string
	ListParams
}

// ReconStore is reconciliation's part of Store.
type ReconStore interface {
	// ReconRunStart creates the run of (r.ChannelAccountID, r.BillDate)
	// unless there is one, and returns the run that is and whether it was
	// created.
	ReconRunStart(ctx context.Context, r *ReconRun) (*ReconRun, bool, error)
	ReconRunGet(ctx context.Context, id string) (*ReconRun, error)
	ReconRunByDay(ctx context.Context, accountID, billDate string) (*ReconRun, error)
	ReconRunList(ctx context.Context, f ReconRunFilter) ([]*ReconRun, bool, error)
	// ReconRunRestart begins pass r.Pass+1 of a run that is completed or
	// failed (a rerun): cursor 0, empty tallies, status running, phase
	// match, with the bill's source, format and digest. ErrStale when the
	// run changed since r was read.
	ReconRunRestart(ctx context.Context, r *ReconRun, at time.Time) (*ReconRun, error)

	DiscrepancyGet(ctx context.Context, id string) (*Discrepancy, error)
	DiscrepancyList(ctx context.Context, f DiscrepancyFilter) ([]*Discrepancy, bool, error)
	// DiscrepanciesOpen lists a run's open discrepancies of the classes.
	DiscrepanciesOpen(ctx context.Context, runID string, classes ...string) ([]*Discrepancy, error)
	// DiscrepanciesGatewayOnly returns the ids of a channel account's open
	// gateway_only discrepancies by the transaction (ref_id) they name.
	DiscrepanciesGatewayOnly(ctx context.Context, accountID string) (map[string]string, error)
	// DiscrepancySummary sums a run's discrepancies by class and status.
	DiscrepancySummary(ctx context.Context, runID string) ([]DiscrepancySum, error)

	// ReconUnbilled calls fn with every succeeded payment (paid_at) and
	// refund (succeeded_at) of the channel account and mode in [from, to)
	// that is neither reconciled nor the subject of a discrepancy.
	ReconUnbilled(ctx context.Context, accountID string, livemode bool, from, to time.Time, fn func(*ReconTxn) error) error

	// ReconLatePayment returns a merchant's late-payment setting ("refund"
	// or "keep"); "" when it has none.
	ReconLatePayment(ctx context.Context, merchantID string) (string, error)
	ReconLatePaymentPut(ctx context.Context, merchantID, value string, at time.Time) error
}

// ReconTx is reconciliation's part of Tx.
type ReconTx interface {
	// ReconLookup returns the payments (kind payment) or refunds (kind
	// refund) of ids that exist, by id, with the order's channel trade
	// number (but not the refund's number or the time, which a run does
	// not need).
	ReconLookup(ctx context.Context, kind string, ids []string) (map[string]*ReconTxn, error)
	// ReconciledAdd inserts reconciled rows; ErrConflict when one exists.
	ReconciledAdd(ctx context.Context, rows ...*Reconciled) error
	// ReconRunSave stores r's status, phase, cursor, tallies, error and
	// completion when its cursor and pass are still fromCursor and r.Pass:
	// ErrStale otherwise (another node moved the run).
	ReconRunSave(ctx context.Context, r *ReconRun, fromCursor int) error
	ReconRunGet(ctx context.Context, id string) (*ReconRun, error)
	// DiscrepancyAdd inserts the discrepancies whose dedupe key is new and
	// returns those it inserted.
	DiscrepancyAdd(ctx context.Context, ds ...*Discrepancy) ([]*Discrepancy, error)
	DiscrepancyGet(ctx context.Context, id string) (*Discrepancy, error)
	// DiscrepancyClose moves an open discrepancy to status (repaired or
	// resolved) with its action, note, who and when; ErrStale when it is
	// not open.
	DiscrepancyClose(ctx context.Context, d *Discrepancy) error
}
