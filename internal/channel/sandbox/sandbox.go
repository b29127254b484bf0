// Package sandbox is Paygate's built-in test channel. It serves every test-mode
// order and the demo, and never moves real money.
//
// Methods: "sandbox" (a QR the payer "scans" through POST /v1/test/orders/{id}/pay
// or the cashier's test buttons), "card" with Stripe-style test cards, and a
// stand-in for every WeChat Pay, Alipay and UnionPay method so a merchant can
// build its whole integration in test mode.
//
// Test cards (any expiry in the future, any CVC):
//
//	4242424242424242  succeeds
//	4000000000000002  declined: card_declined
//	4000000000009995  declined: insufficient_funds
//	4000000000000119  times out: outcome unknown (order stays processing) until
//	                  queried, when the payment turns out to have succeeded
//	4000000000005126  succeeds, but every refund of it fails
//	4000000000000341  succeeds and can be saved; charges of the saved card decline
//
// Any other number that passes the Luhn check succeeds.
//
// Recurring payments (channel.Agreements, agreements.go): "card.agreement"
// agreements, signed or refused by the test payer (the gateway's agreement
// page or POST /v1/test/agreements/{id}/payer), ended by the payer or the
// merchant, charged within their per-charge limit and the test payer's
// balance; and cards saved at a first payment (PayRequest.SaveCard), kept
// as a "sbxtok_" token with brand, last four digits and expiry, charged
// later by the token. A charge on an agreement or a token is made once per
// order id. Limits: agreements, balances and charges live in the process's
// memory; an agreement's number carries its limit, so a restart or another
// node still charges it, but forgets a termination at the "channel" and the
// charges already made (a repeat of an order charged before a restart
// succeeds again, with the same trade number: no money moves in the
// sandbox, and the gateway's order records it once).
//
// Trades live in memory, the most recent MaxTrades of them (memory.go); the
// trade number also encodes the card's scenario, so a query after a restart
// (or on another node, or once the trade is forgotten) still gets the right
// answer for trades that were never paid or closed by hand.
package sandbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
)

// Name is the sandbox channel's name.
const Name = "sandbox"

// Test card numbers.
const (
	CardSuccess           = "4242424242424242"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
	CardTimeout           = "4000000000000119"
	CardRefundFails       = "4000000000005126"
)

// Scenario letters encoded in a trade number after "sbx".
const (
	scenarioAwaitPayer  = "q" // NOTPAY until the payer acts
	scenarioPaid        = "s" // paid at once
	scenarioUnknown     = "u" // unknown at first, SUCCESS when queried
	scenarioRefundFails = "r" // paid; refunds fail
)

// Methods the sandbox serves: every method of the method table.
var Methods = channel.MethodNames()

// Provider describes sandbox channel accounts: test mode only, every
// method, no keys. Every account's connector is sb, so a trade made through
// one account is known to all (there is normally one, the gateway's own).
func Provider(sb *Sandbox) channel.Provider {
	return channel.Provider{
		Name: Name, Methods: Methods,
		New: func(a channel.Account) (channel.Connector, error) {
			if a.Livemode {
				return nil, fmt.Errorf("the sandbox serves test mode only")
			}
			return sb, nil
		},
	}
}

// Sandbox is the test channel. The zero value is not usable; use New.
type Sandbox struct {
	clock   clock.Clock
	mu      sync.Mutex
	trades  map[string]channel.TradeStatus
	amounts map[string]int64     // trade number → amount
	paidAt  map[string]time.Time // trade number → when paid
	// installments are the instalment counts of card trades paid in them.
	installments map[string]int
	byOrder      map[string]string // order id → trade number
	refunded     map[string]int64  // trade number → amount refunded
	refunds      map[string]string // refund id → trade number
	// agreements are the agreements signed (or waiting) here, by the
	// gateway's agreement id.
	agreements map[string]*sbxAgreement
	// transfers are the transfers paid here, by transfer id (transfers.go).
	transfers map[string]*sbxTransfer
	// sharings are the profit sharings made here, by sharing id (profitsharing.go).
	sharings map[string]*sbxSharing
	// returns are the profit sharing returns made here, by return id.
	returns map[string]channel.ProfitSharingReturnResponse

	// MaxTrades and MaxRefunds bound what the sandbox remembers (memory.go;
	// the package's defaults when zero). Set them before use.
	MaxTrades, MaxRefunds   int
	tradeOrder, refundOrder fifo
}

