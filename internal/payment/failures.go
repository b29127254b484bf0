package payment

// Failure codes and the sentences merchants see for them. An order's or a
// refund's failure_message is always one of these fixed sentences: the
// channel's own text (which may name its internals, quote our request or
// be in another language) goes to the log with the order, never to the
// merchant.

// failureMessages maps the failure codes connectors and the payment service
// set to their user-safe sentences.
var failureMessages = map[string]string{
	// Refunds of shared orders.
	"profit_sharing_return_failed": "A receiver's share could not be taken back at the channel, so the refund was not sent.",
	// Payments.
	"card_declined":                  "The card was declined.",
	"declined":                       "The payment was declined.",
	"issuer_declined":                "The card issuer declined the payment.",
	"insufficient_funds":             "The payer's account has insufficient funds.",
	"expired_card":                   "The card has expired.",
	"invalid_card":                   "The card number is not valid.",
	"card_not_supported":             "The card is not supported for this payment.",
	"card_status_invalid":            "The card cannot be used in its current state.",
	"cardholder_verification_failed": "The cardholder could not be verified.",
	"incorrect_credentials":          "The payer's credentials were incorrect.",
	"pin_tries_exceeded":             "The payer entered a wrong PIN too many times.",
	"verification_code_failed":       "The verification code was wrong.",
	"issuer_restricted":              "The card issuer restricts this payment.",
	"limit_exceeded":                 "The payment exceeds the payer's limit.",
	"amount_limit_exceeded":          "The payment exceeds the payer's limit.",
	"payer_daily_limit_exceeded":     "The payment exceeds the payer's daily limit.",
	"payer_monthly_limit_exceeded":   "The payment exceeds the payer's monthly limit.",
	"token_expired":                  "The payer's payment token has expired.",
	"risk_declined":                  "The channel declined the payment for risk reasons.",
	"risk_rejected":                  "The payment was refused for risk reasons.",
	"transaction_failed":             "The payment failed at the channel.",
	"payment_failed":                 "The payer's payment failed.",
	"payer_timeout":                  "The payer did not confirm the payment in time; it was reversed.",
	"payment_reversed":               "The payment was reversed at the channel.",
	"payer_confirmation_failed":      "The payer did not confirm the payment.",
	"payer_account_abnormal":         "The payer's account cannot pay right now.",
	"buyer_account_disabled":         "The payer's account is disabled.",
	"payer_not_verified":             "The payer's account is not verified for this payment.",
	"payer_payment_switch_off":       "The payer has turned this kind of payment off.",
	"balance_payment_disabled":       "The payer cannot pay from their balance.",
	"no_payment_instrument":          "The payer has no usable payment instrument.",
	"buyer_mismatch":                 "The payer does not match the one the order names.",
	"buyer_not_match":                "The payer does not match the one the order names.",
	"buyer_seller_equal":             "The payer cannot pay their own merchant account.",
	"auth_code_invalid":              "The payment code is not valid.",
	"invalid_auth_code":              "The payment code is not valid.",
	"auth_code_expired":              "The payment code has expired; ask the payer to refresh it.",
	"trade_frozen":                   "The channel has frozen the trade.",
	"merchant_balance_insufficient":  "The merchant's channel account has insufficient funds.",
	"agreement_terminated":           "The payer's agreement is no longer in force at the channel.",
	"amount_exceeds_agreement_limit": "The amount is above what the payer's agreement allows per charge.",
	"agreement_not_active":           "The payer's agreement is not in force at the channel.",

	// Refunds.
	"channel_refused":       "The channel refused the refund.",
	"refund_failed":         "The channel could not refund.",
	"refund_period_expired": "The channel no longer accepts refunds of this payment.",
}

// Defaults for codes the table does not know.
const (
	defaultPaymentFailure = "The payment channel declined the payment."
	defaultRefundFailure  = "The channel could not refund."
)

// paymentFailure is the sentence for a payment failure code.
func paymentFailure(code string) string {
	if m, ok := failureMessages[code]; ok {
		return m
	}
	return defaultPaymentFailure
}

// refundFailure is the sentence for a refund failure code.
func refundFailure(code string) string {
	if m, ok := failureMessages[code]; ok {
		return m
	}
	return defaultRefundFailure
}
