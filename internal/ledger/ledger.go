// Package ledger is Paygate's double-entry bookkeeping: immutable journal
// entries whose lines sum to zero per currency. An account's balance is the
// sum of its lines. Entries are never changed; a correction is a new entry
// (see Reverse).
//
// Sign convention (as Formance's source → destination): money moves out of an
// account as a negative line and into one as a positive line. A channel's
// receivable goes negative when a payer pays (the channel owes us); a
// merchant's pending account goes positive (we owe the merchant).
//
// Accounts are strings "<owner>:<mode>:<name>", for example
// "mch_01h…:test:pending", "channel:sandbox:live:receivable", "platform:live:fees".
// The mode is part of every account, so test money never meets live money.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kinds of journal entries.
const (
	KindPayment = "payment"
	KindRefund  = "refund"
	// KindSettlement moves a settlement batch's net from the merchant's
	// pending account to available (and its rolling reserve to reserve);
	// RefID is the batch (stl_…).
	KindSettlement = "settlement"
	// KindPayout starts a batch's payout: available to payout.
	KindPayout = "payout"
	// KindPayoutPaid records a confirmed payout: payout to PaidOut.
	KindPayoutPaid = "payout_paid"
)

// Line is one leg of an entry: Amount is signed minor units of Currency.
type Line struct {
	Account  string
	Currency string
	Amount   int64
}

// Entry is one journal entry. RefID names the object that caused it (an
// order or a refund); there is at most one entry per (Kind, RefID).
type Entry struct {
	ID        string
	Kind      string
	RefID     string
	Lines     []Line
	CreatedAt time.Time
}

// ErrUnbalanced reports an entry whose lines do not sum to zero in some currency.
var ErrUnbalanced = errors.New("ledger: entry does not balance")

// Validate checks that e has lines, no zero line, and sums to zero per currency.
func (e Entry) Validate() error {
	if len(e.Lines) < 2 {
		return fmt.Errorf("ledger: entry %s has %d lines, want at least 2", e.ID, len(e.Lines))
	}
	sums := map[string]int64{}
	for _, l := range e.Lines {
		if l.Amount == 0 || l.Account == "" || l.Currency == "" {
			return fmt.Errorf("ledger: entry %s has an empty line %+v", e.ID, l)
		}
		s := sums[l.Currency] + l.Amount
		if (l.Amount > 0 && s < sums[l.Currency]) || (l.Amount < 0 && s > sums[l.Currency]) {
			return fmt.Errorf("ledger: entry %s overflows", e.ID)
		}
		sums[l.Currency] = s
	}
	for cur, s := range sums {
		if s != 0 {
			return fmt.Errorf("%w: %s sums to %d %s", ErrUnbalanced, e.ID, s, cur)
		}
	}
	return nil
}

// Reverse returns an entry that undoes e, with the given id, kind, reference and time.
func (e Entry) Reverse(id, kind, refID string, at time.Time) Entry {
	r := Entry{ID: id, Kind: kind, RefID: refID, CreatedAt: at, Lines: make([]Line, len(e.Lines))}
	for i, l := range e.Lines {
		r.Lines[i] = Line{Account: l.Account, Currency: l.Currency, Amount: -l.Amount}
	}
	return r
}