// New returns a sandbox.
func New(c clock.Clock) *Sandbox {
	return &Sandbox{clock: c, trades: map[string]channel.TradeStatus{}, byOrder: map[string]string{}, refunded: map[string]int64{}, refunds: map[string]string{},
		amounts: map[string]int64{}, paidAt: map[string]time.Time{}, agreements: map[string]*sbxAgreement{}, installments: map[string]int{}}
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return Name }

// Capabilities: every method, any currency, refunds, close and query.
func (s *Sandbox) Capabilities() channel.Capabilities {
	return channel.Capabilities{Methods: Methods, Refund: true, Close: true, Reverse: true, Query: true}
}

func (s *Sandbox) newTrade(r channel.PayRequest, scenario string, st channel.TradeStatus) string {
	orderID := r.OrderID
	no := "sbx" + scenario + "_" + id.New("", s.clock.Now())
	s.mu.Lock()
	s.rememberTrade(no, orderID)
	s.trades[no] = st
	s.amounts[no] = r.Amount
	if st == channel.TradeSuccess {
		s.paidAt[no] = s.clock.Now()
	}
	s.byOrder[orderID] = no
	s.mu.Unlock()
	return no
}

// Pay creates a trade. Cards and micropay are charged at once; the other
// methods wait for the payer.
func (s *Sandbox) Pay(ctx context.Context, r channel.PayRequest) (*channel.PayResponse, error) {
	if r.Livemode || !slices.Contains(Methods, r.Method) {
		return nil, channel.ErrNotSupported
	}
	// Any currency of the ISO 4217 table (internal/money: JPY 0 decimals,
	// KWD 3) is taken, in its own minor units.
	if _, ok := money.Exponent(r.Currency); r.Currency != "" && !ok {
		return nil, fmt.Errorf("sandbox: currency %q: %w", r.Currency, channel.ErrNotSupported)
	}
	m, _ := channel.LookupMethod(r.Method)
	if r.Installments != nil && !slices.Contains(m.Installments, r.Installments.Count) {
		return nil, fmt.Errorf("sandbox: %d instalments on %s: %w", r.Installments.Count, r.Method, channel.ErrNotSupported)
	}
	if m.Kind == channel.KindAgreement {
		return s.chargeAgreement(r)
	}
	switch {
	case r.Method == "card" && r.Card == nil && r.PaymentToken != "":
		return s.chargeToken(r)
	case r.Method == "card":
		if r.Card == nil {
			return nil, channel.ErrInvalidRequest
		}
		switch r.Card.Number {
		case CardDeclined:
			return nil, &channel.DeclineError{Code: "card_declined", Message: "The card was declined."}
		case CardInsufficientFunds:
			return nil, &channel.DeclineError{Code: "insufficient_funds", Message: "The card has insufficient funds."}
		case CardTimeout:
			// The charge went through, but the answer never came back.
			s.newTrade(r, scenarioUnknown, channel.TradeSuccess)
			return nil, channel.ErrUnknownOutcome
		case CardRefundFails:
			return &channel.PayResponse{ChannelTradeNo: s.newTrade(r, scenarioRefundFails, channel.TradeSuccess), Status: channel.TradeSuccess}, nil
		}
		resp := &channel.PayResponse{ChannelTradeNo: s.newTrade(r, scenarioPaid, channel.TradeSuccess), Status: channel.TradeSuccess}
		if r.Installments != nil {
			s.mu.Lock()
			s.installments[resp.ChannelTradeNo] = r.Installments.Count
			s.mu.Unlock()
		}
		if r.SaveCard {
			resp.SavedCard = s.savedCard(r.Card)
		}
		return resp, nil
	case isMicropay(r.Method):
		return &channel.PayResponse{ChannelTradeNo: s.newTrade(r, scenarioPaid, channel.TradeSuccess), Status: channel.TradeSuccess}, nil
	}
	no := s.newTrade(r, scenarioAwaitPayer, channel.TradeNotPay)
	resp := &channel.PayResponse{ChannelTradeNo: no, Status: channel.TradeNotPay}
	switch {
	case r.Method == "sandbox" || strings.HasSuffix(r.Method, ".native") || strings.HasSuffix(r.Method, ".qr"):
		resp.NextAction = &channel.NextAction{Type: "qr_code", QRCode: "paygate-sandbox://pay/" + no}
	case strings.HasSuffix(r.Method, ".app") || strings.HasSuffix(r.Method, ".jsapi"):
		resp.NextAction = &channel.NextAction{Type: "sdk_params", Params: map[string]string{"prepay_id": no, "sandbox": "true"}}
	default: // page, wap, h5: the gateway sends the payer to its cashier
		resp.NextAction = &channel.NextAction{Type: "redirect", URL: r.CashierURL}
	}
	return resp, nil
}

