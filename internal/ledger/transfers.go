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

// Kinds of FX movements.
const (
	// KindFXReverse undoes an exchange of an object that failed (RefID
	// the object); it is the exact reverse of the exchange's lines.
	KindFXReverse = "fx_reverse"
)

// PlatformFX is the platform's currency position: the money it bought
// (positive) and sold (negative) in each currency when it converted
// merchants' money. Its balance per currency is the platform's exposure.
func PlatformFX(live bool) string { return "platform:" + mode(live) + ":fx" }

// PlatformFXMarkup is the platform's income from the markup on its rates.
func PlatformFXMarkup(live bool) string { return "platform:" + mode(live) + ":fx_markup" }

// ExchangeLines are the lines of a conversion: amount of from leaves
// fromAccount for the platform's position, which pays gross of to at the
// mid rate: toAmount to toAccount and the markup (gross − toAmount) to
// PlatformFXMarkup. Each currency balances on its own.
func ExchangeLines(live bool, fromAccount, from string, amount int64, toAccount, to string, toAmount, gross int64) []Line {
	lines := []Line{
		{Account: fromAccount, Currency: from, Amount: -amount},
		{Account: PlatformFX(live), Currency: from, Amount: amount},
		{Account: PlatformFX(live), Currency: to, Amount: -gross},
		{Account: toAccount, Currency: to, Amount: toAmount},
	}
	if gross != toAmount {
		lines = append(lines, Line{Account: PlatformFXMarkup(live), Currency: to, Amount: gross - toAmount})
	}
	return lines
}
