// Package errs is Paygate's one error vocabulary. Every layer returns *Error
// for failures a caller should see: a Kind that says what went wrong (not
// found, invalid, conflict, refused by the channel, unavailable, …), a stable
// snake_case Code, a Message safe to show to a merchant or payer, and
// optionally the Param at fault and the internal cause (Err), which is logged
// and never shown. Anything that is not an *Error is an internal fault.
//
// Only the access layer knows HTTP: internal/api holds the one table from
// kinds to statuses and error types (api.HTTPStatus). Business code never
// names a status.
package errs

import (
	"errors"
	"fmt"
)

// Kind says what went wrong, independent of the protocol that reports it.
type Kind uint8

// Kinds. The zero value is KindInternal, so an unclassified error is a fault.
const (
	// KindInternal is a fault of the gateway; its text is never shown.
	KindInternal Kind = iota
	// KindInvalid: the request is malformed or breaks a rule.
	KindInvalid
	// KindNotFound: no such object (or not one the caller may see).
	KindNotFound
	// KindConflict: the object's state forbids the request, or a natural key is
	// taken with other parameters.
	KindConflict
	// KindUnauthenticated: who is calling could not be established.
	KindUnauthenticated
	// KindPermission: the caller is known but may not do this.
	KindPermission
	// KindIdempotency: an Idempotency-Key was reused or is still in flight.
	KindIdempotency
	// KindRateLimited: too many requests; retry later.
	KindRateLimited
	// KindRisk: a risk rule refused the payment.
	KindRisk
	// KindChannel: the payment channel refused or failed.
	KindChannel
	// KindUnavailable: the gateway cannot serve the request now (overloaded, its
	// database unreachable); retry later.
	KindUnavailable
	// KindTooLarge: the request body is too large.
	KindTooLarge
	// KindUnsupportedMedia: the request body is not in a format the gateway takes.
	KindUnsupportedMedia
	// KindMethodNotAllowed: the resource exists but not with this method.
	KindMethodNotAllowed
)

var kindNames = [...]string{
	KindInternal: "internal", KindInvalid: "invalid", KindNotFound: "not_found", KindConflict: "conflict",
	KindUnauthenticated: "unauthenticated", KindPermission: "permission_denied", KindIdempotency: "idempotency",
	KindRateLimited: "rate_limited", KindRisk: "risk_refused", KindChannel: "channel_failed",
	KindUnavailable: "unavailable", KindTooLarge: "too_large", KindUnsupportedMedia: "unsupported_media",
	KindMethodNotAllowed: "method_not_allowed",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is a failure safe to show to a client: Code is a stable snake_case
// string, Message a human sentence, Param names the offending field.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Param   string
	Err     error // internal cause, logged, never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches two *Error values by Code, so errors.Is(err, errs.OrderNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// New returns an error of the given kind and code.
func New(kind Kind, code, msg string) *Error {
	return &Error{Kind: kind, Code: code, Message: msg}
}

// Invalid is a KindInvalid error.
func Invalid(code, msg string) *Error { return New(KindInvalid, code, msg) }

// InvalidParam is a KindInvalid error with code `<param>_invalid` and param set.
func InvalidParam(param, msg string) *Error {
	e := New(KindInvalid, param+"_invalid", msg)
	e.Param = param
	return e
}

// Missing is a KindInvalid parameter_missing error for param.
func Missing(param string) *Error {
	e := New(KindInvalid, "parameter_missing", "Missing required parameter: "+param+".")
	e.Param = param
	return e
}

// Missingf is Missing with a message saying why the parameter is required.
func Missingf(param, msg string) *Error {
	e := New(KindInvalid, "parameter_missing", msg)
	e.Param = param
	return e
}

// Unknown is a KindInvalid unknown_parameter error for param.
func Unknown(param string) *Error {
	e := New(KindInvalid, "unknown_parameter", "Received unknown parameter: "+param+".")
	e.Param = param
	return e
}

// NotFound is a KindNotFound error.
func NotFound(code, msg string) *Error { return New(KindNotFound, code, msg) }

// Conflict is a KindConflict error.
func Conflict(code, msg string) *Error { return New(KindConflict, code, msg) }

// Unavailable is a KindUnavailable error: the gateway cannot serve now.
func Unavailable(code, msg string) *Error { return New(KindUnavailable, code, msg) }

// Auth is a KindUnauthenticated error.
func Auth(code, msg string) *Error { return New(KindUnauthenticated, code, msg) }

// Permission is a KindPermission error.
func Permission(code, msg string) *Error { return New(KindPermission, code, msg) }

// Channel is a KindChannel error carrying the connector's cause, which is
// logged and never shown: msg must be a fixed, user-safe sentence.
func Channel(code, msg string, cause error) *Error {
	e := New(KindChannel, code, msg)
	e.Err = cause
	return e
}

// Internal wraps err as a KindInternal error; its text is never shown.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Code: "internal_error", Message: "An internal error occurred. Retry later or contact support with the request id.", Err: err}
}

// WithParam returns a copy of e with Param set.
func (e *Error) WithParam(p string) *Error { c := *e; c.Param = p; return &c }

// Wrap returns a copy of e carrying cause.
func (e *Error) Wrap(cause error) *Error { c := *e; c.Err = cause; return &c }

// As returns err as *Error, or Internal(err) when it is anything else.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// KindOf returns the kind of err: KindInternal for foreign errors.
func KindOf(err error) Kind { return As(err).Kind }

// Code returns the code of err, "internal_error" for foreign errors and "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	return As(err).Code
}

// Well-known errors shared by several layers. Compare with errors.Is.
var (
	OrderNotFound       = NotFound("order_not_found", "No such order.")
	RefundNotFound      = NotFound("refund_not_found", "No such refund.")
	OrderAlreadyPaid    = Conflict("order_already_paid", "The order has already been paid.")
	OrderClosed         = Conflict("order_closed", "The order is closed.")
	OrderFailed         = Conflict("order_failed", "The order's payment failed.")
	OrderNotPaid        = Conflict("order_not_paid", "Only succeeded orders can be refunded.")
	RefundExceedsAmount = Conflict("refund_exceeds_amount", "The refund would take the refunded total above the order amount.")
	DuplicateOutTradeNo = Conflict("duplicate_out_trade_no", "An order with this out_trade_no exists with other parameters.")
	DuplicateOutRefund  = Conflict("duplicate_out_refund_no", "A refund with this out_refund_no exists with other parameters.")
	RefundWindowExpired = Conflict("refund_window_expired", "Orders can be refunded within 365 days of payment.")
	TestModeOnly        = Permission("test_mode_only", "This endpoint is only available in test mode.")
)
