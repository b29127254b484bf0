package unionpay

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/paygate/paygate/internal/channel"
)

// callKind says whether a call may move money; it decides how an answer we
// cannot trust is sorted.
type callKind int

const (
	// safeCall moves no money (query, bill) or creates a trade that only
	// waits for the payer (QR code).
	safeCall callKind = iota
	// moneyCall may move money (micropay, refund, reversal): anything not
	// known for sure is channel.ErrUnknownOutcome.
	moneyCall
)

// uncertain wraps err as unknown for money-moving calls and as unavailable
// otherwise.
func (k callKind) uncertain(err error) error {
	if k == moneyCall {
		return channel.Unknown(err)
	}
	return fmt.Errorf("%w: %w", channel.ErrUnavailable, err)
}

// sortError is the one place where what went wrong with a call becomes a
// channel sentinel: transport failures, HTTP statuses, unverifiable
// answers and UnionPay's respCodes. fields is the verified answer (nil
// when there is none); err the failure before it.
func sortError(op string, kind callKind, err error, status int, fields map[string]string) error {
	switch {
	case err != nil && errors.Is(err, channel.ErrBadSignature):
		if kind == moneyCall {
			return channel.Unknown(fmt.Errorf("unionpay %s: %w", op, err))
		}
		return fmt.Errorf("unionpay %s: %w", op, err)
	case err != nil:
		var opErr *net.OpError
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isTimeout(err):
			return channel.Unknown(fmt.Errorf("unionpay %s: %w", op, err))
		case errors.As(err, &opErr) && opErr.Op == "dial":
			// The request never reached UnionPay.
			return fmt.Errorf("unionpay %s: %w: %w", op, channel.ErrUnavailable, err)
		}
		return kind.uncertain(fmt.Errorf("unionpay %s: %w", op, err))
	case status != 0:
		return kind.uncertain(fmt.Errorf("unionpay %s: HTTP %d", op, status))
	}
	return respCodeError(op, kind, fields["respCode"], fields["respMsg"])
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// declineCodes are UnionPay respCodes that are the payer's (or the card
// issuer's) final refusal, with our stable codes.
var declineCodes = map[string]string{
	"01": "transaction_failed",
	"30": "declined",
	"33": "amount_limit_exceeded",
	"38": "risk_declined",
	"60": "issuer_declined",
	"61": "invalid_card",
	"62": "card_not_supported",
	"63": "card_status_invalid",
	"64": "insufficient_funds",
	"65": "incorrect_credentials",
	"66": "cardholder_verification_failed",
	"67": "pin_tries_exceeded",
	"68": "card_not_supported",
	"69": "payer_timeout",
	"71": "verification_code_failed",
	"73": "expired_card",
	"78": "issuer_restricted",
	"80": "token_expired",
	"81": "limit_exceeded",
}

// respCodeError sorts a respCode other than success ("00", "A6") into the
// channel sentinels. Codes are from ACP 5.1's response-code appendix.
func respCodeError(op string, kind callKind, code, msg string) error {
	switch code {
	case "00", "A6":
		return nil
	case "02", "06", "37": // not open, system busy, too frequent: nothing was done
		return fmt.Errorf("unionpay %s: %s %s: %w", op, code, msg, channel.ErrUnavailable)
	case "03", "04", "05": // timeout, state unknown, accepted: ask again later
		return channel.Unknown(fmt.Errorf("unionpay %s: %s %s", op, code, msg))
	case "10", "11", "12", "13", "14", "31", "32", "36", "39", "40", "43", "44", "45":
		return fmt.Errorf("unionpay %s: %s %s: %w", op, code, msg, channel.ErrInvalidRequest)
	case "34", "35": // no such trade; original trade missing or in the wrong state
		return fmt.Errorf("unionpay %s: %s %s: %w", op, code, msg, channel.ErrTradeNotFound)
	}
	if d, ok := declineCode(code); ok {
		return &channel.DeclineError{Code: d, Message: fmt.Sprintf("%s (UnionPay %s)", msg, code)}
	}
	return kind.uncertain(fmt.Errorf("unionpay %s: respCode %q %s", op, code, msg))
}

// declineCode maps a payer-side respCode; any 6x/7x/8x code not listed is a
// card decline.
func declineCode(code string) (string, bool) {
	if d, ok := declineCodes[code]; ok {
		return d, true
	}
	if len(code) == 2 && code[0] >= '6' && code[0] <= '8' && code[1] >= '0' && code[1] <= '9' {
		return "card_declined", true
	}
	return "", false
}
