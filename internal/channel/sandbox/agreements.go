package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
)

// Agreements and saved cards in the sandbox.
//
// An agreement (any KindAgreement method, card.agreement foremost) waits
// for its test payer, who signs or refuses through the gateway's test
// helper (PayerSigns); then charges on it succeed up to the plan's
// per-charge limit (above it: amount_exceeds_agreement_limit), decline
// with insufficient_funds while SetBalance has left too little, and with
// agreement_terminated once the payer (PayerTerminates) or the merchant
// ended it. The agreement number encodes the limit, so charges after a
// restart still see it (a termination is forgotten by a restart).
//
// A card paid with PayRequest.SaveCard is kept: the answer carries a token
// ("sbxtok_…") and the card's brand, last four digits and expiry. Charges
// with the token succeed, except for the test card 4000000000000341, whose
// saving succeeds and whose later charges decline (card_declined).
//
// Charges on agreements and tokens are made once per order id: a repeat
// answers the same trade, whose number derives from the order id, so a
// repeat after a restart does too.

// CardChargesFail is the test card whose saving succeeds and whose charges
// through its token are declined.
const CardChargesFail = "4000000000000341"

type sbxAgreement struct {
	status       channel.AgreementStatus
	no           string
	limit        int64
	balance      int64 // -1: unlimited
	terminatedBy string
	signedAt     time.Time
	terminatedAt time.Time
}

// agreementNo is the number of a signed agreement: its limit and its id.
func agreementNo(limit int64, agreementID string) string {
	return "sbxa_" + strconv.FormatInt(limit, 10) + "_" + strings.TrimPrefix(agreementID, id.Agreement)
}

