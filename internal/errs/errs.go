// Package errs is Paygate's one error vocabulary. Every layer returns *Error
// for failures a caller should see; anything else is an internal fault that
// the access layer reports as api_error without its text.
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Types, as in API.md.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeIdempotency    = "idempotency_error"
	TypeRateLimit      = "rate_limit_error"
	TypeRisk           = "risk_error"
	TypeChannel        = "channel_error"
	TypeAPI            = "api_error"
)

// Error is a failure safe to show to a client. Code is a stable snake_case
// string; Message a human sentence; Param names the offending field.
type Error struct {
	Status  int    // HTTP status
	Type    string // one of the Type constants
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

// New returns an error of the given kind (status and type) and code.
func New(status int, typ, code, msg string) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: msg}
}

// Invalid is a 400 invalid_request_error.
func Invalid(code, msg string) *Error { return New(400, TypeInvalidRequest, code, msg) }

// InvalidParam is a 400 with `<param>_invalid` and param set.
func InvalidParam(param, msg string) *Error {
	e := Invalid(param+"_invalid", msg)
	e.Param = param
	return e
}

// Missing is a 400 parameter_missing for param.
func Missing(param string) *Error {
	e := Invalid("parameter_missing", "Missing required parameter: "+param+".")
	e.Param = param
	return e
}

// NotFound is a 404 invalid_request_error.
func NotFound(code, msg string) *Error { return New(404, TypeInvalidRequest, code, msg) }

// Conflict is a 409 invalid_request_error.
func Conflict(code, msg string) *Error { return New(409, TypeInvalidRequest, code, msg) }

// Auth is a 401 authentication_error.
func Auth(code, msg string) *Error { return New(401, TypeAuthentication, code, msg) }

// Permission is a 403 permission_error.
func Permission(code, msg string) *Error { return New(403, TypePermission, code, msg) }

// Channel is a 502 channel_error wrapping the connector's cause.
func Channel(code, msg string, cause error) *Error {
	e := New(http.StatusBadGateway, TypeChannel, code, msg)
	e.Err = cause
	return e
}

// Internal wraps a fault as a 500 api_error; its text is never shown.
func Internal(err error) *Error {
	return &Error{Status: 500, Type: TypeAPI, Code: "internal_error", Message: "An internal error occurred. Retry later or contact support with the request id.", Err: err}
}

// With returns a copy of e with Param set.
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