// PayerActs records the payer's decision on a trade waiting for it: paid (true) or failed.
// It returns ErrTradeNotFound or ErrAlreadyPaid / a closed error when the trade cannot take it.
func (s *Sandbox) PayerActs(tradeNo string, paid bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.trades[tradeNo]
	if !ok {
		st, ok = statusFromNumber(tradeNo)
		if !ok {
			return channel.ErrTradeNotFound
		}
	}
	switch st {
	case channel.TradeSuccess:
		return channel.ErrAlreadyPaid
	case channel.TradeClosed, channel.TradePayError:
		return channel.ErrInvalidRequest
	}
	s.rememberTrade(tradeNo, "")
	if paid {
		s.trades[tradeNo] = channel.TradeSuccess
		s.paidAt[tradeNo] = s.clock.Now()
	} else {
		s.trades[tradeNo] = channel.TradePayError
	}
	return nil
}

func statusFromNumber(no string) (channel.TradeStatus, bool) {
	if len(no) < 5 || !strings.HasPrefix(no, "sbx") {
		return "", false
	}
	switch no[3:4] {
	case scenarioAwaitPayer:
		return channel.TradeNotPay, true
	case scenarioPaid, scenarioUnknown, scenarioRefundFails:
		return channel.TradeSuccess, true
	}
	return "", false
}

// Query returns a trade's state.
func (s *Sandbox) Query(ctx context.Context, r channel.QueryRequest) (*channel.QueryResponse, error) {
	s.mu.Lock()
	no := r.ChannelTradeNo
	if no == "" { // the create's answer was lost: find the trade by order, as channels do by out_trade_no
		no = s.byOrder[r.OrderID]
	}
	st, ok := s.trades[no]
	s.mu.Unlock()
	if !ok {
		if st, ok = statusFromNumber(no); !ok {
			return nil, channel.ErrTradeNotFound
		}
	}
	s.mu.Lock()
	q := &channel.QueryResponse{ChannelTradeNo: no, Status: st, Amount: s.amounts[no], PaidAt: s.paidAt[no]}
	s.mu.Unlock()
	if st == channel.TradePayError {
		q.FailureCode, q.FailureMessage = "payment_failed", "The payer's payment failed."
	}
	return q, nil
}

