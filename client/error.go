package client

import "fmt"

// Error is an API error. StatusCode is the HTTP status.
type Error struct {
	StatusCode int     `json:"-"`
	Type       string  `json:"type"`
	Code       string  `json:"code"`
	Message    string  `json:"message"`
	Param      *string `json:"param"`
	RequestID  string  `json:"request_id"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("paygate: %d %s: %s (%s)", e.StatusCode, e.Code, e.Message, e.RequestID)
}
