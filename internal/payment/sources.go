package payment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
)

// Merchant-initiated charges: an order with agreement_id is charged on the
// payer's signed agreement, one with payment_method on a saved card,
// without the payer. Where such an order may go is not routed: it goes to
// the channel account that holds the agreement or issued the card's token,
// through the same path as every payment (connector, then transition).
//
// The rules of agreements and saved cards (whose they are, their status and
// limits) belong to internal/billing, which implements ChargeSources.

// ChargeSource is where a merchant-initiated order is charged.
type ChargeSource struct {
	Method  string                // the agreement's method, or card
	Account *store.ChannelAccount // the account holding the agreement or the card's token
	// AgreementID and AgreementNo name the agreement (ours and the channel's).
	AgreementID string
	AgreementNo string
	// PaymentToken is the saved card's token.
	PaymentToken string
}

// ChargeSources resolves merchant-initiated charges and keeps saved cards.
type ChargeSources interface {
	// ChargeSource checks that the scope may charge p on its agreement or
	// saved payment method (whose they are, their status, the agreement's
	// per-charge limit and currency) and says where; its errors are the
	// merchant's (4xx).
	ChargeSource(ctx context.Context, sc Scope, p CreateOrderParams) (*ChargeSource, error)
	// CheckCustomer checks that the scope may name the customer on an order.
	CheckCustomer(ctx context.Context, sc Scope, customerID string) error
	// SaveCard keeps the card a succeeded order was paid with for its
	// customer: the channel's token and what may be shown, with the card
	// number's fingerprint (CardFingerprint), never the number.
	SaveCard(ctx context.Context, o *store.Order, fingerprint string, saved *channel.SavedCard) error
}

// CardKeyLabel names the key, derived from the master key
// (cryptobox.Box.DeriveKey), that keys card fingerprints (Service.CardKey).
const CardKeyLabel = "paygate/card-fingerprint/v1"

// CardFingerprint is the keyed fingerprint of a card number: "c1:" and the
// hex HMAC-SHA256 of the digits under CardKey. Keyed, never a bare hash: a
// card number's few unknown digits could be guessed from a bare hash.
func (s *Service) CardFingerprint(number string) (string, error) {
	if len(s.CardKey) == 0 {
		return "", fmt.Errorf("payment: Service.CardKey is not set")
	}
	m := hmac.New(sha256.New, s.CardKey)
	m.Write([]byte(number))
	return "c1:" + hex.EncodeToString(m.Sum(nil)), nil
}

// errNoSources refuses merchant-initiated orders on a gateway without billing.
var errNoSources = errs.Invalid("agreement_unsupported", "This gateway does not take charges on agreements or saved payment methods.")

// chargeSource resolves p's agreement or saved payment method (when it has
// one) and returns where it goes; p.Method becomes the source's method.
func (s *Service) chargeSource(ctx context.Context, sc Scope, p *CreateOrderParams) (*routed, error) {
	if p.Customer != "" {
		if s.Sources == nil {
			return nil, errNoSources
		}
		if err := s.Sources.CheckCustomer(ctx, sc, p.Customer); err != nil {
			return nil, err
		}
	}
	if p.AgreementID == "" && p.PaymentMethod == "" {
		return nil, nil
	}
	if s.Sources == nil {
		return nil, errNoSources
	}
	src, err := s.Sources.ChargeSource(ctx, sc, *p)
	if err != nil {
		return nil, err
	}
	if p.Method != "" && p.Method != src.Method {
		return nil, errs.InvalidParam("method", fmt.Sprintf("method must be %s (the method of the agreement or payment method), or left out.", src.Method))
	}
	p.Method = src.Method
	a := src.Account
	plan := &routing.Plan{
		Candidates: []routing.Candidate{{Account: a, FeeBps: a.FeeBps}},
		Decision:   routing.Decision{Strategy: routing.StrategyPriority, Source: sourceOf(src), Candidates: []string{a.ID}, Skipped: []routing.Skip{}},
	}
	return &routed{plan: plan, src: src}, nil
}

// sourceOf names a pinned route's source in its decision.
func sourceOf(src *ChargeSource) string {
	if src.AgreementID != "" {
		return "agreement"
	}
	return "payment_method"
}

// saveCard keeps the card of a succeeded order whose payer agreed to it.
// A failure is logged: the payment stands.
func (s *Service) saveCard(ctx context.Context, o *store.Order, card *channel.Card, saved *channel.SavedCard) {
	if s.Sources == nil || card == nil || saved == nil || o.CustomerID == "" {
		return
	}
	fp, err := s.CardFingerprint(card.Number)
	if err == nil {
		err = s.Sources.SaveCard(ctx, o, fp, saved)
	}
	if err != nil {
		s.log().Error("save the card of a paid order", "order", o.ID, "customer", o.CustomerID, "err", err)
	}
}