// Close closes an unpaid trade; a paid one gives ErrAlreadyPaid.
func (s *Sandbox) Close(ctx context.Context, r channel.CloseRequest) error {
	if r.ChannelTradeNo == "" {
		return nil // never reached the channel: nothing to close
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.trades[r.ChannelTradeNo]
	if !ok {
		if st, ok = statusFromNumber(r.ChannelTradeNo); !ok {
			return channel.ErrTradeNotFound
		}
	}
	if st == channel.TradeSuccess {
		return channel.ErrAlreadyPaid
	}
	s.rememberTrade(r.ChannelTradeNo, "")
	s.trades[r.ChannelTradeNo] = channel.TradeClosed
	return nil
}

// Refund refunds at once, except for trades of the refund-fails test card.
// A refund beyond what is left of the trade (as far as this process has
// seen it) is refused.
func (s *Sandbox) Refund(ctx context.Context, r channel.RefundRequest) (*channel.RefundResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.refunds[r.RefundID]; !seen { // a repeated refund id is the same refund
		if left := r.Total - s.refunded[r.ChannelTradeNo]; r.Total > 0 && r.Amount > left {
			return nil, fmt.Errorf("refund %d of trade %s with %d left: %w", r.Amount, r.ChannelTradeNo, left, channel.ErrInvalidRequest)
		}
		if _, remembered := s.trades[r.ChannelTradeNo]; remembered {
			s.refunded[r.ChannelTradeNo] += r.Amount
		}
		s.refunds[r.RefundID] = r.ChannelTradeNo
		s.rememberRefund(r.RefundID)
	}
	return s.refundAnswer(r.RefundID, r.ChannelTradeNo), nil
}

func (s *Sandbox) refundAnswer(refundID, tradeNo string) *channel.RefundResponse {
	if strings.HasPrefix(tradeNo, "sbx"+scenarioRefundFails) {
		return &channel.RefundResponse{ChannelRefundNo: "sbxrf_" + refundID, Status: channel.RefundAbnormal, FailureCode: "refund_failed"}
	}
	return &channel.RefundResponse{ChannelRefundNo: "sbxrf_" + refundID, Status: channel.RefundSuccess}
}

// RefundQuery reports a refund as the sandbox settled it: at once, failed
// for trades of the refund-fails test card. A refund it never got (or got
// before a restart) is ErrTradeNotFound.
func (s *Sandbox) RefundQuery(ctx context.Context, r channel.RefundQueryRequest) (*channel.RefundResponse, error) {
	s.mu.Lock()
	_, ok := s.refunds[r.RefundID]
	s.mu.Unlock()
	if !ok {
		return nil, channel.ErrTradeNotFound
	}
	return s.refundAnswer(r.RefundID, r.ChannelTradeNo), nil
}

// Reverse cancels a trade whatever its state: it ends REVOKED (the payer's
// money, if any, goes back).
func (s *Sandbox) Reverse(ctx context.Context, r channel.CloseRequest) error {
	if r.ChannelTradeNo == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.trades[r.ChannelTradeNo]; !ok {
		if _, ok := statusFromNumber(r.ChannelTradeNo); !ok {
			return channel.ErrTradeNotFound
		}
	}
	s.rememberTrade(r.ChannelTradeNo, "")
	s.trades[r.ChannelTradeNo] = channel.TradeRevoked
	return nil
}

// Notify: the sandbox sends no callbacks (the payer acts through the gateway).
func (s *Sandbox) Notify(ctx context.Context, r channel.NotifyRequest) (*channel.Notification, error) {
	return nil, channel.ErrNotSupported
}

// NotifyReply answers 404: there are no sandbox callbacks.
func (s *Sandbox) NotifyReply(err error) channel.NotifyReply {
	return channel.NotifyReply{Status: 404, ContentType: "text/plain", Body: []byte("not found")}
}

// Bill: the sandbox keeps no statements.
func (s *Sandbox) Bill(ctx context.Context, r channel.BillRequest) (*channel.Bill, error) {
	return nil, channel.ErrNotSupported
}

func isMicropay(method string) bool {
	m, _ := channel.LookupMethod(method)
	return m.Kind == channel.KindMicropay
}

// Installments returns the instalment count a card trade was paid in, 0
// when it was paid at once.
func (s *Sandbox) Installments(tradeNo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.installments[tradeNo]
}
