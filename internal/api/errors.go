package api

import (
	"encoding/json"
	"net/http"

	"github.com/paygate/paygate/internal/errs"
)

// Error types of the API reference (docs/api.md).
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeIdempotency    = "idempotency_error"
	typeRateLimit      = "rate_limit_error"
	typeRisk           = "risk_error"
	typeChannel        = "channel_error"
	typeAPI            = "api_error"
)

// httpOfKind is the one table from error kinds to HTTP statuses and the
// error types of the API reference (docs/api.md). Business code says what went wrong (errs.Kind);
// only this table says how HTTP reports it.
var httpOfKind = map[errs.Kind]struct {
	status int
	typ    string
}{
	errs.KindInternal:         {http.StatusInternalServerError, typeAPI},
	errs.KindInvalid:          {http.StatusBadRequest, typeInvalidRequest},
	errs.KindNotFound:         {http.StatusNotFound, typeInvalidRequest},
	errs.KindConflict:         {http.StatusConflict, typeInvalidRequest},
	errs.KindUnauthenticated:  {http.StatusUnauthorized, typeAuthentication},
	errs.KindPermission:       {http.StatusForbidden, typePermission},
	errs.KindIdempotency:      {http.StatusConflict, typeIdempotency},
	errs.KindRateLimited:      {http.StatusTooManyRequests, typeRateLimit},
	errs.KindRisk:             {http.StatusPaymentRequired, typeRisk},
	errs.KindChannel:          {http.StatusBadGateway, typeChannel},
	errs.KindUnavailable:      {http.StatusServiceUnavailable, typeAPI},
	errs.KindTooLarge:         {http.StatusRequestEntityTooLarge, typeInvalidRequest},
	errs.KindUnsupportedMedia: {http.StatusUnsupportedMediaType, typeInvalidRequest},
	errs.KindMethodNotAllowed: {http.StatusMethodNotAllowed, typeInvalidRequest},
}

// HTTPStatus is the HTTP status that reports e.
func HTTPStatus(e *errs.Error) int {
	if h, ok := httpOfKind[e.Kind]; ok {
		return h.status
	}
	return http.StatusInternalServerError
}

// errorType is the API error type of e.
func errorType(e *errs.Error) string {
	if h, ok := httpOfKind[e.Kind]; ok {
		return h.typ
	}
	return typeAPI
}

// errorBody is the error shape of the API reference (docs/api.md).
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Type      string  `json:"type"`
	Code      string  `json:"code"`
	Message   string  `json:"message"`
	Param     *string `json:"param"`
	RequestID string  `json:"request_id"`
}

// renderError is e in the error shape of the API reference (docs/api.md).
func renderError(e *errs.Error, requestID string) []byte {
	obj := errorObject{Type: errorType(e), Code: e.Code, Message: e.Message, RequestID: requestID}
	if e.Param != "" {
		p := e.Param
		obj.Param = &p
	}
	b, _ := json.Marshal(errorBody{Error: obj})
	return b
}

// RenderError is err as the access layer answers it: its status and its
// body in the error shape of the API reference (docs/api.md), for the other HTTP front ends (the
// cashier's JSON routes) to answer exactly as the API does. Anything that
// is not an *errs.Error is an internal error whose text is not shown.
func RenderError(err error, requestID string) (status int, body []byte) {
	e := errs.As(err)
	return HTTPStatus(e), renderError(e, requestID)
}