func mode(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// MerchantPending is the merchant's account for paid money not yet settled.
func MerchantPending(merchantID string, live bool) string {
	return merchantID + ":" + mode(live) + ":pending"
}

// MerchantAvailable is the merchant's account for settled money awaiting payout.
func MerchantAvailable(merchantID string, live bool) string {
	return merchantID + ":" + mode(live) + ":available"
}

// MerchantReserve is the merchant's account for settled money held back as a
// rolling reserve until its release date.
func MerchantReserve(merchantID string, live bool) string {
	return merchantID + ":" + mode(live) + ":reserve"
}

// MerchantPayout is the merchant's account for money on its way to the
// merchant's bank: a payout started and not yet confirmed.
func MerchantPayout(merchantID string, live bool) string {
	return merchantID + ":" + mode(live) + ":payout"
}

// PaidOut is where confirmed payouts go: money that left the platform for
// merchants' banks (an external account; its balance is everything paid out).
func PaidOut(live bool) string { return "external:" + mode(live) + ":paid_out" }

// MerchantPrefix is the prefix of all of a merchant's accounts in one mode.
func MerchantPrefix(merchantID string, live bool) string { return merchantID + ":" + mode(live) + ":" }

// ChannelReceivable is what a channel owes the platform for payments it took.
func ChannelReceivable(channel string, live bool) string {
	return "channel:" + channel + ":" + mode(live) + ":receivable"
}

// PlatformFees is the platform's fee income.
func PlatformFees(live bool) string { return "platform:" + mode(live) + ":fees" }

// Payment is the entry for a payment that succeeded: the channel's receivable
// pays the merchant's pending account the amount less the fee, and the
// platform's fee account the fee.
func Payment(id, orderID, merchantID, channel string, live bool, currency string, amount, fee int64, at time.Time) Entry {
	lines := []Line{
		{Account: ChannelReceivable(channel, live), Currency: currency, Amount: -amount},
		{Account: MerchantPending(merchantID, live), Currency: currency, Amount: amount - fee},
	}
	if fee > 0 {
		lines = append(lines, Line{Account: PlatformFees(live), Currency: currency, Amount: fee})
	}
	return Entry{ID: id, Kind: KindPayment, RefID: orderID, Lines: lines, CreatedAt: at}
}

// Refund is the entry for a refund that succeeded: the merchant's pending
// account pays the amount back to the channel's receivable. As with Stripe,
// the platform keeps the fee of the original payment.
func Refund(id, refundID, merchantID, channel string, live bool, currency string, amount int64, at time.Time) Entry {
	return RefundWithFee(id, refundID, merchantID, channel, live, currency, amount, 0, at)
}

// RefundWithFee is Refund when the platform returns feeReturned of the
// payment's fee (a refund fee policy that returns the fee pro rata, as
// WeChat Pay does): the platform's fee account pays that share and the
// merchant's pending account the rest.
func RefundWithFee(id, refundID, merchantID, channel string, live bool, currency string, amount, feeReturned int64, at time.Time) Entry {
	lines := []Line{
		{Account: MerchantPending(merchantID, live), Currency: currency, Amount: -(amount - feeReturned)},
		{Account: ChannelReceivable(channel, live), Currency: currency, Amount: amount},
	}
	if feeReturned > 0 {
		lines = append(lines, Line{Account: PlatformFees(live), Currency: currency, Amount: -feeReturned})
	}
	return Entry{ID: id, Kind: KindRefund, RefID: refundID, CreatedAt: at, Lines: lines}
}

// SettlementMoves are what a settlement batch moves between a merchant's
// accounts in one currency: FromPending leaves pending (negative when the
// batch gives money back to it), ToReserve enters the reserve (negative
// when a release exceeds what is held), ToAvailable enters available.
type SettlementMoves struct {
	FromPending int64
	ToReserve   int64
	ToAvailable int64
}

// Settlement is the entry of a settlement batch; it has no lines (and
// should not be posted) when every move is zero.
func Settlement(id, settlementID, merchantID string, live bool, currency string, m SettlementMoves, at time.Time) Entry {
	var lines []Line
	for _, l := range []Line{
		{Account: MerchantPending(merchantID, live), Currency: currency, Amount: -m.FromPending},
		{Account: MerchantReserve(merchantID, live), Currency: currency, Amount: m.ToReserve},
		{Account: MerchantAvailable(merchantID, live), Currency: currency, Amount: m.ToAvailable},
	} {
		if l.Amount != 0 {
			lines = append(lines, l)
		}
	}
	return Entry{ID: id, Kind: KindSettlement, RefID: settlementID, CreatedAt: at, Lines: lines}
}

// PayoutStart is the entry of a batch's payout leaving for the bank: amount
// moves from the merchant's available account to payout.
func PayoutStart(id, settlementID, merchantID string, live bool, currency string, amount int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindPayout, RefID: settlementID, CreatedAt: at, Lines: []Line{
		{Account: MerchantAvailable(merchantID, live), Currency: currency, Amount: -amount},
		{Account: MerchantPayout(merchantID, live), Currency: currency, Amount: amount},
	}}
}

// PayoutPaid is the entry of a payout the bank confirmed: amount leaves the
// merchant's payout account for PaidOut.
func PayoutPaid(id, settlementID, merchantID string, live bool, currency string, amount int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindPayoutPaid, RefID: settlementID, CreatedAt: at, Lines: []Line{
		{Account: MerchantPayout(merchantID, live), Currency: currency, Amount: -amount},
		{Account: PaidOut(live), Currency: currency, Amount: amount},
	}}
}

// Balance is one account's balance in one currency.
type Balance struct {
	Account  string
	Currency string
	Amount   int64
}

// Amount is a sum of money in one currency.
type Amount struct {
	Currency string
	Amount   int64
}

// MerchantBalance is what the platform holds for a merchant in one mode,
// per currency: Pending (paid, not yet settled), Available (settled,
// awaiting payout), Reserved (settled, held back as a rolling reserve) and
// InTransit (a payout started, not yet confirmed by the bank), and
// ProfitSharing (orders' money held for profit sharing, with the shares a
// channel is paying: MerchantSharing and MerchantSharingOut).
type MerchantBalance struct {
	Pending       []Amount
	Available     []Amount
	Reserved      []Amount
	InTransit     []Amount
	ProfitSharing []Amount
}

