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
	return Entry{ID: id, Kind: KindRefund, RefID: refundID, CreatedAt: at, Lines: []Line{
		{Account: MerchantPending(merchantID, live), Currency: currency, Amount: -amount},
		{Account: ChannelReceivable(channel, live), Currency: currency, Amount: amount},
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
// per currency: Pending (paid, not yet settled) and Available (settled,
// awaiting payout).
type MerchantBalance struct {
	Pending   []Amount
	Available []Amount
}

// BalanceReader sums account balances by name prefix (store.Store does).
type BalanceReader interface {
	Balances(ctx context.Context, accountPrefix string) ([]Balance, error)
}

// MerchantBalances reads the merchant's balance in one mode from its
// ledger accounts (MerchantPending, MerchantAvailable), sorted by currency.
func MerchantBalances(ctx context.Context, r BalanceReader, merchantID string, live bool) (MerchantBalance, error) {
	balances, err := r.Balances(ctx, MerchantPrefix(merchantID, live))
	if err != nil {
		return MerchantBalance{}, fmt.Errorf("balance of %s: %w", merchantID, err)
	}
	out := MerchantBalance{Pending: []Amount{}, Available: []Amount{}}
	pending, available := MerchantPending(merchantID, live), MerchantAvailable(merchantID, live)
	for _, b := range balances {
		a := Amount{Currency: b.Currency, Amount: b.Amount}
		switch b.Account {
		case pending:
			out.Pending = append(out.Pending, a)
		case available:
			out.Available = append(out.Available, a)
		}
	}
	for _, l := range [][]Amount{out.Pending, out.Available} {
		slices.SortFunc(l, func(a, b Amount) int { return strings.Compare(a.Currency, b.Currency) })
	}
	return out, nil
}
