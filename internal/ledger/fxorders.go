package ledger

import "time"

// FXPayment is a payment paid in one currency and credited to the merchant
// in another at an FX quote's rate: Amount of From left the payer,
// ToAmount of To is the merchant's (less Fee, the platform's fee, in To),
// and Gross is Amount at the quote's mid rate, so Gross − ToAmount is the
// platform's markup.
type FXPayment struct {
	From     string
	Amount   int64
	To       string
	ToAmount int64
	Gross    int64
	Fee      int64
}

// PaymentFX is the entry of a payment at an FX quote: the channel's
// receivable pays Amount of From into the platform's FX position, which
// pays Gross of To: ToAmount − Fee to the merchant's pending account, Fee
// to the platform's fees and the markup to PlatformFXMarkup. Each currency
// balances on its own.
func PaymentFX(id, orderID, merchantID, channel string, live bool, p FXPayment, at time.Time) Entry {
	return Entry{ID: id, Kind: KindPayment, RefID: orderID, CreatedAt: at, Lines: nonZero(
		Line{Account: ChannelReceivable(channel, live), Currency: p.From, Amount: -p.Amount},
		Line{Account: PlatformFX(live), Currency: p.From, Amount: p.Amount},
		Line{Account: PlatformFX(live), Currency: p.To, Amount: -p.Gross},
		Line{Account: MerchantPending(merchantID, live), Currency: p.To, Amount: p.ToAmount - p.Fee},
		Line{Account: PlatformFees(live), Currency: p.To, Amount: p.Fee},
		Line{Account: PlatformFXMarkup(live), Currency: p.To, Amount: p.Gross - p.ToAmount},
	)}
}

// RefundFX is the entry of a refund of a payment made at an FX quote, at
// the payment's rate: r is the refund's share of the payment (Amount of
// From back to the channel; ToAmount, Gross and Fee its shares of the
// payment's, Fee being the fee returned). It undoes PaymentFX for that
// share: a payment refunded in full nets every account to zero.
func RefundFX(id, refundID, merchantID, channel string, live bool, r FXPayment, at time.Time) Entry {
	return Entry{ID: id, Kind: KindRefund, RefID: refundID, CreatedAt: at, Lines: nonZero(
		Line{Account: ChannelReceivable(channel, live), Currency: r.From, Amount: r.Amount},
		Line{Account: PlatformFX(live), Currency: r.From, Amount: -r.Amount},
		Line{Account: PlatformFX(live), Currency: r.To, Amount: r.Gross},
		Line{Account: MerchantPending(merchantID, live), Currency: r.To, Amount: -(r.ToAmount - r.Fee)},
		Line{Account: PlatformFees(live), Currency: r.To, Amount: -r.Fee},
		Line{Account: PlatformFXMarkup(live), Currency: r.To, Amount: -(r.Gross - r.ToAmount)},
	)}
}

// nonZero drops the lines of no amount (an entry may not have any).
func nonZero(lines ...Line) []Line {
	out := lines[:0]
	for _, l := range lines {
		if l.Amount != 0 {
			out = append(out, l)
		}
	}
	return out
}

// InstallmentFees is what the platform owes a channel account's lender for
// instalment plans whose fee the merchant pays (花呗分期 with
// hb_fq_seller_percent 100): the lender keeps it out of what it settles.
func InstallmentFees(channel string, live bool) string {
	return "channel:" + channel + ":" + mode(live) + ":installment_fees"
}

// PaymentWithInstallmentFee is Payment when the merchant pays an
// instalment plan's fee: installmentFee also leaves the merchant's share,
// for InstallmentFees.
func PaymentWithInstallmentFee(id, orderID, merchantID, channel string, live bool, currency string, amount, fee, installmentFee int64, at time.Time) Entry {
	return Entry{ID: id, Kind: KindPayment, RefID: orderID, CreatedAt: at, Lines: nonZero(
		Line{Account: ChannelReceivable(channel, live), Currency: currency, Amount: -amount},
		Line{Account: MerchantPending(merchantID, live), Currency: currency, Amount: amount - fee - installmentFee},
		Line{Account: PlatformFees(live), Currency: currency, Amount: fee},
		Line{Account: InstallmentFees(channel, live), Currency: currency, Amount: installmentFee},
	)}
}

// KindSettlementFX converts a settlement batch's net, in the merchant's
// available account, from the batch's currency into the merchant's
// settlement currency at the day's rate; RefID is the batch (stl_…).
const KindSettlementFX = "settlement_fx"