// BalanceReader sums account balances by name prefix (store.Store does).
type BalanceReader interface {
	Balances(ctx context.Context, accountPrefix string) ([]Balance, error)
}

// MerchantBalances reads the merchant's balance in one mode from its
// ledger accounts (MerchantPending, MerchantAvailable, MerchantReserve,
// MerchantPayout), each sorted by currency.
func MerchantBalances(ctx context.Context, r BalanceReader, merchantID string, live bool) (MerchantBalance, error) {
	balances, err := r.Balances(ctx, MerchantPrefix(merchantID, live))
	if err != nil {
		return MerchantBalance{}, fmt.Errorf("balance of %s: %w", merchantID, err)
	}
	out := MerchantBalance{Pending: []Amount{}, Available: []Amount{}, Reserved: []Amount{}, InTransit: []Amount{}, ProfitSharing: []Amount{}}
	into := map[string]*[]Amount{
		MerchantPending(merchantID, live):   &out.Pending,
		MerchantAvailable(merchantID, live): &out.Available,
		MerchantReserve(merchantID, live):   &out.Reserved,
		MerchantPayout(merchantID, live):    &out.InTransit,
	}
	held := map[string]int64{}
	for _, b := range balances {
		if b.Account == MerchantSharing(merchantID, live) || b.Account == MerchantSharingOut(merchantID, live) {
			held[b.Currency] += b.Amount
		}
		if l, ok := into[b.Account]; ok {
			*l = append(*l, Amount{Currency: b.Currency, Amount: b.Amount})
		}
	}
	for cur, n := range held {
		out.ProfitSharing = append(out.ProfitSharing, Amount{Currency: cur, Amount: n})
	}
	for _, l := range [][]Amount{out.Pending, out.Available, out.Reserved, out.InTransit, out.ProfitSharing} {
		slices.SortFunc(l, func(a, b Amount) int { return strings.Compare(a.Currency, b.Currency) })
	}
	return out, nil
}

// Reconciliation (internal/recon).
const (
	// KindReconciliation moves the money of matched bill lines from a
	// channel's receivable to the channel's settled cash, net of the
	// channel's fee; RefID is the run's chunk (rcn_…:pass:chunk).
	KindReconciliation = "reconciliation"
	// KindReconResolution is the entry of a discrepancy a person resolved
	// with write_off or adjust (or explained, when nothing differs); RefID
	// is the discrepancy (dsc_…).
	KindReconResolution = "recon_resolution"
)

// ChannelSettled is the cash a channel has settled to the platform (or
// holds for it, due on the channel's settlement day) for reconciled lines.
func ChannelSettled(channel string, live bool) string {
	return "channel:" + channel + ":" + mode(live) + ":settled"
}

// ChannelFees is what the channels kept as their fees (the platform's cost).
func ChannelFees(live bool) string { return "platform:" + mode(live) + ":channel_fees" }

// ReconWriteOffs takes the differences people wrote off in reconciliation:
// negative when the platform lost money, positive when a channel paid more.
func ReconWriteOffs(live bool) string { return "platform:" + mode(live) + ":recon_write_offs" }

// ReconAdjustments takes the differences people booked as adjustments (to
// be recovered from or paid back to the channel).
func ReconAdjustments(live bool) string { return "platform:" + mode(live) + ":recon_adjustments" }

// ReconMove is what reconciliation proves of one currency: Claimed is the
// gateway's signed amount (payments positive, refunds negative) whose
// receivable is closed, Billed the channel's signed amount, Fee the
// channel's signed fee (negative when returned). Difference (Billed −
// Claimed) goes to DiffAccount.
type ReconMove struct {
	Currency    string
	Claimed     int64
	Billed      int64
	Fee         int64
	DiffAccount string
}

// Reconciliation is the entry that closes the receivable of reconciled
// transactions of a channel account: the receivable takes the claimed
// amount back, the settled cash the billed amount less the fee, the
// channel fees account the fee, and the difference its account. Zero lines
// are left out; it has no lines when everything is zero.
func Reconciliation(id, kind, refID, channel string, live bool, moves []ReconMove, at time.Time) Entry {
	var lines []Line
	for _, m := range moves {
		for _, l := range []Line{
			{Account: ChannelReceivable(channel, live), Currency: m.Currency, Amount: m.Claimed},
			{Account: ChannelSettled(channel, live), Currency: m.Currency, Amount: -(m.Billed - m.Fee)},
			{Account: ChannelFees(live), Currency: m.Currency, Amount: -m.Fee},
			{Account: m.DiffAccount, Currency: m.Currency, Amount: m.Billed - m.Claimed},
		} {
			if l.Amount != 0 {
				lines = append(lines, l)
			}
		}
	}
	return Entry{ID: id, Kind: kind, RefID: refID, CreatedAt: at, Lines: lines}
}
