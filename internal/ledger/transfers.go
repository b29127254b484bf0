package ledger

import "time"

// Kinds of a transfer's entries (RefID the transfer, trf_…). A transfer
// shares the merchant's payout account with settlements' payouts: both are
// money that left available and has not been confirmed gone, which the
// balance shows as in transit.
const (
	// KindTransfer starts a transfer: available to payout.
	KindTransfer = "transfer"
	// KindTransferPaid records a transfer the channel paid: payout to
	// PaidOut.
	KindTransferPaid = "transfer_paid"
	// KindTransferFailed returns a failed transfer's money: payout back to
	// available.
	KindTransferFailed = "transfer_failed"
)

// TransferStart is the entry of a transfer leaving the merchant's
// available balance.
func TransferStart(id, transferID, merchantID string, live bool, currency string, amount int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindTransfer, RefID: transferID, CreatedAt: at, Lines: []Line{
		{Account: MerchantAvailable(merchantID, live), Currency: currency, Amount: -amount},
		{Account: MerchantPayout(merchantID, live), Currency: currency, Amount: amount},
	}}
}

// TransferPaid is the entry of a transfer the channel paid.
func TransferPaid(id, transferID, merchantID string, live bool, currency string, amount int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindTransferPaid, RefID: transferID, CreatedAt: at, Lines: []Line{
		{Account: MerchantPayout(merchantID, live), Currency: currency, Amount: -amount},
		{Account: PaidOut(live), Currency: currency, Amount: amount},
	}}
}

// TransferFailed is the entry of a transfer the channel refused: its money
// goes back to available.
func TransferFailed(id, transferID, merchantID string, live bool, currency string, amount int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindTransferFailed, RefID: transferID, CreatedAt: at, Lines: []Line{
		{Account: MerchantPayout(merchantID, live), Currency: currency, Amount: -amount},
		{Account: MerchantAvailable(merchantID, live), Currency: currency, Amount: amount},
	}}
}
