package channel

import (
	"context"
	"fmt"
	"time"
)

// Agreements is the optional capability of a connector whose channel lets a
// payer sign an agreement under which the merchant charges them later
// without them present: WeChat Pay's 委托代扣 (contract signing and
// deduction), Alipay's 商家扣款 (agreement signing and withholding), the
// sandbox's card mandates. A connector that has it implements this
// interface; AgreementsOf says ErrNotSupported for one that does not.
//
// Charges on a signed agreement go through Connector.Pay with a method of
// kind KindAgreement and PayRequest.AgreementNo set; their OrderID is the
// channel's idempotency key as for every payment (WeChat deducts once per
// out_trade_no, Alipay answers ACQ.TRADE_HAS_SUCCESS to a repeat).
type Agreements interface {
	// SignAgreement starts the signing: the answer's NextAction sends the
	// payer to the channel's signing page (or mini-program, or app). The
	// agreement is AgreementSigning until the payer signs; the channel
	// tells by AgreementNotify, and QueryAgreement asks.
	SignAgreement(ctx context.Context, r SignAgreementRequest) (*SignAgreementResponse, error)
	// QueryAgreement asks the channel for the agreement's state.
	// ErrTradeNotFound: the channel has no signed agreement of that id
	// (the payer has not signed, or refused).
	QueryAgreement(ctx context.Context, r AgreementRequest) (*AgreementState, error)
	// TerminateAgreement ends a signed agreement at the merchant's request
	// (解约). Terminating a terminated agreement is not an error.
	TerminateAgreement(ctx context.Context, r AgreementRequest) error
	// AgreementNotify verifies a callback posted to the account's agreement
	// notification URL: a signing or a termination (by the payer at the
	// channel, or by the merchant), or, for channels that post deduction
	// results there (WeChat Pay), a payment. A bad signature is
	// ErrBadSignature.
	AgreementNotify(ctx context.Context, r NotifyRequest) (*AgreementNotification, error)
	// AgreementNotifyReply is the answer to a callback AgreementNotify
	// accepted (err nil) or refused.
	AgreementNotifyReply(err error) NotifyReply
}

// AgreementsOf returns c's agreements capability, or an error that is
// ErrNotSupported when its channel has none.
func AgreementsOf(c Connector) (Agreements, error) {
	a, ok := c.(Agreements)
	if !ok {
		return nil, fmt.Errorf("%s: agreements: %w", c.Name(), ErrNotSupported)
	}
	return a, nil
}

// AgreementStatus is an agreement's state at the channel.
type AgreementStatus string

// Agreement states.
const (
	AgreementSigning    AgreementStatus = "SIGNING"    // waiting for the payer
	AgreementActive     AgreementStatus = "ACTIVE"     // signed: charges may be made
	AgreementTerminated AgreementStatus = "TERMINATED" // ended by the payer, the merchant or the channel
)

// Who ended an agreement.
const (
	TerminatedByPayer    = "payer"
	TerminatedByMerchant = "merchant"
	TerminatedByChannel  = "channel"
)

// SignAgreementRequest asks the channel to let a payer sign an agreement.
// AgreementID is the gateway's agreement id (agr_…): the merchant's
// contract code at the channel (WeChat's contract_code, Alipay's
// external_agreement_no, mapped reversibly where "_" is not allowed).
type SignAgreementRequest struct {
	AgreementID        string
	CreatedAt          time.Time
	Method             string
	Description        string // the plan, shown to the payer
	MaxAmountPerCharge int64  // minor units
	Currency           string
	Period             string // day, week, month, year
	PayerID            string // the payer's id at the channel or display name, when known
	PayerIP            string
	ReturnURL          string // where the signing page sends the payer back
	NotifyURL          string // where the channel posts the agreement's callbacks
	// PageURL is the gateway's own page for the agreement: the sandbox,
	// which has no pages, sends the payer there.
	PageURL  string
	Livemode bool
}

// SignAgreementResponse is the channel's answer to SignAgreement.
type SignAgreementResponse struct {
	Status             AgreementStatus
	ChannelAgreementNo string // "" until signed
	NextAction         *NextAction
}

// AgreementRequest names an agreement at the channel: by the gateway's id,
// and by the channel's number once signed.
type AgreementRequest struct {
	AgreementID        string
	ChannelAgreementNo string
	Method             string
	Reason             string // a termination's reason
	Livemode           bool
}

// AgreementState is an agreement as the channel knows it.
type AgreementState struct {
	AgreementID        string
	ChannelAgreementNo string
	Status             AgreementStatus
	ChannelPayerID     string // the payer's id at the channel (openid, Alipay user id)
	SignedAt           time.Time
	TerminatedAt       time.Time
	TerminatedBy       string // TerminatedByPayer, …; "" when not terminated or unknown
}

// NotifyAgreement is the kind of a callback about an agreement.
const NotifyAgreement NotifyKind = "agreement"

// AgreementNotification is what a callback on the agreement path says:
// Kind NotifyAgreement with Agreement set, or NotifyPayment with Payment
// set (a deduction's result).
type AgreementNotification struct {
	Kind      NotifyKind
	EventID   string
	Agreement *AgreementState
	Payment   *Notification
}

// SavedCard is a card the channel keeps for later charges: its token and
// what may be shown of it. The card number never comes back.
type SavedCard struct {
	Token    string
	Brand    string
	Last4    string
	ExpMonth int
	ExpYear  int
}

// Decline codes of charges on agreements and saved cards.
const (
	DeclineAgreementTerminated = "agreement_terminated"
	DeclineAmountAboveLimit    = "amount_exceeds_agreement_limit"
	DeclineInsufficientFunds   = "insufficient_funds"
)
