// Package fx is exchange rates and locked quotes (多币种, 汇率转换): the
// operator's rates (ImportRates, CSVProvider, HTTPProvider), each with its
// time and source; quotes (fxq_…) that lock a conversion for a merchant for
// QuoteTTL; and the arithmetic, with exact decimals (apd) and one rounding,
// half to even at the target currency's minor unit (Round).
//
// # What a quote pays for
//
// A quote is used once (Use, or an order's insert), in the transaction of
// what it pays for:
//
//   - a transfer out of one currency's balance into another (internal/transfer);
//   - an order paid in the presentment currency (the quote's from) and
//     credited to the merchant in its settlement currency (the quote's to):
//     internal/payment, fxorders.go. The order's insert takes the quote
//     only if it is unused and unexpired at the order's creation, so a
//     quote never pays for two orders, whatever runs concurrently.
//
// In the ledger a conversion goes through the platform's position account
// per currency (ledger.PlatformFX): the source currency goes into it, and
// it pays the target currency at the mid rate, the converted amount to the
// destination and the markup to ledger.PlatformFXMarkup, so that every
// entry balances in each currency on its own.
//
// # Refunds of converted payments
//
// A refund converts at the original payment's rate, the quote's: its share
// of the conversion is Conversion.Part of (refunded before, refunded before
// + refund], taken cumulatively so that the refunds of a payment refunded
// in full add up exactly to the credited amount and return the whole
// markup. Neither the merchant nor the payer bears the rate's move between
// payment and refund; the platform's position does (its exposure is the
// position's balance per currency).
//
// The alternative policy, refunding at the day's rate, gives the merchant
// (or the payer) that risk and gain: the merchant would pay back more or
// less settlement currency than it was credited. It is not offered; it
// would be a refund quote taken when the refund is made.
//
// # Limits
//
//   - An order in another currency without a quote converts when its
//     batch settles, at the day's rate (internal/settlement, fx.go): the
//     merchant bears the rate's move from payment to settlement, and a
//     refund after settlement is taken in the order's currency (from a
//     later batch's net, or carried forward), not at a locked rate.
//   - Each refund's share rounds on its own: refunds of one order that
//     finish out of the order they were made in may move a minor unit
//     between the merchant and the platform's position (never out of the
//     ledger).
//   - Rates come from the operator; there is no built-in feed of a bank's
//     or channel's rates beyond HTTPProvider's CSV.
package fx
