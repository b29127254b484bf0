package ledger

import "time"

// Kinds of profit sharing's entries (分账; internal/profitsharing).
const (
	// KindProfitSharing moves a sharing's total out of the payer
	// merchant's profit_sharing account (RefID the sharing, psh_…): to
	// its receivers when it finishes at once, to profit_sharing_out while
	// a channel has it.
	KindProfitSharing = "profit_sharing"
	// KindProfitSharingPaid pays a sharing the channel made: out of
	// profit_sharing_out to its receivers.
	KindProfitSharingPaid = "profit_sharing_paid"
	// KindProfitSharingFailed gives a failed sharing's total back to the
	// profit_sharing account.
	KindProfitSharingFailed = "profit_sharing_failed"
	// KindProfitSharingRelease releases what is left of an order (RefID
	// the order, or the refund whose failure left money after the
	// release) to the merchant's available account.
	KindProfitSharingRelease = "profit_sharing_release"
	// KindProfitSharingReturn takes a share back from a receiver merchant
	// (RefID the return, psr_…).
	KindProfitSharingReturn = "profit_sharing_return"
)

// MerchantSharing is the merchant's account for the money of orders paid
// with profit sharing, not yet shared or released: settlement never pays
// it out.
func MerchantSharing(merchantID string, live bool) string {
	return merchantID + ":" + mode(live) + ":profit_sharing"
}

// MerchantSharingOut is the merchant's account for shares a channel is
// paying to its account holders and has not confirmed yet.
func MerchantSharingOut(merchantID string, live bool) string {
	return merchantID + ":" + mode(live) + ":profit_sharing_out"
}

// PaymentHeld is Payment for an order paid with profit sharing: the
// merchant's part goes to MerchantSharing instead of pending.
func PaymentHeld(id, orderID, merchantID, channel string, live bool, currency string, amount, fee int64, at time.Time) Entry {
	e := Payment(id, orderID, merchantID, channel, live, currency, amount, fee, at)
	e.Lines[1].Account = MerchantSharing(merchantID, live)
	return e
}

// RefundHeld is the entry of a refund of an order paid with profit
// sharing: cost leaves the merchant's profit_sharing account, the
// platform's fee account returns amount − cost, and the channel's
// receivable takes amount back.
func RefundHeld(id, refundID, merchantID, channel string, live bool, currency string, amount, cost int64, at time.Time) Entry {
	lines := []Line{
		{Account: MerchantSharing(merchantID, live), Currency: currency, Amount: -cost},
		{Account: ChannelReceivable(channel, live), Currency: currency, Amount: amount},
	}
	if amount > cost {
		lines = append(lines, Line{Account: PlatformFees(live), Currency: currency, Amount: -(amount - cost)})
	}
	return Entry{ID: id, Kind: KindRefund, RefID: refundID, CreatedAt: at, Lines: lines}
}

// SharingRelease is the entry that releases amount of an order's held
// money to the merchant's available account.
func SharingRelease(id, refID, merchantID string, live bool, currency string, amount int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindProfitSharingRelease, RefID: refID, CreatedAt: at, Lines: []Line{
		{Account: MerchantSharing(merchantID, live), Currency: currency, Amount: -amount},
		{Account: MerchantAvailable(merchantID, live), Currency: currency, Amount: amount},
	}}
}
