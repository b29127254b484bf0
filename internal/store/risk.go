package store

import (
	"context"
	"encoding/json"
	"time"
)

// Risk control's records (internal/risk): rules, lists and their entries,
// the country tables the operator imports, and every evaluated attempt,
// whose keys the velocity counters group by.

// Rule owners: who wrote a rule, which decides its precedence (platform
// rules first; a merchant's rule can only tighten).
const (
	RiskOwnerPlatform = "platform"
	RiskOwnerMerchant = "merchant"
)

// Risk decisions, the outcome of an attempt.
const (
	RiskAllow  = "allow"
	RiskReview = "review"
	RiskBlock  = "block"
)

// Kinds of evaluated attempts.
const (
	RiskKindPayment = "payment"
	RiskKindRefund  = "refund"
)

// RiskRule is a risk rule: a CEL expression (written, or expanded from a
// template and its parameters), what it does when true, and where it applies.
type RiskRule struct {
	ID          string // rule_…
	Name        string // snake_case; the code of a block's risk_error
	Description string
	Owner       string // RiskOwnerPlatform or RiskOwnerMerchant
	// Scope: MerchantID "" is every merchant; AppID "" every app of it;
	// Livemode nil both modes.
	MerchantID string
	AppID      string
	Livemode   *bool
	Expression string          // CEL
	Template   string          // "" for a written expression
	Params     json.RawMessage // the template's parameters
	Action     string          // RiskAllow, RiskReview, RiskBlock
	Mode       string          // enforce or observe
	Priority   int             // lower runs first
	AppliesTo  []string        // RiskKindPayment, RiskKindRefund
	Disabled   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RiskRuleFilter narrows a list of rules.
type RiskRuleFilter struct {
	Owner      string // optional
	MerchantID string // optional: rules scoped to this merchant
	// Livemode, when set, keeps rules of that mode (or of both).
	Livemode *bool
	ListParams
}

// RiskList is a named list of values rules test with in_list.
type RiskList struct {
	ID          string // lst_…
	Name        string
	Kind        string // payer_id, ip, cidr, device_id, card_bin, card_fingerprint
	Description string
	Entries     int // how many entries it holds (filled by reads)
	CreatedAt   time.Time
}

// RiskListEntry is one value of a list.
type RiskListEntry struct {
	ListID    string
	Value     string
	Reason    string
	ExpiresAt *time.Time // nil: never
	CreatedAt time.Time
}

// RiskRange maps a range of keys (16-byte addresses in hex, or card BINs)
// to an ISO 3166 country.
type RiskRange struct {
	Start, End string
	Country    string
}

// Kinds of range tables.
const (
	RiskRangesIP  = "ip"
	RiskRangesBIN = "bin"
)

// RiskAttempt is one evaluated payment (or a refund a rule refused): the
// keys the counters group by, the decision, the rules that fired and the
// context that was evaluated. Card data is never here beyond the BIN, the
// last four digits and a keyed fingerprint.
type RiskAttempt struct {
	ID         string // rsk_…
	Kind       string // RiskKindPayment or RiskKindRefund
	MerchantID string
	AppID      string
	Livemode   bool
	// OrderID is the order the attempt created or was about; for a blocked
	// payment, the id the order would have had (no order exists).
	OrderID    string
	OutTradeNo string
	PayerID    string
	IP         string
	DeviceID   string
	CardFP     string // keyed fingerprint of the card number
	Country    string // the country of the payer's IP, else the one the merchant gave
	Amount     int64
	Currency   string
	Decision   string // RiskAllow, RiskReview, RiskBlock
	Score      int
	Rules      json.RawMessage // the rules that fired: [{id, name, action, mode}]
	Context    json.RawMessage // what was evaluated
	CreatedAt  time.Time
}

// RiskAttemptFilter narrows a list of attempts.
type RiskAttemptFilter struct {
	MerchantID string // optional
	Decision   string // optional
	OrderID    string // optional
	ListParams
}

// RiskCounterSet says which counters a check needs (bits).
type RiskCounterSet uint16

// Counter groups a query can compute.
const (
	RiskCountPayer             RiskCounterSet = 1 << iota // per payer: counts and amounts over 10m/1h/24h, distinct IPs and countries
	RiskCountIP                                           // per IP
	RiskCountDevice                                       // per device
	RiskCountCard                                         // per card fingerprint
	RiskCountMerchantToday                                // the merchant's amount and count today
	RiskCountPayerFailures                                // the payer's failures in a row
	RiskCountPayerUsualCountry                            // the payer's most frequent country over 30 days
)

// RiskCounterQuery names whose counters to compute, at Now.
type RiskCounterQuery struct {
	Need       RiskCounterSet
	MerchantID string
	Livemode   bool
	Currency   string // amounts are summed in the attempt's currency
	PayerID    string
	IP         string
	DeviceID   string
	CardFP     string
	Day        string    // the merchant's day (YYYY-MM-DD in its zone), for the day's totals
	DayStart   time.Time // when that day began (replaying history counts from it)
	Now        time.Time
	// Before, when set, counts only attempts created before it instead of
	// at or before Now (dry runs replay history).
	Before string
}

// RiskWindows are counts and amounts over the three windows.
type RiskWindows struct {
	Count10m, Count1h, Count24h    int64
	Amount10m, Amount1h, Amount24h int64
}

// RiskCounts are the counters of one attempt, counted before it. Counts
// include refused attempts; amounts leave blocked ones out (money that
// could not move).
type RiskCounts struct {
	Payer, IP, Device, Card RiskWindows
	MerchantAmountToday     int64
	MerchantCountToday      int64
	PayerDistinctIPs24h     int64
	PayerDistinctCountries  int64
	PayerFailuresInRow      int64
	PayerUsualCountry       string
}

// RiskStore keeps risk control's records.
type RiskStore interface {
	RiskRuleCreate(ctx context.Context, r *RiskRule) error
	RiskRuleGet(ctx context.Context, id string) (*RiskRule, error)
	// RiskRuleUpdate stores every mutable field of r; ErrNotFound for no such rule.
	RiskRuleUpdate(ctx context.Context, r *RiskRule) error
	RiskRuleDelete(ctx context.Context, id string) error
	RiskRuleList(ctx context.Context, f RiskRuleFilter) ([]*RiskRule, bool, error)
	// RiskRulesAll returns every rule that is not disabled, for the engine.
	RiskRulesAll(ctx context.Context) ([]*RiskRule, error)
	// RiskRuleCount counts the rules a merchant wrote.
	RiskRuleCount(ctx context.Context, merchantID string) (int, error)

	// RiskListCreate inserts l; ErrConflict when its name is taken.
	RiskListCreate(ctx context.Context, l *RiskList) error
	RiskListGet(ctx context.Context, id string) (*RiskList, error)
	RiskListGetByName(ctx context.Context, name string) (*RiskList, error)
	RiskListList(ctx context.Context, p ListParams) ([]*RiskList, bool, error)
	// RiskListDelete deletes a list and its entries.
	RiskListDelete(ctx context.Context, id string) error
	// RiskListEntriesPut adds entries, replacing those with the same value.
	RiskListEntriesPut(ctx context.Context, listID string, entries []*RiskListEntry) error
	RiskListEntryDelete(ctx context.Context, listID, value string) error
	// RiskListEntries returns a list's entries by value; listID "" returns
	// every list's (for the engine).
	RiskListEntries(ctx context.Context, listID string) ([]*RiskListEntry, error)

	// RiskRangesReplace replaces the whole table of kind.
	RiskRangesReplace(ctx context.Context, kind string, ranges []RiskRange) error
	RiskRanges(ctx context.Context, kind string) ([]RiskRange, error)

	// RiskVersion changes whenever a rule, a list, an entry or a table
	// changes: nodes poll it to know when to reload.
	RiskVersion(ctx context.Context) (int64, error)

	// RiskCount computes counters on the read pool (refunds, dry runs: no
	// exactness under concurrency needed there).
	RiskCount(ctx context.Context, q RiskCounterQuery) (RiskCounts, error)
	RiskAttemptGet(ctx context.Context, id string) (*RiskAttempt, error)
	RiskAttemptList(ctx context.Context, f RiskAttemptFilter) ([]*RiskAttempt, bool, error)
	// RiskAttemptsSince returns up to limit payment attempts created at or
	// after since, newest first (dry runs).
	RiskAttemptsSince(ctx context.Context, since time.Time, limit int) ([]*RiskAttempt, error)
	// RiskReviewList pages through orders waiting for review, every
	// merchant's, newest first.
	RiskReviewList(ctx context.Context, p ListParams) ([]*Order, bool, error)

	// InTxEarly is InTx that returns as soon as fn has run, before its
	// commit is durable where the store batches commits (SQLite's group
	// commit): later writes see fn's, and durable waits for the commit. It
	// lets a payment's risk check and its channel call overlap the check's
	// fsync. Without batching it is InTx.
	InTxEarly(ctx context.Context, fn func(Tx) error) (durable func() error, err error)
}

// RiskTx are the risk queries of a write transaction (see Tx).
type RiskTx interface {
	// RiskLock serializes, until the transaction ends, the transactions
	// that lock any of keys (PostgreSQL: advisory transaction locks; SQLite
	// runs one write transaction at a time, so it does nothing), so that
	// counting and recording an attempt are one step across nodes.
	RiskLock(ctx context.Context, keys []string) error
	// RiskCount is Store.RiskCount inside the transaction: it sees the
	// attempts recorded before it, committed or in the same batch.
	RiskCount(ctx context.Context, q RiskCounterQuery) (RiskCounts, error)
	// RiskAttemptAdd records a; unless it is blocked, its amount is added
	// to the merchant's total of day.
	RiskAttemptAdd(ctx context.Context, a *RiskAttempt, day string) error
	// OrderCreate is Store.OrderCreate inside the transaction.
	OrderCreate(ctx context.Context, o *Order) error
	// RiskAttemptExists reports whether an attempt is recorded.
	RiskAttemptExists(ctx context.Context, id string) (bool, error)
}
