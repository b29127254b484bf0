package routing

import (
	"context"
	"errors"
	"fmt"

	"github.com/paygate/paygate/internal/channel"
)

// Decision explains a routing choice; it is stored on the order as JSON.
//
//	{"strategy":"weighted","source":"merchant_route",
//	 "candidates":["cha_A","cha_B"],
//	 "skipped":[{"channel_account":"cha_C","reason":"circuit_open"}],
//	 "attempts":[{"channel_account":"cha_A","error":"unavailable"},{"channel_account":"cha_B"}],
//	 "chosen":"cha_B"}
//
// Route fills Strategy, Source, Candidates (account ids in try order) and
// Skipped; the caller records each try with Fail and Choose (Router.Run does
// it). Attempts lists every try in order; Chosen is the account that took the
// payment, "" while none has.
type Decision struct {
	Strategy   string    `json:"strategy"`
	Source     string    `json:"source"` // merchant_route or default
	Candidates []string  `json:"candidates"`
	Skipped    []Skip    `json:"skipped"`
	Attempts   []Attempt `json:"attempts,omitempty"`
	Chosen     string    `json:"chosen"`
}

// Skip is a route candidate left out, and why (one of the Reason constants).
type Skip struct {
	ChannelAccount string `json:"channel_account"`
	Reason         string `json:"reason"`
}

// Attempt is one try of a candidate. Error is empty for a success and
// otherwise a code from ErrorCode, never the error's text: the decision may
// be shown to merchants.
type Attempt struct {
	ChannelAccount string `json:"channel_account"`
	Error          string `json:"error,omitempty"`
}

func (d *Decision) skip(accountID, reason string) {
	d.Skipped = append(d.Skipped, Skip{ChannelAccount: accountID, Reason: reason})
}

// Fail records that the candidate accountID was tried (or refused by its
// breaker) and failed with err before the payer acted, so the next one is tried.
func (d *Decision) Fail(accountID string, err error) {
	d.Attempts = append(d.Attempts, Attempt{ChannelAccount: accountID, Error: ErrorCode(err)})
}

// Choose records that the candidate accountID took the payment, with the
// call's error (nil; or final, like a decline; or an unknown outcome): the
// order's trade lives there, and no other candidate is tried.
func (d *Decision) Choose(accountID string, err error) {
	d.Attempts = append(d.Attempts, Attempt{ChannelAccount: accountID, Error: ErrorCode(err)})
	d.Chosen = accountID
}

// ErrCircuitOpen is the error of a candidate whose breaker refused the call
// (open, or half-open with its one probe already out). It wraps
// channel.ErrUnavailable: nothing happened at the channel.
var ErrCircuitOpen = fmt.Errorf("routing: circuit open: %w", channel.ErrUnavailable)

// ErrorCode is a short, client-safe code for a channel call's error, as
// stored in Attempt.Error.
func ErrorCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrCircuitOpen):
		return "circuit_open"
	case errors.Is(err, channel.ErrUnknownOutcome):
		return "unknown_outcome"
	case errors.Is(err, channel.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, channel.ErrNotSupported):
		return "not_supported"
	case errors.Is(err, channel.ErrDeclined):
		return "declined"
	case errors.Is(err, channel.ErrInvalidRequest):
		return "invalid_request"
	case errors.Is(err, channel.ErrTradeNotFound):
		return "trade_not_found"
	case errors.Is(err, channel.ErrAlreadyPaid):
		return "already_paid"
	case errors.Is(err, channel.ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// Failover reports whether a payment may be tried on the next candidate
// after err: only when nothing happened at the channel (ErrUnavailable,
// which includes a refused breaker, or ErrNotSupported). An unknown outcome
// never fails over: the trade may exist, and a second channel could charge
// the payer twice.
func Failover(err error) bool {
	if err == nil || errors.Is(err, channel.ErrUnknownOutcome) {
		return false
	}
	return errors.Is(err, channel.ErrUnavailable) || errors.Is(err, channel.ErrNotSupported)
}

// Run follows the caller protocol over plan's candidates: for each, Allow
// (a refused breaker moves on), call, done(err), and move on while
// Failover(err). It records every try in plan.Decision and returns the
// candidate that took the payment with call's error for it (nil, or a final
// or unknown-outcome error). When every candidate failed over it returns
// ok false and the last error (ErrCircuitOpen when no call was made); with
// no candidates, ErrNoRoute.
func (r *Router) Run(ctx context.Context, plan *Plan, call func(ctx context.Context, c Candidate) error) (chosen Candidate, ok bool, err error) {
	err = ErrNoRoute
	for _, c := range plan.Candidates {
		if cerr := ctx.Err(); cerr != nil {
			return Candidate{}, false, cerr
		}
		done, allowed := r.Allow(c.Account.ID)
		if !allowed {
			err = ErrCircuitOpen
			plan.Decision.Fail(c.Account.ID, err)
			continue
		}
		err = call(ctx, c)
		done(err)
		if Failover(err) {
			plan.Decision.Fail(c.Account.ID, err)
			continue
		}
		plan.Decision.Choose(c.Account.ID, err)
		return c, true, err
	}
	return Candidate{}, false, err
}
