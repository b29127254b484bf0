// Package risk is Paygate's risk control (风控): rules evaluated on every
// payment before any channel is called, and on refunds where a rule asks.
//
// A rule is a CEL expression (cel.dev/cel-go) over a typed context (Fields:
// the order, the payer, the merchant and app, the time in the merchant's
// zone, and counters), with an action (block, review, allow), a mode
// (enforce, or observe: recorded, changes nothing), a priority and a scope
// (every merchant, one merchant, one app; both modes or one). Built-in
// templates (Templates) expand parameters into such expressions. Rules are
// compiled and type-checked when saved, and their worst-case cost is
// estimated then: a rule that does not compile, is not boolean, or may cost
// more than the platform's limit is refused with 400 rule_invalid (line and
// column). Evaluation runs under the same cost limit.
//
// Precedence: the platform's rules run first, then the merchant's, each by
// priority. An enforced block decides at once; a review holds the payment
// for the operator; an allow skips the later rules of its own level, so a
// merchant's rule can only tighten what the platform decided. The decision,
// a score and every rule that fired are stored on the order (risk).
//
// Counters (payments and amounts per payer, IP, device and card over 10
// minutes, 1 hour and 24 hours, the merchant's amount today, the payer's
// distinct IPs and countries, failures in a row, the payer's usual country)
// are computed from risk_attempts, where every evaluated payment is kept
// (allowed, sent to review, or blocked), only for what the rules that apply
// use (the checked expressions say which). Counting and recording the
// attempt happen in one transaction that first serializes on the attempt's
// keys (PostgreSQL: advisory transaction locks; SQLite: its single writer),
// and the order is inserted in that same transaction: counters are exact
// on one node and across nodes.
//
// Lists (payer ids, IPs, CIDR ranges, device ids, card BINs, card
// fingerprints) are matched with in_list('name', value); entries carry a
// reason and an optional expiry. The IP and card-BIN country tables are
// imported by the operator (none is shipped).
//
// Limits:
//   - Rules, lists and country tables are held in memory on every node and
//     reloaded when their version changes, checked at most every Refresh
//     (1 s): a change made on another node takes up to that long to apply
//     there. Lists of a few hundred thousand entries are fine; CIDR lists
//     are searched linearly (keep them to thousands).
//   - Payer counters are per merchant (payer ids are the merchant's); IP,
//     device and card counters are across merchants. Counters count the
//     attempts of the same mode (test or live). Amount counters are in the
//     order's currency and leave blocked attempts out; count counters
//     include them.
//   - A review waits for the operator. A card or micropay payment cannot
//     wait (its card number or payment code is never kept), so a review of
//     one blocks it (risk_error, with the message saying so).
//   - An order created without a method (the payer picks on the cashier
//     page) is evaluated at creation, with order.method "": rules are not
//     evaluated again when the payer picks.
//   - With counter rules, a method whose payer acts later (QR, page, app)
//     costs two writes instead of one: the attempt and its count, then the
//     order with the channel's answer (the channel is asked between them,
//     which is why they cannot be one). On SQLite the channel is asked
//     while the first write's batch commits (store.InTxEarly); the order's
//     write checks the attempt is there. A card or micropay payment, or
//     one without a method, is one write: attempt and order together.
//   - payer_failures_in_row and payer_usual_country are read just before
//     the transaction, not under its locks: an order's failure is learnt
//     from its channel later anyway, and the usual country is a month's
//     history. The other counters are exact.
//   - A refund is evaluated only by the rules that apply to refunds; card
//     facts are not known there (the card is not kept). A refund cannot be
//     sent to review (rules that apply to refunds cannot review).
//   - Transfers do not exist yet; when they do, they call Prepare/Record
//     like payments (a rule's applies_to gains "transfer").
//   - merchant.country is "": merchants have no country yet.
//   - The score is coarse: 100 for an enforced block, 50 for each enforced
//     review, 0 otherwise.
package risk

import (
	"log/slog"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/store"
)

// Modes of rules.
const (
	ModeEnforce = "enforce"
	ModeObserve = "observe"
)

// Defaults of the platform's limits.
const (
	DefaultMaxCost         = 10000
	DefaultMerchantMaxCost = 5000
	DefaultMerchantRules   = 20
)

// Service runs risk control: rules, lists, tables, and the evaluation of
// payments and refunds.
type Service struct {
	Store store.Store
	Clock clock.Clock
	Log   *slog.Logger
	// Metrics counts decisions and fired rules; nil counts nothing.
	Metrics *metrics.Metrics
	// CardKey keys card fingerprints; the gateway derives it from the
	// master key with CardKeyLabel. Required.
	CardKey []byte
	// MaxCost is the most a rule's evaluation may cost (CEL cost units, its
	// estimated worst case when saved, and the runtime limit). Default
	// DefaultMaxCost.
	MaxCost uint64
	// MerchantMaxCost is the same for merchants' rules. Default DefaultMerchantMaxCost.
	MerchantMaxCost uint64
	// MerchantMaxRules is how many rules a merchant may write. Default DefaultMerchantRules.
	MerchantMaxRules int
	// Refresh is how often a node checks whether rules, lists or tables
	// changed elsewhere. Default 1s.
	Refresh time.Duration

	engineState
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) maxCost() uint64 {
	if s.MaxCost > 0 {
		return s.MaxCost
	}
	return DefaultMaxCost
}

func (s *Service) merchantMaxCost() uint64 {
	if s.MerchantMaxCost > 0 {
		return min(s.MerchantMaxCost, s.maxCost())
	}
	return min(DefaultMerchantMaxCost, s.maxCost())
}

func (s *Service) merchantMaxRules() int {
	if s.MerchantMaxRules > 0 {
		return s.MerchantMaxRules
	}
	return DefaultMerchantRules
}