// limitFromNo reads the limit an agreement number carries.
func limitFromNo(no string) (int64, bool) {
	parts := strings.SplitN(no, "_", 3)
	if len(parts) != 3 || parts[0] != "sbxa" {
		return 0, false
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	return n, err == nil
}

// SignAgreement records an agreement waiting for its test payer and sends
// the payer to the gateway's page for it.
func (s *Sandbox) SignAgreement(ctx context.Context, r channel.SignAgreementRequest) (*channel.SignAgreementResponse, error) {
	if r.Livemode {
		return nil, channel.ErrNotSupported
	}
	if m, ok := channel.LookupMethod(r.Method); !ok || m.Kind != channel.KindAgreement {
		return nil, fmt.Errorf("sandbox: %q is not an agreement method: %w", r.Method, channel.ErrNotSupported)
	}
	s.mu.Lock()
	if _, ok := s.agreements[r.AgreementID]; !ok {
		s.agreements[r.AgreementID] = &sbxAgreement{status: channel.AgreementSigning, limit: r.MaxAmountPerCharge, balance: -1}
	}
	s.mu.Unlock()
	resp := &channel.SignAgreementResponse{Status: channel.AgreementSigning}
	if r.PageURL != "" {
		resp.NextAction = &channel.NextAction{Type: "redirect", URL: r.PageURL}
	}
	return resp, nil
}

// PayerSigns plays the test payer of an agreement waiting for them: signed
// (it becomes active and gets its number) or refused (it is forgotten, as a
// channel forgets a signing page left unsigned).
func (s *Sandbox) PayerSigns(agreementID string, signed bool) (*channel.AgreementState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agreements[agreementID]
	if !ok {
		return nil, channel.ErrTradeNotFound
	}
	if a.status != channel.AgreementSigning {
		return nil, fmt.Errorf("sandbox: agreement %s is %s: %w", agreementID, a.status, channel.ErrInvalidRequest)
	}
	if !signed {
		delete(s.agreements, agreementID)
		return nil, nil
	}
	a.status, a.no, a.signedAt = channel.AgreementActive, agreementNo(a.limit, agreementID), s.clock.Now()
	return s.stateLocked(agreementID, a), nil
}

// PayerTerminates plays the payer ending a signed agreement at the channel.
func (s *Sandbox) PayerTerminates(agreementID string) (*channel.AgreementState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agreements[agreementID]
	if !ok || a.status == channel.AgreementSigning {
		return nil, channel.ErrTradeNotFound
	}
	if a.status == channel.AgreementActive {
		a.status, a.terminatedBy, a.terminatedAt = channel.AgreementTerminated, channel.TerminatedByPayer, s.clock.Now()
	}
	return s.stateLocked(agreementID, a), nil
}

// SetBalance leaves the payer of a signed agreement with balance minor
// units (-1: unlimited); charges above it decline with insufficient_funds.
func (s *Sandbox) SetBalance(agreementID string, balance int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agreements[agreementID]
	if !ok {
		return channel.ErrTradeNotFound
	}
	a.balance = balance
	return nil
}

func (s *Sandbox) stateLocked(agreementID string, a *sbxAgreement) *channel.AgreementState {
	return &channel.AgreementState{AgreementID: agreementID, ChannelAgreementNo: a.no, Status: a.status, ChannelPayerID: "sbx_payer",
		SignedAt: a.signedAt, TerminatedAt: a.terminatedAt, TerminatedBy: a.terminatedBy}
}

// QueryAgreement reports an agreement as the sandbox knows it; a signed
// agreement it forgot (a restart) is active, as its number says.
func (s *Sandbox) QueryAgreement(ctx context.Context, r channel.AgreementRequest) (*channel.AgreementState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.agreements[r.AgreementID]; ok && a.status != channel.AgreementSigning {
		return s.stateLocked(r.AgreementID, a), nil
	}
	if _, ok := limitFromNo(r.ChannelAgreementNo); ok {
		return &channel.AgreementState{AgreementID: r.AgreementID, ChannelAgreementNo: r.ChannelAgreementNo, Status: channel.AgreementActive}, nil
	}
	return nil, channel.ErrTradeNotFound
}

// TerminateAgreement ends an agreement at the merchant's request.
func (s *Sandbox) TerminateAgreement(ctx context.Context, r channel.AgreementRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agreements[r.AgreementID]
	if !ok {
		limit, known := limitFromNo(r.ChannelAgreementNo)
		if !known {
			return channel.ErrTradeNotFound
		}
		a = &sbxAgreement{status: channel.AgreementActive, no: r.ChannelAgreementNo, limit: limit, balance: -1}
		s.agreements[r.AgreementID] = a
	}
	if a.status != channel.AgreementTerminated {
		a.status, a.terminatedBy, a.terminatedAt = channel.AgreementTerminated, channel.TerminatedByMerchant, s.clock.Now()
	}
	return nil
}

// AgreementNotify: the sandbox posts no callbacks.
func (s *Sandbox) AgreementNotify(ctx context.Context, r channel.NotifyRequest) (*channel.AgreementNotification, error) {
	return nil, channel.ErrNotSupported
}

// AgreementNotifyReply answers 404: there are no sandbox callbacks.
func (s *Sandbox) AgreementNotifyReply(err error) channel.NotifyReply { return s.NotifyReply(err) }

var _ channel.Agreements = (*Sandbox)(nil)

// chargeAgreement charges a signed agreement, once per order.
func (s *Sandbox) chargeAgreement(r channel.PayRequest) (*channel.PayResponse, error) {
	if r.AgreementNo == "" {
		return nil, fmt.Errorf("sandbox: a charge of %s needs an agreement: %w", r.Method, channel.ErrInvalidRequest)
	}
	if resp, ok := s.repeatedCharge(r); ok {
		return resp, nil
	}
	s.mu.Lock()
	a, known := s.agreements[r.AgreementID]
	limit, numbered := limitFromNo(r.AgreementNo)
	var status channel.AgreementStatus
	balance := int64(-1)
	switch {
	case known && a.no == r.AgreementNo:
		status, limit, balance = a.status, a.limit, a.balance
	case numbered:
		status = channel.AgreementActive
	}
	s.mu.Unlock()
	switch {
	case status != channel.AgreementActive:
		return nil, &channel.DeclineError{Code: channel.DeclineAgreementTerminated, Message: "The agreement is not in force."}
	case limit > 0 && r.Amount > limit:
		return nil, &channel.DeclineError{Code: channel.DeclineAmountAboveLimit, Message: "The amount is above the agreement's per-charge limit."}
	case balance >= 0 && r.Amount > balance:
		return nil, &channel.DeclineError{Code: channel.DeclineInsufficientFunds, Message: "The payer's balance is insufficient."}
	}
	if known && balance >= 0 {
		s.mu.Lock()
		a.balance -= r.Amount
		s.mu.Unlock()
	}
	return s.chargedOnce(r), nil
}

// chargeToken charges a saved card by its token, once per order.
func (s *Sandbox) chargeToken(r channel.PayRequest) (*channel.PayResponse, error) {
	if !strings.HasPrefix(r.PaymentToken, "sbxtok_") {
		return nil, fmt.Errorf("sandbox: unknown card token: %w", channel.ErrInvalidRequest)
	}
	if resp, ok := s.repeatedCharge(r); ok {
		return resp, nil
	}
	if strings.HasPrefix(r.PaymentToken, "sbxtok_d") {
		return nil, &channel.DeclineError{Code: "card_declined", Message: "The card was declined."}
	}
	return s.chargedOnce(r), nil
}

// chargeNo is the trade number of a charge on an agreement or a token:
// derived from the order id, so every repeat of the order is one trade.
func chargeNo(orderID string) string {
	return "sbx" + scenarioPaid + "_" + strings.TrimPrefix(orderID, id.Order)
}

// repeatedCharge answers a charge this order already made.
func (s *Sandbox) repeatedCharge(r channel.PayRequest) (*channel.PayResponse, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	no := chargeNo(r.OrderID)
	if st, ok := s.trades[no]; ok && st == channel.TradeSuccess {
		return &channel.PayResponse{ChannelTradeNo: no, Status: channel.TradeSuccess}, true
	}
	return nil, false
}

// chargedOnce records the charge's trade, paid.
func (s *Sandbox) chargedOnce(r channel.PayRequest) *channel.PayResponse {
	no := chargeNo(r.OrderID)
	s.mu.Lock()
	s.rememberTrade(no, r.OrderID)
	s.trades[no] = channel.TradeSuccess
	s.amounts[no] = r.Amount
	s.paidAt[no] = s.clock.Now()
	s.byOrder[r.OrderID] = no
	s.mu.Unlock()
	return &channel.PayResponse{ChannelTradeNo: no, Status: channel.TradeSuccess}
}

// savedCard is the token and description of a card the sandbox keeps.
func (s *Sandbox) savedCard(c *channel.Card) *channel.SavedCard {
	scenario := "s"
	if c.Number == CardChargesFail {
		scenario = "d"
	}
	return &channel.SavedCard{
		Token: "sbxtok_" + scenario + id.New("", s.clock.Now()), Brand: Brand(c.Number),
		Last4: c.Number[len(c.Number)-4:], ExpMonth: c.ExpMonth, ExpYear: c.ExpYear,
	}
}

// Brand names a card's network from its number's leading digits.
func Brand(number string) string {
	p2, _ := strconv.Atoi(prefix(number, 2))
	p4, _ := strconv.Atoi(prefix(number, 4))
	switch {
	case strings.HasPrefix(number, "4"):
		return "visa"
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return "mastercard"
	case p2 == 34 || p2 == 37:
		return "amex"
	case p2 == 62:
		return "unionpay"
	case p2 == 35:
		return "jcb"
	}
	return "unknown"
}

func prefix(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}
